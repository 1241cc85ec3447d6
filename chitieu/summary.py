"""The run summary table printed by `chitieu run` and `chitieu rerun`."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from chitieu.records import RunSummary

__all__ = ["print_summary"]


def print_summary(summary: RunSummary) -> None:
    console = Console(width=160)
    table = Table(title=f"chitieu run {summary.run_id} — as of {summary.as_of}", show_lines=False)
    for column in ("unit", "feed", "file", "status", "rows", "failed rows"):
        table.add_column(column, justify="right" if "rows" in column else "left")
    style = {"rejected": "red", "loaded_with_warnings": "yellow", "duplicate": "dim"}
    for o in summary.outcomes:
        table.add_row(o.unit_code, o.feed, o.file_name, o.status, str(o.rows_total), str(o.rows_failed),
                      style=style.get(o.status))
    console.print(table)
    counts = summary.counts()
    line = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "no new files"
    console.print(f"submissions — {line}; unchanged files: {summary.seen}; skipped paths: {len(summary.skipped)}")
    for s in summary.skipped:
        console.print(f"  skipped {s.rel_path}: {s.reason}", style="dim")
    for o in summary.outcomes:
        for f in o.failures:
            console.print(f"  {o.file_name}: [{f.severity}] {f.message}", markup=False)
