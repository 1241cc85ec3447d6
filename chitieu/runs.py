"""Bookkeeping of pipeline runs (audit.run) and of what landed (raw.landed_file)."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from chitieu.landing import LandedFile, SkippedPath

__all__ = ["finish_run", "record_landing", "start_run"]


def start_run(engine: sa.Engine, command: str, as_of: dt.date, inbox: str | None,
              flow_run_id: str | None) -> int:
    with engine.begin() as conn:
        return conn.execute(sa.text(
            "insert into audit.run (flow_run_id, command, as_of, inbox) values (:f, :c, :a, :i) returning run_id"),
            {"f": flow_run_id, "c": command, "a": as_of, "i": inbox}).scalar_one()


def finish_run(engine: sa.Engine, run_id: int, summary: dict) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("update audit.run set finished_at = now(), summary = cast(:s as jsonb) where run_id = :r"),
                     {"r": run_id, "s": json.dumps(summary, ensure_ascii=False, default=str)})


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
