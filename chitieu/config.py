"""Settings read from the environment (CONTRACT.md section 5), local defaults first."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from chitieu.errors import ConfigError

__all__ = ["FEEDS", "MONTHLY_FEEDS", "SUBMISSION_EVENTS", "TASK_RUNNER_ENV", "Settings", "load_settings",
           "runs_tasks_here"]

FEEDS = ("dossier", "disbursement", "tasks", "admin_ops", "indicator")
MONTHLY_FEEDS = ("dossier", "admin_ops", "disbursement")
DEMO_AS_OF = dt.date(2026, 11, 20)  # the demo's default evaluation date (the demo is the repository catalog's)
DEMO_SEED = DEMO_AS_OF.year          # its default random seed: the same seed gives the same feeds
TASK_RUNNER_ENV = "CHITIEU_TASK_RUNNER"  # where an ingest pass parses, validates and loads (flows.ingest)
# which submissions get a Prefect event of their own (tasks.publish; every run gets one event): `problems` (rejected,
# loaded with warnings, duplicate) or `all` (each loaded one too: ~2 ms of the Prefect server's CPU per event)
SUBMISSION_EVENTS_ENV, SUBMISSION_EVENTS = "CHITIEU_SUBMISSION_EVENTS", ("problems", "all")
# core.project_status is read through its BRIN index by unit code for this many units at most, else in one pass (a
# planner without a table's fresh statistics, or blind to its order, reads it whole for one unit: ~0.09 s nationally)
PROBE_MAX_UNITS = 16


@dataclass(frozen=True)
class Settings:
    """Where chitieu keeps its state and whom it talks to."""

    home: Path
    inbox: Path
    catalog_dir: Path
    warehouse_url: str | None
    smtp_url: str | None
    alert_from: str
    alert_urls: tuple[str, ...] = field(default_factory=tuple)
    submission_events: str = SUBMISSION_EVENTS[0]

    @property
    def archive_dir(self) -> Path:
        return self.home / "archive"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def data_docs_dir(self) -> Path:
        return self.home / "data_docs"

    @property
    def pgdata_dir(self) -> Path:
        return self.home / "pgdata"


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build settings from `env` (default: the process environment)."""
    env = os.environ if env is None else env
    events = (env.get(SUBMISSION_EVENTS_ENV) or SUBMISSION_EVENTS[0]).strip()
    if events not in SUBMISSION_EVENTS:
        raise ConfigError(f"{SUBMISSION_EVENTS_ENV}={events!r}: expected one of {', '.join(SUBMISSION_EVENTS)}")
    return Settings(
        home=Path(env.get("CHITIEU_HOME") or "./.chitieu").resolve(),
        inbox=Path(env.get("CHITIEU_INBOX") or "./data/inbox").resolve(),
        catalog_dir=Path(env.get("CHITIEU_CATALOG") or "./catalog").resolve(),
        warehouse_url=env.get("CHITIEU_WAREHOUSE_URL") or None,
        smtp_url=env.get("CHITIEU_SMTP_URL") or None,
        alert_from=env.get("CHITIEU_ALERT_FROM") or "chitieu@localhost",
        alert_urls=tuple((env.get("CHITIEU_ALERT_URLS") or "").split()),
        submission_events=events,
    )


def runs_tasks_here(spec: str | None = None) -> bool:
    """Whether the task runner named by `spec` (default $CHITIEU_TASK_RUNNER) is this process (`local`, the
    default) rather than a Dask cluster."""
    spec = os.environ.get(TASK_RUNNER_ENV) if spec is None else spec
    return (spec or "local").strip() == "local"
