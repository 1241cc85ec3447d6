"""`chitieu` commands without PREFECT_API_URL: one local Prefect server under $CHITIEU_HOME/prefect, started by
the first command (one, even when two commands start at once), reused by the next, stopped by
`chitieu prefect-server stop`; with a Prefect API of the user's own, no local server at all."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import pytest

from chitieu import prefect_local
from tests.conftest import CATALOG, REPO
from tests.feeds import write_csv

CHITIEU = [sys.executable, "-c", "from apps.cli import main; main()"]
DOSSIER = ["unit_code", "period", "received_total", "received_online", "resolved_total", "resolved_on_time",
           "surveyed", "satisfied"]
UI = re.compile(r"^prefect UI: (http://127\.0\.0\.1:\d+)", re.MULTILINE)


@pytest.fixture
def local_env(tmp_path, warehouse_url):
    """A user's environment: no Prefect setting at all (their own PREFECT_HOME, empty), a chitieu home."""
    home, inbox = tmp_path / "home", tmp_path / "inbox"
    inbox.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CHITIEU_"))}
    env.update(PREFECT_HOME=str(tmp_path / "user_prefect_home"), CHITIEU_HOME=str(home), CHITIEU_INBOX=str(inbox),
               CHITIEU_CATALOG=str(CATALOG), PYTHONPATH=str(REPO),
               CHITIEU_WAREHOUSE_URL=warehouse_url.render_as_string(hide_password=False))
    try:
        yield {"env": env, "home": home, "inbox": inbox}
    finally:
        state = prefect_local._read_state(prefect_local.server_dir(home))
        if state and prefect_local._alive(state["pid"]):  # never leave a server behind, whatever failed
            prefect_local._terminate(state["pid"])


def _chitieu(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([*CHITIEU, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, f"chitieu {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def _warnings(api_url: str) -> list[str]:
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.filters import LogFilter, LogFilterLevel

    async def read() -> list[str]:
        async with PrefectClient(api_url) as client:
            return [log.message for log in await client.read_logs(LogFilter(level=LogFilterLevel(ge_=30)))]

    return anyio.run(read)


def test_commands_start_one_local_server_reuse_it_and_stop_it(local_env):
    env, home = local_env["env"], local_env["home"]
    with ThreadPoolExecutor(2) as pool:  # two commands at once start one server
        started = list(pool.map(lambda _: _chitieu(env, "prefect-server", "start"), range(2)))
    (first_ui,) = {UI.search(done.stdout).group(1) for done in started}
    state = json.loads((home / "prefect" / "server.json").read_text())
    assert state["ui_url"] == first_ui and prefect_local._alive(state["pid"])

    write_csv(local_env["inbox"], "XA_CHILANG", "dossier", "bad.csv", DOSSIER,
              [["XA_CHILANG", "2026-01", 100, 120, 80, 79, 10, 9]])
    first = _chitieu(env, "run", "--as-of", "2026-11-20")
    second = _chitieu(env, "run", "--as-of", "2026-11-20")
    assert "rejected" in first.stdout
    assert UI.search(first.stdout).group(1) == UI.search(second.stdout).group(1) == first_ui
    assert json.loads((home / "prefect" / "server.json").read_text())["pid"] == state["pid"]  # reused

    # the command's WARNING about the rejected file reached the local server (logs are sent before exit)
    warnings = [m for m in _warnings(state["api_url"]) if m.startswith("rejected: 'XA_CHILANG/dossier/bad.csv'")]
    assert len(warnings) == 1

    stopped = _chitieu(env, "prefect-server", "stop")
    assert "stopped" in stopped.stdout
    assert not prefect_local._alive(state["pid"])
    assert not prefect_local._healthy(state["api_url"])
    assert _chitieu(env, "prefect-server", "status", check=False).returncode == 1


def test_a_user_prefect_api_is_used_and_no_local_server_started(env):
    from prefect.settings import get_current_settings
    from typer.testing import CliRunner

    from apps.cli import app

    harness_api = get_current_settings().api.url  # this session's test server, as PREFECT_API_URL would be
    assert harness_api
    result = CliRunner().invoke(app, ["run", "--as-of", dt.date(2026, 11, 20).isoformat()])
    assert result.exit_code == 0, result.output
    assert f"prefect UI: {get_current_settings().ui_url}" in result.output
    assert not Path(env["home"], "prefect").exists()


def test_terminate_ends_a_process_that_leads_no_group_and_says_so():
    """A server's pid that is not its process group's leader is still stopped, and the stop says it ended (killpg
    alone missed it, and the stop reported success with the server still running)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])  # this process's group
    try:
        assert os.getpgid(child.pid) != child.pid
        assert prefect_local._terminate(child.pid, timeout=5)
        assert child.poll() is not None
    finally:
        child.kill()
        child.wait()
