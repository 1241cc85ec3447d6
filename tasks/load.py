"""Load validated submissions: one transaction per batch, facts by COPY, versions and current slices set-based."""

from __future__ import annotations

import io
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from prefect import task
from prefect.cache_policies import NO_CACHE

from chitieu.config import Settings
from chitieu.feeds import feed_spec
from chitieu.landing import LandedFile
from chitieu.warehouse import get_engine, read_sql
from tasks.parse import ParsedFeed
from tasks.validate import CheckFailure, FileVerdict

__all__ = ["SubmissionOutcome", "archive_file", "load_submissions", "record_duplicates"]

BATCH_ROWS = 250_000
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
        tmp = target.with_suffix(target.suffix + ".part")
        shutil.copyfile(landed.path, tmp)
        tmp.replace(target)
    return target


def _lock_units(conn: sa.Connection, feed: str, units: set[str]) -> None:
    for unit in sorted(units):
        conn.execute(sa.text("select pg_advisory_xact_lock(hashtext(:k))"), {"k": f"{unit}/{feed}"})


_PERIOD_EXPR = {"dossier": "period", "admin_ops": "period", "indicator": "period",
                "disbursement": "slice_key", "tasks": "null::text"}


def after_facts_sql(feed: str) -> str:
    """The post-COPY script for a feed: slices, versions, current slices."""
    return read_sql("load/after_facts.sql").format(
        fact_table=f"fact_{feed}", period=_PERIOD_EXPR[feed], refresh_current=read_sql("load/refresh_current.sql"))


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
    with cursor.copy(f"copy core.fact_{feed} ({columns}) from stdin with (format csv)") as copy:
        copy.write(buffer.getbuffer())


def _periods(parsed: ParsedFeed, idx: int) -> list[str]:
    rows = parsed.rows[parsed.rows["_file"] == idx]
    if "period" in rows:
        values = rows["period"]
    elif parsed.feed == "disbursement":
        values = rows["_slice"]
    else:
        return []
    return sorted({str(v) for v in values.dropna()})


def _failures_json(failures: list[CheckFailure]) -> list[dict]:
    return [{"expectation": f.expectation, "severity": f.severity, "column_name": f.column,
             "failed_rows": len(f.rows) or 1, "failed_row_numbers": f.rows[:10_000],
             "sample": json.dumps(f.sample, ensure_ascii=False), "message": f.message} for f in failures]


def _insert_checks(conn: sa.Connection, submission_id: int, failures: list[CheckFailure]) -> None:
    if failures:
        conn.execute(sa.text(
            "insert into audit.check_result (submission_id, expectation, severity, column_name, failed_rows,"
            " failed_row_numbers, sample, message) values (:submission_id, :expectation, :severity, :column_name,"
            " :failed_rows, :failed_row_numbers, cast(:sample as jsonb), :message)"),
            [{"submission_id": submission_id, **f} for f in _failures_json(failures)])


def _insert_submission(conn: sa.Connection, landed: LandedFile, verdict: FileVerdict, periods: list[str],
                       run_id: int | None, archive: str | None) -> int | None:
    """Claim the content for this unit/feed; None when another run already holds it."""
    return conn.execute(sa.text(read_sql("load/insert_submission.sql")), {
        "unit_code": landed.unit_code, "feed": landed.feed, "file_name": landed.rel_path,
        "sha256": landed.sha256, "size_bytes": landed.size_bytes, "received_at": landed.received_at,
        "run_id": run_id, "status": verdict.status, "rows_total": verdict.rows_total,
        "rows_failed": verdict.rows_failed, "archive_path": archive, "periods": periods,
        "message": "; ".join(f.message for f in verdict.failures)[:4000] or None,
    }).scalar()


def _load_batch(engine: sa.Engine, parsed: ParsedFeed, batch: list[int], verdicts: dict[int, FileVerdict],
                run_id: int | None, archives: dict[int, str]) -> dict[int, int]:
    """Load accepted files of one batch atomically; return file index -> submission id claimed."""
    spec = feed_spec(parsed.feed)
    fact_columns = spec.names
    claimed: dict[int, int] = {}
    with engine.begin() as conn:
        _lock_units(conn, parsed.feed, {parsed.files[i].unit_code for i in batch})
        for idx in batch:
            sid = _insert_submission(conn, parsed.files[idx], verdicts[idx], _periods(parsed, idx), run_id,
                                     archives.get(idx))
            if sid is not None:
                claimed[idx] = sid
        if not claimed:
            return claimed
        rows = parsed.rows[parsed.rows["_file"].isin(list(claimed))]
        facts = rows[fact_columns].copy()
        facts.insert(0, "source_row", rows["_row"].to_numpy())
        facts.insert(0, "slice_key", rows["_slice"].to_numpy())
        facts.insert(0, "submission_id", rows["_file"].map(claimed).to_numpy())
        _copy_facts(conn, parsed.feed, facts)
        ids = sorted(claimed.values())
        _run_script(conn, after_facts_sql(parsed.feed), {"ids": ids})
        for idx, sid in claimed.items():
            _insert_checks(conn, sid, verdicts[idx].failures)
    return claimed


def _load_rejected(engine: sa.Engine, parsed: ParsedFeed, idx: int, verdict: FileVerdict, run_id: int | None,
                   archive: str | None) -> int | None:
    with engine.begin() as conn:
        sid = _insert_submission(conn, parsed.files[idx], verdict, _periods(parsed, idx), run_id, archive)
        if sid is not None:
            _insert_checks(conn, sid, verdict.failures)
    return sid


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
    archives = {idx: str(archive_file(f, archive_dir)) for idx, f in enumerate(parsed.files)}
    outcomes: dict[int, SubmissionOutcome] = {}
    accepted = [i for i in range(len(parsed.files)) if verdicts[i].status in _ACCEPTED]
    for batch in _batches(parsed, accepted):
        try:
            claimed = _load_batch(engine, parsed, batch, verdicts, run_id, archives)
        except sa.exc.OperationalError:
            raise  # transient: the task's retries take it from here; nothing of the batch committed
        except sa.exc.DBAPIError as exc:
            if len(batch) == 1:
                reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
                failure = CheckFailure("load_failed", "error", None, [], [], f"database refused the rows: {reason}",
                                       f"Cơ sở dữ liệu từ chối số liệu: {reason}")
                verdicts[batch[0]] = FileVerdict("rejected", verdicts[batch[0]].rows_total, [failure])
                sid = _load_rejected(engine, parsed, batch[0], verdicts[batch[0]], run_id, archives[batch[0]])
                claimed = {}
                if sid is not None:
                    outcomes[batch[0]] = _outcome(parsed, batch[0], sid, verdicts[batch[0]])
            else:  # isolate the file the database refuses; the others still load
                claimed = {}
                for idx in batch:
                    claimed.update(_load_batch_or_reject(engine, parsed, idx, verdicts, run_id, archives, outcomes))
        for idx, sid in claimed.items():
            outcomes[idx] = _outcome(parsed, idx, sid, verdicts[idx])
    for idx in range(len(parsed.files)):
        if verdicts[idx].status == "rejected" and idx not in outcomes:
            sid = _load_rejected(engine, parsed, idx, verdicts[idx], run_id, archives[idx])
            if sid is not None:
                outcomes[idx] = _outcome(parsed, idx, sid, verdicts[idx])
    return [outcomes[i] for i in sorted(outcomes)]


def _load_batch_or_reject(engine, parsed, idx, verdicts, run_id, archives, outcomes) -> dict[int, int]:
    try:
        return _load_batch(engine, parsed, [idx], verdicts, run_id, archives)
    except sa.exc.OperationalError:
        raise
    except sa.exc.DBAPIError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
        verdicts[idx] = FileVerdict("rejected", verdicts[idx].rows_total, [CheckFailure(
            "load_failed", "error", None, [], [], f"database refused the rows: {reason}",
            f"Cơ sở dữ liệu từ chối số liệu: {reason}")])
        sid = _load_rejected(engine, parsed, idx, verdicts[idx], run_id, archives[idx])
        if sid is not None:
            outcomes[idx] = _outcome(parsed, idx, sid, verdicts[idx])
        return {}


def _outcome(parsed: ParsedFeed, idx: int, sid: int, verdict: FileVerdict) -> SubmissionOutcome:
    landed = parsed.files[idx]
    return SubmissionOutcome(sid, landed.unit_code, landed.feed, landed.rel_path, verdict.status,
                             verdict.rows_total, verdict.rows_failed, _periods(parsed, idx), verdict.failures,
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
                 "rows_failed": verdict.rows_failed, "periods": _periods(parsed, idx),
                 "message": "; ".join(f.message for f in verdict.failures)[:4000] or None})
            if verdict.status in _ACCEPTED:
                rows = parsed.rows[parsed.rows["_file"] == idx]
                facts = rows[spec.names].copy()
                facts.insert(0, "source_row", rows["_row"].to_numpy())
                facts.insert(0, "slice_key", rows["_slice"].to_numpy())
                facts.insert(0, "submission_id", sid)
                _copy_facts(conn, parsed.feed, facts)
                _run_script(conn, after_facts_sql(parsed.feed), {"ids": [sid]})
            else:
                _run_script(conn, read_sql("load/refresh_current.sql"), {"ids": [sid]})
            _insert_checks(conn, sid, verdict.failures)
        outcomes.append(_outcome(parsed, idx, sid, verdict))
    return outcomes
