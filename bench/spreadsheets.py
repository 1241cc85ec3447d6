"""Rows per second reading a 100,000-row .xlsx: python-calamine (chitieu.spreadsheets, the reader in use) against
openpyxl (read-only, values only), in the same run on the same workbook.

Run: python bench/spreadsheets.py [rows]
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import time

import openpyxl


def make_workbook(rows: int) -> bytes:
    """A report template: title, header, column numbers, `rows` data rows (text, numbers, dates), signature."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("BaoCao")
    sheet.append(["BÁO CÁO GIẢI NGÂN VỐN ĐẦU TƯ CÔNG"])
    sheet.append(["STT", "Mã dự án", "Tên dự án", "Mã đơn vị", "Nhóm dự án", "Kế hoạch vốn (đồng)",
                  "Giải ngân lũy kế (đồng)", "Ngày số liệu"])
    sheet.append([f"({n})" for n in range(1, 9)])
    day = dt.date(2026, 5, 31)
    for n in range(1, rows + 1):
        sheet.append([n, f"DA_{n:06d}", f"Dự án số {n}", f"XA_{n % 3321:04d}", "chuyển tiếp", 1_000_000 * n,
                      400_000 * n, day])
    sheet.append([None, "Người lập biểu"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_calamine(data: bytes) -> int:
    from chitieu.spreadsheets import read_sheet

    return len(read_sheet(data, "bench.xlsx", ".xlsx"))


def read_openpyxl(data: bytes) -> int:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    data = make_workbook(rows)
    print(f"workbook: {rows:,} data rows, {len(data) / 2**20:.1f} MB")
    for name, reader in (("calamine", read_calamine), ("openpyxl", read_openpyxl)):
        best = None
        for _ in range(2):
            start = time.perf_counter()
            count = reader(data)
            elapsed = time.perf_counter() - start
            best = elapsed if best is None else min(best, elapsed)
        print(f"{name:9s} {count:,} rows in {best:.2f} s: {count / best:,.0f} rows/s")


if __name__ == "__main__":
    main()
