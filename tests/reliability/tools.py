"""Tools of the reliability tests: the CLI as a real subprocess, a large-ish inbox, warehouse invariants, figures."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from chitieu.catalog import read_catalog
from chitieu.config import FEEDS
from chitieu.demo_feeds import build_feeds
from tests.conftest import CATALOG, REPO

AS_OF = dt.date(2026, 11, 20)
CHITIEU = REPO / ".venv" / "bin" / "chitieu"
ACCEPTED = ("loaded", "loaded_with_warnings")
# The fast inbox: units whose demo files include rejected ones, a fixed resend and a correction.
FAST_UNITS = ("SO_NOIVU", "TTTT", "TTPVHCC")
BULK_LANDED = dt.datetime(2026, 11, 4, 8, tzinfo=dt.UTC)


# --- inbox ---------------------------------------------------------------------------------------------


def _write(path: Path, data: bytes, landed: dt.datetime) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (landed.timestamp(), landed.timestamp()))


def _bulk_disbursement(unit: str, rows: int) -> bytes:
    rng = random.Random(f"bulk:{unit}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["project_code", "project_name", "unit_code", "project_group", "capital_plan_vnd",
                     "disbursed_vnd", "as_of_date"])
    for n in range(rows):
        plan = rng.randrange(500, 50_000) * 1_000_000
        writer.writerow([f"{unit}-BULK{n:05d}", f"Công trình {n}", unit,
                         rng.choice(["completed", "transitional", "new", "preparation"]), plan,
                         plan * rng.randrange(0, 101) // 100, "2026-10-31"])
    return buffer.getvalue().encode("utf-8")


def _bulk_tasks(unit: str, rows: int) -> bytes:
    rng = random.Random(f"tasks:{unit}")
    records = []
    for n in range(rows):
        assigned = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(0, 250))
        due = assigned + dt.timedelta(days=rng.randrange(10, 90))
        done = assigned + dt.timedelta(days=rng.randrange(1, 120))
        records.append({"task_code": f"{unit}-NV{n:05d}", "unit_code": unit, "title": f"Nhiệm vụ {n}",
                        "assigned_date": assigned.isoformat(), "due_date": due.isoformat(),
                        "completed_date": done.isoformat() if done <= dt.date(2026, 11, 15) else None})
    return json.dumps({"rows": records}, ensure_ascii=False).encode("utf-8")


def write_inbox(inbox: Path, units: tuple[str, ...] | None, bulk_units: tuple[str, ...] = (),
                bulk_rows: int = 2_000) -> int:
    """The demo's feeds (both waves at once) for `units` (None: all), plus bulk disbursement and task files."""
    files = build_feeds(read_catalog(CATALOG), AS_OF, 2026)
    count = 0
    for demo_file in files:
        if units is None or demo_file.rel_path.split("/", 1)[0] in units:
            _write(inbox / demo_file.rel_path, demo_file.data, demo_file.landed_at)
            count += 1
    for i, unit in enumerate(bulk_units):
        landed = BULK_LANDED + dt.timedelta(minutes=i)
        _write(inbox / unit / "disbursement" / "bulk_2026-10.csv", _bulk_disbursement(unit, bulk_rows), landed)
        _write(inbox / unit / "tasks" / "bulk_tasks.json", _bulk_tasks(unit, bulk_rows // 2), landed)
        count += 2
    return count


# --- databases -------------------------------------------------------------------------------------------


def check_engine(url: sa.URL) -> sa.Engine:
    """An engine for the test's own queries, told apart from the pipeline's by its application name."""
    return sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args={"application_name": "reliability"})


# --- the CLI as a subprocess -------------------------------------------------------------------------------


def prefect_api_url() -> str:
    """The test harness's Prefect server: children report there instead of starting their own (~15 s each)."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


def cli_env(home: Path, inbox: Path, url: sa.URL, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHITIEU_")}
    env.update({"CHITIEU_HOME": str(home), "CHITIEU_INBOX": str(inbox), "CHITIEU_CATALOG": str(CATALOG),
                "CHITIEU_WAREHOUSE_URL": url.render_as_string(hide_password=False),
                "PREFECT_API_URL": prefect_api_url(), "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


@dataclass
class Child:
    """A running `chitieu` command whose output goes to files (no pipe can fill up and stall it)."""

    proc: subprocess.Popen
    out: Path
    err: Path
    started: float

    def wait(self, timeout: float = 300) -> int:
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    @property
    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")


def spawn(args: list[str], env: dict[str, str], logs: Path, name: str) -> Child:
    logs.mkdir(parents=True, exist_ok=True)
    out, err = logs / f"{name}.out", logs / f"{name}.err"
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen([str(CHITIEU), *args], env=env, stdout=o, stderr=e, stdin=subprocess.DEVNULL,
                                cwd=str(logs))
    return Child(proc, out, err, time.monotonic())


def run_cli(args: list[str], env: dict[str, str], logs: Path, name: str, timeout: float = 300) -> Child:
    child = spawn(args, env, logs, name)
    try:
        child.wait(timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        raise AssertionError(f"chitieu {' '.join(args)} did not finish in {timeout} s:\n{child.stderr[-3000:]}") \
            from None
    return child


def assert_clean_exit(child: Child, what: str) -> None:
    """Exit 0 and no traceback anywhere in the output."""
    assert child.proc.returncode == 0, f"{what}: exit {child.proc.returncode}\n{child.stderr[-3000:]}"
    assert "Traceback" not in child.stderr and "Traceback" not in child.stdout, f"{what}:\n{child.stderr[-3000:]}"


# --- what the warehouse must look like ---------------------------------------------------------------------


def pipeline_backends(conn: sa.Connection) -> int:
    return conn.scalar(sa.text(
        "select count(*) from pg_stat_activity where datname = current_database() and application_name = 'chitieu'"))


def wait_for_backends_gone(engine: sa.Engine, timeout: float = 60) -> None:
    """A killed client's backend ends when it next talks to the socket; wait for all of them."""
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            if pipeline_backends(conn) == 0:
                return
        if time.monotonic() > deadline:
            raise AssertionError("backends of a killed chitieu process are still alive")
        time.sleep(0.1)


def violations(engine: sa.Engine, *, after_recovery: bool = False) -> list[str]:
    """Every way the warehouse could show a half-done load, a double count or something stuck; [] if none."""
    found: list[str] = []
    with engine.connect() as conn:
        for feed in FEEDS:
            rows = conn.execute(sa.text(
                f"select s.file_name, s.status, s.rows_total, count(f.submission_id) as facts"
                f" from mart.submission_log s left join core.fact_{feed} f using (submission_id)"
                f" where s.feed = :feed group by 1, 2, 3"
                f" having (s.status in ('loaded', 'loaded_with_warnings') and count(f.submission_id) <> s.rows_total)"
                f"     or (s.status not in ('loaded', 'loaded_with_warnings') and count(f.submission_id) > 0)"),
                {"feed": feed}).all()
            found += [f"half-loaded or stray facts: {r.file_name} {r.status} rows_total={r.rows_total} "
                      f"facts={r.facts}" for r in rows]
            orphans = conn.scalar(sa.text(
                f"select count(*) from core.fact_{feed} f left join audit.submission s using (submission_id)"
                f" where s.submission_id is null or s.feed <> :feed"), {"feed": feed})
            if orphans:
                found.append(f"{orphans} facts in core.fact_{feed} without their submission")
        for r in conn.execute(sa.text(
                "select s.file_name from audit.submission s where s.status in ('loaded', 'loaded_with_warnings')"
                " and s.rows_total > 0 and not exists (select 1 from audit.submission_slice x"
                " where x.submission_id = s.submission_id)")):
            found.append(f"accepted submission without slices: {r.file_name}")
        for r in conn.execute(sa.text(
                "select c.unit_code, c.feed, c.slice_key from core.current_slice c join audit.submission s"
                " using (submission_id) where s.status not in ('loaded', 'loaded_with_warnings')")):
            found.append(f"current slice on a submission that is not accepted: {tuple(r)}")
        for r in conn.execute(sa.text(
                "select unit_code, feed, sha256, count(*) from audit.submission where status <> 'duplicate'"
                " group by 1, 2, 3 having count(*) > 1")):
            found.append(f"content claimed twice: {tuple(r)}")
        for r in conn.execute(sa.text(
                "select kind, submission_id, channel, recipient, count(*) from audit.alert"
                " where kind in ('rejected', 'warning') group by 1, 2, 3, 4 having count(*) > 1"
                " union all select kind, min(submission_id), channel, recipient, count(*) from audit.alert"
                " group by kind, channel, recipient, subject, body having count(*) > 1")):
            found.append(f"alert sent twice: {tuple(r)}")
        locks = conn.execute(sa.text(
            "select l.classid, l.objid, l.pid from pg_locks l join pg_database d on d.oid = l.database"
            " where l.locktype = 'advisory' and d.datname = current_database()")).all()
        found += [f"advisory lock left: {tuple(r)}" for r in locks]
        pending = conn.scalar(sa.text("select count(*) from audit.alert where status = 'pending'"))
        if pending:
            found.append(f"{pending} alerts stuck in 'pending'")
        if after_recovery:
            unfinished = conn.scalars(sa.text("select run_id from audit.run where finished_at is null")).all()
            if unfinished:
                found.append(f"runs never finished nor recovered: {unfinished}")
    return found


def _rows(conn: sa.Connection, sql: str) -> list[tuple]:
    return sorted((tuple(str(v) for v in r) for r in conn.execute(sa.text(sql))), key=repr)


def _fact_columns(conn: sa.Connection, feed: str) -> list[str]:
    return list(conn.scalars(sa.text(
        "select column_name from information_schema.columns where table_schema = 'core' and table_name = :t"
        " and column_name <> 'submission_id' order by ordinal_position"), {"t": f"fact_{feed}"}))


def figures(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Everything a clean run produces, keyed by file names instead of generated ids."""
    with engine.connect() as conn:
        out = {
            "submissions": _rows(conn, (
                "select s.unit_code, s.feed, s.file_name, s.sha256, s.received_at, s.status, s.rows_total,"
                " s.rows_failed, s.version, l.is_current, o.file_name from audit.submission s"
                " join mart.submission_log l using (submission_id)"
                " left join audit.submission o on o.submission_id = s.duplicate_of")),
            "slices": _rows(conn, (
                "select s.file_name, x.slice_key, x.period from audit.submission_slice x"
                " join audit.submission s using (submission_id)")),
            "current": _rows(conn, (
                "select c.unit_code, c.feed, c.slice_key, c.period, s.file_name from core.current_slice c"
                " join audit.submission s using (submission_id)")),
            "checks": _rows(conn, (
                "select s.file_name, c.expectation, c.severity, c.column_name, c.failed_rows, c.failed_row_numbers,"
                " c.sample, c.message from audit.check_result c join audit.submission s using (submission_id)")),
            "alerts": _rows(conn, (
                "select a.kind, a.unit_code, a.feed, a.period, s.file_name, a.channel, a.recipient, a.subject,"
                " a.status from audit.alert a left join audit.submission s using (submission_id)")),
        }
        for view in ("metric_value", "indicator_value", "target_attainment", "disbursement_progress",
                     "reporting_rate"):
            columns = ", ".join(conn.scalars(sa.text(
                "select column_name from information_schema.columns where table_schema = 'mart'"
                " and table_name = :v and data_type not like 'timestamp%' and column_name <> 'submission_id'"
                " order by ordinal_position"), {"v": view}))
            out[view] = _rows(conn, f"select {columns} from mart.{view}")
        for feed in FEEDS:
            columns = ", ".join(f"f.{c}" for c in _fact_columns(conn, feed))
            out[f"fact_{feed}"] = _rows(conn, (
                f"select s.file_name, count(*), md5(string_agg(row({columns})::text, '|'"
                f" order by row({columns})::text)) from core.fact_{feed} f join audit.submission s"
                f" using (submission_id) group by 1"))
            out[f"rows_{feed}"] = [(str(conn.scalar(sa.text(f"select count(*) from core.fact_{feed}"))),)]
    return out


def diff(expected: dict, actual: dict) -> list[str]:
    """Human-readable differences between two `figures` snapshots."""
    out = []
    for key in expected:
        want, have = set(expected[key]), set(actual.get(key, []))
        if want != have or len(expected[key]) != len(actual.get(key, [])):
            out.append(f"{key}: missing {sorted(want - have, key=repr)[:3]} extra {sorted(have - want, key=repr)[:3]}"
                       f" ({len(expected[key])} vs {len(actual.get(key, []))} rows)")
    return out


def fact_rows(figs: dict) -> int:
    return sum(int(figs[f"rows_{feed}"][0][0]) for feed in FEEDS)


def assert_recovered(engine: sa.Engine, expected: dict, context: str = "") -> None:
    """Nothing the invariants forbid is left, and the warehouse holds the reference run's figures."""
    assert violations(engine, after_recovery=True) == []
    differences = diff(expected, figures(engine))
    assert not differences, context + "\n".join(d[:400] for d in differences)
