"""What the report shows, read from the mart: plain rows, no database handles."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from chitieu.catalog import unit_of_measure_vi

__all__ = ["RATE_METRICS", "ReportData"]

RATE_METRICS = ("online_dossier_rate", "on_time_resolution_rate", "satisfaction_rate")


@dataclass
class ReportData:
    """Rows of the mart views the report renders, each row a dict of column -> value."""

    generated_at: dt.datetime
    as_of: dt.date | None                      # evaluation date when known (the demo passes it)
    as_of_month: str | None                    # latest month of mart.reporting_rate, YYYY-MM
    units: dict[str, dict]                     # unit_code -> mart.unit row
    targets: list[dict]                        # mart.target_attainment
    rates: list[dict]                          # mart.metric_value rows of RATE_METRICS
    projects: list[dict]                       # mart.disbursement_progress
    milestones: list[dict]                     # catalog milestones (project_group, milestone_mmdd, required_pct)
    reporting: list[dict]                      # mart.reporting_rate
    failures: list[dict]                       # latest mart.data_quality rows
    failure_count: int = 0                     # all failed checks in the warehouse
    submissions: dict[str, int] = field(default_factory=dict)   # status -> count
    corrections: list[dict] = field(default_factory=list)       # mart.submission_log rows with version >= 2
    indicators: dict[str, dict] = field(default_factory=dict)   # catalog indicators by code (Vietnamese units)
    documents: dict[str, dict] = field(default_factory=dict)    # catalog source documents by file (citations)

    @property
    def year(self) -> int:
        if self.as_of:
            return self.as_of.year
        if self.as_of_month:
            return int(self.as_of_month[:4])
        return max((t["year"] for t in self.targets), default=self.generated_at.year)

    @property
    def province(self) -> str:
        """The province's unit code: the unit of level `province` (the roll-up in every mart view)."""
        return next((c for c, u in self.units.items() if u.get("level") == "province"), "")

    def unit_of_measure(self, target: dict) -> str | None:
        """A target's unit of measure in Vietnamese (indicators.csv unit_of_measure_vi), else as the target has it."""
        return unit_of_measure_vi(self.indicators.get(target.get("metric_code")), target.get("unit_of_measure"))

    def unit_name(self, code: str) -> str:
        """Vietnamese name of a unit (its code when unknown)."""
        return (self.units.get(code) or {}).get("name_vi") or code
