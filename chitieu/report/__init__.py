"""The HTML report: a self-contained page of target attainment, service rates, disbursement and data quality."""

from chitieu.report.model import ReportData
from chitieu.report.page import render_page

__all__ = ["ReportData", "render_page"]
