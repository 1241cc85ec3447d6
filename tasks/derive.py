"""Re-derive metrics and indicator values for the units a load touched, from the months that changed on."""

from __future__ import annotations

import datetime as dt
import time

import sqlalchemy as sa
from prefect import task
from prefect.cache_policies import NO_CACHE

from chitieu.catalog import warehouse_province
from chitieu.config import Settings
from chitieu.warehouse import get_engine, read_sql, sql_statements

__all__ = ["changed_since", "derive_metrics"]

FLOW_FEEDS = ("dossier", "admin_ops")
STOCK_FEEDS = ("tasks", "disbursement")
_DERIVE_LOCK = 74_110_002
ANALYZE_MIN_PAIRS = 500  # from this many dirty (unit, feed) pairs, the derive refreshes core.current_slice's statistics


def _script(conn: sa.Connection, name: str, params: dict) -> None:
    for statement in sql_statements(read_sql(f"derive/{name}.sql")):
        conn.execute(sa.text(statement), params)


def _derive_metric_group(conn: sa.Connection, units: list[str], feeds: list[str], as_of: dt.date,
                         province: str, since: list[str | None] | None = None) -> None:
    params = {"units": units, "feeds": feeds, "as_of": as_of, "province": province,
              "since": since if since is not None else [None] * len(units)}
    _script(conn, "flow_components", params)
    _script(conn, "stock_components", params)
    _script(conn, "metric_values", params)
    conn.execute(sa.text("drop table flow_component; drop table stock_component"))


def _refresh_statistics(engine: sa.Engine, dirty: set[tuple[str, str]]) -> None:
    """After a large load, fresh planner statistics on core.current_slice (milliseconds, in their own transaction):
    with stale ones the planner expects a handful of slices and probes the fact table's index once per unit."""
    if len(dirty) >= ANALYZE_MIN_PAIRS:
        with engine.begin() as conn:
            conn.execute(sa.text("analyze core.current_slice"))


def _earliest(*months: str | None) -> str | None:
    """The earliest of months ('YYYY-MM'); None (every month) if any is None."""
    return None if any(m is None for m in months) else min(months)


def changed_since(outcomes) -> dict[tuple[str, str], str | None]:
    """Per (unit, feed) of accepted submission outcomes, the earliest month their slices carry ('YYYY-MM'), from
    which the unit's disbursement stock may have changed: a slice is a month (tasks/parse.py::_slice_keys), and a
    submission that replaces or adds a slice changes that month's figures and the later ones. None: every month
    (a submission without months recorded)."""
    since: dict[tuple[str, str], str | None] = {}
    for o in outcomes:
        months = [p for p in o.periods if isinstance(p, str) and len(p) == 7 and p[4] == "-"]
        first = min(months) if months and len(months) == len(o.periods) else None
        key = (o.unit_code, o.feed)
        since[key] = _earliest(since[key], first) if key in since else first
    return since


@task(name="derive_metrics", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def derive_metrics(settings: Settings, dirty: set[tuple[str, str]], as_of: dt.date, everything: bool = False,
                   derived: frozenset[tuple[str, str]] = frozenset(), sweep: bool = True,
                   since: dict[tuple[str, str], str | None] | None = None) -> dict:
    """Recompute what depends on the (unit, feed) pairs in `dirty`; stocks for every unit when as-of moved.

    `sweep=False` derives `dirty` alone and leaves the recorded as-of date as it is (a part of a run, derived while
    the next part loads); the run's final call then passes the pairs already derived at `as_of` as `derived`, and
    its sweep of every unit for a new as-of date skips them. `since` (changed_since): per dirty pair the month from
    which its data changed; a unit's disbursement months before it keep their values (a pair not in it: every
    month). A new as-of date changes the months that end after the earlier of the two dates."""
    started = time.perf_counter()
    engine = get_engine(settings)
    _refresh_statistics(engine, dirty)
    with engine.begin() as conn:
        conn.execute(sa.text("select pg_advisory_xact_lock(:k)"), {"k": _DERIVE_LOCK})
        province = warehouse_province(conn)["unit_code"]
        previous = conn.scalar(sa.text("select value from core.pipeline_state where key = 'as_of'"))
        moved = previous != as_of.isoformat()
        as_of_moved = sweep and moved
        since = {} if everything or since is None else since
        # each month is evaluated at min(month end, as-of): a new as-of date changes the months that end after the
        # earlier of the two dates, for every unit (a part of a run derived at the new date included)
        from_as_of = [] if not moved else [None if everything or previous is None else (
            min(dt.date.fromisoformat(previous), as_of) + dt.timedelta(days=1)).strftime("%Y-%m")]
        if everything:
            all_units = conn.scalars(sa.text("select unit_code from core.unit where unit_code <> :p"),
                                     {"p": province}).all()
            dirty = {(u, f) for u in all_units for f in (*FLOW_FEEDS, *STOCK_FEEDS, "indicator")}
        by_feed: dict[str, set[str]] = {}
        for unit, feed in dirty:
            by_feed.setdefault(feed, set()).add(unit)

        def first_month(unit: str) -> str | None:
            """The unit's first disbursement month to derive: its new data's, the as-of dates'."""
            changed = [since.get((unit, "disbursement"))] if unit in by_feed.get("disbursement", ()) else []
            return _earliest(*from_as_of, *changed) if from_as_of or changed else None
        groups: list[tuple[list[str], list[str], list[str | None] | None]] = []
        flow = [f for f in FLOW_FEEDS if f in by_feed]
        for feed in flow:
            groups.append((sorted(by_feed[feed]), [feed], None))
        if as_of_moved:
            pairs = conn.execute(sa.text(
                "select distinct unit_code, feed from core.current_slice where feed in ('tasks', 'disbursement')"))
            # a unit whose stock data this run derived at this as-of already is not derived again
            units = {u for u, f in pairs if everything or (u, f) not in derived}
            units = sorted(units | by_feed.get("tasks", set()) | by_feed.get("disbursement", set()))
            if units:
                groups.append((units, list(STOCK_FEEDS), [first_month(u) for u in units]))
        else:
            for feed in STOCK_FEEDS:
                if feed in by_feed:
                    units = sorted(by_feed[feed])
                    groups.append((units, [feed], [first_month(u) for u in units]))
        for units, feeds, unit_since in groups:
            _derive_metric_group(conn, units, feeds, as_of, province, unit_since)
        params = {"province": province}
        if "indicator" in by_feed:
            _script(conn, "indicator_values", {**params, "units": sorted(by_feed["indicator"])})
        if sweep:
            conn.execute(sa.text(
                "insert into core.pipeline_state (key, value) values ('as_of', :v) "
                "on conflict (key) do update set value = excluded.value"), {"v": as_of.isoformat()})
    return {"units": len({u for u, _ in dirty}), "groups": len(groups), "as_of_moved": as_of_moved,
            "seconds": round(time.perf_counter() - started, 3)}
