"""Flow: reprocess one unit's current files of a feed (from the archive) and re-derive what depends on them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from prefect import flow, runtime

from chitieu.approval import PERIOD_RE
from chitieu.catalog import read_catalog
from chitieu.config import load_settings
from chitieu.errors import ConfigError
from chitieu.landing import LandedFile, SkippedPath
from chitieu.local_time import in_local_time, reporting_year, today
from chitieu.records import ACCEPTED, RunSummary
from chitieu.runs import finish_run, release_leases, start_run
from chitieu.warehouse import get_engine
from tasks.alerts import send_alerts
from tasks.derive import derive_metrics
from tasks.load import reload_submissions
from tasks.parse import parse_feed
from tasks.publish import announce_outcomes, publish_run
from tasks.validate import validate_feed

__all__ = ["rerun"]


def _current_files(engine: sa.Engine, unit: str, feed: str, period: str | None) -> list[tuple[int, LandedFile]]:
    """The unit's current submissions of the feed (carrying `period`), and the files a lock refused for a period
    reopened since (released: taken again unless the same bytes were sent and taken meanwhile)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "select distinct s.submission_id, s.file_name, s.sha256, s.size_bytes, s.received_at, s.archive_path,"
            " s.archive_member"
            " from audit.submission s join core.current_slice c on c.submission_id = s.submission_id"
            " where s.unit_code = :u and s.feed = :f and (cast(:p as text) is null or c.period = :p)"
            " union "
            "select s.submission_id, s.file_name, s.sha256, s.size_bytes, s.received_at, s.archive_path,"
            " s.archive_member"
            " from audit.submission s"
            " where s.unit_code = :u and s.feed = :f and s.status = 'rejected' and s.lock_released_at is not null"
            "   and s.archive_path is not null"
            "   and exists (select 1 from audit.check_result r, jsonb_array_elements(r.sample) e"
            "               where r.submission_id = s.submission_id and r.expectation = 'period_locked'"
            "                 and (cast(:p as text) is null or e ->> 'period' = :p))"
            "   and not exists (select 1 from audit.submission o where o.unit_code = s.unit_code"
            "                   and o.feed = s.feed and o.sha256 = s.sha256 and o.status <> 'duplicate'"
            "                   and o.lock_released_at is null)"
            "   and not exists (select 1 from audit.submission o where o.unit_code = s.unit_code"
            "                   and o.feed = s.feed and o.sha256 = s.sha256 and o.lock_released_at is not null"
            "                   and o.submission_id > s.submission_id)"
            " order by received_at, submission_id"), {"u": unit, "f": feed, "p": period}).all()
    return [(r.submission_id, LandedFile(Path(r.archive_path), r.file_name, unit, feed, r.sha256, r.size_bytes,
                                         r.received_at, r.archive_member)) for r in rows]


@flow(name="rerun", on_failure=[release_leases], on_crashed=[release_leases])
def rerun(unit: str, feed: str, period: str | None = None, as_of: dt.date | None = None) -> RunSummary:
    """Re-parse and re-validate the unit's current files with today's catalog and rules; re-derive."""
    settings = load_settings()
    as_of = as_of or today()
    catalog = read_catalog(settings.catalog_dir)
    if unit not in catalog.submitter_codes:
        raise ConfigError(f"--unit {unit!r} is not a submitting unit of the catalog")
    if period is not None and not PERIOD_RE.fullmatch(period):  # else a typo reprocessed nothing, and said so with 0
        raise ConfigError(f"--period {period!r} is not a period (YYYY-MM, YYYY-Qn or YYYY)")
    engine = get_engine(settings)
    run_id = start_run(engine, f"rerun {unit} {feed} {period or ''}".strip(), as_of, None,
                       str(runtime.flow_run.id or ""))
    current = _current_files(engine, unit, feed, period)
    missing = [f.rel_path for _, f in current if not f.exists()]
    if missing:
        raise ConfigError(f"archived copy missing for {missing[0]} (under {settings.archive_dir})")
    summary = RunSummary(run_id, as_of)
    if current:
        parsed = parse_feed(feed, [f for _, f in current])
        # a snapshot is judged in the reporting year of the day its file was taken, not only today's: December's
        # figures rerun in March were rejected and left the unit's figures
        since = min(reporting_year(in_local_time(f.received_at).date()) for _, f in current)
        ids = [sid for sid, _ in current]
        verdicts = validate_feed(parsed, catalog, as_of, settings, since_year=since, rerun_of=ids)
        summary.outcomes = reload_submissions(settings, parsed, verdicts, ids)
        done = {o.submission_id for o in summary.outcomes}
        summary.skipped = [SkippedPath(f.rel_path, "touches an approved period: left as it is (chitieu unapprove "
                                                   "reopens it)") for sid, f in current if sid not in done]
    summary.derive = derive_metrics(settings, {(unit, feed)}, as_of)
    summary.alerts = send_alerts(settings, [o.submission_id for o in summary.outcomes if o.submission_id])
    announce_outcomes(summary, settings.submission_events == "all")
    publish_run(summary)
    finish_run(engine, run_id, {"counts": summary.counts(), "derive": summary.derive,
                                "accepted": sum(o.status in ACCEPTED for o in summary.outcomes)})
    return summary
