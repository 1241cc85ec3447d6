"""Flow: write the HTML report of target attainment, service rates, disbursement and data quality."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect import flow
from prefect.utilities.annotations import quote

from chitieu.config import load_settings
from tasks.publish import publish_report
from tasks.report import fetch_report_data, render_report, write_report

__all__ = ["report"]


@flow(name="report")
def report(out: str | None = None, as_of: dt.date | None = None) -> str:
    """Read the mart, render one self-contained page, write <out or $CHITIEU_HOME/reports>/report.html."""
    settings = load_settings()
    folder = Path(out).resolve() if out else settings.reports_dir
    data = fetch_report_data(settings, as_of)
    # quote(): Prefect would otherwise walk every row of the report's data (73,000 at national scale), twice
    html = render_report(quote(data))
    path = write_report(html, folder)
    publish_report(path)
    return str(path)
