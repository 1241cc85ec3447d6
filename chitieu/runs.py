"""Bookkeeping of pipeline runs (audit.run) and of what landed (raw.landed_file)."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from chitieu.landing import LandedFile, SkippedPath

__all__ = ["finish_run", "interrupted_runs", "record_landing", "release_leases", "start_run"]

_RUN_LEASE = 74_110_003  # advisory lock class: (class, run_id) is held by the live process of a run
_LEASES: dict[int, sa.Connection] = {}


def start_run(engine: sa.Engine, command: str, as_of: dt.date, inbox: str | None,
              flow_run_id: str | None) -> int:
    """Record a run and hold its lease (a session advisory lock) until finish_run or until the process dies."""
    lease = engine.connect()
    run_id = lease.execute(sa.text(
        "insert into audit.run (flow_run_id, command, as_of, inbox) values (:f, :c, :a, :i) returning run_id"),
        {"f": flow_run_id, "c": command, "a": as_of, "i": inbox}).scalar_one()
    lease.execute(sa.text("select pg_advisory_lock(:c, cast(:r as int))"), {"c": _RUN_LEASE, "r": run_id})
    lease.commit()  # the run becomes visible only once its lease is held
    _LEASES[run_id] = lease
    return run_id


def interrupted_runs(engine: sa.Engine, run_id: int) -> tuple[list[int], list[int]]:
    """Runs that died unfinished (their lease is free) and the submissions they recorded: load committed,
    derive or alerts maybe not. A concurrent live run holds its lease and is left alone."""
    with engine.begin() as conn:
        dead = list(conn.scalars(sa.text(
            "select run_id from audit.run where finished_at is null and run_id <> :me"
            " and pg_try_advisory_xact_lock(:c, cast(run_id as int)) order by run_id"),
            {"me": run_id, "c": _RUN_LEASE}))
        orphans = list(conn.scalars(sa.text(
            "select submission_id from audit.submission where run_id = any(:d) order by submission_id"),
            {"d": dead})) if dead else []
    return dead, orphans


def finish_run(engine: sa.Engine, run_id: int, summary: dict, recovered: list[int] | None = None) -> None:
    """Mark the run (and the interrupted runs it recovered) finished, then give its lease back."""
    with engine.begin() as conn:
        conn.execute(sa.text("update audit.run set finished_at = now(), summary = cast(:s as jsonb) where run_id = :r"),
                     {"r": run_id, "s": json.dumps(summary, ensure_ascii=False, default=str)})
        if recovered:
            conn.execute(sa.text(
                "update audit.run set finished_at = now(), summary = coalesce(summary, '{}'::jsonb)"
                " || jsonb_build_object('interrupted', true, 'recovered_by', :r)"
                " where run_id = any(:d) and finished_at is null"), {"r": run_id, "d": list(recovered)})
    _release(run_id)


def release_leases(*_hook_args) -> None:
    """Give back the leases of this process's runs (a flow's failure hook): the next run recovers them."""
    for run_id in list(_LEASES):
        _release(run_id)


def _release(run_id: int) -> None:
    lease = _LEASES.pop(run_id, None)
    if lease is not None:
        try:
            lease.execute(sa.text("select pg_advisory_unlock(:c, cast(:r as int))"), {"c": _RUN_LEASE, "r": run_id})
            lease.commit()
        except sa.exc.DBAPIError:
            lease.invalidate()  # the connection died, and the lock with it
        finally:
            lease.close()


def record_landing(engine: sa.Engine, files: list[tuple[LandedFile, str]], skipped: list[SkippedPath]) -> None:
    """Remember every path seen with its content hash and what was done with it."""
    rows = [{"p": f.rel_path, "s": f.sha256, "u": f.unit_code, "f": f.feed, "b": f.size_bytes, "m": f.received_at,
             "d": disposition, "r": None} for f, disposition in files]
    rows += [{"p": s.rel_path, "s": "-", "u": None, "f": None, "b": None, "m": None, "d": "skipped", "r": s.reason}
             for s in skipped]
    if rows:
        with engine.begin() as conn:
            conn.execute(sa.text(
                "insert into raw.landed_file (rel_path, sha256, unit_code, feed, size_bytes, modified_at,"
                " disposition, reason) values (:p, :s, :u, :f, :b, :m, :d, :r) on conflict do nothing"), rows)
