"""Publish a run's outcome as Prefect artifacts: a table of submissions and a markdown summary of failures."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from chitieu.records import RunSummary

__all__ = ["publish_run", "summary_rows"]


def summary_rows(summary: RunSummary) -> list[dict]:
    """One dict per submission of the run, in the order of the CLI's table."""
    return [{"unit": o.unit_code, "feed": o.feed, "file": o.file_name, "status": o.status,
             "rows": o.rows_total, "failed_rows": o.rows_failed} for o in summary.outcomes]


def _failures_markdown(summary: RunSummary) -> str:
    lines = [f"# Ingest run {summary.run_id} (as of {summary.as_of})", ""]
    counts = summary.counts()
    lines.append(", ".join(f"**{k}**: {v}" for k, v in sorted(counts.items())) or "No new files.")
    bad = [o for o in summary.outcomes if o.failures]
    if bad:
        lines += ["", "## Failed checks", "", "| unit | feed | file | severity | check | column | rows |",
                  "|---|---|---|---|---|---|---|"]
        for o in bad:
            for f in o.failures:
                rows = ", ".join(map(str, f.rows[:8])) + (" ..." if len(f.rows) > 8 else "")
                lines.append(f"| {o.unit_code} | {o.feed} | `{o.file_name}` | {f.severity} | {f.expectation} "
                             f"| {f.column or ''} | {rows} |")
    if summary.skipped:
        lines += ["", "## Skipped paths", ""] + [f"- `{s.rel_path}`: {s.reason}" for s in summary.skipped]
    return "\n".join(lines)


@task(name="publish_run", cache_policy=NO_CACHE)
def publish_run(summary: RunSummary) -> None:
    """Attach the run's submission table and failure summary to the flow run."""
    rows = summary_rows(summary)
    if rows:
        create_table_artifact(table=rows, key="ingest-submissions",
                              description=f"Submissions of ingest run {summary.run_id}")
    create_markdown_artifact(markdown=_failures_markdown(summary), key="ingest-summary",
                             description=f"Ingest run {summary.run_id}: statuses and failed checks")
