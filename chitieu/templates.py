"""Recognise a unit's report template in a grid of cells (CONTRACT.md section 3): the one place that decides which
rows of a sheet or text file are data.

A grid is the file's rows as read, each `(row number, cells)`. Around the table a template has title rows, a
header (found among the first HEADER_SEARCH_ROWS rows, possibly over two rows, cells possibly spanning lines), a
row of column numbers (`(1) (2) (3)` or `1 2 3`), section headings (`I. Dự án chuyển tiếp`), total and subtotal
rows (`Tổng cộng`, `Tổng số`, `Cộng`, `Tổng`), notes (`Ghi chú: ...`) and, below the table, a signature block
(`Người lập biểu`, `THỦ TRƯỞNG ĐƠN VỊ`, place and date, names). Every such row is set aside with its reason; totals
are kept so that the data rows under them can be added up and compared once typed (tasks/validate.py). A row
holding figures or its own key code (`DA_MS_02`) is data wherever it stands and whatever its name starts with: a
data row set aside would vanish from a file that loads.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from chitieu.errors import FileRejected
from chitieu.feeds import FeedSpec, normalize_header

__all__ = ["FIGURE_TYPES", "HEADER_SEARCH_ROWS", "SET_ASIDE_REASONS", "SetAside", "Table", "TotalRow", "find_table",
           "header_hits", "is_total_label"]

HEADER_SEARCH_ROWS = 20
FIGURE_TYPES = ("int", "decimal", "date")          # a data row of every feed has at least one such cell

# Why a row is not data: English (engineers), Vietnamese (the unit).
SET_ASIDE_REASONS = {
    "title": ("title row above the header", "dòng tiêu đề phía trên dòng tên cột"),
    "column_numbers": ("row of column numbers", "dòng đánh số cột"),
    "section": ("section heading (text without figures)", "dòng tên mục/phần (chữ, không có số liệu)"),
    "total": ("total or subtotal row", "dòng tổng cộng / cộng"),
    "unfilled": ("row of the form left unfilled (only its pre-filled unit, period or indicator)",
                 "dòng của biểu mẫu chưa điền (chỉ có mã đơn vị, kỳ hoặc mã chỉ tiêu điền sẵn)"),
    "note": ("note inside the table (text without figures)", "dòng ghi chú trong bảng (chữ, không có số liệu)"),
    "below_table": ("below the table (signature block, place and date, notes)",
                    "phần dưới bảng (chữ ký, địa danh và ngày tháng, ghi chú)"),
}

_NUMBERING = r"(?:[0-9]{1,3}|[IVXLC]{1,6}|[A-Za-z])[.)/:-]?\s*"
_TOTAL = re.compile(rf"^\s*(?:{_NUMBERING})?(tổng\s+cộng|tổng\s+số|tong\s+cong|tong\s+so|cộng|tổng)"
                    r"(?=$|[\s:.(,-])(.*)$", re.IGNORECASE)
_PART = re.compile(r"(?:[IVXLC0-9]{1,6}|[A-Z])(?=$|[\s.)/:+-])|(?:nhóm|mục|phần)\b", re.IGNORECASE)  # Cộng I
_WHOLE = re.compile(r"(?:toàn|chung|tất\s+cả)\b", re.IGNORECASE)                   # TỔNG CỘNG TOÀN XÃ
_WHAT = re.compile(r"(?:các|dự\s+án|khối|loại|nguồn)\b", re.IGNORECASE)            # Cộng các dự án mới
_SECTION = re.compile(r"^\s*[IVXLC]{1,6}\s*[.)/:-]\s*\S")           # I. Dự án chuyển tiếp
_SUB_SECTION = re.compile(r"^\s*(?:[0-9]{1,3}(?:\.[0-9]{1,3})*(?![0-9])\s*[.)/:-]?|[a-zđ]\s*[.)/:-])\s*\S")  # 1. 1.2 a)
_COLUMN_NUMBER = re.compile(r"^\(?\s*([0-9]{1,3}|[A-Z])\s*\)?$")
_CODE = re.compile(r"^[A-Za-z0-9_]{2,32}$")
_KEY = re.compile(r"^(?=.*[A-Za-z])(?=.*[0-9_])[A-Za-z0-9][A-Za-z0-9_.\-/]{0,30}[A-Za-z0-9]$")   # DA_01, CL-01
_ROMAN = re.compile(r"^[IVXLC]{1,6}$")
_PLACE_DATE = re.compile(r"ngay\W*[0-9.…_ ]*\W*thang\W*[0-9.…_ ]*\W*nam")
# Cells that open the block below the table (folded: no diacritics, no case, no spacing).
_BELOW = ("nguoilapbieu", "nguoilap", "thutruong", "ketoantruong", "lanhdao", "giamdoc", "chutich", "xacnhan",
          "noinhan", "ghichu", "kyghiro", "kytenvadongdau", "kydongdau", "tmuybannhandan", "tmubnd")
_PREFILLED = ("unit_code", "period", "indicator_code")    # what a blank form row of chitieu.forms holds
_GROUP_WORDS = {"hoanthanh": "hoàn thành", "chuyentiep": "chuyển tiếp", "khoicongmoi": "khởi công mới",
                "chuanbidautu": "chuẩn bị đầu tư"}


@dataclass
class SetAside:
    row: int
    kind: str               # a key of SET_ASIDE_REASONS
    text: str               # the row's first text, for the sample


@dataclass
class TotalRow:
    """A total or subtotal row and the data rows it should be the sum of."""

    row: int
    label: str
    cells: dict[str, object]     # canonical column -> raw cell (figure columns only)
    covers: list[int]            # row numbers of the data rows it adds up


@dataclass
class Table:
    """The data of a template: header, data rows (row number, cells) and what was set aside."""

    header_row: int
    header: list[str]
    positions: dict[str, int]                              # canonical column -> cell position
    rows: list[tuple[int, list]] = field(default_factory=list)
    set_aside: list[SetAside] = field(default_factory=list)
    totals: list[TotalRow] = field(default_factory=list)
    filled_groups: dict[int, str] = field(default_factory=dict)   # row -> project group given by its heading


def _empty(cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _is_number(cell) -> bool:
    if isinstance(cell, bool):
        return False
    if isinstance(cell, (int, float)):
        return True
    return isinstance(cell, str) and re.fullmatch(r"\s*[+-]?[0-9][0-9.,\s]*%?\s*", cell) is not None


def _first_text(cells: list) -> str | None:
    """The first cell holding text that is not a number (an STT number is not text)."""
    for cell in cells:
        if isinstance(cell, str) and cell.strip() and not _is_number(cell):
            return cell.strip()
    return None


def _row_text(cells: list) -> str:
    """The row's text cells, joined (`I` and `Dự án chuyển tiếp` in two cells: `I Dự án chuyển tiếp`)."""
    return " ".join(str(c).strip() for c in cells if isinstance(c, str) and c.strip())


def is_total_label(text: str | None) -> bool:
    """`Tổng cộng`, `Tổng số`, `Cộng`, `Tổng`, with or without numbering (`I. Cộng`, `Cộng nhóm A`, `TỔNG CỘNG TOÀN
    XÃ`); not a name starting with the word (`Cộng đồng dân cư ...`, `Tổng kho ...`)."""
    if not text:
        return False
    match = _TOTAL.match(unicodedata.normalize("NFC", text))
    if match is None:
        return False
    word, rest = match.group(1).lower(), match.group(2).strip()
    if not rest or len(word.split()) > 1:         # `Tổng cộng`, `Tổng số`: any qualifier
        return True
    # `Cộng` or `Tổng` alone, or followed by a numbering, a colon or a qualifier naming what it adds up
    return re.match(r"[:(]", rest) is not None or _PART.match(rest) is not None or _WHOLE.match(rest) is not None \
        or (word == "cộng" and _WHAT.match(rest) is not None)


def header_hits(cells: list, lookup: dict[str, str]) -> dict[int, str]:
    hits: dict[int, str] = {}
    seen: set[str] = set()
    for i, cell in enumerate(cells):
        if _empty(cell):
            continue
        canonical = lookup.get(normalize_header(cell))
        if canonical is not None and canonical not in seen:
            hits[i] = canonical
            seen.add(canonical)
    return hits


def _find_header(grid: list[tuple[int, list]], lookup: dict[str, str]) -> tuple[int, dict[int, str]] | None:
    """Index in `grid` of the header row (the most columns named among the first HEADER_SEARCH_ROWS rows) and its
    hits."""
    best, best_hits = None, {}
    for i, (_, cells) in enumerate(grid[:HEADER_SEARCH_ROWS]):
        hits = header_hits(cells, lookup)
        if len(hits) >= 2 and len(hits) > len(best_hits):
            best, best_hits = i, hits
    if best is None:
        return None
    return best, best_hits


def _column_numbers(cells: list) -> bool:
    """`(1) (2) (3)`, `1 2 3` or `A B 1 2`: every filled cell a small number or letter, numbers counting up."""
    tokens = []
    for cell in cells:
        if _empty(cell):
            continue
        if isinstance(cell, float) and cell.is_integer():
            cell = int(cell)
        match = _COLUMN_NUMBER.match(str(cell).strip())
        if match is None:
            return False
        tokens.append(match.group(1))
    numbers = [int(t) for t in tokens if t.isdigit()]
    return len(tokens) >= 2 and len(numbers) >= 2 and all(b == a + 1 for a, b in zip(numbers, numbers[1:],
                                                                                         strict=False))


def _below_table(cells: list) -> bool:
    for cell in cells:
        if not isinstance(cell, str) or not cell.strip():
            continue
        folded = normalize_header(cell)
        if folded.startswith(_BELOW):
            return True
        plain = unicodedata.normalize("NFD", cell.lower()).replace("đ", "d")
        plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
        if _PLACE_DATE.search(plain):
            return True
    return False


def _group_named(text: str) -> str | None:
    folded = normalize_header(text)
    for word, group in _GROUP_WORDS.items():
        if word in folded:
            return group
    return None


def find_table(grid: list[tuple[int, list]], spec: FeedSpec, lookup: dict[str, str], name: str) -> Table:
    """The template's table: header, data rows and the rows set aside (FileRejected without a header)."""
    found = _find_header(grid, lookup)
    if found is None:
        raise FileRejected(name, f"no header row found in the first {HEADER_SEARCH_ROWS} rows",
                           check="column_present")
    at, hits = found
    header = ["" if _empty(c) else str(c) for c in grid[at][1]]
    top = first_body = at
    if at > 0 and _add_header_row(header, hits, grid[at - 1][1], spec, lookup):
        top = at - 1
    if at + 1 < len(grid) and _add_header_row(header, hits, grid[at + 1][1], spec, lookup):
        first_body = at + 1
    first_body += 1
    _require_columns(header, hits, spec, name)
    positions = {canonical: i for i, canonical in hits.items()}
    table = Table(grid[top][0], header, positions)
    for number, cells in grid[:top]:
        if not all(_empty(c) for c in cells):
            table.set_aside.append(SetAside(number, "title", _row_text(cells)))
    figure_columns = [c.name for c in spec.columns if c.type in FIGURE_TYPES]
    keys = _row_keys(spec, positions)
    body = [(number, cells) for number, cells in grid[first_body:] if not all(_empty(c) for c in cells)]
    end = _table_end(body, positions, keys, figure_columns)
    state = _Sections()
    below = False
    for k, (number, cells) in enumerate(body):
        figures = _has_figures(cells, positions, figure_columns)
        if below or k > end and _below_table(cells):
            below = True
            table.set_aside.append(SetAside(number, "below_table", _row_text(cells)))
        elif _below_table(cells) and not figures and not _has_keys(cells, positions, keys):
            table.set_aside.append(SetAside(number, "note", _row_text(cells)))
        else:
            _classify(table, state, number, cells, figures, keys, figure_columns)
    for total in state.grand:
        total.covers = [number for number, _ in table.rows]
    return table


def _add_header_row(header: list[str], hits: dict[int, str], cells: list, spec: FeedSpec,
                    lookup: dict[str, str]) -> bool:
    """Whether the row right above or under the header row is the header's other row (cells merged over two rows:
    the value sits in the top-left cell, the others read empty): without figures, naming columns the header row
    leaves unnamed. Its labels fill those columns of `header` and `hits`; the header row's own names win."""
    more = {i: c for i, c in header_hits(cells, lookup).items() if i not in hits and c not in hits.values()}
    if not more or _figures(cells, hits, spec):
        return False
    for i, canonical in more.items():
        header.extend([""] * (i + 1 - len(header)))
        header[i] = str(cells[i])
        hits[i] = canonical
    return True


@dataclass
class _Sections:
    """Where the walk down a table stands: the heading's project group and what the next subtotal adds up."""

    group: str | None = None
    since_heading: list[int] = field(default_factory=list)    # data rows since the last heading or subtotal
    since_section: list[int] = field(default_factory=list)    # data rows since the last top-level heading
    nested: bool = False                 # a sub-section heading (`1.`, `a)`) since the last top-level one
    after_subtotal: bool = False         # no data row since the last subtotal
    opening: TotalRow | None = None      # a subtotal above its rows (right under its heading)
    grand: list[TotalRow] = field(default_factory=list)       # totals of the whole table (rows known at the end)


def _classify(table: Table, state: _Sections, number: int, cells: list, figures: bool, keys: list[str],
              figure_columns: list[str]) -> None:
    """One row inside the table: column numbers, a total, a blank form row, a section heading, or data."""
    positions = table.positions
    text = _first_text(cells)
    own_keys = _has_keys(cells, positions, keys)
    if _column_numbers(cells):
        table.set_aside.append(SetAside(number, "column_numbers", " ".join(str(c) for c in cells if not _empty(c))))
        return
    if is_total_label(text) and not own_keys:
        _add_total(table, state, number, text, cells, figure_columns)
        return
    code = _cell(cells, positions, "unit_code")
    has_code = isinstance(code, str) and _CODE.match(code.strip()) is not None and not _ROMAN.match(code.strip())
    if has_code and not figures and all(_empty(_cell(cells, positions, c)) for c in positions
                                        if c not in _PREFILLED):
        table.set_aside.append(SetAside(number, "unfilled", _row_text(cells)))
        return
    if not has_code and not own_keys and (not figures or (text is not None and _SECTION.match(text))):
        _add_section(table, state, number, cells)
        return
    if state.group is not None and "project_group" in positions and _empty(_cell(cells, positions, "project_group")):
        table.filled_groups[number] = state.group
    table.rows.append((number, cells))
    state.since_heading.append(number)
    state.since_section.append(number)
    state.after_subtotal = False
    if state.opening is not None:
        state.opening.covers.append(number)


def _add_total(table: Table, state: _Sections, number: int, text: str, cells: list, figure_columns: list[str]) -> None:
    """A subtotal adds up the rows since the last heading, or those under it when it stands right under its
    heading; one right after another subtotal adds up the section's rows (nested sections) or the whole table."""
    table.set_aside.append(SetAside(number, "total", text))
    total = TotalRow(number, text, {c: _cell(cells, table.positions, c) for c in figure_columns
                                    if c in table.positions}, [])
    table.totals.append(total)
    if not _is_subtotal(text) or (state.after_subtotal and not state.nested):
        state.grand.append(total)
    elif state.after_subtotal:
        total.covers = list(state.since_section)
    elif state.since_heading:
        total.covers, state.since_heading, state.opening = list(state.since_heading), [], None
        state.after_subtotal = True
    else:
        state.opening = total


def _heading_text(cells: list) -> str:
    """The heading's filled cells, joined: its numbering may stand in a cell of its own (`1.`, `1` in the STT
    column) before the text."""
    shown = (int(c) if isinstance(c, float) and c.is_integer() else c for c in cells if not _empty(c))
    return " ".join(str(c).strip() for c in shown)


def _add_section(table: Table, state: _Sections, number: int, cells: list) -> None:
    """A sub-heading (`1.`, `a)`) keeps the group of the heading above unless it names one; any other heading sets
    the group it names or clears it."""
    table.set_aside.append(SetAside(number, "section", _row_text(cells)))
    named = _group_named(_row_text(cells))
    sub = _SUB_SECTION.match(_heading_text(cells)) is not None
    if named is not None:
        state.group = named
    elif not sub:
        state.group = None
    if sub:
        state.nested = True
    else:
        state.since_section, state.nested = [], False
    state.since_heading, state.opening, state.after_subtotal = [], None, False


def _row_keys(spec: FeedSpec, positions: dict[str, int]) -> list[str]:
    """The columns naming a row's own record (project, task, indicator code), beyond the unit and the period."""
    return [c for c in spec.key if c in positions and c != "unit_code" and spec.column(c).type not in
            ("date", "month", "period")]


def _has_keys(cells: list, positions: dict[str, int], keys: list[str]) -> bool:
    """A row holding its own key code (`DA_MS_02`, `CL-01`) is a record: never a heading, a total or a note."""
    for column in keys:
        cell = _cell(cells, positions, column)
        if isinstance(cell, str) and _KEY.match(cell.strip()):
            return True
    return False


def _table_end(body: list[tuple[int, list]], positions: dict[str, int], keys: list[str],
               figure_columns: list[str]) -> int:
    """Index in `body` of the table's last row holding figures or a key code: a note above it (`Ghi chú: ...`)
    is inside the table, only what follows it can be the block below the table."""
    for k in range(len(body) - 1, -1, -1):
        cells = body[k][1]
        if _has_figures(cells, positions, figure_columns) or _has_keys(cells, positions, keys):
            return k
    return -1


def _is_subtotal(text: str) -> bool:
    """A subtotal (`Cộng`, `Tổng I`, `Cộng nhóm A`) adds up the rows since the last heading; a grand total
    (`Tổng cộng`, `Tổng số`, `Tổng`, `TỔNG CỘNG TOÀN XÃ`, `Cộng chung`) adds up every data row of the table."""
    match = _TOTAL.match(unicodedata.normalize("NFC", text))
    word, rest = match.group(1).lower(), match.group(2).strip(" :.-")
    if _WHOLE.match(rest):
        return False
    if word == "cộng":
        return True
    return bool(rest) and not rest.startswith("(") and (word == "tổng" or _PART.match(rest) is not None)


def _cell(cells: list, positions: dict[str, int], column: str):
    i = positions.get(column)
    return cells[i] if i is not None and i < len(cells) else None


_DATE_TEXT = re.compile(r"^\s*(?:[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}/[0-9]{1,2}/[0-9]{4})")


def _is_figure(cell) -> bool:
    """A number, a date, or text that reads as one (`1.795`, `62,5%`, `31/05/2026`): not words."""
    if isinstance(cell, (dt.date, dt.datetime)):
        return True
    return _is_number(cell) or (isinstance(cell, str) and _DATE_TEXT.match(cell) is not None)


def _has_figures(cells: list, positions: dict[str, int], columns: list[str]) -> bool:
    return any(_is_figure(_cell(cells, positions, c)) for c in columns)


def _figures(cells: list, hits: dict[int, str], spec: FeedSpec) -> bool:
    positions = {c: i for i, c in hits.items()}
    return _has_figures(cells, positions, [c.name for c in spec.columns if c.type in FIGURE_TYPES])


def _require_columns(header: list[str], hits: dict[int, str], spec: FeedSpec, name: str) -> None:
    """Refuse a header naming a column twice or missing a required one (as for a header on the first line)."""
    seen: dict[str, int] = {}
    lookup = spec.header_lookup
    for i, raw in enumerate(header):
        canonical = lookup.get(normalize_header(raw)) if raw else None
        if canonical is None:
            continue
        if canonical in seen and hits.get(i) != canonical:
            raise FileRejected(name, f"two columns mean {canonical!r} ({raw!r} repeats it)", column=raw,
                               check="column_unique")
        seen[canonical] = i
    named = set(hits.values())
    for col in spec.columns:
        if col.required and col.name not in named:
            raise FileRejected(name, f"required column {col.name!r} ({col.label_vi}) is missing",
                               column=col.name, check="column_present")
