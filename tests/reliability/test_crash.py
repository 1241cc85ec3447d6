"""Crash safety: `chitieu run` killed with SIGKILL at random points of a large-ish inbox's load, then recovered.

Kill points are reached for real, not simulated: the test either waits for the pipeline to commit k submissions,
or holds a table lock the pipeline needs next (core.current_slice deep inside a load transaction, after its COPY;
core.metric_value inside the derive transaction; audit.alert while alerting) and kills the process while its
backend waits on it; or it simply kills at a random moment. After every kill the warehouse must show no
half-loaded submission, no stray fact, no advisory lock, nothing stuck; the next normal run must then end with
exactly the figures of one clean run over the same inbox.
"""

from __future__ import annotations

import os
import random
import signal
import time

import pytest
import sqlalchemy as sa

from tests.reliability import tools

LOCKS = {"load": "core.current_slice", "derive": "core.metric_value", "alerts": "audit.alert"}


def _seed() -> int:
    return int(os.environ.get("RELIABILITY_SEED") or time.time_ns() % 1_000_000)


def _committed(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.text("select count(*) from audit.submission"))


def _blocked_on_lock(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return conn.scalar(sa.text(
            "select left(query, 60) from pg_stat_activity where datname = current_database()"
            " and application_name = 'chitieu' and wait_event_type = 'Lock' limit 1"))


def kill_at(point: tuple[str, float], env: dict, engine: sa.Engine, logs, name: str) -> str | None:
    """Run `chitieu run`, SIGKILL it at `point`; return where it died (None if it finished first)."""
    kind, arg = point
    holder = holder_txn = None
    try:
        if kind in LOCKS and arg == 0:
            holder = engine.connect()
            holder_txn = holder.begin()
            holder.execute(sa.text(f"lock table {LOCKS[kind]} in exclusive mode"))
        base = _committed(engine)
        child = tools.spawn(["run", "--as-of", tools.AS_OF.isoformat()], env, logs, name)
        deadline = time.monotonic() + 240
        where = None
        while child.proc.poll() is None and time.monotonic() < deadline:
            if kind == "time" and time.monotonic() - child.started >= arg:
                where = f"at {arg:.1f} s, {_committed(engine)} submissions committed"
            elif kind == "committed" and (now := _committed(engine)) >= base + arg:
                where = f"after {now - base} more committed submissions ({now} in all)"
            elif kind in LOCKS and holder is None and _committed(engine) >= arg:
                holder = engine.connect()
                holder_txn = holder.begin()
                holder.execute(sa.text(f"lock table {LOCKS[kind]} in exclusive mode"))
            elif kind in LOCKS and holder is not None and (query := _blocked_on_lock(engine)):
                where = f"{kind} transaction open, waiting in `{query.strip()}`, {_committed(engine)} committed"
            if where:
                child.kill()
                break
            time.sleep(0.02)
        if child.proc.poll() is None:
            child.kill()
            raise AssertionError(f"{name}: no kill point reached in 240 s")
        if child.proc.returncode != -signal.SIGKILL:  # it finished by itself (perhaps just before the kill)
            assert child.proc.returncode == 0, child.stderr[-3000:]
            return None
        return where
    finally:
        if holder is not None:
            holder_txn.rollback()
            holder.close()


def crash_then_recover(reference, workspace, plan: list[tuple[str, float]], seed: int,
                       run_again: bool = False) -> list[str]:
    """Apply the kill plan to one fresh warehouse, check it after each kill, recover, compare with the reference."""
    url, home, inbox, logs = workspace("crash")
    reference.write(inbox)
    env = tools.cli_env(home, inbox, url)
    engine = tools.check_engine(url)
    deaths = []
    try:
        for i, point in enumerate(plan):
            t0 = time.monotonic()
            where = kill_at(point, env, engine, logs, f"killed{i}")
            print(f"kill {i} {point} after {time.monotonic() - t0:.1f} s: {where}")
            tools.wait_for_backends_gone(engine)
            problems = tools.violations(engine)
            assert problems == [], f"seed {seed}, after kill {i} ({point} -> {where}): {problems}"
            if where is not None:
                deaths.append(where)
        t0 = time.monotonic()
        final = tools.run_cli(["run", "--as-of", tools.AS_OF.isoformat()], env, logs, "recovery")
        print(f"recovery run {time.monotonic() - t0:.1f} s")
        tools.assert_clean_exit(final, f"seed {seed}: recovery run")
        figures = tools.figures(engine)
        differences = tools.diff(reference.figures, figures)
        assert not differences, f"seed {seed}, kills {deaths}:\n" + "\n".join(d[:400] for d in differences)
        assert tools.violations(engine, after_recovery=True) == [], f"seed {seed}"
        assert tools.fact_rows(figures) == tools.fact_rows(reference.figures)
        if run_again:  # a further pass changes nothing
            again = tools.run_cli(["run", "--as-of", tools.AS_OF.isoformat()], env, logs, "again")
            tools.assert_clean_exit(again, "second normal run")
            assert tools.diff(reference.figures, tools.figures(engine)) == []
    finally:
        engine.dispose()
    return deaths


def test_sigkill_mid_load_and_before_derive_then_recover(fast_reference, workspace):
    """Two kills: inside a load transaction after its COPY, then after all loads but inside derive."""
    seed = _seed()
    rng = random.Random(seed)
    plan = [("load", rng.choice([0, 0, 1, 5])), ("derive", 0)]
    deaths = crash_then_recover(fast_reference, workspace, plan, seed)
    assert len(deaths) == 2, deaths
    print(f"kills survived: {len(deaths)}: {deaths}")


@pytest.mark.slow
def test_sigkill_at_many_random_points_then_recover(slow_reference, workspace):
    """At least ten kills over three fresh warehouses: mid-COPY, between commits, at random moments, in derive
    and in alerting; every warehouse recovers to the clean run's figures."""
    seed = _seed()
    rng = random.Random(seed)
    total = len(slow_reference.figures["submissions"])
    budget = max(slow_reference.seconds, 5.0)
    deaths = []
    for _ in range(3):
        plan = [("load", rng.randrange(0, total // 3)),
                ("committed", rng.randrange(1, total // 4)),  # this many more than before the run
                ("time", rng.uniform(2.0, 2.0 + budget / 2)),
                ("derive", 0),
                ("alerts", 0)]
        deaths += crash_then_recover(slow_reference, workspace, plan, seed, run_again=True)
    assert len(deaths) >= 10, deaths
    print(f"kills survived: {len(deaths)}: {deaths}")
