"""Validate one feed's parsed rows with its Great Expectations suite (expectations/<feed>.json)."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from prefect import task
from prefect.cache_policies import NO_CACHE

from chitieu.arrow_keys import pair_key
from chitieu.bulk_read import read_table
from chitieu.catalog import Catalog
from chitieu.config import PROBE_MAX_UNITS, Settings
from chitieu.feeds import feed_spec
from chitieu.local_time import reporting_year
from chitieu.messages_vi import file_problem_vi, format_value
from chitieu.outliers import MIN_POINTS as HISTORY_MIN_POINTS
from chitieu.outliers import THRESHOLD as OUTLIER_THRESHOLD
from chitieu.outliers import outlier_scores
from chitieu.records import CheckFailure, FileVerdict, ParsedFeed
from chitieu.suites import validate_frame
from chitieu.templates import SET_ASIDE_REASONS, SetAside
from chitieu.vocabulary import PROJECT_GROUPS, format_failure_vi
from chitieu.warehouse import get_engine, read_sql

__all__ = ["validate_feed"]

SAMPLE_ROWS = 5
_EPOCH = np.datetime64("1970-01-01", "D")


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


# Measures scored against the unit's own history (chitieu.outliers), per feed: (series key, measures).
OUTLIER_MEASURES = {
    "dossier": (["unit_code"], ["received_total", "received_online", "resolved_total", "resolved_on_time"]),
    "admin_ops": (["unit_code"], ["documents_issued", "conferences_in_person", "conferences_online"]),
    "indicator": (["unit_code", "indicator_code"], ["value"]),
}


def _history(engine: sa.Engine, feed: str, units: list[str]) -> pd.DataFrame:
    """The units' current values of the feed's scored measures, with each period's month index."""
    keys, measures = OUTLIER_MEASURES[feed]
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(sa.text(read_sql(f"validate/history_{feed}.sql")),
                                          {"units": units}).mappings().all(),
                             columns=[*keys, "period", *measures])
    for m in measures:
        frame[m] = pd.to_numeric(frame[m], errors="coerce").astype("float64")
    frame["_pidx"] = _month_index(frame["period"].astype("string"))
    return frame


_PREVIOUS_TYPES = {"unit_code": pa.string(), "project_code": pa.string(), "as_of_date": pa.date32(),
                   "disbursed_vnd": pa.int64()}


def _previous_disbursed(engine: sa.Engine, units: list[str]) -> pa.Table:
    """Each project's figure in core.project_status, for those of `units` with a disbursement submission loaded."""
    known = read_table(engine, read_sql("validate/units_with_disbursement.sql"), {"units": units},
                       {"unit_code": pa.string()}).column("unit_code").to_pylist()
    if not known:
        return pa.table({name: pa.array([], kind) for name, kind in _PREVIOUS_TYPES.items()})
    # a few units (a correction) through the table's BRIN index: 0.006 s against 0.09 s for a scan of a national one
    return read_table(engine, read_sql("validate/previous_disbursed.sql"), {"units": known}, _PREVIOUS_TYPES,
                      planner={"enable_seqscan": "off"} if len(known) <= PROBE_MAX_UNITS else None)


def _previous_in_other_submissions(engine: sa.Engine, frame: pd.DataFrame, rerun_of: list[int]) -> np.ndarray:
    """For a rerun: each row's project's latest figure dated before the row, in the same year, among the unit's
    current submissions other than the row's own (its file is `rerun_of[row's file]`); NaN where none. The pass
    compared it with the project's latest row then; after the load that row is the file's own, so a rerun read
    there found no earlier figure and dropped the unit's `cumulative_not_decreasing` warning."""
    with engine.connect() as conn:
        facts = pd.DataFrame(conn.execute(sa.text(read_sql("validate/current_disbursed.sql")),
                                          {"units": sorted(set(frame["unit_code"].dropna()))}).all(),
                             columns=["submission_id", "unit_code", "project_code", "as_of_date", "disbursed_vnd"])
    out = np.full(len(frame), np.nan)
    if facts.empty:
        return out
    rows = pd.DataFrame({"_pos": np.arange(len(frame)), "unit_code": frame["unit_code"].to_numpy(),
                         "project_code": frame["project_code"].to_numpy(),
                         "date": pd.to_datetime(frame["as_of_date"]).to_numpy(),
                         "own": np.asarray(rerun_of)[frame["_file"].to_numpy(dtype=int)]})
    facts["date"] = pd.to_datetime(facts.pop("as_of_date"))
    pairs = rows.merge(facts, on=["unit_code", "project_code"], suffixes=("", "_then"))
    pairs = pairs[(pairs["date_then"] < pairs["date"]) & (pairs["date_then"].dt.year == pairs["date"].dt.year)
                  & (pairs["submission_id"] != pairs["own"])]
    latest = pairs.sort_values(["date_then", "submission_id"]).groupby("_pos").tail(1)
    out[latest["_pos"].to_numpy()] = latest["disbursed_vnd"].to_numpy(dtype="float64")
    return out


class PreviousFigures:
    """The read of some units' previous cumulative disbursement figures, started ahead (prefetch_previous)."""

    def __init__(self, units: set[str], future: Future):
        self.units, self.future = units, future

    def result(self, units: list[str]) -> pa.Table | None:
        """The figures, when the read covers `units` (else None: validation reads them itself)."""
        return self.future.result() if set(units) <= self.units else None


_READS_AHEAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="previous-figures")


def prefetch_previous(settings: Settings, feed: str, files: list) -> PreviousFigures | None:
    """For a disbursement part, start reading its units' previous figures in a thread while the part is parsed: a
    national part's 330,000 projects took the flow's thread ~1.1 s in validate_feed (a profile of a national month),
    reading from a warehouse busy with the previous part's load. Other units' loads do not change them (a part's units
    are its own), so read before or after the parse they are the same."""
    if feed != "disbursement" or not files:
        return None
    units = {f.unit_code for f in files}
    return PreviousFigures(units, _READS_AHEAD.submit(_previous_disbursed, get_engine(settings), sorted(units)))


def _previous_disbursed_vnd(frame: pd.DataFrame, previous: pa.Table) -> np.ndarray:
    """Each row's project's previous cumulative figure (NaN where none): the one `previous` holds for its unit and
    project when dated before the row's date in the same year (a cumulative figure restarts each year, each year
    having its own capital plan). Looked up in Arrow: 0.1-0.2 s for a national part's 330,000 rows, where a pandas
    merge took 0.3 s alone and 1.6 s in a national month's profile."""
    at = pc.index_in(pair_key(frame["unit_code"].array, frame["project_code"].array),
                     value_set=pair_key(previous.column("unit_code"), previous.column("project_code")))
    date = pa.array(pd.to_datetime(frame["as_of_date"]).array).cast(pa.date32())
    before = previous.column("as_of_date").combine_chunks().take(at)
    earlier = pc.and_(pc.less(before, date), pc.equal(pc.year(before), pc.year(date)))
    figure = previous.column("disbursed_vnd").combine_chunks().take(at)
    return pc.if_else(pc.fill_null(earlier, False), figure.cast(pa.float64()), None).to_numpy(zero_copy_only=False)


def _add_helper_columns(parsed: ParsedFeed, catalog: Catalog, engine: sa.Engine | None,
                        prefetched: PreviousFigures | None = None, rerun_of: list[int] | None = None) -> pd.DataFrame:
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
        if rerun_of is not None and engine is not None:  # a rerun: the project's latest row is now the file's own
            if len(frame):
                frame["_previous_disbursed_vnd"] = _previous_in_other_submissions(engine, frame, rerun_of)
        else:
            previous = prefetched.result(units) if prefetched is not None else None
            if previous is None and engine is not None:
                previous = _previous_disbursed(engine, units)
            if previous is not None and previous.num_rows:
                frame["_previous_disbursed_vnd"] = _previous_disbursed_vnd(frame, previous)
    if feed == "tasks":
        frame["_completed_day"] = _days(frame["completed_date"])
    if feed == "indicator":
        meta = pd.DataFrame(catalog.indicators).set_index("indicator_code")
        codes = frame["indicator_code"]
        frame["_expected_kind"] = codes.map(meta["periodicity"]).astype("string")
        frame["_min_value"] = pd.to_numeric(codes.map(meta["min_value"]), errors="coerce")
        frame["_max_value"] = pd.to_numeric(codes.map(meta["max_value"]), errors="coerce")
        # 1 where a value was shown as a percentage (`50%`) for an indicator not measured in %: 50 ha is no 50%
        in_percent = codes.map(meta["unit_of_measure"].eq("%")).fillna(True).astype(bool).to_numpy()
        shown = frame["_value_percent"].to_numpy(dtype=bool) if "_value_percent" in frame else False
        frame["_percent_elsewhere"] = (shown & ~in_percent).astype("float64")
        kind = np.select([(frame["period"].str.len() == 4).fillna(False).to_numpy(dtype=bool),  # NA: bad period
                          frame["period"].str.contains("Q").fillna(False).to_numpy(dtype=bool)],
                         ["year", "quarter"], "month")
        frame["_period_kind"] = pd.Series(kind, index=frame.index, dtype="string").where(frame["period"].notna())
    if feed in OUTLIER_MEASURES:
        keys, measures = OUTLIER_MEASURES[feed]
        history = _history(engine, feed, units) if engine is not None else None
        if history is None:
            history = pd.DataFrame(columns=[*keys, "_pidx", *measures])
        scored = frame[[*keys, *measures]].assign(_pidx=frame["_period_idx"])
        for name, column in outlier_scores(scored, history, keys, measures).items():
            frame[name] = column.to_numpy()
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


def _note_short_history(frame: pd.DataFrame, feed: str, per_file: dict[int, list[CheckFailure]]) -> None:
    """A note per file listing the rows too new to be scored against the unit's history (no score is not a pass:
    the reviewer is told, in mart.review_queue; the unit is not alerted)."""
    keys, measures = OUTLIER_MEASURES[feed]
    measure = measures[0]
    short = (frame["_points"] < HISTORY_MIN_POINTS) & frame[measure].notna() & frame["_period_idx"].notna()
    label = feed_spec(feed).label(measure)
    # grouped by file as failing rows are (a pandas group per file cost ~2 ms: 3,321 one-row files took 7.8 s)
    failing = np.flatnonzero(short.to_numpy(dtype=bool)).tolist()
    meta = {"check": "history_too_short", "columns": [measure, "_points"]}
    for file_idx, rows, sample in _failures_by_file(frame, failing, meta, set()):
        sample = [{**cells, "_points": int(cells["_points"])} for cells in sample]
        per_file.setdefault(file_idx, []).append(CheckFailure(
            "history_too_short", "info", measure, rows, sample,
            f"history_too_short in column {measure} ({label}): {len(rows)} row(s) not scored against the unit's "
            f"history (fewer than {HISTORY_MIN_POINTS} other periods)",
            f"«{label}»: chưa đủ số liệu các kỳ trước (cần ít nhất {HISTORY_MIN_POINTS} kỳ) để so sánh với lịch sử "
            "của đơn vị"))


def _set_aside_notes(rows: list[SetAside]) -> list[CheckFailure]:
    """One `info` note per kind of template row set aside (title, column numbers, sections, totals, signature)."""
    by_kind: dict[str, list[SetAside]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row)
    notes = []
    for kind, group in by_kind.items():
        english, vietnamese = SET_ASIDE_REASONS[kind]
        numbers = [r.row for r in group]
        shown = ", ".join(str(n) for n in numbers[:10]) + (" ..." if len(numbers) > 10 else "")
        notes.append(CheckFailure(
            f"set_aside_{kind}", "info", None, numbers,
            [{"row": r.row, "text": r.text[:80]} for r in group[:SAMPLE_ROWS]],
            f"{len(numbers)} row(s) set aside as not data: {english} (rows {shown})",
            f"{len(numbers)} dòng không phải số liệu, không ghi nhận: {vietnamese} (dòng {shown})"))
    return notes


def _total_mismatches(parsed: ParsedFeed, spec, bad_cells: set) -> list[tuple[int, CheckFailure]]:
    """A total row whose figure is not the sum of the data rows it covers: a warning naming the column and both."""
    out = []
    if not parsed.totals:
        return out
    rows = parsed.rows
    for file_idx, totals in parsed.totals.items():
        mine = rows[rows["_file"] == file_idx].set_index("_row")
        for total in totals:
            covered = mine.loc[mine.index.intersection(total.covers)]
            for column, stated in total.cells.items():
                if any((file_idx, column, r) in bad_cells for r in total.covers):
                    continue  # a cell that did not parse is already an error
                added = float(pd.to_numeric(covered[column], errors="coerce").fillna(0).sum())
                if abs(added - stated) <= 1e-6 * max(1.0, abs(stated)):
                    continue
                label = spec.label(column)
                out.append((file_idx, CheckFailure(
                    "total_mismatch", "warning", column, [total.row],
                    [{"row": total.row, column: stated, "_sum_of_rows": added}],
                    f"total_mismatch in column {column} ({label}): row {total.row} ({total.label!r}) states "
                    f"{stated:g} but the {len(covered)} data row(s) it covers add up to {added:g}",
                    f"Dòng {total.row} («{total.label}»): cột «{label}» ghi {format_value(stated)} nhưng cộng "
                    f"{len(covered)} dòng số liệu được {format_value(added)}")))
    return out


@task(name="validate_feed", cache_policy=NO_CACHE)
def validate_feed(parsed: ParsedFeed, catalog: Catalog, as_of: dt.date, settings: Settings | None = None,
                  previous: PreviousFigures | None = None, since_year: int | None = None,
                  rerun_of: list[int] | None = None) -> dict[int, FileVerdict]:
    """Run the feed's suite over all its files at once; return a verdict per file index. `previous`: the units'
    previous disbursement figures, read ahead (prefetch_previous). `since_year`: an earlier first year a
    disbursement snapshot may be dated in than the as-of date's reporting year (a rerun of files taken then).
    `rerun_of`: the submission each file is (a rerun): a figure is then compared with the unit's other current
    submissions, not with the project's latest row, which is now its own."""
    spec = feed_spec(parsed.feed)
    verdicts: dict[int, FileVerdict] = {}
    per_file: dict[int, list[CheckFailure]] = {}
    for idx, exc in parsed.rejected.items():
        verdicts[idx] = FileVerdict("rejected", 0, [CheckFailure(
            exc.check, "error", exc.column, [exc.row] if exc.row else [], [],
            str(exc), "Tệp bị từ chối: " + file_problem_vi(parsed.feed, exc.check, exc.row, exc.column,
                                                            exc.problem_vi))])
    engine = get_engine(settings) if settings is not None else None
    frame = _add_helper_columns(parsed, catalog, engine, previous, rerun_of)
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
        year = min(reporting_year(as_of), since_year or reporting_year(as_of))  # of a disbursement snapshot
        parameters = {
            "known_indicators": sorted(i["indicator_code"] for i in catalog.indicators
                                       if i["source_feed"] == "indicator"),
            "project_groups": list(PROJECT_GROUPS),
            "as_of_month_idx": as_of.year * 12 + as_of.month - 1,
            "as_of_day": float((np.datetime64(as_of, "D") - _EPOCH).astype(int)),
            "year_start_day": float((np.datetime64(dt.date(year, 1, 1), "D") - _EPOCH).astype(int)),
            "outlier_threshold": OUTLIER_THRESHOLD,
        }
        for expectation, failing in validate_frame(parsed.feed, frame, parameters):
            meta = expectation["meta"]
            severity = "error" if expectation["severity"] == "critical" else "warning"
            label = spec.label(meta["column"])
            for file_idx, rows, sample in _failures_by_file(frame, failing, meta, bad_cells):
                per_file.setdefault(file_idx, []).append(CheckFailure(
                    meta["check"], severity, meta["column"], rows, sample,
                    _describe(meta["check"], meta["column"], len(rows), rows, label), meta["message_vi"]))
    notes: dict[int, list[CheckFailure]] = {}
    if len(frame) and parsed.feed in OUTLIER_MEASURES:
        _note_short_history(frame, parsed.feed, notes)
    for file_idx, failure in _total_mismatches(parsed, spec, bad_cells):
        per_file.setdefault(file_idx, []).append(failure)
    for file_idx, rows in parsed.set_aside.items():
        per_file.setdefault(file_idx, []).extend(_set_aside_notes(rows))
    counts = frame.groupby("_file").size() if len(frame) else pd.Series(dtype=int)
    for idx in range(len(parsed.files)):
        if idx in verdicts:
            continue
        failures = per_file.get(idx, [])
        status = ("rejected" if any(f.severity == "error" for f in failures)
                  else "loaded_with_warnings" if any(f.severity == "warning" for f in failures) else "loaded")
        verdicts[idx] = FileVerdict(status, int(counts.get(idx, 0)), failures, notes.get(idx, []))
    return verdicts
