"""Vectorised parsers for Vietnamese cell values: numbers, dates, periods, project groups.

Each parser takes a Series of raw cells (str, numbers, datetimes or None) and returns
(parsed Series, boolean mask of cells that were present but did not parse). Every parser is elementwise, which
the fast paths rely on: a column of string dtype (plain CSV cells: text only, no spreadsheet numbers or dates)
is parsed once per distinct cell where cells repeat (codes, dates, periods), and plain digit strings are cast
directly; the general path decides everything else, so both give the same answer cell by cell.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from chitieu.feeds import normalize_header
from chitieu.vocabulary import PROJECT_GROUP_ALIASES

__all__ = ["parse_date", "parse_month", "parse_number", "parse_period", "parse_project_group", "parse_text"]

_VN_GROUPED = r"[+-]?[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?"      # 1.234.567,5  1.795
_VN_PLAIN = r"[+-]?[0-9]+(?:,[0-9]+)?"                          # 1795  23,49
_DOT_DECIMAL = r"[+-]?[0-9]*\.[0-9]+"                           # 23.49  .5 (single dot, not a 3-digit group)
_MAX_EXACT = 2.0**53
_PLAIN_DIGITS = r"[0-9]{1,15}"                                  # 1795: exact as a float, nothing to clean


def _is_text(raw: pd.Series) -> bool:
    """Every cell is a string or missing (string dtype): no spreadsheet numbers or dates to tell apart."""
    return isinstance(raw.dtype, pd.StringDtype)


def _cells(text: pd.Series) -> pd.Series:
    """String-dtype cells as the general path takes them: Python objects, None where missing."""
    return text.astype(object).where(text.notna(), None)


def _per_distinct(parser, raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Run an elementwise parser once per distinct cell and spread the results (columns of few distinct values)."""
    codes, uniques = pd.factorize(raw, use_na_sentinel=False)
    if len(uniques) * 2 > len(raw):
        return parser(_cells(raw))
    values, bad = parser(_cells(pd.Series(uniques, dtype=raw.dtype)))
    return values.take(codes).set_axis(raw.index), bad.take(codes).set_axis(raw.index)


def _as_text(raw: pd.Series) -> pd.Series:
    """Cells as stripped strings (NA where empty); numbers written by spreadsheets keep their value."""
    text = raw.astype("string").str.strip()
    return text.mask(text == "")


def _present(raw: pd.Series) -> pd.Series:
    return _as_text(raw).notna()


def parse_number(raw: pd.Series, percent: bool = True) -> tuple[pd.Series, pd.Series]:
    """Vietnamese usage first: '.' groups thousands, ',' marks decimals; a lone '.' not before 3 digits is a point.
    A trailing '%' (a percent cell as the clerk sees it, `62,5%`) is read as the number shown, or, with `percent`
    false (a column that is no rate), refused: `80%` is not a count of dossiers."""
    if _is_text(raw) and len(raw):
        plain = raw.str.fullmatch(_PLAIN_DIGITS).fillna(False).to_numpy(dtype=bool)
        if plain.any():
            out = pd.Series(np.nan, index=raw.index, dtype="float64")
            bad = pd.Series(False, index=raw.index)
            digits = pa.chunked_array([pa.array(raw[plain].array, type=pa.string())])
            out.iloc[plain.nonzero()[0]] = pc.cast(digits, pa.int64()).to_numpy().astype("float64")
            rest = ~plain
            if rest.any():
                values, rest_bad = _parse_number_cells(_cells(raw[rest]), percent)
                out.iloc[rest.nonzero()[0]] = values.to_numpy()
                bad.iloc[rest.nonzero()[0]] = rest_bad.to_numpy()
            return out, bad
        return _parse_number_cells(_cells(raw), percent)
    return _parse_number_cells(raw, percent)


def _parse_number_cells(raw: pd.Series, percent: bool = True) -> tuple[pd.Series, pd.Series]:
    out = pd.Series(np.nan, index=raw.index, dtype="float64")
    is_num = raw.map(lambda v: isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool),
                     na_action="ignore").fillna(False).astype(bool)
    if is_num.any():
        out[is_num] = pd.to_numeric(raw[is_num], errors="coerce").astype("float64")
    text = _as_text(raw.where(~is_num))
    text = text.str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    shown_percent = text.str.endswith("%").fillna(False)
    text = text.str.rstrip("%")
    grouped = text.str.fullmatch(_VN_GROUPED).fillna(False)
    plain = text.str.fullmatch(_VN_PLAIN).fillna(False)
    dotted = text.str.fullmatch(_DOT_DECIMAL).fillna(False) & ~grouped
    vn = grouped | plain
    cleaned = text.where(~vn, text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    ok = vn | dotted
    if ok.any():
        out[ok] = pd.to_numeric(cleaned[ok], errors="coerce").astype("float64")  # nullable Int64 if one overflows
    bad = _present(raw) & out.isna() | ~np.isfinite(out.fillna(0))
    if not percent:
        bad = bad | shown_percent
    return out.where(~bad), bad


def parse_integer(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A number that must be whole (counts, VND amounts): never a percentage."""
    values, bad = parse_number(raw, percent=False)
    fractional = values.notna() & ((values % 1 != 0) | (values.abs() >= _MAX_EXACT))
    return values.where(~fractional).astype("Int64"), bad | fractional


def _cell_dates(raw: pd.Series) -> pd.Series:
    """Spreadsheet date cells as Timestamps (NaT elsewhere)."""
    is_date = raw.map(lambda v: isinstance(v, (dt.date, pd.Timestamp)), na_action="ignore").fillna(False).astype(bool)
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us]")
    if is_date.any():
        out[is_date] = pd.to_datetime(raw[is_date].map(lambda v: pd.Timestamp(v).normalize()))
    return out


def parse_date(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """YYYY-MM-DD, dd/mm/yyyy or a spreadsheet date cell."""
    if _is_text(raw):
        return _per_distinct(_parse_date_cells, raw)
    return _parse_date_cells(raw)


def _parse_date_cells(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    out = _cell_dates(raw)
    text = _as_text(raw.where(out.isna()))
    iso = text.str.fullmatch(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[ T]00:00(?::00)?)?").fillna(False)
    dmy = text.str.fullmatch(r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}").fillna(False)
    if iso.any():
        out[iso] = pd.to_datetime(text[iso].str.slice(0, 10).str.strip(), format="%Y-%m-%d", errors="coerce")
    if dmy.any():
        out[dmy] = pd.to_datetime(text[dmy], format="%d/%m/%Y", errors="coerce")
    bad = _present(raw) & out.isna()
    return out, bad


def parse_month(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A month as canonical 'YYYY-MM' from 'YYYY-MM', 'MM/YYYY' or a date cell (Excel turns 2026-03 into a date)."""
    if _is_text(raw):
        return _per_distinct(_parse_month_cells, raw)
    return _parse_month_cells(raw)


def _parse_month_cells(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    cells = _cell_dates(raw)
    out = cells.dt.strftime("%Y-%m").astype("string")
    text = _as_text(raw.where(cells.isna()))
    iso = text.str.extract(r"^([0-9]{4})-([0-9]{1,2})$")
    mdy = text.str.extract(r"^([0-9]{1,2})/([0-9]{4})$")
    year = iso[0].fillna(mdy[1])
    month = pd.to_numeric(iso[1].fillna(mdy[0]), errors="coerce")
    valid = year.notna() & month.between(1, 12)
    canon = year + "-" + month.astype("Int64").astype("string").str.zfill(2)
    out = out.where(out.notna(), canon.where(valid))
    bad = _present(raw) & out.isna()
    return out, bad


def parse_period(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """'YYYY', 'YYYY-Qn' or 'YYYY-MM', canonicalised."""
    if _is_text(raw):
        return _per_distinct(_parse_period_cells, raw)
    return _parse_period_cells(raw)


def _parse_period_cells(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    months, _ = parse_month(raw)
    text = _as_text(raw).str.upper()
    year = text.where(text.str.fullmatch(r"[0-9]{4}").fillna(False))
    quarter = text.str.extract(r"^([0-9]{4})-?Q([1-4])$")
    quarter = (quarter[0] + "-Q" + quarter[1]).astype("string")
    out = months.fillna(quarter).fillna(year)
    # a plain number like 2026 read from a spreadsheet comes as "2026" or "2026.0"
    numeric_year = text.str.fullmatch(r"[0-9]{4}\.0").fillna(False)
    out = out.where(~(out.isna() & numeric_year), text.str.slice(0, 4))
    bad = _present(raw) & out.isna()
    return out, bad


_GROUPS = PROJECT_GROUP_ALIASES


def parse_project_group(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """English code or Vietnamese name of a project group."""
    if _is_text(raw):
        return _per_distinct(_parse_project_group_cells, raw)
    return _parse_project_group_cells(raw)


def _parse_project_group_cells(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = _as_text(raw)
    out = text.map(lambda v: _GROUPS.get(normalize_header(v)), na_action="ignore").astype("string")
    bad = text.notna() & out.isna()
    return out, bad


def parse_text(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Free text, stripped; numbers from spreadsheets rendered without a trailing '.0'."""
    def render(v):
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return v
    text = _as_text(raw if _is_text(raw) else raw.map(render, na_action="ignore"))
    return text, pd.Series(False, index=raw.index)


def parse_code(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Unit codes: stripped and upper-cased."""
    if _is_text(raw):
        return _per_distinct(_parse_code_cells, raw)
    return _parse_code_cells(raw)


def _parse_code_cells(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    text, bad = parse_text(raw)
    return text.str.upper(), bad


PARSERS = {
    "code": parse_code,
    "indicator_code": parse_text,
    "text": parse_text,
    "int": parse_integer,
    "decimal": parse_number,
    "date": parse_date,
    "month": parse_month,
    "period": parse_period,
    "project_group": parse_project_group,
}
