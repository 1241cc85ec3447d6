"""Flow: remind units whose monthly feed has not arrived by its due date (one reminder per unit, feed and month)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import sqlalchemy as sa
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from chitieu.alerting import Outgoing, deliver, make_channels
from chitieu.catalog import warehouse_province
from chitieu.config import Settings, load_settings
from chitieu.local_time import today
from chitieu.messages_vi import reminder_message
from chitieu.warehouse import get_engine, read_sql

__all__ = ["find_missing_reports", "reminders", "send_reminders"]


@task(name="find_missing_reports", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def find_missing_reports(settings: Settings, as_of: dt.date) -> list[dict]:
    """Units, monthly feeds and months past their due date (the 5th of the next month) with nothing accepted."""
    with get_engine(settings).connect() as conn:
        rows = conn.execute(sa.text(read_sql("alerts/missing_reports.sql")), {"as_of": as_of}).mappings().all()
    return [dict(r) for r in rows]


@task(name="send_reminders", cache_policy=NO_CACHE)
def send_reminders(settings: Settings, missing: list[dict], as_of: dt.date) -> dict:
    """One reminder per missing unit/feed/month, claimed in audit.alert so it is never repeated; counts by status."""
    engine, channels = get_engine(settings), make_channels(settings)
    counts: Counter = Counter()
    if missing:
        with engine.connect() as conn:
            province = warehouse_province(conn)
    for row in missing:
        counts += deliver(engine, Outgoing(
            f"reminder:{row['unit_code']}:{row['feed']}:{row['period']}", "reminder", row["unit_code"], row["feed"],
            row["period"], None, row["contact_email"],
            reminder_message(row, row["feed"], row["period"], row["due_date"], as_of, province)), channels)
    return dict(sorted(counts.items()))


@flow(name="reminders")
def reminders(as_of: dt.date | None = None) -> dict:
    """Find what is overdue at `as_of` (default today) and remind each unit once per feed and month."""
    settings = load_settings()
    as_of = as_of or today()
    missing = find_missing_reports(settings, as_of)
    sent = send_reminders(settings, missing, as_of)
    return {"as_of": as_of.isoformat(), "overdue": len(missing), **sent}


if __name__ == "__main__":
    print(reminders())
