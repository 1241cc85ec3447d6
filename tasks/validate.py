"""Validate one feed's parsed rows with its Great Expectations suite (expectations/<feed>.json)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from functools import cache, lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from prefect import task
from prefect.cache_policies import NO_CACHE

from chitieu.bulk_read import read_frame
from chitieu.catalog import Catalog
from chitieu.config import Settings
from chitieu.feeds import EXPECTATIONS_DIR, feed_spec
from chitieu.records import CheckFailure, FileVerdict, ParsedFeed
from chitieu.vocabulary import PROJECT_GROUPS, format_failure_vi
from chitieu.warehouse import get_engine, read_sql

__all__ = ["validate_feed"]

SAMPLE_ROWS = 5
HISTORY_LOW, HISTORY_HIGH, HISTORY_MIN_POINTS = 1 / 3, 3.0, 3
_EPOCH = np.datetime64("1970-01-01", "D")


# --- Great Expectations plumbing ----------------------------------------------------------


@lru_cache(maxsize=1)
def _gx_context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx  # imported lazily: ~3 s, only needed when there is something to validate

    for name in ("great_expectations", "great_expectations.core", "great_expectations.data_context",
                 "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every in-memory batch by hashing all its cells, twice per validation (~1.3 s per 1 M rows);
    # the fingerprint is batch metadata we never read.
    pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    source = context.data_sources.add_pandas("feeds")
    return gx, source.add_dataframe_asset("batch").add_batch_definition_whole_dataframe("whole")


@cache
def load_suite_json(feed: str) -> dict:
    return json.loads((EXPECTATIONS_DIR / f"{feed}.json").read_text(encoding="utf-8"))


# Expectations that only ask whether values are present or equal (within a key, or between two columns): the
# suite may see the columns they read as integer codes of the values instead of a million Python strings.
_EQUALITY_ONLY = {"expect_column_values_to_not_be_null": ("column",),
                  "expect_compound_columns_to_be_unique": ("column_list",),
                  "expect_column_pair_values_to_be_equal": ("column_A", "column_B")}


@cache
def _code_columns(feed: str) -> frozenset[str]:
    """Columns the suite only compares for presence and equality (codes of one shared dictionary keep both)."""
    ok: dict[str, bool] = {}
    for expectation in load_suite_json(feed)["expectations"]:
        kwargs, kind = expectation["kwargs"], expectation["type"]
        for key in ("column", "column_A", "column_B", "column_list"):
            names = kwargs.get(key, ())
            for name in [names] if isinstance(names, str) else names:
                ok[name] = ok.get(name, True) and key in _EQUALITY_ONLY.get(kind, ())
    return frozenset(name for name, fine in ok.items() if fine)


@cache
def _suite_columns(feed: str) -> frozenset[str]:
    """The columns the feed's suite looks at (and _idx, which names failing rows)."""
    columns = {"_idx"}
    for expectation in load_suite_json(feed)["expectations"]:
        kwargs = expectation["kwargs"]
        columns.update(kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs)
        columns.update(kwargs.get("column_list", ()))
    return frozenset(columns)


def _numpy_dtypes(frame: pd.DataFrame, as_codes: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Plain numpy/object columns: GX's pandas metrics mis-handle nullable and Arrow-backed dtypes. Text columns
    in `as_codes` become float codes (NaN where missing) of one dictionary shared by all of them, so that equal
    texts get equal codes across columns."""
    coded = [name for name in frame.columns if name in as_codes and isinstance(frame[name].dtype, pd.StringDtype)]
    codes_of: dict[str, np.ndarray] = {}
    if coded:
        codes, _ = pd.factorize(pd.concat([frame[name] for name in coded], ignore_index=True),
                                use_na_sentinel=True)
        codes = np.where(codes < 0, np.nan, codes.astype("float64"))
        codes_of = dict(zip(coded, np.split(codes, len(coded)), strict=True))
    out = {}
    for name, col in frame.items():
        if name in codes_of:
            out[name] = pd.Series(codes_of[name], index=frame.index)
        elif pd.api.types.is_datetime64_any_dtype(col):
            out[name] = col
        elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            out[name] = pd.to_numeric(col, errors="coerce").astype("float64")
        elif isinstance(col.dtype, pd.StringDtype):
            # one Python object per distinct value, shared by its rows (a million unit codes are a few thousand)
            codes, uniques = pd.factorize(col, use_na_sentinel=True)
            values = np.empty(len(uniques) + 1, dtype=object)
            values[:-1] = uniques.astype(object)
            values[-1] = None
            out[name] = pd.Series(values[codes], index=frame.index, dtype=object)
        else:
            out[name] = col.astype(object).where(col.notna(), None)
    return pd.DataFrame(out, index=frame.index)


def _run_suite(feed: str, frame: pd.DataFrame, parameters: dict) -> list[tuple[dict, list[int]]]:
    """(expectation json, failing _idx values) for every failed expectation."""
    gx, batch_definition = _gx_context()
    frame = _numpy_dtypes(frame[[c for c in frame.columns if c in _suite_columns(feed)]], _code_columns(feed))
    body = load_suite_json(feed)
    numbered = [{**e, "meta": {**e.get("meta", {}), "n": n}} for n, e in enumerate(body["expectations"])]
    suite = gx.ExpectationSuite(name=body["name"], expectations=numbered, meta=body.get("meta"))
    # GX names failing rows by the frame's index: make it _idx (asking for an index *column* instead makes GX
    # build one dict per failing row, ~90 s for a million of them).
    frame = frame.set_axis(pd.Index(frame["_idx"].to_numpy()))
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, expectation_parameters=parameters, result_format={
        "result_format": "COMPLETE", "return_unexpected_index_query": False, "partial_unexpected_count": 0,
        "exclude_unexpected_values": True})
    failed = []
    for res in result.results:  # GX does not keep the suite's order: match on the number we gave each one
        spec = body["expectations"][res.expectation_config.meta["n"]]
        if res.success:
            continue
        if res.exception_info and res.exception_info.get("raised_exception"):
            raise RuntimeError(f"expectation {spec['type']} on {feed} failed to run: "
                               f"{res.exception_info.get('exception_message')}")
        failed.append((spec, [int(i) for i in res.result.get("unexpected_index_list") or []]))
    return failed


# --- helper columns the suites check -------------------------------------------------------


def _month_index(period: pd.Series) -> pd.Series:
    year = pd.to_numeric(period.str.slice(0, 4), errors="coerce")
    rest = period.str.slice(5)
    month = pd.Series(np.nan, index=period.index)
    is_month = rest.str.fullmatch(r"\d{2}").fillna(False)
    is_quarter = rest.str.fullmatch(r"Q[1-4]").fillna(False)
    month[is_month] = pd.to_numeric(rest[is_month])
    month[is_quarter] = (pd.to_numeric(rest[is_quarter].str.slice(1)) - 1) * 3 + 1
    month[period.str.len() == 4] = 1
    return year * 12 + month - 1


def _days(dates: pd.Series) -> pd.Series:
    """Dates as day numbers (float, NaN for missing) so the suites can compare them with parameters."""
    return (pd.to_datetime(dates) - pd.Timestamp("1970-01-01")).dt.days.astype("float64")


def _history(engine: sa.Engine, feed: str, units: list[str]) -> pd.DataFrame:
    """Median of each unit's current values (per indicator for the indicator feed), with point counts."""
    sql = {
        "dossier": "select c.unit_code, null::text as indicator_code, percentile_cont(0.5) within group "
                   "(order by f.received_total) as median, count(*) as points from core.fact_dossier f ",
        "admin_ops": "select c.unit_code, null::text as indicator_code, percentile_cont(0.5) within group "
                     "(order by f.documents_issued) as median, count(*) as points from core.fact_admin_ops f ",
        "indicator": "select c.unit_code, f.indicator_code, percentile_cont(0.5) within group "
                     "(order by f.value) as median, count(*) as points from core.fact_indicator f ",
    }.get(feed)
    if sql is None:
        return pd.DataFrame(columns=["unit_code", "indicator_code", "median", "points"])
    sql += ("join core.current_slice c on c.submission_id = f.submission_id and c.slice_key = f.slice_key "
            "where c.unit_code = any(:units) group by 1, 2")
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(sa.text(sql), {"units": units}).mappings().all(),
                            columns=["unit_code", "indicator_code", "median", "points"])


def _previous_disbursed(engine: sa.Engine, units: list[str]) -> pd.DataFrame:
    return read_frame(engine, read_sql("validate/previous_disbursed.sql"), {"units": units}, {
        "unit_code": pa.string(), "project_code": pa.string(), "as_of_date": pa.date32(),
        "disbursed_vnd": pa.int64()})


def _add_helper_columns(parsed: ParsedFeed, catalog: Catalog, engine: sa.Engine | None) -> pd.DataFrame:
    frame = parsed.rows.copy()
    frame["_idx"] = np.arange(len(frame))
    frame["_folder_unit"] = pd.Series([f.unit_code for f in parsed.files], dtype="string").reindex(
        frame["_file"].to_numpy()).to_numpy()
    units = sorted({f.unit_code for f in parsed.files})
    # unit_known: 1 where the code is a submitting unit of the catalog, 0 where not, missing where the cell is
    frame["_unit_in_catalog"] = frame["unit_code"].isin(catalog.submitter_codes).astype("float64").where(
        frame["unit_code"].notna())
    feed = parsed.feed
    if "period" in frame:
        frame["_period_idx"] = _month_index(frame["period"])
    if feed == "disbursement":
        frame["_as_of_day"] = _days(frame["as_of_date"])
        frame["_previous_disbursed_vnd"] = np.nan
        previous = _previous_disbursed(engine, units) if engine is not None else None
        if previous is not None and not previous.empty:
            merged = frame[["unit_code", "project_code", "as_of_date"]].merge(
                previous, on=["unit_code", "project_code"], how="left", suffixes=("", "_prev"))
            earlier = merged["as_of_date_prev"] < merged["as_of_date"]
            frame["_previous_disbursed_vnd"] = merged["disbursed_vnd"].where(earlier).astype("float64").to_numpy()
    if feed == "tasks":
        frame["_completed_day"] = _days(frame["completed_date"])
    if feed == "indicator":
        meta = pd.DataFrame(catalog.indicators).set_index("indicator_code")
        codes = frame["indicator_code"]
        frame["_expected_kind"] = codes.map(meta["periodicity"]).astype("string")
        frame["_min_value"] = pd.to_numeric(codes.map(meta["min_value"]), errors="coerce")
        frame["_max_value"] = pd.to_numeric(codes.map(meta["max_value"]), errors="coerce")
        kind = np.select([(frame["period"].str.len() == 4).fillna(False).to_numpy(dtype=bool),  # NA: bad period
                          frame["period"].str.contains("Q").fillna(False).to_numpy(dtype=bool)],
                         ["year", "quarter"], "month")
        frame["_period_kind"] = pd.Series(kind, index=frame.index, dtype="string").where(frame["period"].notna())
    measure = {"dossier": "received_total", "admin_ops": "documents_issued", "indicator": "value"}.get(feed)
    if measure:
        frame["_history_median"] = np.nan
        history = _history(engine, feed, units) if engine is not None else None
        if history is not None and not history.empty:
            history = history[history["points"] >= HISTORY_MIN_POINTS]
            on = ["unit_code", "indicator_code"] if feed == "indicator" else ["unit_code"]
            merged = frame[on].merge(history[[*on, "median"]], on=on, how="left")
            frame["_history_median"] = pd.to_numeric(merged["median"], errors="coerce").to_numpy()
        median = frame["_history_median"].where(frame["_history_median"] > 0)
        frame["_history_ratio"] = pd.to_numeric(frame[measure], errors="coerce").astype("float64") / median
    return frame


# --- turning results into per-file verdicts --------------------------------------------------


def _jsonable(value):
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, dt.date)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return str(value) if not isinstance(value, (int, float, str, bool)) else value


def _failures_by_file(frame: pd.DataFrame, failing: list[int], meta: dict,
                      bad_cells: set[tuple[int, str, int]]) -> list[tuple[int, list[int], list[dict]]]:
    """(file index, failing row numbers, sample of the first failing rows) per file, in file order."""
    if not failing:
        return []
    positions = np.asarray(failing, dtype=np.int64)
    files, rows = frame["_file"].to_numpy()[positions], frame["_row"].to_numpy()[positions]
    order = np.argsort(files, kind="stable")
    starts = np.flatnonzero(np.r_[True, files[order][1:] != files[order][:-1]])
    groups = []
    for start, end in zip(starts, np.r_[starts[1:], len(order)], strict=True):
        chosen = order[start:end]
        file_idx, file_rows = int(files[chosen[0]]), rows[chosen].tolist()
        if meta["check"] == "value_required":  # a cell that did not parse is already reported
            keep = [(file_idx, meta["column"], r) not in bad_cells for r in file_rows]
            file_rows = [r for r, k in zip(file_rows, keep, strict=True) if k]
            chosen = chosen[np.asarray(keep, dtype=bool)]
            if not file_rows:
                continue
        groups.append((file_idx, file_rows, positions[chosen[:SAMPLE_ROWS]]))
    if not groups:
        return []
    # one pass over every sampled row; cells as a row of the whole frame gives them (its common dtype)
    cells = frame.iloc[np.concatenate([g[2] for g in groups])].to_numpy()
    at = {c: i for i, c in enumerate(frame.columns)}
    wanted = [c for c in meta["columns"] if c in at]
    out, i = [], 0
    for file_idx, file_rows, sampled in groups:
        sample = []
        for row in cells[i:i + len(sampled)]:
            sample.append({"row": int(row[at["_row"]]), **{c: _jsonable(row[at[c]]) for c in wanted}})
        i += len(sampled)
        out.append((file_idx, file_rows, sample))
    return out


def _describe(check: str, column: str | None, count: int, rows: list[int], label: str) -> str:
    where = f" in column {column} ({label})" if column else ""
    first = ", ".join(str(r) for r in rows[:5]) + (" ..." if len(rows) > 5 else "")
    return f"{check}{where}: {count} row(s) failed (rows {first})"


@task(name="validate_feed", cache_policy=NO_CACHE)
def validate_feed(parsed: ParsedFeed, catalog: Catalog, as_of: dt.date,
                  settings: Settings | None = None) -> dict[int, FileVerdict]:
    """Run the feed's suite over all its files at once; return a verdict per file index."""
    spec = feed_spec(parsed.feed)
    verdicts: dict[int, FileVerdict] = {}
    per_file: dict[int, list[CheckFailure]] = {}
    for idx, exc in parsed.rejected.items():
        verdicts[idx] = FileVerdict("rejected", 0, [CheckFailure(
            exc.check, "error", exc.column, [exc.row] if exc.row else [], [],
            str(exc), f"Tệp không đọc được: {exc.problem}")])
    engine = get_engine(settings) if settings is not None else None
    frame = _add_helper_columns(parsed, catalog, engine)
    # cell-level parse errors
    format_errors = parsed.cell_errors
    bad_cells = set()
    for (file_idx, column, check), group in format_errors.groupby(["_file", "column", "check"], sort=True):
        rows = [int(r) for r in group["_row"]]
        bad_cells.update((int(file_idx), column, r) for r in rows)
        sample = [{"row": int(r), column: v} for r, v in zip(group["_row"][:SAMPLE_ROWS],
                                                              group["value"][:SAMPLE_ROWS], strict=True)]
        label = spec.label(column)
        per_file.setdefault(int(file_idx), []).append(CheckFailure(
            check, "error", column, rows, sample,
            f"{check} in column {column} ({label}): cannot read {len(rows)} cell(s), e.g. row {rows[0]} "
            f"value {sample[0][column]!r}",
            format_failure_vi(label, check)))
    if len(frame):
        year = as_of.year
        parameters = {
            "known_indicators": sorted(i["indicator_code"] for i in catalog.indicators
                                       if i["source_feed"] == "indicator"),
            "project_groups": list(PROJECT_GROUPS),
            "as_of_month_idx": as_of.year * 12 + as_of.month - 1,
            "as_of_day": float((np.datetime64(as_of, "D") - _EPOCH).astype(int)),
            "year_start_day": float((np.datetime64(dt.date(year, 1, 1), "D") - _EPOCH).astype(int)),
            "history_low": HISTORY_LOW, "history_high": HISTORY_HIGH,
        }
        for expectation, failing in _run_suite(parsed.feed, frame, parameters):
            meta = expectation["meta"]
            severity = "error" if expectation["severity"] == "critical" else "warning"
            label = spec.label(meta["column"])
            for file_idx, rows, sample in _failures_by_file(frame, failing, meta, bad_cells):
                per_file.setdefault(file_idx, []).append(CheckFailure(
                    meta["check"], severity, meta["column"], rows, sample,
                    _describe(meta["check"], meta["column"], len(rows), rows, label), meta["message_vi"]))
    counts = frame.groupby("_file").size() if len(frame) else pd.Series(dtype=int)
    for idx in range(len(parsed.files)):
        if idx in verdicts:
            continue
        failures = per_file.get(idx, [])
        status = ("rejected" if any(f.severity == "error" for f in failures)
                  else "loaded_with_warnings" if failures else "loaded")
        verdicts[idx] = FileVerdict(status, int(counts.get(idx, 0)), failures)
    return verdicts
