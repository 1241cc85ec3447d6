"""Great Expectations Data Docs under $CHITIEU_HOME/data_docs: a validation page per submission that failed a check.

tasks/validate.py runs each feed's suite once over all of a run's files and keeps the per-file failures in
audit.check_result, not GX's result objects. This step maps every submission's recorded failures back onto its
feed's suite (matching each expectation's meta.check and meta.column), adds the parse- and file-level checks that
run before the suite, stores the results in a file-backed GX context and lets GX's own site builder render them
(only the new pages and the index; suites are re-rendered when their JSON changes). Descriptions are the
Vietnamese messages the units receive, followed by the check name.

Only submissions with a failed check (rejected, or loaded with warnings) get a page: a clean submission's page is
all green and says no more than mart.submission_log, while rendering one costs 36–86 ms in GX (store plus site
builder), minutes for a national run of 3,321 files. The site itself (suite pages, index) is built on the first
run and whenever a suite's JSON changes, so a run of clean files does not import GX at all. GX renders in the
suite worker when the process started one (chitieu.data_docs_site, chitieu.suites): it has GX loaded already.
"""

from __future__ import annotations

import hashlib
import json
import logging

import sqlalchemy as sa
from prefect import task
from prefect.cache_policies import NO_CACHE

from chitieu.config import FEEDS, Settings
from chitieu.data_docs_site import render
from chitieu.feeds import EXPECTATIONS_DIR
from chitieu.suites import in_gx_process
from chitieu.warehouse import get_engine, read_sql

__all__ = ["build_data_docs"]

_log = logging.getLogger(__name__)


def _suite_body(feed: str) -> tuple[dict, str]:
    text = (EXPECTATIONS_DIR / f"{feed}.json").read_text(encoding="utf-8")
    return json.loads(text), hashlib.sha256(text.encode()).hexdigest()[:16]


def _load(engine: sa.Engine, submission_ids: list[int]) -> tuple[list[dict], dict[int, list[dict]]]:
    with engine.connect() as conn:
        subs = [dict(r) for r in conn.execute(sa.text(read_sql("data_docs/submissions.sql")),
                                               {"ids": submission_ids}).mappings()]
        checks = conn.execute(sa.text(read_sql("alerts/failed_checks.sql")),
                              {"ids": [s["submission_id"] for s in subs]}).mappings().all()
    by_submission: dict[int, list[dict]] = {}
    for check in checks:
        by_submission.setdefault(check["submission_id"], []).append(dict(check))
    return subs, by_submission


@task(name="build_data_docs", cache_policy=NO_CACHE)
def build_data_docs(settings: Settings, submission_ids: list[int]) -> str | None:
    """Render the pages of the new submissions that failed a check, the suites when they changed, and the index;
    return index.html's path (None if none yet)."""
    folder, index = settings.data_docs_dir, settings.data_docs_dir / "index.html"
    suites = {feed: _suite_body(feed) for feed in FEEDS}
    stamp, checksum = folder / "suites.sha256", ",".join(digest for _, digest in suites.values())
    try:
        subs, checks = _load(get_engine(settings), submission_ids) if submission_ids else ([], {})
        failed = [s for s in subs if checks.get(s["submission_id"])]
        site_current = index.exists() and stamp.exists() and stamp.read_text() == checksum
        if not failed and (site_current or not subs):
            return str(index) if index.exists() else None
        in_gx_process(render, folder, suites, failed, checks)
        stamp.write_text(checksum)
    except Exception as exc:  # Data Docs are a view: never fail the ingest over them
        _log.warning("Data Docs not built: %s: %s", type(exc).__name__, exc)
    return str(index) if index.exists() else None
