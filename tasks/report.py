"""Read the mart views the report shows, render the page, and write it to disk."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import sqlalchemy as sa
from prefect import task
from prefect.cache_policies import NO_CACHE

from chitieu.catalog import read_catalog
from chitieu.config import Settings
from chitieu.local_time import LOCAL_TZ, today
from chitieu.report import ReportData, render_page
from chitieu.report.model import RATE_METRICS
from chitieu.warehouse import get_engine

__all__ = ["FAILURES_SHOWN", "fetch_report_data", "render_report", "write_report"]

FAILURES_SHOWN = 25
_CORRECTIONS_SHOWN = 15

_UNITS = "select unit_code, name_vi, name_en, level from mart.unit"
_TARGETS = "select * from mart.target_attainment order by unit_code, target_code"
_RATES = ("select metric_code, unit_code, period, scope, value, is_approved from mart.metric_value"
          " where metric_code = any(:metrics) and left(period, 4) = :year order by 1, 2, 3")
_PROJECTS = "select * from mart.disbursement_progress order by unit_code, project_code"
_REPORTING = ("select unit_code, feed, period, due_date, received, on_time, received_at, is_due"
              " from mart.reporting_rate order by unit_code, feed, period")
_FAILURES = ("select submission_id, unit_code, feed, expectation, severity, column_name, failed_rows, sample,"
             " file_name, received_at from mart.data_quality where severity <> 'info'"
             " order by received_at desc, check_id desc limit :n")
_FAILURE_COUNT = "select count(*) from mart.data_quality where severity <> 'info'"
_STATUSES = "select status, count(*) from mart.submission_log group by status"
_CORRECTIONS = ("select unit_code, feed, file_name, received_at, version, is_current from mart.submission_log"
                " where version >= 2 order by feed = 'tasks', received_at desc, submission_id desc limit :n")


def _rows(conn: sa.Connection, sql: str, **params) -> list[dict]:
    return [dict(r) for r in conn.execute(sa.text(sql), params).mappings()]


@task(name="fetch_report_data", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def fetch_report_data(settings: Settings, as_of: dt.date | None = None) -> ReportData:
    """Everything the report shows, from the mart views (milestones, units of measure in Vietnamese and the
    source documents from the catalog)."""
    catalog = read_catalog(settings.catalog_dir)
    with get_engine(settings).connect() as conn:
        reporting = _rows(conn, _REPORTING)
        as_of_month = max((r["period"] for r in reporting), default=None)
        year = str(as_of.year if as_of else int(as_of_month[:4]) if as_of_month else today().year)
        data = ReportData(
            generated_at=dt.datetime.now(LOCAL_TZ),
            as_of=as_of,
            as_of_month=as_of_month or (as_of.strftime("%Y-%m") if as_of else None),
            units={r["unit_code"]: r for r in _rows(conn, _UNITS)},
            targets=_rows(conn, _TARGETS),
            rates=_rows(conn, _RATES, metrics=list(RATE_METRICS), year=year),
            projects=_rows(conn, _PROJECTS),
            milestones=catalog.milestones,
            reporting=reporting,
            failures=_rows(conn, _FAILURES, n=FAILURES_SHOWN),
            failure_count=conn.scalar(sa.text(_FAILURE_COUNT)) or 0,
            submissions=dict(conn.execute(sa.text(_STATUSES)).all()),
            corrections=_rows(conn, _CORRECTIONS, n=_CORRECTIONS_SHOWN),
            indicators={i["indicator_code"]: i for i in catalog.indicators},
            documents={d["source_doc"]: d for d in catalog.documents},
        )
    return data


@task(name="render_report", cache_policy=NO_CACHE)
def render_report(data: ReportData) -> str:
    """The report as one self-contained HTML document."""
    return render_page(data)


@task(name="write_report", cache_policy=NO_CACHE)
def write_report(html: str, folder: Path) -> Path:
    """Write report.html into `folder` atomically; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.html"
    tmp = path.with_suffix(".html.part")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)
    return path
