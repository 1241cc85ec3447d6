"""Process-wide defaults applied before Prefect or Great Expectations are imported."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["command_line_run", "prefect_ui_url", "quiet_environment"]

_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_TASKS_REFRESH_CACHE": "false",
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
    "TQDM_DISABLE": "1",
}


def quiet_environment() -> None:
    """No network calls, no analytics, no progress bars; the user's own settings win."""
    for key, value in _DEFAULTS.items():
        os.environ.setdefault(key, value)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", module="great_expectations")
    warnings.filterwarnings("ignore", module="platformdirs")


class _FirstDrainNotice(logging.Filter):
    """Drops the first 'Still processing items' of Prefect's events worker. It is said the moment a command ends
    with events still queued (about every other pass: its task runs' last state events), as a WARNING, and they are
    sent in the next fraction of a second. Said again, after 4 s of sending, it tells a waiting user why."""

    def __init__(self) -> None:
        super().__init__()
        self.said = False

    def filter(self, record: logging.LogRecord) -> bool:
        if self.said or not record.getMessage().startswith("Still processing items"):
            return True
        self.said = True
        return False


_UI_URL: list[str] = []  # the Prefect UI of the last command_line_run, for the command to print


def prefect_ui_url() -> str | None:
    """The UI address of the Prefect server the last command reported to (None when unknown)."""
    return _UI_URL[-1] if _UI_URL else None


@contextmanager
def command_line_run() -> Iterator[None]:
    """Prefect settings for flows run by a `chitieu` command, in front of the person who typed it.

    The Prefect API: the user's (PREFECT_API_URL, or their Prefect profile), else chitieu's local server under
    $CHITIEU_HOME/prefect, started on first use and reused (chitieu.prefect_local), not a temporary server per
    command (~7 s each).

    No flow-run heartbeats (unless PREFECT_FLOWS_HEARTBEAT_FREQUENCY is set): they let a server mark a vanished
    run crashed, but such a run ends or fails in front of its user, and a pass killed half-way is recovered by
    the next one (chitieu.runs). They cost every run up to a second at its end (Prefect joins its heartbeat
    thread, which sleeps in one-second steps): ~0.6 s of the ~1.4 s a pass over an empty inbox takes.
    Deployments run by workers keep Prefect's heartbeats.
    """
    if "prefect" not in sys.modules:  # a command that runs no flow
        yield
        return
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_UI_URL,
        get_current_settings,
        temporary_settings,
    )

    updates: dict = {}
    if "PREFECT_FLOWS_HEARTBEAT_FREQUENCY" not in os.environ:
        updates[PREFECT_FLOWS_HEARTBEAT_FREQUENCY] = None
    settings = get_current_settings()
    ui_url = settings.ui_url
    if not settings.api.url:
        from chitieu.config import load_settings
        from chitieu.prefect_local import ensure_server

        server = ensure_server(load_settings().home)
        updates |= {PREFECT_API_URL: server["api_url"], PREFECT_UI_URL: server["ui_url"]}
        os.environ["PREFECT_API_URL"] = server["api_url"]  # for processes the command starts (Dask workers)
        ui_url = server["ui_url"]
    _UI_URL[:] = [ui_url] if ui_url else []
    events_worker = logging.getLogger("EventsWorker")  # prefect._internal.concurrency.services: the class's name
    if not any(isinstance(f, _FirstDrainNotice) for f in events_worker.filters):
        events_worker.addFilter(_FirstDrainNotice())
    with temporary_settings(updates=updates):
        yield
