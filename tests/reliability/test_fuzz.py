"""Fuzzing (hypothesis): the cell parsers, header folding and the whole parse step on generated files.

Whatever a unit sends, nothing escapes but chitieu's own errors: a cell that does not parse is flagged, a file
that cannot be read is a FileRejected, and the run goes on. The default run tries a few dozen examples per
property (profile "reliability-fast"); `make test-slow` tries hundreds (profile "reliability-slow").
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chitieu.catalog import read_catalog
from chitieu.errors import ChitieuError
from chitieu.feeds import feed_spec, normalize_header
from chitieu.landing import LandedFile
from chitieu.values import PARSERS, parse_integer, parse_number
from tests.conftest import CATALOG

FEEDS = ("dossier", "disbursement", "tasks", "admin_ops", "indicator")
_COUNTER = itertools.count()

# --- strategies ------------------------------------------------------------------------------------------

_NUMBERISH = "0123456789.,-+ %\u00a0"
_PERIODISH = "0123456789-/Qq "
_TRICKY = "\"';,\n\r\t\x00\x1b\u2028\ufeff=@[]{}<>\\đĐơỪ"
text_cells = st.one_of(
    st.text(alphabet=_NUMBERISH, max_size=14),
    st.text(alphabet=_PERIODISH, max_size=10),
    st.text(alphabet=_TRICKY + "abcXYZ", max_size=12),
    st.text(max_size=20),
    st.sampled_from(["", " ", "2026-01", "01/2026", "2026-Q1", "2026", "1.795", "23,49", "1.234.567,5", "23.49",
                     ".5", "2026-02-30", "31/12/2026", "hoàn thành", "Chuyển tiếp", "new", "9" * 400, "NaN", "inf",
                     "-0", "+1", "1e5", "0x10", "١٢٣", "１２３", "2026-13", "0000-01-01"]),
)
any_cells = st.one_of(
    st.none(), text_cells,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.times(), st.timedeltas(),  # openpyxl returns these for time-formatted cells
    st.just(np.int64(7)), st.just(np.float32(2.5)), st.just(pd.NA), st.just(float("nan")),
)


def _check_parser_result(kind: str, raw: pd.Series, values: pd.Series, bad: pd.Series) -> None:
    assert len(values) == len(raw) == len(bad)
    assert values.index.equals(raw.index) and bad.index.equals(raw.index)
    flags = pd.array(bad, dtype="boolean")
    assert not flags.isna().any(), f"{kind}: NA in the bad mask"
    if kind in ("text", "code", "indicator_code"):
        return
    present = raw.astype("string").str.strip().fillna("") != ""
    flagged = flags.to_numpy(dtype=bool)
    parsed = values.notna().to_numpy(dtype=bool)
    assert not (flagged & parsed).any(), f"{kind}: a cell both parsed and flagged"
    assert not (present.to_numpy(dtype=bool) & ~flagged & ~parsed).any(), f"{kind}: a present cell silently lost"


@given(st.lists(any_cells, max_size=12))
def prop_parsers_never_raise_on_any_cell(cells):
    """Every parser takes any mix of spreadsheet and JSON cell values."""
    raw = pd.Series(cells, dtype=object)
    for kind, parser in PARSERS.items():
        values, bad = parser(raw)
        _check_parser_result(kind, raw, values, bad)


@given(st.lists(st.one_of(st.none(), text_cells), max_size=12), st.integers(min_value=0, max_value=3))
def prop_text_fast_path_equals_general_path(cells, repeat):
    """A plain-CSV column (string dtype, parsed once per distinct cell) reads exactly as the general path."""
    cells = cells * (repeat + 1)  # repeated cells take the per-distinct path
    assume(all("\x00" not in c for c in cells if c is not None))
    fast = pd.Series(pd.array(cells, dtype="string"))
    general = pd.Series([c for c in cells], dtype=object)
    for kind, parser in PARSERS.items():
        fast_values, fast_bad = parser(fast)
        general_values, general_bad = parser(general)
        _check_parser_result(kind, fast, fast_values, fast_bad)
        assert fast_bad.astype(bool).tolist() == general_bad.astype(bool).tolist(), (kind, cells)
        left = [None if pd.isna(v) else v for v in fast_values.tolist()]
        right = [None if pd.isna(v) else v for v in general_values.tolist()]
        assert left == right, (kind, cells)


def _vn_grouped(n: int) -> str:
    return f"{n:,}".replace(",", ".")


@given(st.integers(min_value=-(10**15), max_value=10**15), st.integers(min_value=0, max_value=99),
       st.sampled_from(["plain", "grouped", "cell"]))
def prop_vietnamese_numbers_round_trip(n, cents, style):
    """1.795 = 1795, 1.234.567,5 = 1234567.5, and a spreadsheet number is itself."""
    cell = {"plain": str(n), "grouped": _vn_grouped(n), "cell": n}[style]
    values, bad = parse_integer(pd.Series([cell], dtype=object))
    assert not bad.iloc[0] and int(values.iloc[0]) == n
    if style != "cell" and n >= 0:
        text = f"{cell},{cents:02d}"
        values, bad = parse_number(pd.Series([text], dtype=object))
        assert not bad.iloc[0] and float(values.iloc[0]) == pytest.approx(float(Decimal(f"{n}.{cents:02d}")))


@given(st.text(max_size=40))
def prop_normalize_header_folds_to_ascii(text):
    """Folded headers are [0-9a-z] only, folding is idempotent, and case or spacing never matters."""
    folded = normalize_header(text)
    assert all(ch in "0123456789abcdefghijklmnopqrstuvwxyz" for ch in folded)
    assert normalize_header(folded) == folded
    assert normalize_header(f"  {text.upper()} ") == normalize_header(text.upper())


@given(st.sampled_from(FEEDS), st.data())
def prop_every_label_folds_to_its_column(feed, data):
    """Any casing, spacing or decomposition of a Vietnamese label still names its column."""
    import unicodedata

    spec = feed_spec(feed)
    column = data.draw(st.sampled_from(spec.columns))
    label = data.draw(st.sampled_from([column.label_vi, column.name]))
    form = data.draw(st.sampled_from(["NFC", "NFD"]))
    variant = unicodedata.normalize(form, data.draw(st.sampled_from([label.upper(), label.lower(), label.title()])))
    spaced = data.draw(st.sampled_from(["", " ", "_", "  "])).join(variant.split(" "))
    assert spec.header_lookup[normalize_header(spaced)] == column.name


# --- the parse step on generated files -------------------------------------------------------------------


def _landed(folder, feed: str, name: str, data: bytes) -> LandedFile:
    path = folder / f"{next(_COUNTER)}_{name}"
    path.write_bytes(data)
    return LandedFile(path, f"TTPVHCC/{feed}/{name}", "TTPVHCC", feed, "0" * 64, len(data),
                      dt.datetime(2026, 11, 1, tzinfo=dt.UTC))


def _parse_and_validate(folder, feed: str, files: list[tuple[str, bytes]]) -> None:
    """parse_feed and validate_feed on the files: only chitieu's own errors may come out."""
    from tasks.parse import parse_feed
    from tasks.validate import validate_feed

    landed = [_landed(folder, feed, name, data) for name, data in files]
    try:
        parsed = parse_feed.fn(feed, landed)
    except ChitieuError:
        return
    assert set(parsed.rejected) <= set(range(len(landed)))
    assert parsed.rows["_row"].ge(1).all()
    verdicts = validate_feed.fn(parsed, _catalog(), dt.date(2026, 11, 20), None)
    assert set(verdicts) == set(range(len(landed)))
    for idx, verdict in verdicts.items():
        assert verdict.status in ("loaded", "loaded_with_warnings", "rejected")
        if idx in parsed.rejected:
            assert verdict.status == "rejected" and landed[idx].rel_path in verdict.failures[0].message
        json.dumps([f.sample for f in verdict.failures], ensure_ascii=False)


_CATALOG = []


def _catalog():
    if not _CATALOG:
        _CATALOG.append(read_catalog(CATALOG))
    return _CATALOG[0]


def _header(data, feed: str) -> list[str]:
    spec = feed_spec(feed)
    names = data.draw(st.lists(st.sampled_from([*spec.names, *(c.label_vi for c in spec.columns), "ghi chú", "",
                                                "unit code", "MÃ ĐƠN VỊ"]), min_size=0, max_size=12))
    if data.draw(st.booleans()):  # most files carry every required column
        names = [c.name for c in spec.columns] + names[:2]
    return names


def _row_cells(data, width: int) -> list:
    return data.draw(st.lists(st.one_of(text_cells, st.integers(-(10**20), 10**20).map(str),
                                        st.sampled_from(["TTPVHCC", "2026-03", "2026-03-15", "new", "forest_cover_pct",
                                                         "12", "1.200", ""])),
                              min_size=max(width - 1, 0), max_size=width + 1))


@given(st.sampled_from(FEEDS), st.data())
def prop_parse_step_on_generated_csv(folder, feed, data):
    header = _header(data, feed)
    rows = data.draw(st.lists(st.just(None), max_size=6))
    sep = data.draw(st.sampled_from([",", ";"]))
    out = io.StringIO()
    import csv

    writer = csv.writer(out, delimiter=sep, lineterminator=data.draw(st.sampled_from(["\n", "\r\n"])),
                        quoting=data.draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC])))
    writer.writerow(header)
    for _ in rows:
        writer.writerow(_row_cells(data, len(header)))
    body = out.getvalue().encode("utf-8")
    if data.draw(st.booleans()):
        body = b"\xef\xbb\xbf" + body
    if data.draw(st.integers(0, 5)) == 0:  # now and then, damage it
        cut = data.draw(st.integers(0, len(body)))
        body = body[:cut] + data.draw(st.binary(max_size=8)) + body[cut:]
    _parse_and_validate(folder, feed, [("f.csv", body), ("g.csv", body[: len(body) // 2])])


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**25), 10**25), st.floats(), text_cells),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children,
                                                                                max_size=3)),
    max_leaves=12)


@given(st.sampled_from(FEEDS), st.data())
def prop_parse_step_on_generated_json(folder, feed, data):
    spec = feed_spec(feed)
    keys = st.sampled_from([*spec.names, *(c.label_vi for c in spec.columns), "x"])
    records = data.draw(st.lists(st.dictionaries(keys, st.one_of(json_values, text_cells), max_size=8), max_size=5))
    shape = data.draw(st.sampled_from(["list", "rows", "other"]))
    payload = {"list": records, "rows": {"rows": records}, "other": data.draw(json_values)}[shape]
    body = json.dumps(payload, ensure_ascii=data.draw(st.booleans()), allow_nan=True).encode("utf-8")
    _parse_and_validate(folder, feed, [("f.json", body)])


@given(st.sampled_from(FEEDS), st.data())
def prop_parse_step_on_generated_xlsx(folder, feed, data):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    printable = text_cells.filter(lambda s: all(ch.isprintable() for ch in s))  # what openpyxl can write
    for _ in range(data.draw(st.integers(0, 3))):
        sheet.append([data.draw(printable)])
    header = _header(data, feed)
    sheet.append(header)
    cell = st.one_of(st.none(), printable,
                     st.integers(-(10**12), 10**12), st.floats(allow_nan=False, allow_infinity=False),
                     st.booleans(), st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1)),
                     st.sampled_from(["=1+1", "=A1", "=cmd|' /C calc'!A0"]))
    for _ in range(data.draw(st.integers(0, 4))):
        sheet.append(data.draw(st.lists(cell, max_size=len(header) + 1)))
    out = io.BytesIO()
    book.save(out)
    _parse_and_validate(folder, feed, [("f.xlsx", out.getvalue())])


@given(st.sampled_from(FEEDS), st.sampled_from([".csv", ".json", ".xlsx"]), st.binary(max_size=300))
def prop_parse_step_on_random_bytes(folder, feed, extension, body):
    _parse_and_validate(folder, feed, [(f"f{extension}", body)])


PROPERTIES = {
    "parsers_never_raise_on_any_cell": prop_parsers_never_raise_on_any_cell,
    "text_fast_path_equals_general_path": prop_text_fast_path_equals_general_path,
    "vietnamese_numbers_round_trip": prop_vietnamese_numbers_round_trip,
    "normalize_header_folds_to_ascii": prop_normalize_header_folds_to_ascii,
    "every_label_folds_to_its_column": prop_every_label_folds_to_its_column,
    "parse_step_on_generated_csv": prop_parse_step_on_generated_csv,
    "parse_step_on_generated_json": prop_parse_step_on_generated_json,
    "parse_step_on_generated_xlsx": prop_parse_step_on_generated_xlsx,
    "parse_step_on_random_bytes": prop_parse_step_on_random_bytes,
}


def _run(name: str, profile: str, tmp_path) -> None:
    """Run one property: as decorated (the fast profile, loaded by conftest) or under another profile (a property
    takes one @settings in a session, so only the slow variant decorates)."""
    prop = PROPERTIES[name]
    if profile != "reliability-fast":
        prop = settings(settings.get_profile(profile))(prop)
    if name.startswith("parse_step"):
        prop(tmp_path)
    else:
        prop()


@pytest.mark.parametrize("name", PROPERTIES)
def test_fuzz(name, tmp_path):
    _run(name, "reliability-fast", tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", PROPERTIES)
def test_fuzz_many_examples(name, tmp_path):
    _run(name, "reliability-slow", tmp_path)
