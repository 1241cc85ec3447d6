"""Process-wide defaults applied before Prefect or Great Expectations are imported."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["command_line_run", "quiet_environment"]

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


@contextmanager
def command_line_run() -> Iterator[None]:
    """Prefect settings for flows run by a `chitieu` command, in front of the person who typed it.

    No flow-run heartbeats (unless PREFECT_FLOWS_HEARTBEAT_FREQUENCY is set): they let a server mark a vanished
    run crashed, but such a run ends or fails in front of its user, and a pass killed half-way is recovered by
    the next one (chitieu.runs). They cost every run up to a second at its end (Prefect joins its heartbeat
    thread, which sleeps in one-second steps): ~0.6 s of the ~1.4 s a pass over an empty inbox takes.
    Deployments run by workers keep Prefect's heartbeats.
    """
    if "prefect" not in sys.modules or "PREFECT_FLOWS_HEARTBEAT_FREQUENCY" in os.environ:
        yield
        return
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
