"""The deployments of prefect.yaml on a real `prefect server`: the scheduler creates their runs at the hours their
crons name, and a process worker runs one of them to Completed.

Why: with SQLAlchemy 2.1.x Prefect 3.8.8's scheduler service fails every loop ("Can't evaluate bulk DML
statement" in the server log) and no scheduled run is ever created; nothing else in the suite would notice."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from cronsim import CronSim

from chitieu.prefect_local import _free_port, _healthy
from tests.conftest import CATALOG, REPO

PREFECT = [sys.executable, "-m", "prefect"]
SERVER_LOG_ERRORS = re.compile(r"\bERROR\b|Traceback|InvalidRequestError|Can't evaluate bulk DML")


def _prefect_env(home: Path, api_url: str, **extra: str) -> dict[str, str]:
    """The environment of the Prefect processes: none of this session's Prefect settings, its own PREFECT_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CHITIEU_"))}
    env.update(PREFECT_HOME=str(home), PREFECT_API_URL=api_url, PREFECT_SERVER_ANALYTICS_ENABLED="false",
               DO_NOT_TRACK="1", PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
               **extra)
    return env


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process started in its own session, and everything it started."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _prefect(env: dict, *args: str, timeout: float = 120) -> str:
    done = subprocess.run([*PREFECT, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"prefect {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def prefect_server(tmp_path):
    """A real `prefect server start` on a free port of 127.0.0.1, its own PREFECT_HOME (sqlite), its log in a file;
    the scheduler loops every 2 s instead of 60 s."""
    home, log_path = tmp_path / "prefect_home", tmp_path / "server.log"
    home.mkdir()
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = _prefect_env(home, api_url, PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2",
                       PREFECT_SERVER_LOGGING_LEVEL="INFO")
    with log_path.open("wb") as log:
        proc = subprocess.Popen([*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"prefect server exited:\n{log_path.read_text()}"
            if _healthy(api_url):
                break
            assert time.monotonic() < deadline, f"prefect server not healthy in 120 s:\n{log_path.read_text()}"
            time.sleep(0.5)
        yield {"home": home, "api_url": api_url, "log": log_path, "env": env}
    finally:
        _stop(proc)


def _deployments() -> dict[str, dict]:
    """prefect.yaml's deployments by `flow/deployment` name."""
    spec = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    return {f"{d['flow_name']}/{d['name']}": d for d in spec["deployments"]}


def _scheduled_runs(api_url: str) -> dict[str, list[dt.datetime]]:
    """Future scheduled flow runs created by the scheduler, by `flow/deployment` name."""
    import anyio
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    async def read() -> dict[str, list[dt.datetime]]:
        async with PrefectClient(api_url) as client:
            flows = {f.id: f.name for f in await client.read_flows()}
            names = {d.id: f"{flows[d.flow_id]}/{d.name}" for d in await client.read_deployments()}
            runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))), limit=200)
        out: dict[str, list[dt.datetime]] = {}
        for run in runs:
            if run.auto_scheduled and run.deployment_id in names:
                out.setdefault(names[run.deployment_id], []).append(run.expected_start_time)
        return {name: sorted(times) for name, times in out.items()}

    return anyio.run(read)


def _assert_on_cron(name: str, times: list[dt.datetime], schedule: dict, since: dt.datetime) -> None:
    """`times` are consecutive occurrences of the schedule's cron in its timezone, the first due after `since`.

    The occurrences come from cronsim, not from the croniter Prefect's scheduler uses."""
    zone = ZoneInfo(schedule["timezone"])
    local = [t.astimezone(zone) for t in times]
    upcoming = CronSim(schedule["cron"], since.astimezone(zone))
    # the scheduler may run a moment after `since`, past an occurrence: the first run is the first or second one
    starts = [next(upcoming), next(upcoming)]
    assert local[0] in starts, f"{name}: first scheduled run {local[0]}, expected {starts[0]} ({schedule['cron']})"
    following = CronSim(schedule["cron"], local[0])
    expected = [local[0]] + [next(following) for _ in local[1:]]
    assert local == expected, f"{name}: runs at {local}, its cron {schedule['cron']} in {zone} names {expected}"


def test_scheduler_creates_every_deployments_runs_and_a_worker_completes_one(prefect_server, warehouse_url, tmp_path):
    server = prefect_server
    since = dt.datetime.now(dt.UTC)
    _prefect(server["env"], "work-pool", "create", "chitieu-process", "--type", "process")
    _prefect(server["env"], "--no-prompt", "deploy", "--all")
    deployments = _deployments()
    assert deployments, "prefect.yaml names no deployment"

    deadline = time.monotonic() + 90
    while True:
        runs = _scheduled_runs(server["api_url"])
        if set(runs) >= set(deployments) and all(len(runs[n]) >= 3 for n in deployments):
            break
        _assert_no_server_errors(server["log"])
        assert time.monotonic() < deadline, f"scheduled runs only for {sorted(runs)} of {sorted(deployments)}"
        time.sleep(1)
    for name, deployment in deployments.items():
        (schedule,) = deployment["schedules"]
        _assert_on_cron(name, runs[name], schedule, since)

    # one deployment run by a process worker, with the environment the README tells a worker to have
    home = tmp_path / "chitieu_home"
    worker_env = {**server["env"], "CHITIEU_HOME": str(home), "CHITIEU_CATALOG": str(CATALOG),
                  "CHITIEU_INBOX": str(tmp_path / "inbox"),
                  "CHITIEU_WAREHOUSE_URL": warehouse_url.render_as_string(hide_password=False)}
    started = _prefect(worker_env, "deployment", "run", "report/report-daily")
    flow_run_id = re.search(r"UUID:\s*([0-9a-f-]{36})", started).group(1)
    worker = subprocess.Popen([*PREFECT, "worker", "start", "--pool", "chitieu-process", "--run-once"],
                              cwd=REPO, env=worker_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        output, _ = worker.communicate(timeout=180)
    finally:
        _stop(worker)
    state = _flow_run_state(server["api_url"], flow_run_id)
    assert state == "COMPLETED", f"report-daily ended {state}:\n{output.decode(errors='replace')}"
    assert (home / "reports" / "report.html").is_file()

    _assert_no_server_errors(server["log"])


def _assert_no_server_errors(log: Path) -> None:
    errors = [line for line in log.read_text(errors="replace").splitlines() if SERVER_LOG_ERRORS.search(line)]
    assert not errors, "the Prefect server logged errors:\n" + "\n".join(errors[:20])


def _flow_run_state(api_url: str, flow_run_id: str) -> str:
    import anyio
    from prefect.client.orchestration import PrefectClient

    async def read() -> str:
        async with PrefectClient(api_url) as client:
            return (await client.read_flow_run(flow_run_id)).state.type.value

    return anyio.run(read)
