"""Load validated submissions: one transaction per batch, facts by COPY, versions and current slices set-based."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from prefect import task
from prefect.cache_policies import NO_CACHE

from chitieu.config import Settings
from chitieu.feeds import feed_spec
from chitieu.landing import LandedFile
from chitieu.warehouse import get_engine, read_sql
from tasks.parse import MAX_FILE_BYTES, ParsedFeed
from tasks.validate import CheckFailure, FileVerdict

__all__ = ["SubmissionOutcome", "archive_file", "load_submissions", "record_duplicates"]

BATCH_ROWS = 250_000
REJECTED_BATCH = 1_000  # rejected files recorded per transaction
_log = logging.getLogger(__name__)
_ACCEPTED = ("loaded", "loaded_with_warnings")


@dataclass
class SubmissionOutcome:
    """What became of one landed file; the row of the run's summary table."""

    submission_id: int | None
    unit_code: str
    feed: str
    file_name: str
    status: str
    rows_total: int = 0
    rows_failed: int = 0
    periods: list[str] = field(default_factory=list)
    failures: list[CheckFailure] = field(default_factory=list)
    sha256: str = ""


def archive_file(landed: LandedFile, archive_dir: Path) -> Path:
    """Copy the file's bytes to the content-addressed archive (kept for reruns); idempotent."""
    target = archive_dir / landed.sha256[:2] / f"{landed.sha256}{landed.extension}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f"{target.suffix}.{os.getpid()}.part")  # concurrent runs never share a tmp
        shutil.copyfile(landed.path, tmp)
        tmp.replace(target)
    return target


def _lock_units(conn: sa.Connection, feed: str, units: set[str]) -> None:
    """Serialise loads of the same unit and feed (in sorted order, so concurrent runs cannot deadlock)."""
    conn.execute(sa.text(
        "select pg_advisory_xact_lock(hashtext(k.key)) from unnest(cast(:keys as text[])) with ordinality"
        " as k(key, ord) order by k.ord"), {"keys": [f"{unit}/{feed}" for unit in sorted(units)]})


def after_facts_sql(feed: str) -> str:
    """The post-COPY script for a feed: slices, versions, current slices."""
    return read_sql("load/after_facts.sql").format(refresh_current=read_sql("load/refresh_current.sql"))


def _run_script(conn: sa.Connection, script: str, params: dict) -> None:
    """Run a multi-statement SQL file statement by statement with the same parameters."""
    for statement in script.split(";\n"):
        if statement.strip() and not all(line.strip().startswith("--") or not line.strip()
                                         for line in statement.splitlines()):
            conn.execute(sa.text(statement), params)


def _copy_facts(conn: sa.Connection, feed: str, facts: pd.DataFrame) -> None:
    """COPY a typed frame into core.fact_<feed> through the session's psycopg connection."""
    if facts.empty:
        return
    table = pa.Table.from_pandas(facts, preserve_index=False)
    for i, col in enumerate(table.schema):
        if pa.types.is_timestamp(col.type):
            table = table.set_column(i, col.name, table.column(i).cast(pa.date32()))
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    columns = ", ".join(facts.columns)
    cursor = conn.connection.driver_connection.cursor()
    statement = f"copy core.fact_{feed} ({columns}) from stdin with (format csv)"
    try:
        with cursor.copy(statement) as copy:
            copy.write(buffer.getbuffer())
    except psycopg.Error as exc:  # raw psycopg here: wrap it as SQLAlchemy would (DataError, OperationalError...)
        raise sa.exc.DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


# --- what each file carries, computed once per feed (not once per file) ----------------------------


def _distinct_per_file(files: np.ndarray, *columns: pd.Series) -> dict[int, list[tuple]]:
    """For each file index, the distinct tuples of `columns` values among its rows (None for a missing value)."""
    codes, uniques = [files.astype(np.int64)], []
    for column in columns:
        column_codes, column_uniques = pd.factorize(column, use_na_sentinel=True)
        codes.append(column_codes.astype(np.int64))
        uniques.append(list(column_uniques))
    out: dict[int, list[tuple]] = {}
    for file_idx, *value_codes in np.unique(np.stack(codes, axis=1), axis=0).tolist():
        out.setdefault(file_idx, []).append(tuple(None if c < 0 else u[c] for c, u in zip(value_codes, uniques,
                                                                                             strict=True)))
    return out


_SLICE_PERIOD = {"dossier": "period", "admin_ops": "period", "indicator": "period", "disbursement": "_slice"}


class _Carried:
    """Per file of a parsed feed, computed once: the periods it reports and the (slice, period) pairs it carries."""

    def __init__(self, parsed: ParsedFeed):
        rows = parsed.rows
        files = rows["_file"].to_numpy()
        if "period" in rows:
            values = rows["period"]
        elif parsed.feed == "disbursement":
            values = rows["_slice"]
        else:
            values = None
        self.periods: dict[int, list[str]] = {} if values is None else {
            f: sorted({str(v) for (v,) in vs if v is not None}) for f, vs in _distinct_per_file(files, values).items()}
        period_column = _SLICE_PERIOD.get(parsed.feed)
        if period_column is None:
            self._slices = _distinct_per_file(files, rows["_slice"])
        else:
            self._slices = _distinct_per_file(files, rows["_slice"], rows[period_column])

    def slice_params(self, claimed: dict[int, int]) -> dict[str, list]:
        """Bind parameters of after_facts.sql for the claimed files (file index -> submission id)."""
        ids, keys, periods = [], [], []
        for idx, sid in claimed.items():
            for slice_key, *period in self._slices.get(idx, []):
                ids.append(sid)
                keys.append(None if slice_key is None else str(slice_key))
                periods.append(str(period[0]) if period and period[0] is not None else None)
        return {"slice_ids": ids, "slice_keys": keys, "slice_periods": periods}


# --- recording submissions --------------------------------------------------------------------------


def _failures_json(failures: list[CheckFailure]) -> list[dict]:
    return [{"expectation": f.expectation, "severity": f.severity, "column_name": f.column,
             "failed_rows": len(f.rows) or 1, "failed_row_numbers": f.rows[:10_000],
             "sample": json.dumps(f.sample, ensure_ascii=False), "message": f.message} for f in failures]


def _insert_checks(conn: sa.Connection, failures_by_submission: dict[int, list[CheckFailure]]) -> None:
    rows = [{"submission_id": sid, **f} for sid, failures in failures_by_submission.items()
            for f in _failures_json(failures)]
    if rows:
        conn.execute(sa.text(
            "insert into audit.check_result (submission_id, expectation, severity, column_name, failed_rows,"
            " failed_row_numbers, sample, message) values (:submission_id, :expectation, :severity, :column_name,"
            " :failed_rows, :failed_row_numbers, cast(:sample as jsonb), :message)"), rows)


def _message(verdict: FileVerdict) -> str | None:
    return "; ".join(f.message for f in verdict.failures)[:4000] or None


def _insert_submissions(conn: sa.Connection, parsed: ParsedFeed, batch: list[int], verdicts: dict[int, FileVerdict],
                        carried: _Carried, run_id: int | None, archives: dict[int, str]) -> dict[int, int]:
    """Claim the files' contents for their unit and feed in one statement; file index -> submission id of those
    claimed (a file whose content a concurrent run already holds is not)."""
    rows = []
    for ord_, idx in enumerate(batch):
        landed, verdict = parsed.files[idx], verdicts[idx]
        rows.append({"ord": ord_, "unit_code": landed.unit_code, "feed": landed.feed, "file_name": landed.rel_path,
                     "sha256": landed.sha256, "size_bytes": landed.size_bytes,
                     "received_at": landed.received_at.isoformat(), "status": verdict.status,
                     "rows_total": verdict.rows_total, "rows_failed": verdict.rows_failed,
                     "archive_path": archives.get(idx), "periods": carried.periods.get(idx, []),
                     "message": _message(verdict)})
    by_key = {(parsed.files[idx].unit_code, parsed.files[idx].feed, parsed.files[idx].sha256): idx for idx in batch}
    returned = conn.execute(sa.text(read_sql("load/insert_submissions.sql")),
                            {"rows": json.dumps(rows, ensure_ascii=False), "run_id": run_id}).all()
    return {by_key[(r.unit_code, r.feed, r.sha256)]: r.submission_id for r in returned}


def _load_batch(engine: sa.Engine, parsed: ParsedFeed, batch: list[int], verdicts: dict[int, FileVerdict],
                carried: _Carried, run_id: int | None, archives: dict[int, str]) -> dict[int, int]:
    """Load accepted files of one batch atomically; return file index -> submission id claimed."""
    spec = feed_spec(parsed.feed)
    fact_columns = spec.names
    with engine.begin() as conn:
        _lock_units(conn, parsed.feed, {parsed.files[i].unit_code for i in batch})
        claimed = _insert_submissions(conn, parsed, batch, verdicts, carried, run_id, archives)
        if not claimed:
            return claimed
        rows = parsed.rows[parsed.rows["_file"].isin(list(claimed))]
        facts = rows[fact_columns].copy()
        facts.insert(0, "source_row", rows["_row"].to_numpy())
        facts.insert(0, "slice_key", rows["_slice"].to_numpy())
        facts.insert(0, "submission_id", rows["_file"].map(claimed).to_numpy())
        _copy_facts(conn, parsed.feed, facts)
        _run_script(conn, after_facts_sql(parsed.feed), {"ids": sorted(claimed.values()),
                                                          **carried.slice_params(claimed)})
        _insert_checks(conn, {sid: verdicts[idx].failures for idx, sid in claimed.items()})
    return claimed


def _load_rejected(engine: sa.Engine, parsed: ParsedFeed, batch: list[int], verdicts: dict[int, FileVerdict],
                   carried: _Carried, run_id: int | None, archives: dict[int, str]) -> dict[int, int]:
    """Record rejected files (no facts) with their failed checks; file index -> submission id claimed."""
    with engine.begin() as conn:
        claimed = _insert_submissions(conn, parsed, batch, verdicts, carried, run_id, archives)
        _insert_checks(conn, {sid: verdicts[idx].failures for idx, sid in claimed.items()})
    return claimed


def _batches(parsed: ParsedFeed, indices: list[int]) -> list[list[int]]:
    sizes = parsed.rows.groupby("_file").size()
    out, current, rows = [], [], 0
    for idx in indices:
        n = int(sizes.get(idx, 0))
        if current and rows + n > BATCH_ROWS:
            out.append(current)
            current, rows = [], 0
        current.append(idx)
        rows += n
    if current:
        out.append(current)
    return out


@task(name="load_submissions", tags=["load"], retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def load_submissions(settings: Settings, parsed: ParsedFeed, verdicts: dict[int, FileVerdict],
                     run_id: int | None) -> list[SubmissionOutcome]:
    """Record every file of the feed; facts of accepted files land whole or not at all."""
    engine, archive_dir = get_engine(settings), settings.archive_dir
    archives = {idx: str(archive_file(f, archive_dir)) for idx, f in enumerate(parsed.files)
                if f.size_bytes <= MAX_FILE_BYTES}  # a file refused for its size is not copied (disk filling)
    carried = _Carried(parsed)
    outcomes: dict[int, SubmissionOutcome] = {}
    accepted = [i for i in range(len(parsed.files)) if verdicts[i].status in _ACCEPTED]
    for batch in _batches(parsed, accepted):
        try:
            claimed = _load_batch(engine, parsed, batch, verdicts, carried, run_id, archives)
        except sa.exc.OperationalError:
            raise  # transient: the task's retries take it from here; nothing of the batch committed
        except sa.exc.DBAPIError as exc:
            claimed = {}  # isolate the file the database refuses; the others still load
            for idx in batch:
                if len(batch) == 1:
                    _reject_refused(engine, parsed, idx, exc, verdicts, carried, run_id, archives, outcomes)
                    break
                claimed.update(_load_file_or_reject(engine, parsed, idx, verdicts, carried, run_id, archives,
                                                    outcomes))
        for idx, sid in claimed.items():
            outcomes[idx] = _outcome(parsed, idx, sid, verdicts[idx], carried)
    rejected = [idx for idx in range(len(parsed.files)) if verdicts[idx].status == "rejected" and idx not in outcomes]
    for start in range(0, len(rejected), REJECTED_BATCH):
        claimed = _load_rejected(engine, parsed, rejected[start:start + REJECTED_BATCH], verdicts, carried, run_id,
                                 archives)
        for idx, sid in claimed.items():
            outcomes[idx] = _outcome(parsed, idx, sid, verdicts[idx], carried)
    return [outcomes[i] for i in sorted(outcomes)]


def _load_file_or_reject(engine, parsed, idx, verdicts, carried, run_id, archives, outcomes) -> dict[int, int]:
    """Load one file on its own; when the database refuses its rows, record it as rejected with the reason."""
    try:
        return _load_batch(engine, parsed, [idx], verdicts, carried, run_id, archives)
    except sa.exc.OperationalError:
        raise
    except sa.exc.DBAPIError as exc:
        _reject_refused(engine, parsed, idx, exc, verdicts, carried, run_id, archives, outcomes)
        return {}


def _reject_refused(engine, parsed, idx, exc, verdicts, carried, run_id, archives, outcomes) -> None:
    reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
    verdicts[idx] = FileVerdict("rejected", verdicts[idx].rows_total, [CheckFailure(
        "load_failed", "error", None, [], [], f"database refused the rows: {reason}",
        f"Cơ sở dữ liệu từ chối số liệu: {reason}")])
    for i, sid in _load_rejected(engine, parsed, [idx], verdicts, carried, run_id, archives).items():
        outcomes[i] = _outcome(parsed, i, sid, verdicts[i], carried)


def _outcome(parsed: ParsedFeed, idx: int, sid: int, verdict: FileVerdict, carried: _Carried) -> SubmissionOutcome:
    landed = parsed.files[idx]
    return SubmissionOutcome(sid, landed.unit_code, landed.feed, landed.rel_path, verdict.status,
                             verdict.rows_total, verdict.rows_failed, carried.periods.get(idx, []), verdict.failures,
                             landed.sha256)


@task(name="record_duplicates", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def record_duplicates(settings: Settings, duplicates: list[tuple[LandedFile, int]],
                      run_id: int | None) -> list[SubmissionOutcome]:
    """Log files whose bytes were already received for the unit and feed; nothing else changes."""
    out = []
    with get_engine(settings).begin() as conn:
        for landed, _original in duplicates:
            sid = conn.execute(sa.text(read_sql("load/insert_duplicate.sql")), {
                "unit_code": landed.unit_code, "feed": landed.feed, "file_name": landed.rel_path,
                "sha256": landed.sha256, "size_bytes": landed.size_bytes, "received_at": landed.received_at,
                "run_id": run_id}).scalar()
            out.append(SubmissionOutcome(sid, landed.unit_code, landed.feed, landed.rel_path, "duplicate",
                                         sha256=landed.sha256))
    return out


@task(name="reload_submissions", tags=["load"], retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def reload_submissions(settings: Settings, parsed: ParsedFeed, verdicts: dict[int, FileVerdict],
                       submission_ids: list[int]) -> list[SubmissionOutcome]:
    """Replace, in place, the facts and checks of existing submissions (file i -> submission_ids[i])."""
    engine = get_engine(settings)
    outcomes = []
    spec = feed_spec(parsed.feed)
    carried = _Carried(parsed)
    for idx, sid in enumerate(submission_ids):
        verdict = verdicts[idx]
        with engine.begin() as conn:
            _lock_units(conn, parsed.feed, {parsed.files[idx].unit_code})
            for statement in (f"delete from core.fact_{parsed.feed} where submission_id = :sid",
                              "delete from audit.check_result where submission_id = :sid",
                              "delete from audit.submission_slice where submission_id = :sid"):
                conn.execute(sa.text(statement), {"sid": sid})
            conn.execute(sa.text(
                "update audit.submission set status = :status, rows_total = :rows_total, rows_failed = :rows_failed,"
                " periods = :periods, message = :message, processed_at = now(),"
                " version = case when :status = 'rejected' then null else version end"
                " where submission_id = :sid"),
                {"sid": sid, "status": verdict.status, "rows_total": verdict.rows_total,
                 "rows_failed": verdict.rows_failed, "periods": carried.periods.get(idx, []),
                 "message": _message(verdict)})
            if verdict.status in _ACCEPTED:
                rows = parsed.rows[parsed.rows["_file"] == idx]
                facts = rows[spec.names].copy()
                facts.insert(0, "source_row", rows["_row"].to_numpy())
                facts.insert(0, "slice_key", rows["_slice"].to_numpy())
                facts.insert(0, "submission_id", sid)
                _copy_facts(conn, parsed.feed, facts)
                _run_script(conn, after_facts_sql(parsed.feed), {"ids": [sid], **carried.slice_params({idx: sid})})
            else:
                _run_script(conn, read_sql("load/refresh_current.sql"), {"ids": [sid]})
            _insert_checks(conn, {sid: verdict.failures})
        outcomes.append(_outcome(parsed, idx, sid, verdict, carried))
    return outcomes
