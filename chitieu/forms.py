"""The official report form of each feed (`chitieu template`, the portal's template download): the layout units
fill and chitieu reads back as is (chitieu.templates recognises every row that is not data).

Title rows, a header of `STT` and the Vietnamese labels, a row of column numbers, rows pre-filled with the unit's
code and the next period, a total row (by formula in a workbook) and the signature block.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from chitieu.catalog import Catalog
from chitieu.errors import ConfigError
from chitieu.feeds import feed_spec
from chitieu.local_time import today as local_today

__all__ = ["FORM_FORMATS", "next_period", "render_form"]

FORM_FORMATS = ("xlsx", "csv")
_BLANK_ROWS = {"dossier": 1, "admin_ops": 1, "disbursement": 5, "tasks": 5, "indicator": 3}
_SUMMED = ("int", "decimal")


def next_period(periodicity: str, today: dt.date | None = None) -> str:
    """The period a unit reports next: this month, quarter or year."""
    today = today or local_today()
    if periodicity == "year":
        return f"{today.year}"
    if periodicity == "quarter":
        return f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    return f"{today:%Y-%m}"


def _unit(catalog: Catalog, unit_code: str | None) -> dict | None:
    if unit_code is None:
        return None
    for unit in catalog.units:
        if unit["unit_code"] == unit_code:
            return unit
    raise ConfigError(f"unknown unit {unit_code!r} (not in the catalog)")


def _prefilled_rows(catalog: Catalog, feed: str, unit_code: str | None, period: str | None) -> list[dict]:
    """Canonical column -> value of each pre-filled data row."""
    if feed == "indicator":
        codes = sorted({t["indicator_code"] for t in catalog.targets if t["unit_code"] == unit_code}
                       & {i["indicator_code"] for i in catalog.indicators if i["source_feed"] == "indicator"})
        rows = [{"unit_code": unit_code, "indicator_code": code,
                 "period": period or next_period(catalog.indicator(code)["periodicity"])} for code in codes]
        return rows or [{"unit_code": unit_code, "period": period} for _ in range(_BLANK_ROWS[feed])]
    if feed in ("dossier", "admin_ops"):
        return [{"unit_code": unit_code, "period": period or next_period("month")}]
    return [{"unit_code": unit_code} for _ in range(_BLANK_ROWS[feed])]


def _grid(catalog: Catalog, feed: str, unit_code: str | None, period: str | None) -> tuple[list[list], int, int]:
    """The form as rows of cells; the index of the first data row and how many data rows there are."""
    spec = feed_spec(feed)
    unit = _unit(catalog, unit_code)
    width = len(spec.columns) + 1
    rows: list[list] = [
        [(unit["name_vi"] if unit else "TÊN ĐƠN VỊ BÁO CÁO").upper()],
        [f"BÁO CÁO {spec.label_vi.upper()}"],
        [f"(Kỳ báo cáo: {period})" if period else "(Điền mỗi dòng một " + _grain(feed) + ")"],
        [],
        ["STT", *[c.label_vi for c in spec.columns]],
        [f"({n})" for n in range(1, width + 1)],
    ]
    first = len(rows)
    data = _prefilled_rows(catalog, feed, unit_code, period)
    for n, values in enumerate(data, start=1):
        rows.append([n, *[values.get(c.name) for c in spec.columns]])
    rows.append(["", "Tổng cộng"] + [None] * (width - 2))
    rows += [[], [None] * (width - 2) + ["……, ngày … tháng … năm …"],
             [None, "Người lập biểu"] + [None] * (width - 4) + ["THỦ TRƯỞNG ĐƠN VỊ"],
             [None, "(Ký, ghi rõ họ tên)"] + [None] * (width - 4) + ["(Ký tên, đóng dấu)"]]
    return rows, first, len(data)


def _grain(feed: str) -> str:
    return {"dossier": "tháng", "admin_ops": "tháng", "disbursement": "dự án", "tasks": "nhiệm vụ",
            "indicator": "chỉ tiêu và kỳ"}[feed]


def render_form(catalog: Catalog, feed: str, *, unit_code: str | None = None, fmt: str = "xlsx",
                period: str | None = None) -> bytes:
    """The feed's report form as .xlsx or .csv (UTF-8 with BOM, `;`) bytes, pre-filled for the unit."""
    if fmt not in FORM_FORMATS:
        raise ConfigError(f"unknown form format {fmt!r} (expected {' or '.join(FORM_FORMATS)})")
    spec = feed_spec(feed)
    rows, first, count = _grid(catalog, feed, unit_code, period)
    if fmt == "csv":
        buffer = io.StringIO()
        width = len(spec.columns) + 1
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerows([["" if v is None else v for v in row] + [""] * (width - len(row)) for row in rows])
        return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
    return _xlsx(spec, rows, first, count)


def _xlsx(spec, rows: list[list], first: int, count: int) -> bytes:
    import openpyxl
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = spec.feed
    for row in rows:
        sheet.append(row)
    total_row = first + count + 1                      # 1-based sheet row of `Tổng cộng`
    for k, column in enumerate(spec.columns, start=2):
        letter = get_column_letter(k)
        sheet.column_dimensions[letter].width = max(14, min(40, len(column.label_vi) + 2))
        if column.type in _SUMMED:
            sheet[f"{letter}{total_row}"] = f"=SUM({letter}{first + 1}:{letter}{first + count})"
        if column.type == "date":
            for r in range(first + 1, first + count + 1):
                sheet[f"{letter}{r}"].number_format = "DD/MM/YYYY"
        if column.type in ("code", "text", "month", "period", "indicator_code"):
            for r in range(first + 1, first + count + 1):
                sheet[f"{letter}{r}"].number_format = "@"    # a period stays text (Excel turns 2026-05 into a date)
    for cell in sheet[first]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
    for r in (1, 2, total_row):
        sheet.cell(r, 1 if r < 3 else 2).font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
