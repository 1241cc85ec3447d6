"""Publish a run's outcome to Prefect: artifacts (a table of submissions, a markdown summary of failures, where
the report went), a WARNING on the flow run per rejected or warned submission, an event per run and an event per
submission that needs someone's attention (per loaded submission too with CHITIEU_SUBMISSION_EVENTS=all)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.events import emit_event
from prefect.events.related import related_resources_from_run_context
from prefect.events.worker import should_emit_events
from prefect.utilities.asyncutils import run_coro_as_sync

from chitieu.records import RunSummary, SubmissionOutcome

__all__ = ["ATTENTION", "EVENT_PREFIX", "RUN_EVENT", "announce_outcomes", "publish_report", "publish_run",
           "summary_rows"]

EVENT_PREFIX = "chitieu.submission."  # + the submission's status: loaded, loaded_with_warnings, rejected, duplicate
RUN_EVENT = "chitieu.run.completed"  # one per run, about the resource chitieu.run.<run id>
# the statuses whose submissions always get their own event; a loaded one only with CHITIEU_SUBMISSION_EVENTS=all: the
# Prefect server spends ~2 ms of CPU per event (a national pass's 3,321 loaded files: 1.5-2 s of the command's wait
# for the answer, then ~5 s of the server storing them), for events that say what the run's event counts
ATTENTION = ("rejected", "loaded_with_warnings", "duplicate")
SUMMARY_COLUMNS = ("unit", "feed", "file", "status", "rows", "failed_rows")
WARNED = ("rejected", "loaded_with_warnings")
EVENTS_PER_REQUEST = 5_000  # a national pass's 3,321 in one request: 1.2-1.4 s to an answer, against 1.5-2.1 s in 500s
OWN_ROLES = ("feed", "submission")  # the related resources an event is made with (the run's are added on sending)


def summary_rows(summary: RunSummary) -> list[dict]:
    """One dict per submission of the run, in the order of the CLI's table."""
    return [{"unit": o.unit_code, "feed": o.feed, "file": o.file_name, "status": o.status,
             "rows": o.rows_total, "failed_rows": o.rows_failed} for o in summary.outcomes]


def _failures_markdown(summary: RunSummary) -> str:
    lines = [f"# Ingest run {summary.run_id} (as of {summary.as_of})", ""]
    counts = summary.counts()
    lines.append(", ".join(f"**{k}**: {v}" for k, v in sorted(counts.items())) or "No new files.")
    bad = [o for o in summary.outcomes if o.failures]
    if bad:
        lines += ["", "## Failed checks", "", "| unit | feed | file | severity | check | column | rows |",
                  "|---|---|---|---|---|---|---|"]
        for o in bad:
            for f in o.failures:
                rows = ", ".join(map(str, f.rows[:8])) + (" ..." if len(f.rows) > 8 else "")
                lines.append(f"| {o.unit_code} | {o.feed} | `{o.file_name}` | {f.severity} | {f.expectation} "
                             f"| {f.column or ''} | {rows} |")
    if summary.skipped:
        lines += ["", "## Skipped paths", ""] + [f"- `{s.rel_path}`: {s.reason}" for s in summary.skipped]
    return "\n".join(lines)


@task(name="publish_run", cache_policy=NO_CACHE)
def publish_run(summary: RunSummary) -> None:
    """Attach the run's submission table and failure summary to the flow run."""
    rows = summary_rows(summary)
    # an empty pass publishes an empty table too: each run's artifacts say what it did, nothing included
    create_table_artifact(table=rows or {column: [] for column in SUMMARY_COLUMNS}, key="ingest-submissions",
                          description=f"Submissions of ingest run {summary.run_id}")
    create_markdown_artifact(markdown=_failures_markdown(summary), key="ingest-summary",
                             description=f"Ingest run {summary.run_id}: statuses and failed checks")


def _warning(outcome: SubmissionOutcome) -> str:
    checks = "; ".join(f"{f.severity}: {f.message or f.expectation}" for f in outcome.failures[:5])
    more = f" (+{len(outcome.failures) - 5} more checks)" if len(outcome.failures) > 5 else ""
    return (f"{outcome.status}: {outcome.file_name!r} (unit {outcome.unit_code}, feed {outcome.feed}, submission "
            f"{outcome.submission_id}, {outcome.rows_failed}/{outcome.rows_total} rows failed) {checks}{more}")


def _event(outcome: SubmissionOutcome, run_id: int, occurred: str) -> dict:
    """The submission's event as the JSON the API's `POST /events` takes (Prefect's Event model, dumped): built as
    plain data, since the server validates each event again (constructing 3,321 Event models here cost ~0.15 s of
    the run's tail)."""
    related = [{"prefect.resource.id": f"chitieu.feed.{outcome.feed}", "prefect.resource.role": "feed",
                "prefect.resource.name": outcome.feed}]
    if outcome.submission_id:
        related.append({"prefect.resource.id": f"chitieu.submission.{outcome.submission_id}",
                        "prefect.resource.role": "submission", "prefect.resource.name": outcome.file_name})
    return {"id": str(uuid.uuid4()), "event": EVENT_PREFIX + outcome.status, "occurred": occurred,
            "resource": {"prefect.resource.id": f"chitieu.unit.{outcome.unit_code}",
                         "prefect.resource.name": outcome.unit_code},
            "related": related,
            "payload": {"run_id": run_id, "submission_id": outcome.submission_id, "unit": outcome.unit_code,
                        "feed": outcome.feed, "file": outcome.file_name, "status": outcome.status,
                        "rows": outcome.rows_total, "failed_rows": outcome.rows_failed,
                        "checks": sorted({f.expectation for f in outcome.failures})}}


def _run_event(summary: RunSummary, occurred: str) -> dict:
    """The run's event: what its submissions came to, in all and per feed (the submissions themselves are in the
    run's `ingest-submissions` artifact and mart.submission_log)."""
    by_feed: dict[str, dict[str, int]] = {}
    for outcome in summary.outcomes:
        counts = by_feed.setdefault(outcome.feed, {})
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return {"id": str(uuid.uuid4()), "event": RUN_EVENT, "occurred": occurred,
            "resource": {"prefect.resource.id": f"chitieu.run.{summary.run_id}",
                         "prefect.resource.name": f"chitieu run {summary.run_id}"},
            "related": [],
            "payload": {"run_id": summary.run_id, "as_of": summary.as_of.isoformat(), "counts": summary.counts(),
                        "by_feed": by_feed, "units": len({o.unit_code for o in summary.outcomes}),
                        "rows": sum(o.rows_total for o in summary.outcomes),
                        "failed_rows": sum(o.rows_failed for o in summary.outcomes),
                        "skipped_paths": len(summary.skipped)}}


async def _post_events(events: list[dict]) -> None:
    """The events in batches to the API's `POST /events` ("record a batch of events"), each with the run context's
    related resources (flow run, flow, deployment, tags), looked up once: what emit_event's worker attaches to each
    event one by one, over a websocket, ~2 ms of this process's CPU per event."""
    async with get_client() as client:
        context = [dict(r.root) for r in await related_resources_from_run_context(client)]
        for event in events:
            involved = {event["resource"]["prefect.resource.id"]} | {r["prefect.resource.id"] for r in event["related"]}
            event["related"] = event["related"] + [r for r in context if r["prefect.resource.id"] not in involved]
        for start in range(0, len(events), EVENTS_PER_REQUEST):
            response = await client.request("POST", "/events", json=events[start:start + EVENTS_PER_REQUEST])
            response.raise_for_status()


def _send_events(events: list[dict]) -> None:
    if not events or not should_emit_events():
        return
    try:
        run_coro_as_sync(_post_events(events))
    except Exception as exc:  # e.g. an API without the batch route: the worker's way, one event at a time
        get_run_logger().debug("batch of events not accepted (%s); emitting them one by one", exc)
        for event in events:
            emit_event(event=event["event"], resource=event["resource"],
                       occurred=dt.datetime.fromisoformat(event["occurred"]),
                       related=[r for r in event["related"] if r.get("prefect.resource.role") in OWN_ROLES],
                       payload=event["payload"], id=uuid.UUID(event["id"]))


def announce_outcomes(summary: RunSummary, every_submission: bool = False) -> None:
    """Called in a flow: each rejected or warned submission a WARNING on the flow run (a Completed run still shows
    them); for Prefect automations to react to, the run an event `chitieu.run.completed` (resource
    `chitieu.run.<id>`, its counts in the payload), and each rejected, warned or duplicate submission (each one with
    `every_submission`) an event `chitieu.submission.<status>` about the unit (resource `chitieu.unit.<code>`,
    related `chitieu.feed.<feed>`, `chitieu.submission.<id>` and the flow run). (Sent while the pipeline runs, part
    by part, the events' processing at the server took CPU from the parse and the loads: a national pass took
    longer.)"""
    logger = get_run_logger()
    for outcome in summary.outcomes:
        if outcome.status in WARNED:
            logger.warning(_warning(outcome))
    occurred = dt.datetime.now(dt.UTC).isoformat()
    _send_events([_event(outcome, summary.run_id, occurred) for outcome in summary.outcomes
                  if every_submission or outcome.status in ATTENTION] + [_run_event(summary, occurred)])


@task(name="publish_report", cache_policy=NO_CACHE)
def publish_report(path: Path) -> None:
    """Attach where the report was written to the flow run (a link artifact `chitieu-report`)."""
    create_link_artifact(link=path.resolve().as_uri(), link_text=str(path), key="chitieu-report",
                         description=f"The HTML report was written to {path}")
