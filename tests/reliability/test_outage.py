"""Database outage: PostgreSQL stopped under a running `chitieu run`, on a server of the test's own.

Transient errors are retried with backoff: a short outage is ridden out and the run completes. A database that
stays away ends the run with a one-line reason on stderr and a non-zero exit, never a traceback; once the
database is back, the next run recovers everything (the figures of one clean run).
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from tests.conftest import CATALOG, admin_engine
from tests.reliability import tools


class OwnServer:
    """A PostgreSQL of this test alone (pgserver), which the test stops and starts again."""

    def __init__(self, folder):
        import pgserver
        from sqlalchemy.engine import make_url

        self.server = pgserver.get_server(folder, cleanup_mode="delete")
        self.admin_url = make_url(self.server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1))
        self.url = self.admin_url.set(username="chitieu", database="chitieu")

    def bootstrap(self) -> None:
        from chitieu.catalog import load_catalog, read_catalog
        from chitieu.warehouse import apply_migrations

        admin = admin_engine(self.admin_url)
        with admin.connect() as conn:
            conn.execute(sa.text("create role chitieu login createrole"))
            conn.execute(sa.text("create database chitieu owner chitieu"))
        admin.dispose()
        engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        apply_migrations(engine)
        with engine.begin() as conn:
            load_catalog(conn, read_catalog(CATALOG))
        engine.dispose()

    def stop(self) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user, timeout=60)

    def start(self) -> None:
        self.server.ensure_postgres_running()

    def is_up(self) -> bool:
        try:
            with admin_engine(self.admin_url).connect() as conn:
                conn.execute(sa.text("select 1"))
            return True
        except sa.exc.OperationalError:
            return False


@pytest.fixture
def own_server(tmp_path):
    server = OwnServer(tmp_path / "pg")
    server.bootstrap()
    yield server
    server.server.cleanup()  # stops it if it runs, deletes its folder


def _block_mid_load(server: OwnServer) -> tuple[sa.Connection, sa.Engine]:
    """Hold core.current_slice so the run waits inside its first load transaction, facts copied."""
    engine = tools.check_engine(server.url)
    holder = engine.connect()
    holder.begin()
    holder.execute(sa.text("lock table core.current_slice in exclusive mode"))
    return holder, engine


def _wait_blocked(engine: sa.Engine, child: tools.Child, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.proc.poll() is None:
        with engine.connect() as conn:
            if conn.scalar(sa.text("select count(*) from pg_stat_activity where application_name = 'chitieu'"
                                   " and wait_event_type = 'Lock'")):
                return
        time.sleep(0.05)
    raise AssertionError(f"the run never reached its load:\n{child.stderr[-2000:]}")


def _retried_tasks(server: OwnServer) -> dict[str, int]:
    """Task runs of the first ingest run that ran more than once, by task name (from the Prefect API)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    engine = tools.check_engine(server.url)
    with engine.connect() as conn:
        flow_run_id = conn.scalar(sa.text("select flow_run_id from audit.run order by run_id limit 1"))
    engine.dispose()
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {r.name.rsplit("-", 1)[0]: r.run_count for r in runs if r.run_count > 1}


def _one_line_failure(child: tools.Child) -> str:
    err = child.stderr
    assert child.proc.returncode not in (0, None), child.stdout[-2000:]
    assert "Traceback" not in err and "Traceback" not in child.stdout, err[-4000:]
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("chitieu: "), err[-4000:]
    return lines[0]


def test_short_outage_ridden_out_long_one_reported_in_one_line(own_server, fast_reference, tmp_path):
    """A 3-second outage mid-load is retried through and the run leaves the figures of one clean run; a server
    that is down fails the run in one line after its retries (the slow test recovers from a long outage)."""
    home, inbox, logs = tmp_path / "home", tmp_path / "inbox", tmp_path / "logs"
    home.mkdir()
    fast_reference.write(inbox)
    env = tools.cli_env(home, inbox, own_server.url)

    # 1. stopped while a load transaction is open, back 3 s later: the load task's retries carry the run
    holder, engine = _block_mid_load(own_server)
    child = tools.spawn(["run", "--as-of", tools.AS_OF.isoformat()], env, logs, "brief")
    _wait_blocked(engine, child)
    own_server.stop()
    holder.invalidate()
    time.sleep(3)
    own_server.start()
    child.wait(timeout=300)
    tools.assert_clean_exit(child, "run through a 3 s outage")
    retried = _retried_tasks(own_server)
    assert "load_submissions" in retried, retried

    try:
        tools.assert_recovered(engine, fast_reference.figures)
    finally:
        engine.dispose()

    # 2. down before the run starts: retried with backoff, then one line and exit 1
    own_server.stop()
    started = time.monotonic()
    down = tools.run_cli(["run", "--as-of", tools.AS_OF.isoformat()], env, logs, "down")
    line = _one_line_failure(down)
    assert "warehouse unreachable" in line and time.monotonic() - started > 6, line  # 1 + 2 + 4 s of backoff


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["load", "derive"])
def test_long_outage_fails_in_one_line_and_next_run_recovers(own_server, slow_reference, tmp_path, stage):
    """Down for good mid-run: every retry fails, the run exits non-zero with one line; back: all recovered."""
    home, inbox, logs = tmp_path / "home", tmp_path / "inbox", tmp_path / "logs"
    home.mkdir()
    slow_reference.write(inbox)
    env = tools.cli_env(home, inbox, own_server.url)
    engine = tools.check_engine(own_server.url)
    holder = engine.connect()
    holder.begin()
    holder.execute(sa.text(f"lock table {'core.current_slice' if stage == 'load' else 'core.metric_value'}"
                           " in exclusive mode"))
    child = tools.spawn(["run", "--as-of", tools.AS_OF.isoformat()], env, logs, "long")
    _wait_blocked(engine, child, timeout=600)
    own_server.stop()
    holder.invalidate()
    engine.dispose()
    started = time.monotonic()
    child.wait(timeout=300)
    line = _one_line_failure(child)
    print(f"outage at {stage}: failed after {time.monotonic() - started:.0f} s of retries: {line}")
    assert time.monotonic() - started > 10  # retried with backoff before giving up
    own_server.start()
    final = tools.run_cli(["run", "--as-of", tools.AS_OF.isoformat()], env, logs, "after")
    tools.assert_clean_exit(final, "run after the outage")
    engine = tools.check_engine(own_server.url)
    try:
        tools.assert_recovered(engine, slow_reference.figures)
    finally:
        engine.dispose()
