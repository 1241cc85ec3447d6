"""The reviewer's side of the portal (CONTRACT.md section 9): the review queue, approving and reopening a unit's
period, and a unit's explanations of its warnings. Each action is chitieu.approval's, in a transaction of its own;
a refusal comes back as `Refused` with the Vietnamese words for the page."""

from __future__ import annotations

import sqlalchemy as sa

from chitieu.approval import ApprovalError, approve, explain_warning, reopen
from chitieu.warehouse import read_sql

__all__ = ["REVIEW_ROLES", "Refused", "explain", "queue", "reopen_period", "approve_period", "warnings_of"]

REVIEW_ROLES = ("province", "admin")
QUEUE_LIMIT = 500  # rows per page of the queue; filters narrow it


class Refused(Exception):
    """An action the page cannot take: HTTP status and the Vietnamese message."""

    def __init__(self, status: int, error: str, message_vi: str):
        super().__init__(error)
        self.status, self.error, self.message_vi = status, error, message_vi


def queue(engine: sa.Engine, units: list[str] | None, feed: str | None, period: str | None) -> list[dict]:
    """mart.review_queue's rows for these units (None: all), feed and period (None: any), newest period first."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(read_sql("portal/review_queue.sql")),
                                              {"units": units, "feed": feed, "period": period,
                                               "limit": QUEUE_LIMIT}).mappings()]


def warnings_of(engine: sa.Engine, submission_id: int) -> list[dict]:
    """The submission's warnings (one per failed check), each with the unit's latest explanation."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(read_sql("portal/submission_warnings.sql")),
                                              {"id": submission_id}).mappings()]


def approve_period(engine: sa.Engine, unit: str, feed: str, period: str, by: str) -> None:
    try:
        with engine.begin() as conn:
            approve(conn, unit, feed, period, by)
    except ApprovalError:
        raise Refused(422, "cannot_approve", f"Không duyệt được {feed} kỳ {period} của đơn vị {unit}: "
                      "không có số liệu hiện hành của kỳ này hoặc thông tin không hợp lệ.") from None


def reopen_period(engine: sa.Engine, unit: str, feed: str, period: str, by: str, reason: str) -> None:
    if not (reason or "").strip():
        raise Refused(422, "reason_required", "Mở lại một kỳ đã duyệt cần ghi rõ lý do.")
    try:
        with engine.begin() as conn:
            reopen(conn, unit, feed, period, by, reason.strip()[:2000])
    except ApprovalError:
        raise Refused(422, "cannot_reopen", f"Không mở lại được {feed} kỳ {period} của đơn vị {unit}: "
                      "kỳ này chưa được duyệt hoặc thông tin không hợp lệ.") from None


def explain(engine: sa.Engine, submission_id: int, expectation: str, column: str | None, text: str,
            by: str) -> None:
    """Keep the unit's explanation of one warning of its submission (a check of severity warning only)."""
    text = (text or "").strip()
    if not text or len(text) > 2000:
        raise Refused(422, "explanation_length", "Lời giải thích cần có nội dung và không quá 2000 ký tự.")
    if not any(w["expectation"] == expectation and w["column_name"] == column
               for w in warnings_of(engine, submission_id)):
        raise Refused(422, "no_such_warning", "Lần gửi này không có cảnh báo đó.")
    with engine.begin() as conn:
        explain_warning(conn, submission_id, expectation, column, text, by)
