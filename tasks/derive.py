"""Re-derive metrics and indicator values for the units a load touched (project status is a view)."""

from __future__ import annotations

import datetime as dt
import time

import sqlalchemy as sa
from prefect import task
from prefect.cache_policies import NO_CACHE

from chitieu.catalog import warehouse_province
from chitieu.config import Settings
from chitieu.warehouse import get_engine, read_sql, sql_statements

__all__ = ["derive_metrics"]

FLOW_FEEDS = ("dossier", "admin_ops")
STOCK_FEEDS = ("tasks", "disbursement")
_DERIVE_LOCK = 74_110_002
ANALYZE_MIN_PAIRS = 500  # from this many dirty (unit, feed) pairs, the derive refreshes core.current_slice's statistics


def _script(conn: sa.Connection, name: str, params: dict) -> None:
    for statement in sql_statements(read_sql(f"derive/{name}.sql")):
        conn.execute(sa.text(statement), params)


def _derive_metric_group(conn: sa.Connection, units: list[str], feeds: list[str], as_of: dt.date,
                         province: str) -> None:
    params = {"units": units, "feeds": feeds, "as_of": as_of, "province": province}
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


@task(name="derive_metrics", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def derive_metrics(settings: Settings, dirty: set[tuple[str, str]], as_of: dt.date, everything: bool = False,
                   derived: frozenset[tuple[str, str]] = frozenset(), sweep: bool = True) -> dict:
    """Recompute what depends on the (unit, feed) pairs in `dirty`; stocks for every unit when as-of moved.

    `sweep=False` derives `dirty` alone and leaves the recorded as-of date as it is (a part of a run, derived while
    the next part loads); the run's final call then passes the pairs already derived at `as_of` as `derived`, and
    its sweep of every unit for a new as-of date skips them."""
    started = time.perf_counter()
    engine = get_engine(settings)
    _refresh_statistics(engine, dirty)
    with engine.begin() as conn:
        conn.execute(sa.text("select pg_advisory_xact_lock(:k)"), {"k": _DERIVE_LOCK})
        province = warehouse_province(conn)["unit_code"]
        previous = conn.scalar(sa.text("select value from core.pipeline_state where key = 'as_of'"))
        as_of_moved = sweep and previous != as_of.isoformat()
        if everything:
            all_units = conn.scalars(sa.text("select unit_code from core.unit where unit_code <> :p"),
                                     {"p": province}).all()
            dirty = {(u, f) for u in all_units for f in (*FLOW_FEEDS, *STOCK_FEEDS, "indicator")}
        by_feed: dict[str, set[str]] = {}
        for unit, feed in dirty:
            by_feed.setdefault(feed, set()).add(unit)
        groups: list[tuple[list[str], list[str]]] = []
        flow = [f for f in FLOW_FEEDS if f in by_feed]
        for feed in flow:
            groups.append((sorted(by_feed[feed]), [feed]))
        if as_of_moved:
            pairs = conn.execute(sa.text(
                "select distinct unit_code, feed from core.current_slice where feed in ('tasks', 'disbursement')"))
            # a unit whose stock data this run derived at this as-of already is not derived again
            units = {u for u, f in pairs if everything or (u, f) not in derived}
            units |= by_feed.get("tasks", set()) | by_feed.get("disbursement", set())
            if units:
                groups.append((sorted(units), list(STOCK_FEEDS)))
        else:
            for feed in STOCK_FEEDS:
                if feed in by_feed:
                    groups.append((sorted(by_feed[feed]), [feed]))
        for units, feeds in groups:
            _derive_metric_group(conn, units, feeds, as_of, province)
        params = {"province": province}
        if "indicator" in by_feed:
            _script(conn, "indicator_values", {**params, "units": sorted(by_feed["indicator"])})
        if sweep:
            conn.execute(sa.text(
                "insert into core.pipeline_state (key, value) values ('as_of', :v) "
                "on conflict (key) do update set value = excluded.value"), {"v": as_of.isoformat()})
    return {"units": len({u for u, _ in dirty}), "groups": len(groups), "as_of_moved": as_of_moved,
            "seconds": round(time.perf_counter() - started, 3)}
