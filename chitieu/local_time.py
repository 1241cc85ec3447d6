"""The province's clock: its dates are Vietnam's, whatever zone the machine keeps.

Vietnam has one time zone (UTC+7, no daylight saving), so every province's day, month and year turn at midnight
there. A server kept in UTC (most containers) is still on yesterday's date until 07:00 in Vietnam: a unit that
submitted at 06:30 a figure dated today would have been told it was dated after the as-of date.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

__all__ = ["LOCAL_TZ", "in_local_time", "reporting_year", "today"]

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def today() -> dt.date:
    """Today's date in Vietnam: the default as-of date of every command, flow and page."""
    return dt.datetime.now(LOCAL_TZ).date()


def in_local_time(moment: dt.datetime) -> dt.datetime:
    """`moment` in Vietnam time (a naive timestamp is taken as UTC, as the warehouse's are)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(LOCAL_TZ)


def reporting_year(day: dt.date) -> int:
    """The year whose figures are reported on `day`: its own, and in January still the previous one (December's
    figures and their corrections arrive in January)."""
    return (day.replace(day=1) - dt.timedelta(days=1)).year
