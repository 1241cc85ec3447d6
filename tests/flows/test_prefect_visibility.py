"""What a pass shows in Prefect: a WARNING on the flow run per rejected or warned submission, an event per run and
per submission that needs attention (per loaded submission too with CHITIEU_SUBMISSION_EVENTS=all), both artifacts
even for an empty pass, and where the report went."""

from __future__ import annotations

import datetime as dt
import time
from uuid import UUID

import anyio
import pytest
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
    """`chitieu.*` events related to the flow run (events are sent and stored in the background)."""
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventRelatedFilter
    from prefect.types._datetime import now

    hour = dt.timedelta(hours=1)
    event_filter = EventFilter(
        occurred=EventOccurredFilter(since=now("UTC") - hour, until=now("UTC") + hour),
        event=EventNameFilter(prefix=["chitieu."]),
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


def _sent_events(monkeypatch) -> list[dict]:
    """The events a pass posts in its batch (recorded on the way: they are still sent)."""
    import tasks.publish

    sent: list[dict] = []
    post = tasks.publish._post_events

    async def recording(events):
        sent.extend(events)
        return await post(events)

    monkeypatch.setattr("tasks.publish._post_events", recording)
    return sent


def _assert_visible(flow_run_id: UUID, engine, loaded_event: bool = False) -> None:
    warnings = _warnings(flow_run_id)
    rejected = [m for m in warnings if "unit XA_CHILANG" in m]
    assert len(rejected) == 1, warnings
    assert rejected[0].startswith("rejected: 'XA_CHILANG/dossier/bad.csv'")
    assert "received_online_le_received_total" in rejected[0]
    assert not [m for m in warnings if "TTPVHCC" in m]  # a clean submission is no warning

    with engine.connect() as conn:
        ids = dict(conn.execute(sa.text("select unit_code, submission_id from mart.submission_log")).all())
    # the run's event, the rejected submission's, and the loaded one's only when asked for
    run_id = _run_id(engine, flow_run_id)
    expected = {f"chitieu.run.{run_id}", "chitieu.unit.XA_CHILANG"}
    expected |= {"chitieu.unit.TTPVHCC"} if loaded_event else set()
    events = {e.resource.id: e for e in _events(flow_run_id, expected=len(expected))}
    assert set(events) == expected
    bad, run = events["chitieu.unit.XA_CHILANG"], events[f"chitieu.run.{run_id}"]
    assert (bad.event, run.event) == ("chitieu.submission.rejected", "chitieu.run.completed")
    assert run.payload["counts"] == {"loaded": 1, "rejected": 1}
    assert run.payload["by_feed"] == {"dossier": {"loaded": 1, "rejected": 1}}
    assert {r.role: r.id for r in run.related}["flow-run"] == f"prefect.flow-run.{flow_run_id}"
    if loaded_event:
        assert events["chitieu.unit.TTPVHCC"].event == "chitieu.submission.loaded"
    related = {r.role: r.id for r in bad.related}
    assert related["feed"] == "chitieu.feed.dossier"
    assert related["submission"] == f"chitieu.submission.{ids['XA_CHILANG']}"
    assert related["flow-run"] == f"prefect.flow-run.{flow_run_id}"
    assert bad.payload["checks"] == ["received_online_le_received_total"]

    artifacts = _artifacts(flow_run_id)
    assert {"ingest-submissions", "ingest-summary"} <= set(artifacts)
    assert "XA_CHILANG" in str(artifacts["ingest-submissions"].data)


def _run_id(engine, flow_run_id: UUID) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.text("select run_id from audit.run where flow_run_id = :f"), {"f": str(flow_run_id)})


def test_flow_run_shows_rejections_as_warnings_events_and_artifacts(env, engine, monkeypatch):
    def one_by_one(**_):
        raise AssertionError("events went one by one, not as a batch to POST /events")

    monkeypatch.setattr("tasks.publish.emit_event", one_by_one)
    sent = _sent_events(monkeypatch)
    _bad_and_good_files(env["inbox"])
    summary = ingest(as_of=AS_OF)
    assert summary.counts() == {"loaded": 1, "rejected": 1}
    # a loaded submission has no event of its own by default: the run's event counts it
    assert sorted(e["event"] for e in sent) == ["chitieu.run.completed", "chitieu.submission.rejected"]
    _assert_visible(_flow_run_id(engine, summary.run_id), engine)


def test_every_submission_gets_an_event_when_asked(env, engine, monkeypatch):
    monkeypatch.setenv("CHITIEU_SUBMISSION_EVENTS", "all")
    sent = _sent_events(monkeypatch)
    _bad_and_good_files(env["inbox"])
    summary = ingest(as_of=AS_OF)
    assert sorted(e["event"] for e in sent) == ["chitieu.run.completed", "chitieu.submission.loaded",
                                                "chitieu.submission.rejected"]
    _assert_visible(_flow_run_id(engine, summary.run_id), engine, loaded_event=True)


def test_an_unknown_submission_events_setting_is_one_sentence(monkeypatch):
    from chitieu.config import load_settings
    from chitieu.errors import ConfigError

    with pytest.raises(ConfigError, match="CHITIEU_SUBMISSION_EVENTS='loaded': expected one of problems, all"):
        load_settings({"CHITIEU_SUBMISSION_EVENTS": "loaded"})


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
