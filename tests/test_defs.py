"""Definitions smoke test: every flow module imports, every prefect.yaml entrypoint is a flow, every schedule parses."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
from zoneinfo import ZoneInfo

import pytest
import yaml
from cronsim import CronSim
from prefect import Flow
from prefect.client.schemas.schedules import CronSchedule
from prefect.flows import load_flow_from_entrypoint

from tests.conftest import REPO

DEPLOYMENTS = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]
FLOW_MODULES = sorted(p.stem for p in (REPO / "flows").glob("*.py") if p.stem != "__init__")


def _ids(deployment: dict) -> str:
    return deployment["name"]


@pytest.mark.parametrize("module", FLOW_MODULES)
def test_every_flow_module_imports_and_defines_a_flow(module):
    loaded = importlib.import_module(f"flows.{module}")
    assert any(isinstance(v, Flow) for v in vars(loaded).values()), f"flows/{module}.py defines no flow"


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=_ids)
def test_entrypoint_resolves_to_the_named_flow_and_takes_its_parameters(deployment):
    path, name = deployment["entrypoint"].split(":")
    flow = load_flow_from_entrypoint(f"{REPO / path}:{name}")
    assert isinstance(flow, Flow) and flow.name == deployment["flow_name"]
    accepted = inspect.signature(flow.fn).parameters
    assert set(deployment.get("parameters") or {}) <= set(accepted)
    assert deployment["work_pool"]["name"] == "chitieu-process"


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=_ids)
def test_every_schedule_parses_in_its_timezone(deployment):
    assert deployment["schedules"], f"{deployment['name']} has no schedule"
    for item in deployment["schedules"]:
        assert item["timezone"] == "Asia/Ho_Chi_Minh"
        schedule = CronSchedule(cron=item["cron"], timezone=item["timezone"])
        zone = ZoneInfo(schedule.timezone)
        start = dt.datetime(2026, 11, 23, 0, 0, tzinfo=zone)  # a Monday, local midnight
        nxt = next(CronSim(schedule.cron, start))
        assert nxt.tzinfo is zone and start < nxt < start + dt.timedelta(days=7)


def test_ingest_runs_hourly_in_working_hours_one_at_a_time():
    [ingest] = [d for d in DEPLOYMENTS if d["flow_name"] == "ingest"]
    [item] = ingest["schedules"]
    zone = ZoneInfo(item["timezone"])
    start = dt.datetime(2026, 11, 23, 0, 0, tzinfo=zone)
    runs = []
    for moment in CronSim(item["cron"], start):
        if moment >= start + dt.timedelta(days=7):
            break
        runs.append(moment)
    assert len(runs) == 5 * 11
    assert all(r.weekday() < 5 and 7 <= r.hour <= 17 and r.minute == 0 for r in runs)
    assert runs[0].astimezone(dt.UTC) == dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.UTC)  # 07:00 at UTC+7
    assert ingest["concurrency_limit"]["limit"] == 1


def test_reminders_run_daily():
    [reminders] = [d for d in DEPLOYMENTS if d["flow_name"] == "reminders"]
    [item] = reminders["schedules"]
    start = dt.datetime(2026, 11, 23, 0, 0, tzinfo=ZoneInfo(item["timezone"]))
    it = CronSim(item["cron"], start)
    first, second = next(it), next(it)
    assert second - first == dt.timedelta(days=1)
