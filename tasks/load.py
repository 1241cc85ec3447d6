"""Load validated submissions: one transaction per batch, facts by COPY, versions and current slices set-based."""

from __future__ import annotations

import io
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from prefect import task
from prefect.cache_policies import NO_CACHE

from chitieu.approval import Lock, lock_units, locked_periods
from chitieu.config import PROBE_MAX_UNITS, Settings
from chitieu.feeds import feed_spec
from chitieu.landing import LandedFile, archive_member
from chitieu.latest_rows import latest_per_project, with_milestones
from chitieu.messages_vi import period_locked_vi
from chitieu.pg_binary import SUPPORTED_TYPES
from chitieu.pg_binary import encode as encode_binary
from chitieu.project_figures import project_figures
from chitieu.records import ACCEPTED as _ACCEPTED
from chitieu.records import CheckFailure, FileVerdict, ParsedFeed, SubmissionOutcome
from chitieu.warehouse import get_engine, read_sql, sql_statements

__all__ = ["load_submissions", "record_duplicates", "reload_submissions", "settle_facts"]

BATCH_ROWS = 125_000
REJECTED_BATCH = 1_000  # rejected files recorded per transaction
LANE_MIN_ROWS = 100_000  # from this many accepted rows, batches of disjoint units load on parallel connections
LOAD_LANES = max(1, min(4, os.cpu_count() or 1))
SUMMARIZE_MIN_ROWS = 10_000  # from this many rows loaded, the BRIN ranges they filled are summarised at once
ANALYZE_MIN_ROWS = 100_000  # ... and the fact table's statistics refreshed
_log = logging.getLogger(__name__)


def _lock_units(conn: sa.Connection, feed: str, units: set[str]) -> None:
    """Serialise loads (and approvals: chitieu.approval) of the same unit and feed."""
    lock_units(conn, feed, units)


def milestones_on_sql(pairs: str) -> str:
    """The query of the milestone in force on each (project group, date) of `pairs` (sql/load/milestones_on.sql)."""
    return read_sql("load/milestones_on.sql").format(pairs=pairs)


def project_status_rows_sql(rows: str) -> str:
    """The statement that inserts into core.project_status the latest rows held in `rows` (sql/load/
    project_status_rows.sql), with their milestones."""
    pairs = f"(select distinct project_group, as_of_date from {rows})"
    return read_sql("load/project_status_rows.sql").format(rows=rows, milestones=milestones_on_sql(pairs))


def refresh_project_status_sql() -> str:
    """The statement that brings core.project_status up to date for the units of disbursement submissions :ids
    (sql/load/refresh_project_status.sql, its insert from sql/load/project_status_rows.sql)."""
    return read_sql("load/refresh_project_status.sql").format(insert_rows=project_status_rows_sql("written"),
                                                              probe_max_units=PROBE_MAX_UNITS)


def refresh_current_sql(feed: str, project_status: bool = True) -> str:
    """The script that recomputes a feed's current slices for the units of submissions :ids, and for disbursement
    (unless `project_status` is false) each project's latest current row (core.project_status, V015), in the
    caller's transaction. Its parameters: :ids, and :new_submissions (true when this transaction has just claimed
    them all, false for a rerun: the project rows are then recomputed whole for their units instead of from the
    new facts alone)."""
    script = read_sql("load/refresh_current.sql")
    if feed == "disbursement" and project_status:
        script = script.rstrip().rstrip(";") + ";\n\n" + refresh_project_status_sql()
    return script


def after_facts_sql(feed: str, project_status: bool = True) -> str:
    """The post-COPY script for a feed: slices, versions, current slices (and, for disbursement, project status
    unless `project_status` is false)."""
    return read_sql("load/after_facts.sql").format(refresh_current=refresh_current_sql(feed, project_status))


def _run_script(conn: sa.Connection, script: str, params: dict) -> None:
    """Run a multi-statement SQL file statement by statement with the same parameters."""
    for statement in sql_statements(script):
        conn.execute(sa.text(statement), params)


def _column_types(conn: sa.Connection, table_name: str) -> dict[str, str]:
    """PostgreSQL type of each column of core.<table_name> (cached per process)."""
    key = (conn.engine.url.render_as_string(hide_password=True), table_name)
    if key not in _COLUMN_TYPES:
        _COLUMN_TYPES[key] = dict(conn.execute(sa.text(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = 'core' and table_name = :t"), {"t": table_name}).all())
    return _COLUMN_TYPES[key]


_COLUMN_TYPES: dict[tuple[str, str], dict[str, str]] = {}


def _copy_facts(conn: sa.Connection, feed: str, table: pa.Table) -> None:
    """COPY an Arrow table (submission_id, slice_key, source_row, feed columns) into core.fact_<feed>."""
    _copy_rows(conn, f"fact_{feed}", table)


def _copy_rows(conn: sa.Connection, table_name: str, table: pa.Table) -> None:
    """COPY an Arrow table into core.<table_name> (its columns by name) through the session's psycopg connection:
    in PostgreSQL's binary format when every column's type has an encoder (chitieu.pg_binary), else as CSV."""
    if table.num_rows == 0:
        return
    types = _column_types(conn, table_name)
    pg_types = [types.get(name, "?") for name in table.column_names]
    if all(t in SUPPORTED_TYPES for t in pg_types):
        pieces, fmt = encode_binary(table, pg_types), "binary"
    else:
        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
        pieces, fmt = [buffer.getbuffer()], "csv"
    columns = ", ".join(table.column_names)
    cursor = conn.connection.driver_connection.cursor()
    statement = f"copy core.{table_name} ({columns}) from stdin with (format {fmt})"
    try:
        with cursor.copy(statement) as copy:
            for piece in pieces:
                copy.write(piece)
    except psycopg.Error as exc:  # raw psycopg here: wrap it as SQLAlchemy would (DataError, OperationalError...)
        raise sa.exc.DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


def _project_status_from_batch(conn: sa.Connection, facts: pa.Table, ids: list[int]) -> None:
    """core.project_status for the first disbursement submissions `ids` of their units, whose facts (all of them)
    are `facts`: each project's latest row on the slices they are now current for and the milestone in force on its
    date (looked up once per project group and date), with progress and status (_with_figures), computed here and
    COPYed into the table. sql/load/refresh_project_status.sql would read the facts back, sort them and insert the
    rows it selects: ~0.8 s of PostgreSQL per 120,000 rows."""
    current = {(sid, key) for sid, key in conn.execute(sa.text(
        "select submission_id, slice_key from core.current_slice"
        " where feed = 'disbursement' and submission_id = any(:ids)"), {"ids": ids}).all()}
    latest = latest_per_project(facts, current)
    pairs = latest.group_by(["project_group", "as_of_date"]).aggregate([])
    lookup = milestones_on_sql("unnest(cast(:groups as text[]), cast(:dates as date[]))")
    found = conn.execute(sa.text(
        "select project_group, as_of_date, milestone_date, cast(milestone_pct as text) as milestone_pct"
        f" from (\n{sql_statements(lookup)[0]}\n) m"),
        {"groups": pairs.column("project_group").to_pylist(), "dates": pairs.column("as_of_date").to_pylist()}).all()
    _copy_rows(conn, "project_status", _with_figures(conn, with_milestones(latest, found)))


def _with_figures(conn: sa.Connection, rows: pa.Table) -> pa.Table:
    """core.project_status's rows `rows` with their progress_pct and status: computed in Arrow
    (chitieu.project_figures; the table computed them on write until V017: ~0.55 s of PostgreSQL per million rows),
    the rows it leaves to PostgreSQL by the SQL functions themselves (sql/load/project_figures.sql)."""
    progress, status, unsure = project_figures(rows.column("disbursed_vnd"), rows.column("capital_plan_vnd"),
                                               rows.column("milestone_pct"))
    if len(unsure):
        picked = rows.take(pa.array(unsure))
        exact = conn.execute(sa.text(read_sql("load/project_figures.sql")), {
            "disbursed": [None if v is None else int(v) for v in picked.column("disbursed_vnd").to_pylist()],
            "plan": [None if v is None else int(v) for v in picked.column("capital_plan_vnd").to_pylist()],
            "milestone_pct": picked.column("milestone_pct").to_pylist()}).all()
        progress_values = progress.cast(pa.string()).to_pylist()
        status_values = status.to_pylist()
        for position, (pct, state) in zip(unsure.tolist(), exact, strict=True):
            progress_values[position], status_values[position] = pct, state
        progress, status = pa.array(progress_values, pa.string()), pa.array(status_values, pa.string())
    return rows.append_column("progress_pct", progress).append_column("status", status)


def _brin_indexes(feed: str) -> list[str]:
    """The BRIN indexes whose block ranges a load of `feed` fills: the fact table's (V006) and, for disbursement,
    core.project_status's (V016; the load writes each unit's projects' latest rows there)."""
    return [f"core.fact_{feed}_submission"] + (["core.project_status_unit"] if feed == "disbursement" else [])


def after_large_load(engine: sa.Engine, feed: str, rows: int) -> None:
    """After a load of many rows, in their own transactions: summarise the block ranges the load filled in its
    BRIN indexes (until then a lookup reads them whole: after a national load, one unit's correction read all of
    core.project_status, ~0.27 s, where the summarised index takes ~0.01 s; autosummarize drops most of a large
    load's requests), and from ANALYZE_MIN_ROWS refresh the fact table's planner statistics (without them, the
    next lookups of one unit's rows may plan a scan of the whole table). Smaller loads leave both to autovacuum.
    Summarising waits up to 10 s for the table's maintenance lock (autovacuum gives it up after deadlock_timeout);
    held longer (another run summarising), the ranges are left to autosummarize."""
    if rows < SUMMARIZE_MIN_ROWS:
        return
    for index in _brin_indexes(feed):
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("set local lock_timeout = '10s'"))
                conn.execute(sa.text("select brin_summarize_new_values(cast(:index as regclass))"), {"index": index})
        except sa.exc.OperationalError as exc:
            _log.info("%s: block ranges left to autosummarize (%s)", index, str(exc.orig).splitlines()[0])
    if rows >= ANALYZE_MIN_ROWS:
        with engine.begin() as conn:
            conn.execute(sa.text(f"analyze core.fact_{feed}"))


def _loaded_rows(outcomes) -> int:
    """Fact rows the accepted submissions among `outcomes` brought: what after_large_load's thresholds count."""
    return sum(o.rows_total for o in outcomes if o.status in _ACCEPTED)


@task(name="settle_facts", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def settle_facts(settings: Settings, loaded: list[SubmissionOutcome]) -> None:
    """after_large_load as a step of its own, for the facts of a load_submissions(..., settle=False) that returned
    `loaded`: its statements take no lock a load waits for, so it may run beside the next load."""
    if loaded:  # one feed per load; after_large_load applies its own thresholds
        after_large_load(get_engine(settings), loaded[0].feed, _loaded_rows(loaded))


def _facts_table(parsed: ParsedFeed, mask: np.ndarray | None = None) -> pa.Table:
    """The feed's fact rows as Arrow (dates as dates), with _file to tell files apart: converted once, then
    filtered per batch, so that parallel loads never touch the pandas frame."""
    rows = parsed.rows if mask is None else parsed.rows[mask]
    facts = rows[feed_spec(parsed.feed).names].copy()
    facts.insert(0, "source_row", rows["_row"].to_numpy())
    facts.insert(0, "slice_key", rows["_slice"].to_numpy())
    facts.insert(0, "_file", rows["_file"].to_numpy())
    table = pa.Table.from_pandas(facts, preserve_index=False)
    for i, col in enumerate(table.schema):
        if pa.types.is_timestamp(col.type):
            table = table.set_column(i, col.name, table.column(i).cast(pa.date32()))
    return table


def _with_submission_ids(table: pa.Table, claimed: dict[int, int]) -> pa.Table:
    """Rows of the claimed files, _file replaced by their submission ids."""
    files = table.column("_file").to_numpy()
    keep = np.isin(files, np.fromiter(claimed, dtype=np.int64))
    if not keep.all():
        table, files = table.filter(pa.array(keep)), files[keep]
    lookup = np.zeros(int(files.max()) + 1 if len(files) else 1, dtype=np.int64)
    for idx, sid in claimed.items():
        if idx < len(lookup):
            lookup[idx] = sid
    return table.set_column(0, "submission_id", pa.array(lookup[files]))


# --- what each file carries, computed once per feed (not once per file) ----------------------------


def _distinct_per_file(files: np.ndarray, *columns: pd.Series) -> dict[int, list[tuple]]:
    """For each file index, the distinct tuples of `columns` values among its rows (None for a missing value)."""
    key = files.astype(np.int64)
    uniques = []
    for column in columns:
        codes, column_uniques = pd.factorize(column, use_na_sentinel=True)
        key = key * (len(column_uniques) + 1) + (codes.astype(np.int64) + 1)
        uniques.append(list(column_uniques))
    out: dict[int, list[tuple]] = {}
    for combined in np.unique(key).tolist():
        values = []
        for column_uniques in reversed(uniques):
            combined, code = divmod(combined, len(column_uniques) + 1)
            values.append(None if code == 0 else column_uniques[code - 1])
        out.setdefault(combined, []).append(tuple(reversed(values)))
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
             "sample": json.dumps(f.sample, ensure_ascii=False), "message": f.message, "message_vi": f.message_vi}
            for f in failures]


def _insert_checks(conn: sa.Connection, failures_by_submission: dict[int, list[CheckFailure]]) -> None:
    rows = [{"submission_id": sid, **f} for sid, failures in failures_by_submission.items()
            for f in _failures_json(failures)]
    if rows:
        conn.execute(sa.text(
            "insert into audit.check_result (submission_id, expectation, severity, column_name, failed_rows,"
            " failed_row_numbers, sample, message, message_vi) values (:submission_id, :expectation, :severity,"
            " :column_name, :failed_rows, :failed_row_numbers, cast(:sample as jsonb), :message, :message_vi)"), rows)


def _insert_notes(conn: sa.Connection, notes_by_submission: dict[int, list[CheckFailure]]) -> None:
    rows = [{"submission_id": sid, "note": n.expectation, "column_name": n.column, "row_count": len(n.rows),
             "row_numbers": n.rows[:10_000], "sample": json.dumps(n.sample, ensure_ascii=False),
             "message": n.message, "message_vi": n.message_vi}
            for sid, notes in notes_by_submission.items() for n in notes]
    if rows:
        conn.execute(sa.text(
            "insert into audit.submission_note (submission_id, note, column_name, row_count, row_numbers, sample,"
            " message, message_vi) values (:submission_id, :note, :column_name, :row_count, :row_numbers,"
            " cast(:sample as jsonb), :message, :message_vi)"), rows)


def _message(verdict: FileVerdict) -> str | None:
    return "; ".join(f.message for f in verdict.failures)[:4000] or None


def _insert_submissions(conn: sa.Connection, parsed: ParsedFeed, batch: list[int], verdicts: dict[int, FileVerdict],
                        carried: _Carried, run_id: int | None, archives: dict[int, tuple[str, str]]) -> dict[int, int]:
    """Claim the files' contents for their unit and feed in one statement; file index -> submission id of those
    claimed (a file whose content a concurrent run already holds is not)."""
    rows = []
    for ord_, idx in enumerate(batch):
        landed, verdict = parsed.files[idx], verdicts[idx]
        archive_path, member = archives.get(idx, (None, None))
        rows.append({"ord": ord_, "unit_code": landed.unit_code, "feed": landed.feed, "file_name": landed.rel_path,
                     "sha256": landed.sha256, "size_bytes": landed.size_bytes,
                     "received_at": landed.received_at.isoformat(), "status": verdict.status,
                     "rows_total": verdict.rows_total, "rows_failed": verdict.rows_failed,
                     "archive_path": archive_path, "archive_member": member, "periods": carried.periods.get(idx, []),
                     "message": _message(verdict)})
    by_key = {(parsed.files[idx].unit_code, parsed.files[idx].feed, parsed.files[idx].sha256): idx for idx in batch}
    returned = conn.execute(sa.text(read_sql("load/insert_submissions.sql")),
                            {"rows": json.dumps(rows, ensure_ascii=False), "run_id": run_id}).all()
    return {by_key[(r.unit_code, r.feed, r.sha256)]: r.submission_id for r in returned}


class _Loader:
    """One feed's load: batches of accepted files, each in one transaction; rejected files recorded after."""

    def __init__(self, engine: sa.Engine, parsed: ParsedFeed, verdicts: dict[int, FileVerdict], carried: _Carried,
                 run_id: int | None, archives: dict[int, tuple[str, str]]):
        self.engine, self.parsed, self.verdicts, self.carried = engine, parsed, verdicts, carried
        self.run_id, self.archives = run_id, archives
        self.files = parsed.rows["_file"].to_numpy()
        self.sizes = parsed.rows.groupby("_file").size().to_dict()  # rows per file index
        self.facts = _facts_table(parsed) if len(parsed.rows) else None

    def batch(self, batch: list[int]) -> dict[int, int]:
        """Load accepted files of one batch atomically; return file index -> submission id claimed."""
        with self.engine.begin() as conn:
            _lock_units(conn, self.parsed.feed, {self.parsed.files[i].unit_code for i in batch})
            self.refuse_locked(conn, batch)  # under the units' lock: an approval lands before or after, not during
            claimed = _insert_submissions(conn, self.parsed, batch, self.verdicts, self.carried, self.run_id,
                                          self.archives)
            accepted = {idx: sid for idx, sid in claimed.items() if self.verdicts[idx].status in _ACCEPTED}
            if accepted and self.facts is not None:
                facts = self.facts.filter(pa.array(np.isin(self.files, np.fromiter(accepted, dtype=np.int64))))
                facts = _with_submission_ids(facts, accepted)
                _copy_facts(conn, self.parsed.feed, facts)
                ids = sorted(accepted.values())
                first = self.parsed.feed == "disbursement" and conn.execute(
                    sa.text(read_sql("load/first_submissions.sql")), {"ids": ids}).scalar()
                _run_script(conn, after_facts_sql(self.parsed.feed, project_status=not first),
                            {"ids": ids, "new_submissions": True, **self.carried.slice_params(accepted)})
                if first:
                    _project_status_from_batch(conn, facts, ids)
            _insert_checks(conn, {sid: self.verdicts[idx].failures for idx, sid in claimed.items()})
            _insert_notes(conn, {sid: self.verdicts[idx].notes for idx, sid in claimed.items()})
        return claimed

    def refuse_locked(self, conn: sa.Connection, batch: list[int]) -> None:
        """Turn the verdict of each accepted file of `batch` touching an approved period into a rejection
        (period_locked), naming who approved which period and when."""
        units = {self.parsed.files[i].unit_code for i in batch if self.verdicts[i].status in _ACCEPTED}
        locks = locked_periods(conn, self.parsed.feed, units) if units else {}
        for idx in batch:
            unit_locks = locks.get(self.parsed.files[idx].unit_code)
            if not unit_locks or self.verdicts[idx].status not in _ACCEPTED:
                continue
            touched = _touched_rows(conn, self.parsed, idx, set(unit_locks))
            if touched:
                verdict = self.verdicts[idx]
                self.verdicts[idx] = FileVerdict("rejected", verdict.rows_total,
                                                 [_locked_failure(touched, unit_locks), *verdict.failures],
                                                 verdict.notes)

    def rejected(self, batch: list[int]) -> dict[int, int]:
        """Record rejected files (no facts) with their failed checks; file index -> submission id claimed."""
        with self.engine.begin() as conn:
            claimed = _insert_submissions(conn, self.parsed, batch, self.verdicts, self.carried, self.run_id,
                                          self.archives)
            _insert_checks(conn, {sid: self.verdicts[idx].failures for idx, sid in claimed.items()})
        return claimed

    def lane(self, indices: list[int]) -> dict[int, SubmissionOutcome]:
        """Load the accepted files `indices` batch after batch; outcomes by file index."""
        outcomes: dict[int, SubmissionOutcome] = {}
        for batch in _batches(self.sizes, indices):
            try:
                claimed = self.batch(batch)
            except sa.exc.OperationalError:
                raise  # transient: the task's retries take it from here; nothing of the batch committed
            except sa.exc.DBAPIError as exc:
                claimed = {}  # isolate the file the database refuses; the others still load
                if len(batch) == 1:
                    self.refuse(batch[0], exc, outcomes)
                else:
                    for idx in batch:
                        claimed.update(self.file_or_reject(idx, outcomes))
            for idx, sid in claimed.items():
                outcomes[idx] = _outcome(self.parsed, idx, sid, self.verdicts[idx], self.carried)
        return outcomes

    def file_or_reject(self, idx: int, outcomes: dict[int, SubmissionOutcome]) -> dict[int, int]:
        """Load one file on its own; when the database refuses its rows, record it as rejected with the reason."""
        try:
            return self.batch([idx])
        except sa.exc.OperationalError:
            raise
        except sa.exc.DBAPIError as exc:
            self.refuse(idx, exc, outcomes)
            return {}

    def refuse(self, idx: int, exc: sa.exc.DBAPIError, outcomes: dict[int, SubmissionOutcome]) -> None:
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
        self.verdicts[idx] = FileVerdict("rejected", self.verdicts[idx].rows_total, [CheckFailure(
            "load_failed", "error", None, [], [], f"database refused the rows: {reason}",
            f"Cơ sở dữ liệu từ chối số liệu: {reason}")])
        for i, sid in self.rejected([idx]).items():
            outcomes[i] = _outcome(self.parsed, i, sid, self.verdicts[i], self.carried)


def _touched_rows(conn: sa.Connection, parsed: ParsedFeed, idx: int, locked: set[str]) -> dict[str, list[int]]:
    """Locked period -> row numbers of file `idx` touching it (see chitieu.approval for each feed's periods)."""
    rows = parsed.rows[(parsed.rows["_file"] == idx).to_numpy()]
    if parsed.feed == "tasks":
        months = pd.to_datetime(rows["due_date"]).dt.strftime("%Y-%m")
        current = pd.DataFrame(conn.execute(sa.text(
            "select task_code, title, assigned_date, due_date, completed_date from core.current_tasks"
            " where unit_code = :u"), {"u": parsed.files[idx].unit_code}).mappings().all(),
            columns=["task_code", "title", "assigned_date", "due_date", "completed_date"])
        fields = ["title", "assigned_date", "due_date", "completed_date"]
        mine = rows[["task_code", *fields]].astype("object").assign(_row=rows["_row"].to_numpy(),
                                                                    _month=months.to_numpy())
        for name in ("assigned_date", "due_date", "completed_date"):
            mine[name] = pd.to_datetime(mine[name]).dt.date
            current[name] = pd.to_datetime(current[name]).dt.date
        merged = mine.merge(current.astype("object"), on="task_code", how="left", suffixes=("", "_now"),
                            indicator=True)
        changed = merged["_merge"] == "left_only"
        for name in fields:
            a, b = merged[name], merged[f"{name}_now"]
            changed |= ~((a == b) | (a.isna() & b.isna()))
        old_month = pd.to_datetime(merged["due_date_now"]).dt.strftime("%Y-%m")
        out: dict[str, list[int]] = {}
        for row, month, before, hit in zip(merged["_row"], merged["_month"], old_month, changed, strict=True):
            for period in {month, before} & locked if hit else ():
                out.setdefault(period, []).append(int(row))
        return out
    column = "period" if "period" in rows else "_slice"
    hits = rows[rows[column].isin(locked).fillna(False).to_numpy(dtype=bool)]
    return {str(p): sorted(int(r) for r in group["_row"]) for p, group in hits.groupby(column)}


def _locked_failure(touched: dict[str, list[int]], locks: dict[str, Lock]) -> CheckFailure:
    held = [locks[p] for p in sorted(touched)]
    rows = sorted({r for rs in touched.values() for r in rs})
    sample = [{"period": lock.period, "approved_by": lock.approved_by, "approved_at": lock.approved_at.isoformat(),
               "automatic": lock.automatic} for lock in held]
    said = "; ".join(f"{lock.period} approved by {lock.approved_by} at {lock.approved_at.isoformat(timespec='minutes')}"
                     for lock in held)
    return CheckFailure("period_locked", "error", "period", rows, sample,
                        f"period_locked: {said}; ask the approver to reopen the period (chitieu unapprove)",
                        period_locked_vi(held))


def _batches(sizes: dict[int, int], indices: list[int]) -> list[list[int]]:
    """Consecutive files in batches of about BATCH_ROWS rows (a file is never split)."""
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


def _lanes(parsed: ParsedFeed, sizes: dict[int, int], indices: list[int], count: int) -> list[list[int]]:
    """Accepted files in `count` lanes of whole units (a unit's files load in order, in one lane), by rows."""
    by_unit: dict[str, list[int]] = {}
    for idx in indices:
        by_unit.setdefault(parsed.files[idx].unit_code, []).append(idx)
    lanes: list[list[int]] = [[] for _ in range(max(1, min(count, len(by_unit))))]
    load = [0] * len(lanes)
    for unit_files in sorted(by_unit.values(), key=lambda fs: -sum(int(sizes.get(i, 0)) for i in fs)):
        lightest = load.index(min(load))
        lanes[lightest] += unit_files
        load[lightest] += sum(int(sizes.get(i, 0)) for i in unit_files)
    return [sorted(lane) for lane in lanes if lane]


@task(name="load_submissions", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def load_submissions(settings: Settings, parsed: ParsedFeed, verdicts: dict[int, FileVerdict],
                     run_id: int | None, pack: str | None, settle: bool = True) -> list[SubmissionOutcome]:
    """Record every file of the feed; facts of accepted files land whole or not at all.

    The files were archived before, in the pack `pack` (tasks.archive; None: none of them is kept). A large load
    spreads whole units over parallel connections (PostgreSQL checks and indexes the rows on as many cores).
    `settle=False`: the caller runs settle_facts itself (the ingest flow's pipeline, beside the next part's load)."""
    engine = get_engine(settings)
    archives = {} if pack is None else {idx: (pack, member) for idx, f in enumerate(parsed.files)
                                        if (member := archive_member(f)) is not None}
    loader = _Loader(engine, parsed, verdicts, _Carried(parsed), run_id, archives)
    accepted = [i for i in range(len(parsed.files)) if verdicts[i].status in _ACCEPTED]
    rows = sum(int(loader.sizes.get(i, 0)) for i in accepted)
    lanes = _lanes(parsed, loader.sizes, accepted, LOAD_LANES) if rows >= LANE_MIN_ROWS else [accepted]
    outcomes: dict[int, SubmissionOutcome] = {}
    if len(lanes) == 1:
        outcomes.update(loader.lane(lanes[0]))
    else:
        with ThreadPoolExecutor(len(lanes), thread_name_prefix="load") as pool:
            for lane_outcomes in pool.map(loader.lane, lanes):
                outcomes.update(lane_outcomes)
    if settle:
        after_large_load(engine, parsed.feed, _loaded_rows(outcomes.values()))
    rejected = [idx for idx in range(len(parsed.files))
                if verdicts[idx].status == "rejected" and idx not in outcomes]
    for start in range(0, len(rejected), REJECTED_BATCH):
        for idx, sid in loader.rejected(rejected[start:start + REJECTED_BATCH]).items():
            outcomes[idx] = _outcome(parsed, idx, sid, verdicts[idx], loader.carried)
    return [outcomes[i] for i in sorted(outcomes)]


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


@task(name="reload_submissions", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def reload_submissions(settings: Settings, parsed: ParsedFeed, verdicts: dict[int, FileVerdict],
                       submission_ids: list[int]) -> list[SubmissionOutcome]:
    """Replace, in place, the facts and checks of existing submissions (file i -> submission_ids[i])."""
    engine = get_engine(settings)
    outcomes = []
    carried = _Carried(parsed)
    for idx, sid in enumerate(submission_ids):
        verdict = verdicts[idx]
        with engine.begin() as conn:
            _lock_units(conn, parsed.feed, {parsed.files[idx].unit_code})
            locks = locked_periods(conn, parsed.feed, {parsed.files[idx].unit_code})
            if locks and _touched_rows(conn, parsed, idx, set(next(iter(locks.values())))):
                _log.info("submission %s touches an approved period: left as it is", sid)
                continue  # approved figures do not change behind the reviewer's back (the flow reports it)
            for statement in (f"delete from core.fact_{parsed.feed} where submission_id = :sid",
                              "delete from audit.check_result where submission_id = :sid",
                              "delete from audit.submission_note where submission_id = :sid",
                              "delete from audit.submission_slice where submission_id = :sid"):
                conn.execute(sa.text(statement), {"sid": sid})
            conn.execute(sa.text(
                "update audit.submission set status = :status, rows_total = :rows_total, rows_failed = :rows_failed,"
                " periods = :periods, message = :message, processed_at = now(), lock_released_at = null,"
                " version = case when :status = 'rejected' then null else version end"
                " where submission_id = :sid"),
                {"sid": sid, "status": verdict.status, "rows_total": verdict.rows_total,
                 "rows_failed": verdict.rows_failed, "periods": carried.periods.get(idx, []),
                 "message": _message(verdict)})
            if verdict.status in _ACCEPTED:
                facts = _facts_table(parsed, (parsed.rows["_file"] == idx).to_numpy())
                _copy_facts(conn, parsed.feed, _with_submission_ids(facts, {idx: sid}))
                _run_script(conn, after_facts_sql(parsed.feed), {"ids": [sid], "new_submissions": False,
                                                                  **carried.slice_params({idx: sid})})
            else:
                _run_script(conn, refresh_current_sql(parsed.feed), {"ids": [sid], "new_submissions": False})
            _insert_checks(conn, {sid: verdict.failures})
            _insert_notes(conn, {sid: verdict.notes})
        outcomes.append(_outcome(parsed, idx, sid, verdict, carried))
    after_large_load(engine, parsed.feed, len(parsed.rows))
    return outcomes
