"""The portal's Vietnamese words: the report's where they exist (chitieu.report), the submission statuses here."""

from __future__ import annotations

from decimal import Decimal

from chitieu.report.fmt import num
from chitieu.report.page import FEED_TEXT
from chitieu.report.page import STATUS_TEXT as _TARGET_STATUS

__all__ = ["APPROVAL_TEXT", "DONE_TEXT", "FEED_TEXT", "SUBMISSION_TEXT", "TARGET_TEXT", "number_vi"]

SUBMISSION_TEXT = {"loaded": "Đã nhận", "loaded_with_warnings": "Đã nhận, có cảnh báo", "rejected": "Bị từ chối",
                   "duplicate": "Trùng (đã gửi trước đó)"}
APPROVAL_TEXT = {"approved": "Đã duyệt", "reopened": "Đã mở lại", None: "Chưa duyệt"}  # mart.review_queue
DONE_TEXT = {"approved": "Đã duyệt kỳ báo cáo.", "reopened": "Đã mở lại kỳ báo cáo; đơn vị có thể gửi lại.",
             "explained": "Đã lưu lời giải thích; cán bộ duyệt của tỉnh sẽ thấy."}  # after a form is taken
TARGET_TEXT = {status: vi for status, (vi, _en) in _TARGET_STATUS.items()}


def number_vi(value) -> str:
    """A number written the Vietnamese way (1.795,5); blank for none."""
    if value is None:
        return ""
    return num(value) if isinstance(value, int | float | Decimal) else str(value)  # the page escapes text
