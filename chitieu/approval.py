"""Review and approval of a unit's feed for a period (CONTRACT.md section 9): approve (lock), reopen, and the
units' explanations of warnings.

A period is locked while its latest row in audit.approval says `approved`. Loads check the locks under the same
per-unit advisory lock they load under (`lock_units`), so an approval and an upload of the same unit and feed are
serialised: the upload lands before the lock, or the lock refuses it (`period_locked`), never half.

Which periods a submission touches: its rows' `period` (dossier, admin_ops, indicator: the period as reported,
YYYY-MM, YYYY-Qn or YYYY), the month of `as_of_date` (disbursement), and for tasks the month of `due_date` of each
task the file adds or changes (a register that repeats approved tasks unchanged is not refused)."""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from chitieu.config import FEEDS
from chitieu.errors import CatalogError, ChitieuError
from chitieu.warehouse import read_sql

__all__ = ["Lock", "approve", "approve_period", "auto_lock", "explain_warning", "lock_units", "locked_periods",
           "read_lock_days", "reopen", "reopen_period"]

PERIOD_RE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$")


class ApprovalError(ChitieuError):
    """An approval or reopening that cannot be done (unknown unit, nothing to approve, not approved...)."""


@dataclass(frozen=True)
class Lock:
    """An approval in force: who approved the period and when."""

    period: str
    approved_by: str
    approved_at: dt.datetime
    automatic: bool = False


def lock_units(conn: sa.Connection, feed: str, units: set[str] | list[str]) -> None:
    """Serialise loads and approvals of the same units and feed for the rest of the transaction (advisory locks
    taken in sorted order, so concurrent transactions cannot deadlock)."""
    conn.execute(sa.text(
        "select pg_advisory_xact_lock(hashtext(k.key)) from unnest(cast(:keys as text[])) with ordinality"
        " as k(key, ord) order by k.ord"), {"keys": [f"{unit}/{feed}" for unit in sorted(set(units))]})


def locked_periods(conn: sa.Connection, feed: str, units: list[str] | set[str]) -> dict[str, dict[str, Lock]]:
    """unit -> period -> Lock, for the periods of `feed` approved and not reopened since."""
    rows = conn.execute(sa.text(
        "select distinct on (unit_code, period) unit_code, period, status, acted_by, acted_at, automatic"
        " from audit.approval where feed = :feed and unit_code = any(:units)"
        " order by unit_code, period, approval_id desc"), {"feed": feed, "units": sorted(set(units))}).all()
    out: dict[str, dict[str, Lock]] = {}
    for r in rows:
        if r.status == "approved":
            out.setdefault(r.unit_code, {})[r.period] = Lock(r.period, r.acted_by, r.acted_at, r.automatic)
    return out


def _check(conn: sa.Connection, unit: str, feed: str, period: str) -> None:
    if feed not in FEEDS:
        raise ApprovalError(f"--feed {feed!r} is not one of {', '.join(FEEDS)}")
    if not PERIOD_RE.fullmatch(period or ""):
        raise ApprovalError(f"--period {period!r} is not a period (YYYY-MM, YYYY-Qn or YYYY)")
    if feed in ("dossier", "admin_ops", "disbursement", "tasks") and not re.fullmatch(r"\d{4}-\d{2}", period):
        raise ApprovalError(f"--period {period!r}: the {feed} feed is approved by month (YYYY-MM)")
    level = conn.scalar(sa.text("select level from core.unit where unit_code = :u"), {"u": unit})
    if level is None or level == "province":
        raise ApprovalError(f"--unit {unit!r} is not a submitting unit of the catalog")


def _has_data(conn: sa.Connection, unit: str, feed: str, period: str) -> bool:
    if feed == "tasks":
        sql = ("select exists (select 1 from core.current_tasks where unit_code = :u"
               " and to_char(due_date, 'YYYY-MM') = :p)")
    else:
        sql = ("select exists (select 1 from core.current_slice where unit_code = :u and feed = :f"
               " and period = :p)")
    return bool(conn.scalar(sa.text(sql), {"u": unit, "f": feed, "p": period}))


def approve(conn: sa.Connection, unit: str, feed: str, period: str, by: str, *, automatic: bool = False) -> Lock:
    """Approve (lock) a unit's feed for a period; approving an approved period changes nothing. Returns the lock in
    force. Run it in a transaction of its own (`with engine.begin() as conn`): the lock is taken until it ends."""
    _check(conn, unit, feed, period)
    if not (by or "").strip():
        raise ApprovalError("approved_by must name the reviewer")
    lock_units(conn, feed, {unit})
    current = locked_periods(conn, feed, {unit}).get(unit, {}).get(period)
    if current is not None:
        return current
    if not _has_data(conn, unit, feed, period):
        raise ApprovalError(f"{unit} has no current {feed} data for {period}: nothing to approve")
    row = conn.execute(sa.text(
        "insert into audit.approval (unit_code, feed, period, status, acted_by, automatic)"
        " values (:u, :f, :p, 'approved', :by, :auto) returning acted_at"),
        {"u": unit, "f": feed, "p": period, "by": by.strip(), "auto": automatic}).one()
    return Lock(period, by.strip(), row.acted_at, automatic)


def reopen(conn: sa.Connection, unit: str, feed: str, period: str, by: str, reason: str) -> int:
    """Reopen an approved period, with the reason kept; the files the lock refused for that period are released (the
    same bytes sent again are new content, and `chitieu rerun` takes them), and so are the copies of them sent while
    it was locked (recorded as their duplicates). Returns how many refusals were released."""
    _check(conn, unit, feed, period)
    if not (reason or "").strip():
        raise ApprovalError("a reopening needs a reason (--reason)")
    if not (by or "").strip():
        raise ApprovalError("reopened_by must name the reviewer")
    lock_units(conn, feed, {unit})
    if period not in locked_periods(conn, feed, {unit}).get(unit, {}):
        raise ApprovalError(f"{unit} {feed} {period} is not approved: nothing to reopen")
    conn.execute(sa.text(
        "insert into audit.approval (unit_code, feed, period, status, acted_by, reason)"
        " values (:u, :f, :p, 'reopened', :by, :reason)"),
        {"u": unit, "f": feed, "p": period, "by": by.strip(), "reason": reason.strip()})
    return conn.scalar(sa.text(read_sql("approval/release_refusals.sql")), {"u": unit, "f": feed, "p": period})


def explain_warning(conn: sa.Connection, submission_id: int, expectation: str, column: str | None, text: str,
                    by: str) -> int:
    """Record a unit's explanation of a failed check of its submission (shown in mart.review_queue); returns its
    id. The check must exist on that submission."""
    text = (text or "").strip()
    if not text or len(text) > 2000:
        raise ApprovalError("an explanation is 1 to 2000 characters")
    found = conn.scalar(sa.text(
        "select exists (select 1 from audit.check_result where submission_id = :sid and expectation = :e"
        " and column_name is not distinct from :c)"), {"sid": submission_id, "e": expectation, "c": column})
    if not found:
        raise ApprovalError(f"submission {submission_id} has no failed check {expectation!r} on {column!r}")
    return conn.scalar(sa.text(
        "insert into audit.warning_explanation (submission_id, expectation, column_name, explanation, explained_by)"
        " values (:sid, :e, :c, :t, :by) returning explanation_id"),
        {"sid": submission_id, "e": expectation, "c": column, "t": text, "by": by})


def approve_period(unit: str, feed: str, period: str, by: str) -> Lock:
    """approve() in a transaction of its own on the configured warehouse (the command line's entry)."""
    from chitieu.config import load_settings
    from chitieu.warehouse import get_engine

    with get_engine(load_settings()).begin() as conn:
        return approve(conn, unit, feed, period, by)


def reopen_period(unit: str, feed: str, period: str, by: str, reason: str) -> int:
    """reopen() in a transaction of its own on the configured warehouse (the command line's entry)."""
    from chitieu.config import load_settings
    from chitieu.warehouse import get_engine

    with get_engine(load_settings()).begin() as conn:
        return reopen(conn, unit, feed, period, by, reason)


# --- automatic lock N days after the due date (optional: catalog/feeds.csv) ---------------------------------

AUTO_LOCK_FEEDS = ("dossier", "admin_ops", "disbursement", "indicator")  # feeds with monthly periods


def read_lock_days(catalog_dir: Path) -> dict[str, int]:
    """feed -> days after the due date when its periods lock by themselves, from the optional catalog/feeds.csv
    (columns feed, lock_after_days; an empty value or no file: never)."""
    path = Path(catalog_dir) / "feeds.csv"
    if not path.exists():
        return {}
    out: dict[str, int] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"feed", "lock_after_days"} - set(reader.fieldnames or ())
        if missing:
            raise CatalogError(path.name, 1, None, f"missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            feed, days = (row.get("feed") or "").strip(), (row.get("lock_after_days") or "").strip()
            if feed not in AUTO_LOCK_FEEDS:
                raise CatalogError(path.name, line, "feed",
                                   f"{feed!r} is not a feed with monthly periods ({', '.join(AUTO_LOCK_FEEDS)})")
            if not days:
                continue
            if not days.isdigit():
                raise CatalogError(path.name, line, "lock_after_days", f"{days!r} is not a whole number of days")
            out[feed] = int(days)
    return out


def auto_lock(engine: sa.Engine, catalog_dir: Path, as_of: dt.date) -> dict[str, int]:
    """Lock every period past its due date by the feed's lock_after_days (see sql/approval/auto_lock.sql), each
    feed in one transaction under its units' locks; feed -> periods locked now."""
    from chitieu.warehouse import read_sql

    done: dict[str, int] = {}
    for feed, days in read_lock_days(catalog_dir).items():
        with engine.begin() as conn:
            units = list(conn.scalars(sa.text(
                "select distinct unit_code from core.current_slice where feed = :f"), {"f": feed}))
            if not units:
                continue
            lock_units(conn, feed, units)
            locked = conn.execute(sa.text(read_sql("approval/auto_lock.sql")),
                                  {"feed": feed, "units": units, "days": days, "as_of": as_of}).all()
        if locked:
            done[feed] = len(locked)
    return done
