"""One vocabulary, one place: project groups (codes, Vietnamese names, the spellings units write), the
Vietnamese wording of a cell that cannot be read, and Vietnamese number notation."""

from __future__ import annotations

from decimal import Decimal

from chitieu.feeds import normalize_header

__all__ = ["FORMAT_VI", "PROJECT_GROUPS", "PROJECT_GROUP_ALIASES", "PROJECT_GROUP_VI", "format_failure_vi",
           "vn_number"]

# --- project groups (Resolution on public investment: the four groups of the year's plan) ----------------

PROJECT_GROUPS = ("completed", "transitional", "new", "preparation")
PROJECT_GROUP_VI = {"completed": "Hoàn thành", "transitional": "Chuyển tiếp", "new": "Khởi công mới",
                    "preparation": "Chuẩn bị đầu tư"}
# folded spelling (chitieu.feeds.normalize_header) -> code: the English code or the Vietnamese name
PROJECT_GROUP_ALIASES = {normalize_header(name): code for code in PROJECT_GROUPS
                         for name in (code, PROJECT_GROUP_VI[code])}

# --- a cell that cannot be read (tasks/parse.py: "<column type>_format") ---------------------------------

FORMAT_VI = {
    "int_format": "không phải số nguyên hợp lệ",
    "decimal_format": "không phải số hợp lệ (dấu «.» ngăn cách hàng nghìn, dấu «,» trước phần thập phân)",
    "date_format": "không phải ngày hợp lệ (YYYY-MM-DD hoặc dd/mm/yyyy)",
    "month_format": "không phải kỳ tháng hợp lệ (YYYY-MM)",
    "period_format": "không phải kỳ hợp lệ (YYYY, YYYY-Qn hoặc YYYY-MM)",
    "project_group_format": "không phải nhóm dự án hợp lệ ("
                            + ", ".join(PROJECT_GROUP_VI[g].lower() for g in PROJECT_GROUPS) + ")",
    "text_format": "quá dài (tối đa 2000 ký tự) hoặc chứa ký tự NUL",
    "code_format": "không phải mã hợp lệ",
    "indicator_code_format": "không phải mã chỉ tiêu hợp lệ",
}


def format_failure_vi(label: str, check: str) -> str:
    """The unit's message for cells of a column that cannot be read (for mart.data_quality and for mail)."""
    return f"Cột «{label}»: giá trị {FORMAT_VI.get(check, 'không hợp lệ')}"


# --- numbers ------------------------------------------------------------------------------------------


def vn_number(value: int | float | Decimal, decimals: int = 2) -> str:
    """Vietnamese notation: '.' groups thousands, ',' marks decimals (1.795; 23,49; -1.234,5), at most `decimals`
    of them, trailing zeros dropped; the sign before the digits, none on a value that rounds to zero. Integers
    exactly, whatever their size."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}".replace(",", ".")
    number = float(value)
    whole, _, frac = f"{abs(number):,.{decimals}f}".partition(".")
    frac = frac.rstrip("0")
    out = whole.replace(",", ".") + ("," + frac if frac else "")
    return ("-" if number < 0 and out.strip("0.,") else "") + out
