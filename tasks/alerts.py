"""Alerts to units (placeholder until the alerts issue lands: records nothing)."""
from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE


@task(name="send_alerts", cache_policy=NO_CACHE)
def send_alerts(settings, submission_ids: list[int]) -> dict:
    return {}
