"""The run summary table printed by `chitieu run` and `chitieu rerun`."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from chitieu.records import RunSummary

__all__ = ["LISTED_IN_FULL", "LISTED_AT_MOST", "print_summary"]

LISTED_IN_FULL = 50   # up to this many submissions, the table lists every one
LISTED_AT_MOST = 200  # beyond it, those that need a look (rejected, warned), this many at most
_QUIET = ("loaded", "duplicate")


def _listed(summary: RunSummary) -> tuple[list, str | None]:
    """The outcomes the table lists, and a line saying what it leaves out. A national pass (3,321 files) as a table
    took ~3.3 s to print and buried its few rejections: beyond LISTED_IN_FULL, the clean ones are counted instead."""
    outcomes = summary.outcomes
    if len(outcomes) <= LISTED_IN_FULL:
        return outcomes, None
    attention = [o for o in outcomes if o.status not in _QUIET]
    listed = attention[:LISTED_AT_MOST]
    left = len(outcomes) - len(listed)
    what = "loaded or duplicate" if len(attention) <= LISTED_AT_MOST else "more"
    return listed, (f"{left:,} {what} submissions not listed: every one is in mart.submission_log and in the flow "
                    "run's ingest-submissions artifact")


def print_summary(summary: RunSummary) -> None:
    console = Console(width=160)
    listed, left_out = _listed(summary)
    table = Table(title=f"chitieu run {summary.run_id} — as of {summary.as_of}", show_lines=False)
    for column in ("unit", "feed", "file", "status", "rows", "failed rows"):
        table.add_column(column, justify="right" if "rows" in column else "left")
    style = {"rejected": "red", "loaded_with_warnings": "yellow", "duplicate": "dim"}
    for o in listed:
        table.add_row(o.unit_code, o.feed, o.file_name, o.status, str(o.rows_total), str(o.rows_failed),
                      style=style.get(o.status))
    if listed or not left_out:
        console.print(table)
    if left_out:
        console.print(left_out, style="dim")
    counts = summary.counts()
    line = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "no new files"
    console.print(f"submissions — {line}; unchanged files: {summary.seen}; skipped paths: {len(summary.skipped)}")
    for s in summary.skipped:
        console.print(f"  skipped {s.rel_path}: {s.reason}", style="dim")
    for o in listed:
        for f in o.failures:
            console.print(f"  {o.file_name}: [{f.severity}] {f.message}", markup=False)
