"""The contract's answer to a submission (CONTRACT.md section 8): status, counts and conflicts by row and column."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

import sqlalchemy as sa

from chitieu.warehouse import read_sql

__all__ = ["MAX_CONFLICTS", "conflicts", "dry_run_answer", "submission_answer"]

MAX_CONFLICTS = 1000  # conflicts listed per answer; `conflicts_total` counts them all


def conflicts(failures: Iterable[Mapping]) -> tuple[list[dict], int]:
    """One conflict per failing row of each failed check (row null for a file-level check), with the value found
    when the check's sample holds that row; and how many there are in all."""
    out, total = [], 0
    for f in failures:
        column = f["column"]
        values = {s.get("row"): s.get(column) if column else None for s in (f["sample"] or [])}
        rows = list(f["rows"] or []) or [None]
        total += len(rows)
        for row in rows:
            if len(out) < MAX_CONFLICTS:
                out.append({"row": row, "column": column, "check": f["check"], "severity": f["severity"],
                            "message_vi": f["message_vi"], "value": values.get(row)})
    return out, total


def submission_answer(engine: sa.Engine, submission_id: int) -> dict | None:
    """The answer for a stored submission (the POST's and GET /api/v1/submissions/{id}'s body)."""
    with engine.connect() as conn:
        row = conn.execute(sa.text(read_sql("portal/submission.sql")), {"id": submission_id}).mappings().first()
        if row is None:
            return None
        checks = conn.execute(sa.text(read_sql("portal/submission_checks.sql")),
                              {"id": row["duplicate_of"] or submission_id}).mappings().all()
    found, total = ([], 0) if row["status"] == "duplicate" else conflicts(
        {"column": c["column_name"], "check": c["expectation"], "severity": c["severity"],
         "message_vi": c["message_vi"], "rows": c["failed_row_numbers"],
         "sample": c["sample"] if isinstance(c["sample"], list) else json.loads(c["sample"] or "[]")}
        for c in checks)
    return {"status": row["status"], "dry_run": False, "submission_id": row["submission_id"],
            "unit_code": row["unit_code"], "feed": row["feed"], "file_name": row["file_name"],
            "sha256": row["sha256"], "version": row["version"], "rows_total": row["rows_total"],
            "rows_failed": row["rows_failed"], "conflicts": found, "conflicts_total": total,
            "periods": list(row["periods"] or []), "is_current": row["is_current"],
            "received_at": row["received_at"].isoformat(), "duplicate_of": row["duplicate_of"]}


def dry_run_answer(landed, verdict, earlier: int | None) -> dict:
    """The answer of a dry run: what the suites say of the file; `duplicate` when the unit sent these bytes before
    (`duplicate_of` names that submission)."""
    found, total = conflicts({"column": f.column, "check": f.expectation, "severity": f.severity,
                              "message_vi": f.message_vi, "rows": f.rows, "sample": f.sample}
                             for f in verdict.failures)
    return {"status": "duplicate" if earlier else verdict.status, "dry_run": True, "submission_id": None,
            "unit_code": landed.unit_code, "feed": landed.feed, "file_name": landed.rel_path,
            "sha256": landed.sha256, "version": None, "rows_total": verdict.rows_total,
            "rows_failed": verdict.rows_failed, "conflicts": found, "conflicts_total": total,
            "duplicate_of": earlier}
