"""Flow: one ingest pass over the landing zone — discover, parse, validate, load, derive, alert, publish."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, runtime

from chitieu.catalog import read_catalog
from chitieu.config import FEEDS, Settings, load_settings
from chitieu.landing import SkippedPath
from chitieu.runs import finish_run, interrupted_runs, record_landing, release_leases, start_run
from chitieu.warehouse import get_engine
from tasks.alerts import send_alerts
from tasks.data_docs import build_data_docs
from tasks.derive import derive_metrics
from tasks.discover import classify_files, discover_files
from tasks.load import SubmissionOutcome, load_submissions, record_duplicates
from tasks.parse import parse_feed
from tasks.publish import publish_run
from tasks.validate import validate_feed

__all__ = ["RunSummary", "ingest", "process_files"]

ACCEPTED = ("loaded", "loaded_with_warnings")


@dataclass
class RunSummary:
    """What one pass did, for the CLI's table and for the run record."""

    run_id: int
    as_of: dt.date
    outcomes: list[SubmissionOutcome] = field(default_factory=list)
    skipped: list[SkippedPath] = field(default_factory=list)
    seen: int = 0
    derive: dict = field(default_factory=dict)
    alerts: dict = field(default_factory=dict)
    data_docs: str | None = None

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes:
            out[o.status] = out.get(o.status, 0) + 1
        return out


def process_files(settings: Settings, files_by_feed: dict, catalog, as_of: dt.date,
                  run_id: int) -> list[SubmissionOutcome]:
    """Parse, validate and load each feed's new files as one batch per feed."""
    outcomes: list[SubmissionOutcome] = []
    for feed in FEEDS:
        feed_files = files_by_feed.get(feed) or []
        if not feed_files:
            continue
        parsed = parse_feed(feed, feed_files)
        verdicts = validate_feed(parsed, catalog, as_of, settings)
        outcomes += load_submissions(settings, parsed, verdicts, run_id)
    return outcomes


@flow(name="ingest", on_failure=[release_leases], on_crashed=[release_leases])
def ingest(inbox: str | None = None, as_of: dt.date | None = None) -> RunSummary:
    """One pass: every new file is loaded or rejected with its reasons; other units' files are unaffected."""
    settings = load_settings()
    inbox_path = Path(inbox).resolve() if inbox else settings.inbox
    as_of = as_of or dt.date.today()
    catalog = read_catalog(settings.catalog_dir)
    engine = get_engine(settings)
    run_id = start_run(engine, "run", as_of, str(inbox_path), str(runtime.flow_run.id or ""))
    # runs killed before they finished: their loads committed, their derive and alerts may not have
    interrupted, orphans = interrupted_runs(engine, run_id)

    # --- discover ---------------------------------------------------------------------
    files, skipped = discover_files(inbox_path, catalog.submitter_codes)
    discovery = classify_files(settings, files, skipped)

    # --- parse, validate, load (one batch per feed) -----------------------------------
    by_feed: dict[str, list] = {}
    for landed in discovery.new:
        by_feed.setdefault(landed.feed, []).append(landed)
    outcomes = process_files(settings, by_feed, catalog, as_of, run_id)
    outcomes += record_duplicates(settings, discovery.duplicates, run_id)
    record_landing(engine, [(f, "submitted") for f in discovery.new]
                   + [(f, "duplicate") for f, _ in discovery.duplicates], discovery.skipped)

    # --- derive -----------------------------------------------------------------------
    dirty = {(o.unit_code, o.feed) for o in outcomes if o.status in ACCEPTED}
    summary = RunSummary(run_id, as_of, outcomes, discovery.skipped, len(discovery.seen))
    summary.derive = derive_metrics(settings, dirty, as_of, everything=bool(interrupted))

    # --- alert and publish ------------------------------------------------------------
    submitted = [o.submission_id for o in outcomes if o.submission_id] + orphans
    summary.alerts = send_alerts(settings, submitted)
    summary.data_docs = build_data_docs(settings, submitted)
    publish_run(summary)
    finish_run(engine, run_id, {"counts": summary.counts(), "skipped": len(summary.skipped),
                                "seen": summary.seen, "derive": summary.derive, "alerts": summary.alerts,
                                "recovered_runs": interrupted}, recovered=interrupted)
    return summary
