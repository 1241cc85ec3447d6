"""Process-wide defaults applied before Prefect or Great Expectations are imported."""

from __future__ import annotations

import os
import warnings

__all__ = ["quiet_environment"]

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
