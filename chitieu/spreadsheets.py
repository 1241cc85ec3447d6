"""Read the first visible sheet of a workbook (.xlsx, .xls, .ods) as the clerk sees it: a grid of cells.

Cells come from python-calamine (formula cells by their computed value, date cells as dates, every format alike).
calamine does not expose number formats, so a percent-formatted cell (stored 0.625, shown `62,5%`) is found from
the workbook's styles with the format's own reader: openpyxl for .xlsx, xlrd for .xls, the sheet's
`office:value-type="percentage"` cells for .ods. Such a cell is handed on as the text the clerk sees (`62,5%`),
exactly as the same sheet saved as CSV reads.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from decimal import Decimal
from typing import NamedTuple
from xml.etree import ElementTree

from chitieu.errors import FileRejected

__all__ = ["MAX_CELLS", "MAX_UNCOMPRESSED", "SPREADSHEET_EXTENSIONS", "ods_extent", "read_sheet"]

SPREADSHEET_EXTENSIONS = (".xlsx", ".xls", ".ods")
MAX_UNCOMPRESSED = 400 * 1024 * 1024
MAX_CELLS = 10_000_000   # cells of the sheet read (its used range)

Grid = list[tuple[int, list]]


def _check_zip(data: bytes, name: str, kind: str) -> None:
    """Refuse a workbook that is not a zip, expands past MAX_UNCOMPRESSED or spans too many cells."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
            if expanded > MAX_UNCOMPRESSED:
                raise FileRejected(name, f"workbook expands to {expanded // 2**20} MB; refusing to open it",
                                   check="file_size")
            try:
                if kind == ".xlsx":
                    _check_xlsx_extent(archive, name)
                else:
                    _check_ods_extent(archive, name)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, KeyError, ValueError,
                    ElementTree.ParseError) as exc:
                raise FileRejected(name, f"cannot read the first sheet: {type(exc).__name__}",
                                   check="file_structure") from None
    except zipfile.BadZipFile:
        raise FileRejected(name, f"not a valid {kind} workbook (not a zip archive)", check="file_structure") from None


_CELL_REF = re.compile(rb' r="([A-Z]+)([0-9]+)"')
_LAST_COLUMN, _LAST_ROW = 16_384, 1_048_576  # XFD1048576, the last cell a worksheet can have
_SCAN_CHUNK = 4 * 2**20


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _check_xlsx_extent(archive: zipfile.ZipFile, name: str) -> None:
    """Refuse a worksheet whose cell references span more than MAX_CELLS before calamine reads it.

    calamine holds a sheet as a dense rectangle from A1 to its last cell, so a few thousand cells placed at
    column XFD would take gigabytes before `sheet.end` could be looked at; the references are counted by a
    streaming scan of the worksheet XML instead (bounded by MAX_UNCOMPRESSED, checked before).
    """
    for info in archive.infolist():
        if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")):
            continue
        last_row = last_col = 0
        tail = b""
        with archive.open(info) as part:
            while chunk := part.read(_SCAN_CHUNK):
                window = tail + chunk
                for letters, digits in _CELL_REF.findall(window):
                    last_row = max(last_row, int(digits))
                    last_col = max(last_col, _column_number(letters))
                tail = window[-64:]
        _refuse_past_bounds(name, last_row, last_col)


def _refuse_past_bounds(name: str, last_row: int, last_col: int) -> None:
    """A sheet whose filled cells reach row `last_row` and column `last_col` (1-based) is refused when it lies
    beyond the last cell a sheet can have or when calamine's dense rectangle would exceed MAX_CELLS."""
    if last_col > _LAST_COLUMN or last_row > _LAST_ROW:
        raise FileRejected(name, "a cell reference lies beyond the last cell a sheet can have (XFD1048576)",
                           check="file_structure",
                           problem_vi="tệp bị hỏng: có ô nằm ngoài ô cuối cùng của trang tính (XFD1048576)")
    if last_row * last_col > MAX_CELLS:
        raise FileRejected(name, f"a sheet holds more than {MAX_CELLS:,} cells; refusing to read it "
                                 "(split it, or send CSV)", check="file_size",
                           problem_vi=f"trang tính có hơn {MAX_CELLS:,} ô".replace(",", ".")
                           + "; đề nghị tách tệp hoặc gửi tệp CSV")


def _check_ods_extent(archive: zipfile.ZipFile, name: str) -> None:
    """Refuse an .ods sheet whose filled cells span more than MAX_CELLS before calamine reads it.

    An .ods file states repetition instead of writing cells out (`table:number-rows-repeated`,
    `table:number-columns-repeated`): an 840-byte file can describe 10^9 filled cells. calamine expands them into
    its dense rectangle, up to its own cap of 10^8 cells (~6 GB), before `sheet.end` could be looked at. The
    extent is summed from those counts by a streaming read of content.xml instead (bounded by MAX_UNCOMPRESSED,
    checked before). Empty repeated cells and rows (LibreOffice writes them up to the sheet's last column and row)
    do not count: calamine does not keep them either."""
    for rows, cols in ods_extent(archive).values():
        _refuse_past_bounds(name, rows, cols)


def ods_extent(archive: zipfile.ZipFile) -> dict[str, tuple[int, int]]:
    """Sheet name -> (last row, last column), 1-based, of the filled cells of an .ods workbook, repetitions
    counted (see _check_ods_extent); read as a stream."""
    last: dict[str, tuple[int, int]] = {}
    with archive.open("content.xml") as content:
        for cell in _ods_cells(content):
            if cell.filled:
                rows, cols = last.get(cell.sheet, (0, 0))
                last[cell.sheet] = (max(rows, cell.row + cell.rows), max(cols, cell.col + cell.cols))
    return last


def _first_visible_sheet(book, name: str):
    from python_calamine import SheetTypeEnum, SheetVisibleEnum

    for meta in book.sheets_metadata:
        if meta.visible == SheetVisibleEnum.Visible and meta.typ == SheetTypeEnum.WorkSheet:
            return meta.name
    raise FileRejected(name, "the workbook has no visible sheet", check="file_structure")


def read_sheet(data: bytes, name: str, extension: str) -> Grid:
    """(sheet row number, cells) of every row of the first visible sheet; empty cells are None."""
    from python_calamine import CalamineWorkbook

    if extension in (".xlsx", ".ods"):
        _check_zip(data, name, extension)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet_name = _first_visible_sheet(book, name)
        sheet = book.get_sheet_by_name(sheet_name)
        last_row, last_col = sheet.end or (0, 0)
        if (last_row + 1) * (last_col + 1) > MAX_CELLS:
            raise FileRejected(name, f"the first sheet holds more than {MAX_CELLS:,} cells; refusing to read it "
                                     "(split it, or send CSV)", check="file_size")
        rows = sheet.to_python(skip_empty_area=False)  # from A1: list positions are sheet positions
    except FileRejected:
        raise
    except Exception as exc:  # calamine raises its own errors (and others) for corrupt or hostile workbooks
        raise FileRejected(name, f"cannot read the first sheet: {type(exc).__name__}", check="file_structure") \
            from None
    grid: Grid = [(i + 1, [None if c == "" else c for c in row]) for i, row in enumerate(rows)]
    percent = _percent_cells(data, name, extension, sheet_name)
    for row_idx, col_idx in percent:
        if row_idx < len(grid):
            cells = grid[row_idx][1]
            if col_idx < len(cells) and isinstance(cells[col_idx], (int, float)) and not isinstance(
                    cells[col_idx], bool):
                cells[col_idx] = percent_text(cells[col_idx])
    return grid


def percent_text(value: float) -> str:
    """A percent cell's stored fraction as the clerk sees it, in Vietnamese notation: 0.625 -> `62,5%`."""
    shown = format((Decimal(repr(float(value))) * 100).normalize(), "f")
    return shown.replace(".", ",") + "%"


# --- percent-formatted cells, per format: (0-based row, 0-based column) of the sheet -------------------------


def _percent_cells(data: bytes, name: str, extension: str, sheet_name: str) -> set[tuple[int, int]]:
    try:
        if extension == ".xlsx":
            return _xlsx_percent_cells(data, sheet_name)
        if extension == ".ods":
            return _ods_percent_cells(data, sheet_name)
        if extension == ".xls":
            return _xls_percent_cells(data, sheet_name)
    except FileRejected:
        raise
    except Exception as exc:  # a workbook whose cells calamine read but whose styles cannot be read
        raise FileRejected(name, f"cannot read the cell formats of the first sheet: {type(exc).__name__}",
                           check="file_structure") from None
    return set()


_XLSX_PERCENT_IDS = re.compile(rb'numFmtId="(?:9|10)"|formatCode="[^"]*%')


def _xlsx_percent_cells(data: bytes, sheet_name: str) -> set[tuple[int, int]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        try:
            styles = archive.read("xl/styles.xml")
        except KeyError:
            return set()
    if not _XLSX_PERCENT_IDS.search(styles):
        return set()                       # no percent format in the workbook: nothing to look for
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = book[sheet_name]
        out = set()
        for row in sheet.iter_rows():
            for cell in row:
                if getattr(cell, "number_format", None) and "%" in cell.number_format and isinstance(
                        cell.value, (int, float)):
                    out.add((cell.row - 1, cell.column - 1))
        return out
    finally:
        book.close()


_ODS_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_ODS_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"


class _OdsCell(NamedTuple):
    """One cell element of an .ods content.xml: its sheet, 0-based first row and column, how many rows and
    columns it stands for (repetition), its value type, and whether it holds anything."""

    sheet: str
    row: int
    col: int
    rows: int
    cols: int
    value_type: str | None
    filled: bool


def _ods_cells(content) -> Iterator[_OdsCell]:
    """Every cell element of an .ods content.xml (a binary stream), read as a stream: a row's elements are
    dropped once it has been read, so memory stays bounded whatever the file's size."""
    t, o = _ODS_TABLE, _ODS_OFFICE
    sheet, row, col, row_repeat = "", 0, 0, 1
    for event, element in ElementTree.iterparse(content, events=("start", "end")):
        tag = element.tag
        if tag == t + "table":
            if event == "start":
                sheet, row = element.get(t + "name", ""), 0
            else:
                element.clear()
        elif tag == t + "table-row":
            if event == "start":
                col, row_repeat = 0, int(element.get(t + "number-rows-repeated", "1"))
            else:
                row += row_repeat
                element.clear()
        elif tag in (t + "table-cell", t + "covered-table-cell") and event == "end":
            repeat = int(element.get(t + "number-columns-repeated", "1"))
            value_type = element.get(o + "value-type")
            yield _OdsCell(sheet, row, col, row_repeat, repeat, value_type, value_type is not None or len(element) > 0)
            col += repeat


def _ods_percent_cells(data: bytes, sheet_name: str) -> set[tuple[int, int]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        content = archive.read("content.xml")
    if b'value-type="percentage"' not in content:
        return set()
    out: set[tuple[int, int]] = set()
    for cell in _ods_cells(io.BytesIO(content)):
        if cell.sheet == sheet_name and cell.value_type == "percentage":
            for r in range(cell.row, cell.row + min(cell.rows, 10_000)):
                for c in range(cell.col, cell.col + min(cell.cols, 10_000)):
                    out.add((r, c))
    return out


def _xls_percent_cells(data: bytes, sheet_name: str) -> set[tuple[int, int]]:
    import xlrd

    book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True)
    try:
        sheet = book.sheet_by_name(sheet_name)
        percent_xf = {i for i, xf in enumerate(book.xf_list)
                      if "%" in getattr(book.format_map.get(xf.format_key), "format_str", "")}
        if not percent_xf:
            return set()
        out = set()
        for r in range(sheet.nrows):
            for c, (kind, xf) in enumerate(zip(sheet.row_types(r), [sheet.cell_xf_index(r, c)
                                                                    for c in range(sheet.row_len(r))],
                                               strict=False)):
                if kind == xlrd.XL_CELL_NUMBER and xf in percent_xf:
                    out.add((r, c))
        return out
    finally:
        book.release_resources()
