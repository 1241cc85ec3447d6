"""Tell units, in Vietnamese and once, what was wrong with their submissions, and when it was fixed."""

from __future__ import annotations

import logging
from collections import Counter

import sqlalchemy as sa
from prefect import task
from prefect.cache_policies import NO_CACHE

from chitieu.alerting import RETRY_DAYS, Outgoing, deliver, make_channels
from chitieu.catalog import warehouse_province
from chitieu.config import Settings
from chitieu.messages_vi import problem_message, resolved_message
from chitieu.warehouse import get_engine, read_sql

__all__ = ["problem_alerts", "resolved_alerts", "send_alerts"]

_KIND = {"rejected": "rejected", "loaded_with_warnings": "warning"}
_log = logging.getLogger(__name__)


def problem_alerts(engine: sa.Engine, submission_ids: list[int]) -> list[Outgoing]:
    """One message per rejected or warned submission among `submission_ids`."""
    with engine.connect() as conn:
        subs = conn.execute(sa.text(read_sql("alerts/problem_submissions.sql")), {"ids": submission_ids}).mappings()
        subs = [dict(s) for s in subs]
        checks = conn.execute(sa.text(read_sql("alerts/failed_checks.sql")),
                              {"ids": [s["submission_id"] for s in subs]}).mappings().all()
        province = warehouse_province(conn) if subs else {}
    by_submission: dict[int, list[dict]] = {}
    for check in checks:
        by_submission.setdefault(check["submission_id"], []).append(dict(check))
    return [Outgoing(f"submission:{s['submission_id']}", _KIND[s["status"]], s["unit_code"], s["feed"],
                     ",".join(sorted(s["periods"] or [])) or None, s["submission_id"], s["contact_email"],
                     problem_message(s, by_submission.get(s["submission_id"], []), province))
            for s in subs]


def resolved_alerts(engine: sa.Engine, submission_ids: list[int]) -> list[Outgoing]:
    """One notice per earlier alerted submission that a clean submission among `submission_ids` supersedes."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(read_sql("alerts/resolved_submissions.sql")), {"ids": submission_ids}).mappings()
        rows = [dict(r) for r in rows]
        province = warehouse_province(conn) if rows else {}
    out = []
    for r in rows:
        alerted = {"submission_id": r["alerted_id"], "file_name": r["alerted_file_name"],
                   "periods": r["alerted_periods"]}
        out.append(Outgoing(f"resolved:{r['alerted_id']}", "resolved", r["unit_code"], r["feed"],
                            ",".join(r["shared_periods"] or r["alerted_periods"] or []) or None,
                            r["submission_id"], r["contact_email"], resolved_message(r, alerted, province)))
    return out


def _deliver_all(engine: sa.Engine, channels: list, messages: list[Outgoing], reclaimable: list[int]) -> Counter:
    counts: Counter = Counter()
    for outgoing in messages:
        try:
            counts += deliver(engine, outgoing, channels, reclaimable)
        except sa.exc.OperationalError:
            raise  # the warehouse went away: let the task's retries take it (claimed rows are never resent)
        except Exception:  # a bug in one message must not stop the others, nor the ingest
            _log.exception("alert %s could not be delivered", outgoing.dedupe_key)
            counts["error"] += 1
    return counts


def _warehouse_went_away(task, task_run, state) -> bool:
    """Retry only when the warehouse connection failed (transient); mail failures never reach here."""
    return isinstance(state.data, sa.exc.OperationalError)


@task(name="send_alerts", retries=2, retry_delay_seconds=[2, 10],
      retry_condition_fn=_warehouse_went_away, cache_policy=NO_CACHE)
def send_alerts(settings: Settings, submission_ids: list[int], recovered: list[int] | None = None) -> dict:
    """Alert units about the given submissions (problems first, then resolutions); return message counts.

    `recovered`: those of them left by interrupted runs; a message such a run claimed but never recorded as sent
    or failed is sent again. Messages that failed in earlier runs (within RETRY_DAYS) are tried again too."""
    engine = get_engine(settings)
    with engine.connect() as conn:
        failed = conn.scalars(sa.text(read_sql("alerts/failed_submissions.sql")), {"retry_days": RETRY_DAYS}).all()
    submission_ids = sorted({*submission_ids, *failed})
    if not submission_ids:
        return {}
    channels = make_channels(settings)
    problems = problem_alerts(engine, submission_ids)
    reclaimable = list(recovered or [])
    counts = _deliver_all(engine, channels, problems, reclaimable)
    resolved = resolved_alerts(engine, submission_ids)  # after the problems: a same-run correction resolves them
    counts += _deliver_all(engine, channels, resolved, reclaimable)
    if not problems and not resolved:
        return {}
    return {"problems": len(problems), "resolved": len(resolved), **dict(sorted(counts.items()))}
