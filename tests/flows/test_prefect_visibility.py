"""What a pass shows in Prefect: a WARNING on the flow run per rejected or warned submission, an event per
submission outcome (for automations), both artifacts even for an empty pass, and where the report went."""

from __future__ import annotations

import datetime as dt
import time
from uuid import UUID

import anyio
import sqlalchemy as sa

from flows.ingest import ingest
from tests.feeds import write_csv

AS_OF = dt.date(2026, 11, 20)
DOSSIER = ["unit_code", "period", "received_total", "received_online", "resolved_total", "resolved_on_time",
           "surveyed", "satisfied"]


def _flow_run_id(engine, run_id: int | None = None) -> UUID:
    """The Prefect flow run of an ingest run (the latest without `run_id`), as recorded in audit.run."""
    with engine.connect() as conn:
        value = conn.scalar(sa.text("select flow_run_id from audit.run where (cast(:r as int) is null or run_id = :r)"
                                    " order by run_id desc limit 1"), {"r": run_id})
    return UUID(value)


def _read(fn):
    from prefect.client.orchestration import get_client

    async def read():
        async with get_client() as client:
            return await fn(client)

    return anyio.run(read)


def _warnings(flow_run_id: UUID, expected: int = 1, timeout: float = 30) -> list[str]:
    """WARNING and higher logs of the flow run (sent to the API in the background: waited for)."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId, LogFilterLevel

    log_filter = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]), level=LogFilterLevel(ge_=30))
    deadline = time.monotonic() + timeout
    while True:
        messages = [log.message for log in _read(lambda client: client.read_logs(log_filter))]
        if len(messages) >= expected or time.monotonic() > deadline:
            return messages
        time.sleep(0.5)


def _artifacts(flow_run_id: UUID) -> dict[str, object]:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def read(client):
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
        return {a.key: a for a in artifacts}

    return _read(read)


def _events(flow_run_id: UUID, expected: int, timeout: float = 30) -> list:
    """`chitieu.submission.*` events related to the flow run (events are sent and stored in the background)."""
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventRelatedFilter
    from prefect.types._datetime import now

    hour = dt.timedelta(hours=1)
    event_filter = EventFilter(
        occurred=EventOccurredFilter(since=now("UTC") - hour, until=now("UTC") + hour),
        event=EventNameFilter(prefix=["chitieu.submission."]),
        related=EventRelatedFilter(id=[f"prefect.flow-run.{flow_run_id}"]))
    deadline = time.monotonic() + timeout
    while True:
        events = _read(lambda client: client.read_events(filter=event_filter, limit=50)).events
        if len(events) >= expected or time.monotonic() > deadline:
            return events
        time.sleep(0.5)


def _bad_and_good_files(inbox) -> None:
    write_csv(inbox, "TTPVHCC", "dossier", "good.csv", DOSSIER, [["TTPVHCC", "2026-01", 100, 90, 80, 79, 10, 9]])
    write_csv(inbox, "XA_CHILANG", "dossier", "bad.csv", DOSSIER, [["XA_CHILANG", "2026-01", 100, 120, 80, 79, 10, 9]])


def _assert_visible(flow_run_id: UUID, engine) -> None:
    warnings = _warnings(flow_run_id)
    rejected = [m for m in warnings if "unit XA_CHILANG" in m]
    assert len(rejected) == 1, warnings
    assert rejected[0].startswith("rejected: 'XA_CHILANG/dossier/bad.csv'")
    assert "received_online_le_received_total" in rejected[0]
    assert not [m for m in warnings if "TTPVHCC" in m]  # a clean submission is no warning

    with engine.connect() as conn:
        ids = dict(conn.execute(sa.text("select unit_code, submission_id from mart.submission_log")).all())
    events = {e.resource.id: e for e in _events(flow_run_id, expected=2)}
    assert set(events) == {"chitieu.unit.XA_CHILANG", "chitieu.unit.TTPVHCC"}
    bad, good = events["chitieu.unit.XA_CHILANG"], events["chitieu.unit.TTPVHCC"]
    assert (bad.event, good.event) == ("chitieu.submission.rejected", "chitieu.submission.loaded")
    related = {r.role: r.id for r in bad.related}
    assert related["feed"] == "chitieu.feed.dossier"
    assert related["submission"] == f"chitieu.submission.{ids['XA_CHILANG']}"
    assert related["flow-run"] == f"prefect.flow-run.{flow_run_id}"
    assert bad.payload["checks"] == ["received_online_le_received_total"]

    artifacts = _artifacts(flow_run_id)
    assert {"ingest-submissions", "ingest-summary"} <= set(artifacts)
    assert "XA_CHILANG" in str(artifacts["ingest-submissions"].data)


def test_flow_run_shows_rejections_as_warnings_events_and_artifacts(env, engine, monkeypatch):
    def one_by_one(**_):
        raise AssertionError("events went one by one, not as a batch to POST /events")

    monkeypatch.setattr("tasks.publish.emit_event", one_by_one)
    _bad_and_good_files(env["inbox"])
    summary = ingest(as_of=AS_OF)
    assert summary.counts() == {"loaded": 1, "rejected": 1}
    _assert_visible(_flow_run_id(engine, summary.run_id), engine)


def test_cli_run_sends_its_warnings_events_and_artifacts_to_prefect(env, engine, monkeypatch):
    """Here the API refuses the batch of events (as one without that route would): they go one by one instead."""
    from typer.testing import CliRunner

    from apps.cli import app

    async def refused(_events):
        raise RuntimeError("405 Method Not Allowed")

    monkeypatch.setattr("tasks.publish._post_events", refused)
    _bad_and_good_files(env["inbox"])
    result = CliRunner().invoke(app, ["run", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    _assert_visible(_flow_run_id(engine), engine)


def test_an_empty_pass_publishes_both_artifacts(env, engine):
    summary = ingest(as_of=AS_OF)
    assert summary.outcomes == []
    artifacts = _artifacts(_flow_run_id(engine, summary.run_id))
    assert {"ingest-submissions", "ingest-summary"} <= set(artifacts)
    assert "No new files." in artifacts["ingest-summary"].data


def test_report_publishes_where_it_went(env, engine, tmp_path):
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.report import report

    out = tmp_path / "out"
    state = report(out=str(out), as_of=AS_OF, return_state=True)
    path = state.result()
    assert path == str(out / "report.html")
    artifacts = _read(lambda client: client.read_artifacts(
        artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["chitieu-report"]))))
    mine = [a for a in artifacts if a.flow_run_id == state.state_details.flow_run_id]
    assert len(mine) == 1  # a link artifact (Prefect stores it as markdown)
    assert f"({(out / 'report.html').as_uri()})" in mine[0].data
