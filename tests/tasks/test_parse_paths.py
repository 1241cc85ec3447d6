"""One reading path: the bulk fast path for plain CSV gives exactly what the per-file path (the one that recognises
report templates) gives, for any plain CSV, template rows included (those files leave the fast path)."""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tasks.parse as parse
from chitieu.landing import LandedFile

HEADER = ["unit_code", "period", "received_total", "received_online", "resolved_total", "resolved_on_time"]
_TEXT = st.text(alphabet="abcXYZ_019 .,-/%ạăếỔộ", max_size=12)
_CODE = st.sampled_from(["XA_CHILANG", "TTPVHCC", "xa_chilang", "", " ", "Tổng cộng", "(1)", "Cộng", "I",
                         "Người lập biểu", "10"]) | _TEXT
_PERIOD = st.sampled_from(["2026-01", "2026-1", "01/2026", "2026-13", "", "(2)"]) | _TEXT
_NUMBER = st.sampled_from(["0", "12", "1.795", "23,49", "1.234.567", "", " 7 ", "(3)", "-1", "abc"]) | _TEXT
_ROW = st.tuples(_CODE, _PERIOD, _NUMBER, _NUMBER, _NUMBER, _NUMBER)


def _landed(folder: Path, name: str, data: bytes) -> LandedFile:
    path = folder / name
    path.write_bytes(data)
    return LandedFile(path, f"XA_CHILANG/dossier/{name}", "XA_CHILANG", "dossier", hashlib.sha256(data).hexdigest(),
                      len(data), dt.datetime(2026, 6, 1, tzinfo=dt.UTC))


def _result(files: list[LandedFile]) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    parsed = parse.parse_feed.fn("dossier", files)
    rows = parsed.rows.sort_values(["_file", "_row"]).reset_index(drop=True).astype(object)
    errors = parsed.cell_errors.sort_values(["_file", "_row", "column"]).reset_index(drop=True).astype(object)
    return (rows.where(rows.notna(), None), errors,
            {i: (e.check, e.row, e.column) for i, e in parsed.rejected.items()})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_ROW, min_size=1, max_size=6), min_size=1, max_size=4), st.sampled_from([",", ";"]))
def test_fast_path_equals_the_per_file_path(files_rows, sep):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = [_landed(folder, f"f{i}.csv", (sep.join(HEADER) + "\n" + "\n".join(
            sep.join(cell.replace(sep, "") for cell in row) for row in rows) + "\n").encode())
            for i, rows in enumerate(files_rows)]
        fast = _result(files)
        original = parse._plain_csv
        parse._plain_csv = lambda *args, **kwargs: None     # every file the per-file way
        try:
            slow = _result(files)
        finally:
            parse._plain_csv = original
    pd.testing.assert_frame_equal(fast[0], slow[0])
    pd.testing.assert_frame_equal(fast[1], slow[1])
    assert fast[2] == slow[2]


def test_clean_files_take_the_fast_path_and_template_rows_do_not(tmp_path, monkeypatch):
    used = []
    original = parse._read_plain

    def spy(group, plains, spec):
        table, others = original(group, plains, spec)
        used.append((len(plains), len(others)))
        return table, others

    monkeypatch.setattr(parse, "_read_plain", spy)
    clean = _landed(tmp_path, "a.csv", b"unit_code,period,received_total,received_online,resolved_total,"
                                       b"resolved_on_time\nXA_CHILANG,2026-01,10,5,8,7\n")
    total = _landed(tmp_path, "b.csv", b"unit_code,period,received_total,received_online,resolved_total,"
                                       b"resolved_on_time\nXA_CHILANG,2026-02,10,5,8,7\nTong cong,,10,5,8,7\n")
    parsed = parse.parse_feed.fn("dossier", [clean, total])
    assert (2, 1) in used                        # both read in bulk; the one with a total row then per file
    assert parsed.rows["_row"].tolist() == [2, 2]
    assert [(s.row, s.kind) for s in parsed.set_aside[1]] == [(3, "total")]
