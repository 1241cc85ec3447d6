"""Parse landed files of one feed into one typed DataFrame, keeping cell errors with file, row and column."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from chitieu.errors import FileRejected
from chitieu.feeds import FeedSpec, feed_spec, normalize_header
from chitieu.landing import LandedFile
from chitieu.values import PARSERS

__all__ = ["ParsedFeed", "parse_feed", "read_file"]

MAX_FILE_BYTES = 150 * 1024 * 1024
MAX_XLSX_UNCOMPRESSED = 400 * 1024 * 1024
MAX_TEXT_CHARS = 2000
HEADER_SEARCH_ROWS = 10


@dataclass
class ParsedFeed:
    """All files of one feed in a run: typed rows, cell errors, and files rejected whole."""

    feed: str
    files: list[LandedFile]
    rows: pd.DataFrame                     # canonical columns + _file (index into files) + _row
    cell_errors: pd.DataFrame              # _file, _row, column, value, check
    rejected: dict[int, FileRejected] = field(default_factory=dict)


# --- reading one file into raw cells ------------------------------------------------------


def _decode(data: bytes, name: str) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise FileRejected(name, "file is UTF-16 encoded; save it as UTF-8 CSV", check="file_encoding")
    if b"\x00" in data[:4096]:
        raise FileRejected(name, "file contains binary data, not text", check="file_encoding")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileRejected(name, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}); "
                                 "save it as UTF-8 CSV", row=line, check="file_encoding") from None


def _read_csv(data: bytes, name: str) -> tuple[list[str], pd.DataFrame, int]:
    text = _decode(data, name)
    first_line = text.split("\n", 1)[0]
    sep = ";" if first_line.count(";") > first_line.count(",") else ","
    header = next(csv.reader([first_line], delimiter=sep), [])
    _check_field_counts(text, sep, len(header), name)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                            header=0, index_col=False, skip_blank_lines=True, engine="c")
    except pd.errors.ParserError as exc:
        raise FileRejected(name, f"malformed CSV: {exc}".rstrip("\n"), check="file_structure") from None
    except pd.errors.EmptyDataError:
        raise FileRejected(name, "file is empty", check="file_not_empty") from None
    frame.columns = header if len(header) == frame.shape[1] else frame.columns
    return list(frame.columns), frame, 2


def _check_field_counts(text: str, sep: str, expected: int, name: str) -> None:
    """Refuse a row with fewer fields than the header (pandas would silently pad it)."""
    lines = pd.Series(text.splitlines())
    if '"' in text:
        counts = pd.Series([len(r) - 1 for r in csv.reader(lines, delimiter=sep)])
    else:
        counts = lines.str.count(sep)
    blank = lines.str.strip() == ""
    wrong = (counts != expected - 1) & ~blank
    wrong.iloc[0] = False
    if wrong.any():
        line = int(wrong.to_numpy().nonzero()[0][0])
        fields = int(counts.iloc[line]) + 1
        hint = "truncated row?" if fields < expected else "unquoted separator in a value?"
        raise FileRejected(name, f"row has {fields} fields where the header has {expected} ({hint})",
                           row=line + 1, check="file_structure")


def _read_json(data: bytes, name: str) -> tuple[list[str], pd.DataFrame, int]:
    try:
        payload = json.loads(_decode(data, name))
    except json.JSONDecodeError as exc:
        raise FileRejected(name, f"invalid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                           row=exc.lineno, check="file_structure") from None
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


def _read_xlsx(data: bytes, name: str, lookup: dict[str, str]) -> tuple[list[str], pd.DataFrame, int]:
    import openpyxl  # imported lazily: only Excel files need it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise FileRejected(name, "not a valid .xlsx workbook (not a zip archive)", check="file_structure") from None
    if expanded > MAX_XLSX_UNCOMPRESSED:
        raise FileRejected(name, f"workbook expands to {expanded // 2**20} MB; refusing to open it",
                           check="file_size")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for corrupt workbooks
        raise FileRejected(name, f"cannot open workbook: {type(exc).__name__}", check="file_structure") from None
    try:
        sheet = book.worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
    finally:
        book.close()
    header_at = None
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        hits = sum(1 for cell in row if cell is not None and normalize_header(cell) in lookup)
        if hits >= 2:
            header_at = i
            break
    if header_at is None:
        raise FileRejected(name, f"no header row found in the first {HEADER_SEARCH_ROWS} rows of the first sheet",
                           check="column_present")
    header = ["" if c is None else str(c) for c in rows[header_at]]
    body = [list(r[: len(header)]) + [None] * (len(header) - len(r)) for r in rows[header_at + 1:]]
    frame = pd.DataFrame(body, columns=range(len(header)), dtype=object)
    frame.columns = header
    frame.index = range(header_at + 2, header_at + 2 + len(frame))  # sheet row numbers
    empty = frame.map(lambda v: v is None or (isinstance(v, str) and not v.strip())).all(axis=1)
    frame = frame[~empty]
    return header, frame, None


def read_file(landed: LandedFile, spec: FeedSpec) -> pd.DataFrame:
    """Raw cells of one file under canonical column names, indexed by the file's own row numbers."""
    name = landed.rel_path
    if landed.size_bytes > MAX_FILE_BYTES:
        raise FileRejected(name, f"file is {landed.size_bytes // 2**20} MB, over the "
                                 f"{MAX_FILE_BYTES // 2**20} MB limit; split it", check="file_size")
    data = landed.path.read_bytes()
    if not data.strip():
        raise FileRejected(name, "file is empty", check="file_not_empty")
    lookup = spec.header_lookup
    if landed.extension == ".csv":
        header, frame, first_row = _read_csv(data, name)
    elif landed.extension == ".json":
        header, frame, first_row = _read_json(data, name)
    else:
        header, frame, first_row = _read_xlsx(data, name, lookup)
    if first_row is not None:
        frame.index = range(first_row, first_row + len(frame))
    mapped: dict[str, str] = {}
    for raw_name in header:
        canonical = lookup.get(normalize_header(raw_name))
        if canonical is None:
            continue
        if canonical in mapped.values():
            raise FileRejected(name, f"two columns mean {canonical!r} ({raw_name!r} repeats it)",
                               column=raw_name, check="column_unique")
        mapped[raw_name] = canonical
    for col in spec.columns:
        if col.required and col.name not in mapped.values():
            raise FileRejected(name, f"required column {col.name!r} ({col.label_vi}) is missing",
                               column=col.name, check="column_present")
    if frame.empty:
        raise FileRejected(name, "file has a header but no data rows", check="file_has_rows")
    frame = frame.loc[:, ~pd.Index(frame.columns).duplicated()]
    frame = frame[[c for c in frame.columns if c in mapped]].rename(columns=mapped)
    for col in spec.names:
        if col not in frame.columns:
            frame[col] = None
    return frame[spec.names]


# --- typing all files of a feed at once -----------------------------------------------------


def _type_columns(raw: pd.DataFrame, spec: FeedSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    typed = raw[["_file", "_row"]].copy()
    errors = []
    for col in spec.columns:
        values, bad = PARSERS[col.type](raw[col.name])
        if col.type == "text":
            too_long = values.str.len().fillna(0) > MAX_TEXT_CHARS
            bad = bad | too_long
            values = values.where(~too_long)
        typed[col.name] = values
        if bad.any():
            errors.append(pd.DataFrame({
                "_file": raw.loc[bad, "_file"], "_row": raw.loc[bad, "_row"], "column": col.name,
                "value": raw.loc[bad, col.name].astype("string").str.slice(0, 80),
                "check": f"{col.type}_format",
            }))
    cell_errors = (pd.concat(errors, ignore_index=True) if errors
                   else pd.DataFrame(columns=["_file", "_row", "column", "value", "check"]))
    return typed, cell_errors


def _slice_keys(typed: pd.DataFrame, spec: FeedSpec) -> pd.Series:
    if spec.feed == "disbursement":
        return typed["as_of_date"].dt.strftime("%Y-%m").astype("string")
    parts = [typed[c].astype("string") for c in spec.slice]
    key = parts[0]
    for part in parts[1:]:
        key = key + "@" + part
    return key


@task(name="parse_feed", cache_policy=NO_CACHE)
def parse_feed(feed: str, files: list[LandedFile]) -> ParsedFeed:
    """Read every file of one feed, map headers, and type all their cells in one vectorised pass."""
    spec = feed_spec(feed)
    frames, rejected = [], {}
    for idx, landed in enumerate(files):
        try:
            frame = read_file(landed, spec)
        except FileRejected as exc:
            rejected[idx] = exc
            continue
        except OSError as exc:
            rejected[idx] = FileRejected(landed.rel_path, f"cannot read file: {exc.strerror}", check="file_readable")
            continue
        frame.insert(0, "_row", frame.index.astype("int64"))
        frame.insert(0, "_file", idx)
        frames.append(frame.reset_index(drop=True))
    if frames:
        raw = pd.concat(frames, ignore_index=True)
    else:
        raw = pd.DataFrame(columns=["_file", "_row", *spec.names])
    raw = raw.astype({c: "object" for c in spec.names})
    typed, cell_errors = _type_columns(raw, spec)
    typed["_slice"] = _slice_keys(typed, spec)
    return ParsedFeed(feed, files, typed, cell_errors, rejected)
