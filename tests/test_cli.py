"""The `chitieu` command as its user meets it (a real subprocess): failures of the pass itself are one line on
stderr and a non-zero exit; a failing command leaves no database server running that it started."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import CATALOG, REPO, admin_engine

CHITIEU = Path(sys.executable).parent / "chitieu"  # the console script of the environment running the tests


def _env(home: Path, **settings: str) -> dict[str, str]:
    """The user's environment: no CHITIEU_* but `settings`, the session's Prefect server, this checkout first."""
    from prefect.settings import PREFECT_API_URL

    env = {k: v for k, v in os.environ.items() if not k.startswith("CHITIEU_")}
    env.update({"CHITIEU_HOME": str(home), "CHITIEU_CATALOG": str(CATALOG), "PREFECT_API_URL": PREFECT_API_URL.value(),
                "PYTHONPATH": str(REPO)})
    env.update(settings)
    return env


def _chitieu(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHITIEU), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def _one_line_failure(done: subprocess.CompletedProcess) -> str:
    """The reason of a failed command: non-zero exit, exactly one line on stderr, no traceback, no box."""
    assert done.returncode != 0, done.stdout[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("chitieu: "), done.stderr[-3000:]
    assert "Traceback" not in done.stdout and "╭" not in done.stderr, done.stderr[-3000:]
    return lines[0]


def _pg_ctl(pgdata: Path, mode: str) -> None:
    from pgserver._commands import pg_ctl

    user = "pgserver" if os.geteuid() == 0 else None  # pgserver never runs PostgreSQL as root
    pg_ctl(["-w", "-m", mode, "stop"], pgdata=pgdata, user=user)


def _postgres_running(pgdata: Path) -> bool:
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    return info is not None and info.is_running()


# --- the landing zone --------------------------------------------------------------------------------------


def test_missing_landing_zone_fails_the_pass_naming_the_folder(warehouse_url, tmp_path):
    """CHITIEU_INBOX pointing nowhere (an unmounted share) is no quiet pass: exit 1, one line naming the folder."""
    missing = tmp_path / "share" / "inbox"
    env = _env(tmp_path / "home", CHITIEU_INBOX=str(missing),
               CHITIEU_WAREHOUSE_URL=warehouse_url.render_as_string(hide_password=False))
    line = _one_line_failure(_chitieu(["run", "--as-of", "2026-11-20"], env, tmp_path))
    assert str(missing) in line and "landing zone" in line, line


def test_ingest_flow_with_a_missing_inbox_parameter_is_failed(env, engine, tmp_path):
    """A deployment parameter pointing to an unmounted share: the flow run is Failed, and no run is recorded."""
    from flows.ingest import ingest

    missing = tmp_path / "unmounted"
    state = ingest(inbox=str(missing), return_state=True)
    assert state.is_failed(), state
    assert str(missing) in state.message, state.message
    with engine.connect() as conn:
        assert conn.scalar(sa.text("select count(*) from audit.run")) == 0


def test_the_command_ends_with_its_status_and_everything_it_wrote(warehouse_url, tmp_path):
    """`chitieu` ends its process without the interpreter's teardown (apps.cli.main), after every exit handler: each
    way out keeps its status, a pass's summary and its data all arrive, and a reader that closes the pipe early
    costs no traceback."""
    from tests.feeds import DOSSIER, write_csv

    inbox = tmp_path / "inbox"
    write_csv(inbox, "XA_CHILANG", "dossier", "2026-10.csv", DOSSIER, [["XA_CHILANG", "2026-10", 100, 96, 90, 89]])
    env = _env(tmp_path / "home", CHITIEU_INBOX=str(inbox),
               CHITIEU_WAREHOUSE_URL=warehouse_url.render_as_string(hide_password=False))
    done = _chitieu(["run", "--as-of", "2026-11-20"], env, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "leaked" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr  # the worker's end
    assert "Still processing items" not in done.stderr, done.stderr  # the pass's last events, sent as it ends
    assert "2026-10.csv" in done.stdout and "loaded" in done.stdout, done.stdout
    assert done.stdout.rstrip().splitlines()[-1].startswith("prefect UI: "), done.stdout  # the last line written
    engine = sa.create_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(sa.text("select status from audit.submission")) == "loaded"
    finally:
        engine.dispose()
    assert _chitieu(["run", "--as-of", "20/11/2026"], env, tmp_path).returncode == 2
    assert _chitieu(["run", "--as-of", "2026-11-20"], {**env, "CHITIEU_INBOX": str(tmp_path / "none")},
                    tmp_path).returncode == 1
    piped = subprocess.run(f"'{CHITIEU}' --help | head -n 1", shell=True, env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0 and piped.stdout.endswith("\n") and not piped.stderr, piped.stderr


# --- a warehouse that is not there, not initialised, or not PostgreSQL ---------------------------------------


def test_uninitialised_home_says_run_init_and_starts_no_server(tmp_path):
    """A worker started without the CHITIEU_* environment of `chitieu init`: one line saying what to do, and no new
    embedded PostgreSQL created or left running."""
    home, inbox = tmp_path / "home", tmp_path / "inbox"
    inbox.mkdir()
    line = _one_line_failure(_chitieu(["run"], _env(home, CHITIEU_INBOX=str(inbox)), tmp_path))
    assert "run `chitieu init`" in line and str(home) in line, line
    assert not (home / "pgdata").exists()


def test_uninitialised_database_says_run_init(server_url, template_url, tmp_path):
    """An empty database named by CHITIEU_WAREHOUSE_URL, not `relation "audit.run" does not exist`."""
    admin = admin_engine(server_url)
    name = f"empty_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"create database {name} owner chitieu"))
    try:
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        url = server_url.set(database=name, username="chitieu").render_as_string(hide_password=False)
        line = _one_line_failure(_chitieu(["run"], _env(tmp_path / "home", CHITIEU_INBOX=str(inbox),
                                                        CHITIEU_WAREHOUSE_URL=url), tmp_path))
        assert "run `chitieu init`" in line and "audit.run" not in line, line
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"drop database if exists {name} with (force)"))
        admin.dispose()


def test_failing_command_stops_the_embedded_server_it_started(tmp_path):
    """The embedded PostgreSQL is started on demand and reused; a command that started it and then failed stops it."""
    home, inbox = tmp_path / "home", tmp_path / "inbox"
    inbox.mkdir()
    env = _env(home, CHITIEU_INBOX=str(inbox))
    init = _chitieu(["init"], env, tmp_path, timeout=600)
    assert init.returncode == 0, init.stderr[-3000:]
    pgdata = home / "pgdata"
    try:
        assert _postgres_running(pgdata)  # left running for the next command
        _pg_ctl(pgdata, "fast")
        failed = _chitieu(["run"], {**env, "CHITIEU_INBOX": str(tmp_path / "not-mounted")}, tmp_path)
        _one_line_failure(failed)
        assert not _postgres_running(pgdata), "the failed command left the server it started running"
    finally:
        if _postgres_running(pgdata):
            _pg_ctl(pgdata, "immediate")


@pytest.mark.parametrize("url, fragment", [
    ("mysql://user:secret@localhost/chitieu", "needs PostgreSQL"),
    ("not a url", "not a database URL"),
])
def test_unsupported_warehouse_url_is_one_plain_sentence(tmp_path, url, fragment):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    line = _one_line_failure(_chitieu(["run"], _env(tmp_path / "home", CHITIEU_INBOX=str(inbox),
                                                    CHITIEU_WAREHOUSE_URL=url), tmp_path))
    assert fragment in line and "unexpected" not in line and "secret" not in line, line


# --- arguments -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, fragment", [
    (["run", "--as-of", "20/11/2026"], "--as-of"),
    (["run", "--bogus"], "--bogus"),
    (["rerun", "--feed", "dossier"], "--unit"),
    (["frobnicate"], "frobnicate"),
])
def test_argument_errors_are_one_line_not_a_box(tmp_path, args, fragment):
    done = _chitieu(args, _env(tmp_path / "home"), tmp_path)
    line = _one_line_failure(done)
    assert done.returncode == 2 and fragment in line and "--help" in line, line


_EARLY_WORKER = """
import json, sys
import chitieu.suites

def start_worker():  # what `chitieu run` knew when it started the suite worker
    print(json.dumps({"prefect_imported": "prefect" in sys.modules}), flush=True)
    raise SystemExit(0)

chitieu.suites.start_worker = start_worker
from apps.cli import app
sys.argv = ["chitieu", "run", "--inbox", sys.argv[1], "--as-of", "2026-11-20"]
app()
"""


def test_run_starts_the_suite_worker_before_it_imports_prefect(tmp_path):
    """Great Expectations imports in the worker (~4 s of CPU) while the command imports Prefect and the flow: the
    first part's checks wait for it otherwise. The worker is started only when the inbox holds a file."""
    inbox = tmp_path / "inbox"
    (inbox / "XA_CHILANG" / "dossier").mkdir(parents=True)
    env = {**_env(tmp_path / "home"), "CHITIEU_TASK_RUNNER": "local"}
    script = [sys.executable, "-c", _EARLY_WORKER, str(inbox)]
    empty = subprocess.run(script, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "prefect_imported" not in empty.stdout  # nothing to validate: no worker (the pass then fails: no home)

    (inbox / "XA_CHILANG" / "dossier" / "2026-10.csv").write_text("x\n", encoding="utf-8")
    done = subprocess.run(script, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '{"prefect_imported": false}'
    dask = subprocess.run(script, env={**env, "CHITIEU_TASK_RUNNER": "dask"}, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert "prefect_imported" not in dask.stdout  # the pass runs its tasks on a cluster's workers


def test_a_pass_that_fails_before_its_checks_stops_the_suite_worker_it_started(tmp_path, monkeypatch):
    """Otherwise the command's exit waits for the worker's warm-up (importing Great Expectations)."""
    from typer.testing import CliRunner

    import chitieu.suites
    from apps.cli import app

    inbox = tmp_path / "inbox"
    (inbox / "XA_CHILANG" / "dossier").mkdir(parents=True)
    (inbox / "XA_CHILANG" / "dossier" / "2026-10.csv").write_text("x\n", encoding="utf-8")
    for name, value in _env(tmp_path / "never_initialised").items():
        if name.startswith("CHITIEU_"):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("CHITIEU_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("CHITIEU_TASK_RUNNER", raising=False)
    chitieu.suites.stop_worker()  # none left by an earlier test
    result = CliRunner().invoke(app, ["run", "--inbox", str(inbox), "--as-of", "2026-11-20"])
    assert result.exit_code != 0 and "chitieu init" in result.output
    assert chitieu.suites._worker is None


def test_a_day_turns_at_midnight_in_vietnam_whatever_the_machines_zone(warehouse_url, tmp_path):
    """Without --as-of a pass evaluates on today's date in Vietnam, not on the machine's: a server kept in UTC is
    on yesterday's date until 07:00 there, one kept further east on tomorrow's from 17:00. A figure dated today
    is accepted and one dated tomorrow rejected, whichever zone the machine keeps."""
    import datetime as dt
    import time
    from zoneinfo import ZoneInfo

    from tests.feeds import DISB, write_csv

    vietnam = ZoneInfo("Asia/Ho_Chi_Minh")
    now = dt.datetime.now(vietnam)
    if now.hour == 23 and now.minute >= 58:  # the pass must not run across midnight
        time.sleep(180)
        now = dt.datetime.now(vietnam)
    # a zone on another date than Vietnam's now: 19 hours behind it before 19:00 there, 7 hours ahead after
    machine_zone = "Etc/GMT+12" if now.hour < 19 else "Etc/GMT-14"
    assert now.astimezone(ZoneInfo(machine_zone)).date() != now.date()
    today, tomorrow = now.date(), now.date() + dt.timedelta(days=1)
    inbox = tmp_path / "inbox"
    write_csv(inbox, "XA_CHILANG", "disbursement", "hom_nay.csv", DISB,
              [["P1", "Đường thôn", "XA_CHILANG", "transitional", 1000, 200, today.isoformat()]])
    write_csv(inbox, "XA_DONGDANG", "disbursement", "ngay_mai.csv", DISB,
              [["Q1", "Kênh", "XA_DONGDANG", "completed", 1000, 100, tomorrow.isoformat()]])
    env = _env(tmp_path / "home", CHITIEU_INBOX=str(inbox), TZ=machine_zone,
               CHITIEU_WAREHOUSE_URL=warehouse_url.render_as_string(hide_password=False))
    done = _chitieu(["run"], env, tmp_path)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    engine = sa.create_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            statuses = {Path(name).name: status for name, status
                        in conn.execute(sa.text("select file_name, status from audit.submission"))}
            as_of = conn.scalar(sa.text("select as_of from audit.run order by run_id desc limit 1"))
    finally:
        engine.dispose()
    assert statuses == {"hom_nay.csv": "loaded", "ngay_mai.csv": "rejected"}, (machine_zone, now, statuses)
    assert as_of == today
