"""Parse landed files of one feed into one typed DataFrame, keeping cell errors with file, row and column."""

from __future__ import annotations

import csv
import io
import itertools
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from prefect import task
from prefect.cache_policies import NO_CACHE

from chitieu.errors import FileRejected
from chitieu.feeds import FeedSpec, feed_spec, normalize_header
from chitieu.landing import ACCEPTED_EXTENSIONS, MAX_FILE_BYTES, LandedFile
from chitieu.records import ParsedFeed
from chitieu.spreadsheets import SPREADSHEET_EXTENSIONS, read_sheet
from chitieu.templates import FIGURE_TYPES, HEADER_SEARCH_ROWS, SetAside, Table, TotalRow, find_table, header_hits
from chitieu.values import PARSERS

__all__ = ["parse_feed", "read_contents", "read_file"]

MAX_TEXT_CHARS = 2000


# --- reading one file into raw cells ------------------------------------------------------


TEXT_EXTENSIONS = (".csv", ".txt")
_SEPARATORS = {".csv": (",", ";"), ".txt": ("\t", ";", ",")}  # on a tie, the first
# the csv module refuses fields over 128 KiB; a long cell is the text checks' to judge (by row and column),
# not a reason to reject the whole file as malformed. Files are at most MAX_FILE_BYTES anyway.
csv.field_size_limit(MAX_FILE_BYTES)


def _decode(data: bytes, name: str, extension: str = ".csv") -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        if extension == ".txt":  # Excel's "Unicode text"
            try:
                return data.decode("utf-16")
            except UnicodeDecodeError:
                raise FileRejected(name, "not valid UTF-16 text", check="file_encoding") from None
        raise FileRejected(name, "file is UTF-16 encoded; save it as UTF-8 CSV (or as Unicode text, .txt)",
                           check="file_encoding")
    if b"\x00" in data[:4096]:
        raise FileRejected(name, "file contains binary data, not text", check="file_encoding")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileRejected(name, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}); "
                                 "save it as UTF-8 CSV", row=line, check="file_encoding") from None


def _separator(text: str, extension: str, lookup: dict[str, str]) -> str:
    """The separator that makes a header row appear among the first rows (then: the most used on line 1)."""
    head = text[:65536]
    first_line = head.split("\n", 1)[0]

    def score(sep: str) -> tuple[int, int]:
        rows = itertools.islice(csv.reader(io.StringIO(head, newline=""), delimiter=sep), HEADER_SEARCH_ROWS)
        try:
            hits = max((len(header_hits(row, lookup)) for row in rows), default=0)
        except csv.Error:
            hits = 0
        return hits, first_line.count(sep)

    return max(_SEPARATORS.get(extension, _SEPARATORS[".csv"]), key=score)


def _text_grid(data: bytes, name: str, extension: str, lookup: dict[str, str]) -> tuple[list, str]:
    """(line number where each record starts, fields) of a CSV or tab/`;` text file, and its separator."""
    text = _decode(data, name, extension)
    sep = _separator(text, extension, lookup)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    grid, line = [], 1
    try:
        for fields in reader:
            grid.append((line, fields))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise FileRejected(name, f"malformed CSV: {exc}", row=line, check="file_structure") from None
    if grid and text.count('"') % 2:  # the lenient reader takes an unclosed quote to the end of the file
        _check_quotes_closed(text, sep, name, grid[-1][0])
    return grid, sep


def _check_quotes_closed(text: str, sep: str, name: str, last_record_line: int) -> None:
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True):
            pass
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise FileRejected(name, "a quote (\") opened in this row is never closed", row=last_record_line,
                               check="file_structure",
                               problem_vi="dấu ngoặc kép (\") mở ở dòng này không được đóng") from None


def _field_count_error(name: str, fields: int, expected: int, line: int) -> FileRejected:
    hint = "truncated row?" if fields < expected else "unquoted separator in a value?"
    return FileRejected(name, f"row has {fields} fields where the header has {expected} ({hint})",
                        row=line, check="file_structure")


def _read_json(data: bytes, name: str) -> tuple[list[str], pd.DataFrame, int]:
    try:
        payload = json.loads(_decode(data, name))
    except json.JSONDecodeError as exc:
        raise FileRejected(name, f"invalid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                           row=exc.lineno, check="file_structure") from None
    except (ValueError, RecursionError) as exc:  # nesting too deep, an integer of thousands of digits
        raise FileRejected(name, f"invalid JSON: {str(exc)[:120]}", check="file_structure") from None
    if isinstance(payload, dict) and isinstance(payload.get("rows"), list):
        payload = payload["rows"]
    if not isinstance(payload, list):
        raise FileRejected(name, 'JSON must be a list of objects or {"rows": [...]}', check="file_structure")
    for i, item in enumerate(payload, start=1):
        if not isinstance(item, dict):
            raise FileRejected(name, f"JSON row {i} is not an object", row=i, check="file_structure")
    frame = pd.DataFrame.from_records(payload) if payload else pd.DataFrame()
    for col in frame.columns:
        nested = frame[col].map(lambda v: isinstance(v, (dict, list)), na_action="ignore").fillna(False).astype(bool)
        if nested.any():
            row = int(nested.to_numpy().nonzero()[0][0]) + 1
            raise FileRejected(name, "nested objects are not allowed in a cell", row=row, column=str(col),
                               check="file_structure")
    return [str(c) for c in frame.columns], frame, 1


def _read_bytes(landed: LandedFile) -> bytes:
    name = landed.rel_path
    if landed.extension not in ACCEPTED_EXTENSIONS:
        raise FileRejected(name, f"files of type {landed.extension or '(no extension)'} are not accepted "
                                 f"(send {', '.join(ACCEPTED_EXTENSIONS)})", check="file_format")
    if landed.size_bytes > MAX_FILE_BYTES:
        raise FileRejected(name, f"file is {landed.size_bytes // 2**20} MB, over the "
                                 f"{MAX_FILE_BYTES // 2**20} MB limit; split it", check="file_size")
    data = landed.read_bytes()
    if not data.removeprefix(b"\xef\xbb\xbf").strip():  # nothing, or a byte-order mark and blank lines
        raise FileRejected(name, "file is empty", check="file_not_empty")
    return data


def _map_header(header: list[str], spec: FeedSpec, lookup: dict[str, str], name: str,
                folded: dict[str, str]) -> dict[str, int]:
    """Canonical column -> position of the header field naming it; refuses repeated and missing columns."""
    positions: dict[str, int] = {}
    for i, raw_name in enumerate(header):
        key = folded.get(raw_name)
        if key is None:
            key = folded[raw_name] = normalize_header(raw_name)
        canonical = lookup.get(key)
        if canonical is None:
            continue
        if canonical in positions:
            raise FileRejected(name, f"two columns mean {canonical!r} ({raw_name!r} repeats it)",
                               column=raw_name, check="column_unique")
        positions[canonical] = i
    for col in spec.columns:
        if col.required and col.name not in positions:
            raise FileRejected(name, f"required column {col.name!r} ({col.label_vi}) is missing",
                               column=col.name, check="column_present")
    return positions


def read_file(landed: LandedFile, spec: FeedSpec) -> pd.DataFrame:
    """Raw cells of one file under canonical column names, indexed by the file's own row numbers."""
    cells = _read_cells(landed, spec, spec.header_lookup, {})
    return pd.DataFrame({col: cells.column(col) for col in spec.names}, index=cells.row_numbers, dtype=object)


@dataclass
class _Cells:
    """One file's raw cells: canonical column -> its cells (absent columns are missing), with row numbers, and the
    template rows set aside (chitieu.templates)."""

    row_numbers: list[int] | range
    columns: dict[str, list]
    set_aside: list[SetAside] = field(default_factory=list)
    totals: list[TotalRow] = field(default_factory=list)

    def column(self, name: str) -> list:
        return self.columns.get(name) or [None] * len(self.row_numbers)


def _table_cells(table: Table, name: str, width: int | None) -> _Cells:
    """A recognised table's data rows as columns; `width`: the header's field count, which every data row of a
    text file must have (a row with fewer or more fields is refused with its line number)."""
    if not table.rows:
        raise FileRejected(name, "file has a header but no data rows", check="file_has_rows")
    if width is not None:
        for number, fields in table.rows:
            if len(fields) != width:
                raise _field_count_error(name, len(fields), width, number)
    columns = {}
    for column, i in table.positions.items():
        columns[column] = [cells[i] if i < len(cells) else None for _, cells in table.rows]
    if table.filled_groups and "project_group" in columns:
        groups = columns["project_group"]
        for k, (number, _) in enumerate(table.rows):
            if number in table.filled_groups:
                groups[k] = table.filled_groups[number]
    return _Cells([number for number, _ in table.rows], columns, table.set_aside, table.totals)


def _read_cells(landed: LandedFile, spec: FeedSpec, lookup: dict[str, str], folded: dict[str, str],
                data: bytes | None = None) -> _Cells:
    """One file through the per-file readers: any format, any layout (templates recognised)."""
    data = _read_bytes(landed) if data is None else data
    name, extension = landed.rel_path, landed.extension
    if extension == ".json":
        header, frame, first_row = _read_json(data, name)
        positions = _map_header(header, spec, lookup, name, folded)
        if frame.empty:
            raise FileRejected(name, "file has a header but no data rows", check="file_has_rows")
        rows = range(first_row, first_row + len(frame))
        return _Cells(rows, {c: frame.iloc[:, i].tolist() for c, i in positions.items()})
    if extension in TEXT_EXTENSIONS:
        grid, _ = _text_grid(data, name, extension, lookup)
        table = find_table(grid, spec, lookup, name)
        return _table_cells(table, name, len(grid_row(grid, table.header_row)))
    if extension in SPREADSHEET_EXTENSIONS:
        return _table_cells(find_table(read_sheet(data, name, extension), spec, lookup, name), name, None)
    raise FileRejected(name, f"files of type {extension or '(none)'} are not accepted", check="file_format")


def grid_row(grid: list, number: int) -> list:
    """The cells of the grid row with that row number."""
    return next(cells for n, cells in grid if n == number)


# --- typing all files of a feed at once -----------------------------------------------------


def _type_columns(raw: pd.DataFrame, spec: FeedSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    typed = raw[["_file", "_row"]].copy()
    errors = []
    for col in spec.columns:
        values, bad = PARSERS[col.type](raw[col.name])
        cells = raw.pop(col.name)  # raw cells are let go column by column (only the bad ones are kept)
        if col.type in ("text", "code", "indicator_code"):
            refused = values.str.contains("\x00", regex=False).fillna(False)  # PostgreSQL text cannot hold NUL
            if col.type == "text":
                refused = refused | (values.str.len().fillna(0) > MAX_TEXT_CHARS)
            bad = bad | refused
            values = values.where(~refused)
        typed[col.name] = values
        if col.type == "decimal":  # cells shown as a percentage (`62,5%`): only a rate may be (tasks/validate.py)
            typed[f"_{col.name}_percent"] = _shown_percent(cells)
        if bad.any():
            errors.append(pd.DataFrame({
                "_file": raw.loc[bad, "_file"], "_row": raw.loc[bad, "_row"], "column": col.name,
                "value": cells[bad].astype("string").str.slice(0, 80).str.replace("\x00", "\ufffd", regex=False),
                "check": f"{col.type}_format",
            }))
    cell_errors = (pd.concat(errors, ignore_index=True) if errors
                   else pd.DataFrame(columns=["_file", "_row", "column", "value", "check"]))
    return typed, cell_errors


def _shown_percent(cells: pd.Series) -> np.ndarray:
    """Which cells end with a percent sign, as typed or as a percent-formatted spreadsheet cell reads."""
    return cells.astype("string").str.strip().str.endswith("%").fillna(False).to_numpy(dtype=bool)


def _slice_keys(typed: pd.DataFrame, spec: FeedSpec) -> pd.Series:
    if spec.feed == "disbursement":
        codes, dates = pd.factorize(typed["as_of_date"], use_na_sentinel=False)
        months = pd.Series(dates).dt.strftime("%Y-%m").astype("string")
        return months.take(codes).set_axis(typed.index)
    parts = [typed[c].astype("string") for c in spec.slice]
    key = parts[0]
    for part in parts[1:]:
        key = key + "@" + part
    return key


# --- plain CSV files in bulk ---------------------------------------------------------------------------
#
# Most files are plain CSV: no quotes, no blank lines, nothing unusual. Their data rows are joined per header
# layout and read by pyarrow in one multi-threaded pass, straight into Arrow strings. A file with anything the
# bulk reader might read differently from the per-file readers (quotes, blank or indented lines, a lone \r,
# a header problem, a row with the wrong number of fields, bytes that are not UTF-8) goes the per-file way,
# which decides exactly as before.

# Bytes the per-file readers treat specially: quotes, NUL, a lone carriage return, and the line breaks that
# str.splitlines() knows beyond \n (the field-count guard splits lines with it). Blank lines and rows with the
# wrong number of fields are caught after the bulk read (row counts and pyarrow's invalid rows).
# The multi-byte ones are looked for only where their first byte occurs (a one-byte search is ~10× faster).
_NOT_PLAIN = (b'"', b"\r", b"\x00", b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e")
_NOT_PLAIN_SEQUENCES = tuple((mark[:1], mark) for mark in ("\x85".encode(), "\u2028".encode(), "\u2029".encode()))


def _not_plain(data: bytes) -> bool:
    return (any(mark in data for mark in _NOT_PLAIN)
            or any(lead in data and mark in data for lead, mark in _NOT_PLAIN_SEQUENCES))


@dataclass(eq=False)
class _Plain:
    """A plain CSV file whose data rows sit in its layout's shared buffer, at [start, end)."""

    idx: int
    buffer: bytearray
    start: int
    end: int
    rows: int

    @property
    def body(self) -> bytes:
        return bytes(self.buffer[self.start:self.end])


class _PlainGroup:
    """Plain CSV files of one layout (separator, fields per row, header position of each canonical column), their
    data rows appended to one buffer as they are read: one copy of the bytes, read by pyarrow in one pass."""

    def __init__(self, layout: tuple):
        self.layout = layout
        self.buffer = bytearray()
        self.files: list[_Plain] = []

    def add(self, idx: int, rows: memoryview, count: int) -> None:
        start = len(self.buffer)
        self.buffer += rows
        if not self.buffer.endswith(b"\n"):
            self.buffer += b"\n"
        self.files.append(_Plain(idx, self.buffer, start, len(self.buffer), count))


def _plain_csv(data: bytes, spec: FeedSpec, lookup: dict[str, str], name: str,
               folded: dict[str, str]) -> tuple[tuple, memoryview, int] | None:
    """(layout, data rows, how many) of the file as a plain CSV for the bulk reader, or None when it must go the
    per-file way."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    if _not_plain(data):  # bytes that are not UTF-8: the bulk read finds them (see _read_plain)
        return None
    end = data.find(b"\n")
    if end < 0 or end == len(data) - 1:
        return None                      # a header and no data rows
    try:
        first = data[:end].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not first.strip(" \t"):
        return None
    sep = ";" if first.count(";") > first.count(",") else ","
    header = first.split(sep)
    try:
        positions = _map_header(header, spec, lookup, name, folded)
    except FileRejected:
        return None
    if len(positions) != len(header):
        return None                      # a column the feed does not know (`STT`...): a template, read per file
    count = data.count(b"\n", end + 1) + (0 if data.endswith(b"\n") else 1)
    layout = (sep, len(header), tuple(positions.get(n, -1) for n in spec.names))
    return layout, memoryview(data)[end + 1:], count


def _wrong_rows(plain: _Plain, layout: tuple) -> bool:
    sep, width = layout[0].encode(), layout[1]
    return any(line.count(sep) != width - 1 for line in plain.body.split(b"\n")[:-1])


def _read_plain(group: _PlainGroup, plains: list[_Plain], spec: FeedSpec) -> tuple[pa.Table | None, list[_Plain]]:
    """Read files of one layout in one pass: (their rows as a table, files that must go the per-file way)."""
    sep, width, positions = group.layout
    names = [f"c{i}" for i in range(width)]
    invalid = []

    def on_invalid_row(row) -> str:
        invalid.append(row)
        return "skip"

    data = (pa.py_buffer(group.buffer) if len(plains) == len(group.files)
            else pa.py_buffer(b"".join(memoryview(group.buffer)[p.start:p.end] for p in plains)))
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=sep, quote_char=False, escape_char=False,
                                             newlines_in_values=False, ignore_empty_lines=True,
                                             invalid_row_handler=on_invalid_row),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False,
                                                 check_utf8=True))
    except pa.ArrowInvalid:
        del data
        # bytes that are not UTF-8 (checked here, not file by file before: that cost more than the read): those
        # files the per-file way; anything else the checks above missed: every file the per-file way
        return _retry_without(group, plains, [p for p in plains if not _is_utf8(p.body)], spec)
    del data
    if invalid or table.num_rows != sum(p.rows for p in plains):
        return _retry_without(group, plains, [p for p in plains if _wrong_rows(p, group.layout)], spec)
    suspect = _template_like(table, spec, positions)
    if suspect is not None:
        counts = np.cumsum([p.rows for p in plains])
        files = set(np.searchsorted(counts, suspect, side="right").tolist())
        return _retry_without(group, plains, [p for k, p in enumerate(plains) if k in files], spec)
    columns = {}
    for name, position in zip(spec.names, positions, strict=True):
        columns[name] = table.column(position) if position >= 0 else pa.chunked_array(
            [pa.nulls(table.num_rows, pa.string())])
    return pa.table(columns), []


_CODE_LIKE = r"^[A-Za-z0-9_]{2,32}$"
_TOTAL_LIKE = r"(?i)^\s*(?:[0-9IVXLC]{1,6}\s*[.)]?\s*)?(?:t[oổ]ng|c[oộ]ng)"
_COLUMN_NUMBER_LIKE = r"^\(?\s*(?:[0-9]{1,3}|[A-Z])\s*\)?$"


def _template_like(table: pa.Table, spec: FeedSpec, positions: tuple[int, ...]) -> np.ndarray | None:
    """Positions of rows that may be template rows (no unit code, no figures, a total's label in the first column):
    their files go the per-file way, where chitieu.templates decides. None when there is none."""
    def column(name: str) -> pa.ChunkedArray:
        return table.column(positions[spec.names.index(name)])

    code = column("unit_code")
    suspect = pc.invert(pc.match_substring_regex(code, _CODE_LIKE))
    suspect = pc.or_(suspect, pc.match_substring_regex(code, r"^[IVXLC]+$"))
    figures = [column(c.name) for c in spec.columns
               if c.type in FIGURE_TYPES and positions[spec.names.index(c.name)] >= 0]
    blank = None
    for cells in figures:
        empty = pc.equal(pc.utf8_trim_whitespace(cells), "")
        blank = empty if blank is None else pc.and_(blank, empty)
    if blank is not None:
        suspect = pc.or_(suspect, blank)
    suspect = pc.or_(suspect, pc.match_substring_regex(table.column(0), _TOTAL_LIKE))
    numbers = _column_numbers_like(table)
    if numbers is not None:
        suspect = pc.or_(suspect, numbers)
    if not pc.any(suspect).as_py():
        return None
    return np.flatnonzero(suspect.to_numpy(zero_copy_only=False))


def _column_numbers_like(table: pa.Table) -> pa.ChunkedArray | None:
    """Rows that may be a row of column numbers (`1;2;...;11`, `(1);(2)`: every cell a small number or letter), even
    where the unit code's cell (`11`) reads as a code. None when no row's first cell is one."""
    mask = None
    for k in range(table.num_columns):
        cells = pc.utf8_trim_whitespace(table.column(k))
        token = pc.match_substring_regex(cells, _COLUMN_NUMBER_LIKE)
        mask = token if mask is None else pc.and_(mask, pc.or_(token, pc.equal(cells, "")))
        if k == 0 and not pc.any(mask).as_py():
            return None
    return mask


def _retry_without(group: _PlainGroup, plains: list[_Plain], bad: list[_Plain],
                   spec: FeedSpec) -> tuple[pa.Table | None, list[_Plain]]:
    if not bad:                          # cannot tell which file: every file the per-file way
        return None, plains
    bad_ids = {id(p) for p in bad}
    rest = [p for p in plains if id(p) not in bad_ids]
    if not rest:
        return None, bad
    table, more = _read_plain(group, rest, spec)
    return table, bad + more


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _RawColumns:
    """The raw cells of all files of a feed, column by column, in file order then row order: Arrow strings while
    every cell is text (CSV), Python objects once a spreadsheet number or date shows up."""

    def __init__(self, names: list[str]):
        self.names = names
        self.files: list[np.ndarray] = []
        self.rows: list[np.ndarray] = []
        self.pieces: list[dict] = []     # per piece: column -> pa.ChunkedArray (text) or list (any cells)

    def add_table(self, plains: list[_Plain], table: pa.Table) -> None:
        counts = np.array([p.rows for p in plains], dtype=np.int64)
        starts = np.repeat(np.cumsum(counts) - counts, counts)
        self.files.append(np.repeat(np.array([p.idx for p in plains], dtype=np.int64), counts))
        self.rows.append(np.arange(int(counts.sum()), dtype=np.int64) - starts + 2)
        self.pieces.append({n: table.column(n) for n in self.names})

    def add_cells(self, file_idx: int, cells: _Cells) -> None:
        n = len(cells.row_numbers)
        self.files.append(np.full(n, file_idx, dtype=np.int64))
        self.rows.append(np.asarray(cells.row_numbers, dtype=np.int64))
        self.pieces.append({name: list(cells.column(name)) for name in self.names})

    def frame(self) -> pd.DataFrame:
        """One frame: _file, _row and every column (string dtype when all text, object otherwise).

        Each file's rows are together and in order; files of different layouts are not interleaved back into
        file order (nothing downstream needs it, and it would copy every column)."""
        files, rows = np.concatenate(self.files), np.concatenate(self.rows)
        out = {"_file": files, "_row": rows}
        for name in self.names:
            chunks = [piece.pop(name) for piece in self.pieces]
            text = _as_arrow(chunks)
            if text is not None:
                out[name] = pd.Series(pd.arrays.ArrowStringArray(text))
            else:
                values = np.empty(len(files), dtype=object)
                values[:] = [v for chunk in chunks for v in (chunk.to_pylist() if isinstance(
                    chunk, pa.ChunkedArray) else chunk)]
                out[name] = pd.Series(values, dtype=object)
        self.pieces = []
        return pd.DataFrame(out)


_ONE_CHUNK_BYTES = 1 << 30  # a string array's offsets are 32-bit: bigger columns stay chunked


def _as_arrow(chunks: list) -> pa.ChunkedArray | None:
    """The chunks as one Arrow string column, or None when some cell is not text."""
    arrays = []
    for chunk in chunks:
        if isinstance(chunk, pa.ChunkedArray):
            arrays += chunk.chunks
            continue
        try:
            arrays.append(pa.array(chunk, type=pa.string()))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None
    column = pa.chunked_array(arrays, type=pa.string())
    if column.num_chunks > 1 and column.nbytes < _ONE_CHUNK_BYTES:
        # one chunk per file makes pandas' and Arrow's take/filter slow (1 M cells in 3,321 chunks: 13× slower)
        column = pa.chunked_array([column.combine_chunks()])
    return column


def _unreadable(landed: LandedFile, exc: OSError) -> FileRejected:
    return FileRejected(landed.rel_path, f"cannot read file: {exc.strerror}", check="file_readable")


def read_contents(landed: LandedFile) -> bytes | FileRejected:
    """The file's bytes, or why they cannot be parsed (too large, empty, unreadable)."""
    try:
        return _read_bytes(landed)
    except FileRejected as exc:
        return exc
    except OSError as exc:
        return _unreadable(landed, exc)


@task(name="parse_feed", cache_policy=NO_CACHE)
def parse_feed(feed: str, files: list[LandedFile], contents: list[bytes | FileRejected] | None = None) -> ParsedFeed:
    """Read every file of one feed, map headers, and type all their cells in one vectorised pass.

    `contents`: the files' read_contents() results when the caller read them beforehand (each is released here once
    used); by default each file is read in turn."""
    spec = feed_spec(feed)
    lookup, folded = spec.header_lookup, {}
    columns, rejected = _RawColumns(spec.names), {}
    plain: dict[tuple, _PlainGroup] = {}
    per_file: list[tuple[int, bytes | None]] = []
    for idx, landed in enumerate(files):
        if contents is None:
            data = read_contents(landed)
        else:
            data, contents[idx] = contents[idx], None
        if isinstance(data, FileRejected):
            rejected[idx] = data
            continue
        found = _plain_csv(data, spec, lookup, landed.rel_path, folded) if landed.extension == ".csv" else None
        if found is None:
            per_file.append((idx, data))
        else:
            layout, rows, count = found
            if layout not in plain:
                plain[layout] = _PlainGroup(layout)
            plain[layout].add(idx, rows, count)
        del data, found
    for layout in list(plain):
        group = plain.pop(layout)
        table, others = _read_plain(group, group.files, spec)
        if table is not None:
            other_ids = {id(p) for p in others}
            columns.add_table([p for p in group.files if id(p) not in other_ids], table)
        per_file += [(p.idx, None) for p in others]
        del group, table
    set_aside: dict[int, list[SetAside]] = {}
    totals: dict[int, list[TotalRow]] = {}
    for idx, data in sorted(per_file, key=lambda item: item[0]):
        try:
            cells = _read_cells(files[idx], spec, lookup, folded, data)
            if cells.totals:
                totals[idx] = _typed_totals(cells.totals, spec)
            columns.add_cells(idx, cells)
            if cells.set_aside:
                set_aside[idx] = cells.set_aside
        except FileRejected as exc:
            rejected[idx] = exc
        except OSError as exc:
            rejected[idx] = _unreadable(files[idx], exc)
        except Exception as exc:  # a hostile file must never stop its feed: it alone is rejected, with the reason
            rejected[idx] = FileRejected(files[idx].rel_path, f"cannot read file: {type(exc).__name__}",
                                         check="file_structure")
    if columns.files:
        raw = columns.frame()
    else:
        raw = pd.DataFrame(columns=["_file", "_row", *spec.names]).astype({c: "object" for c in spec.names})
    del columns, plain
    typed, cell_errors = _type_columns(raw, spec)
    del raw
    typed["_slice"] = _slice_keys(typed, spec)
    return ParsedFeed(feed, files, typed, cell_errors, rejected, set_aside, totals)


def _typed_totals(totals: list[TotalRow], spec: FeedSpec) -> list[TotalRow]:
    """The total rows with their figures typed as the data rows' are (a cell that does not parse is left out)."""
    out = []
    for total in totals:
        values = {}
        for column, raw in total.cells.items():
            kind = spec.column(column).type
            if kind not in ("int", "decimal") or raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            parsed, bad = PARSERS[kind](pd.Series([raw], dtype=object))
            if not bad.iloc[0] and pd.notna(parsed.iloc[0]):
                values[column] = float(parsed.iloc[0])
        out.append(TotalRow(total.row, total.label, values, total.covers))
    return out
