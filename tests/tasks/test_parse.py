"""The parse step alone (`parse_feed.fn`): real files in, one typed ParsedFeed per feed out."""

from __future__ import annotations

import pandas as pd

from chitieu.errors import FileRejected
from chitieu.records import ParsedFeed
from tasks.parse import parse_feed
from tests.feeds import DOSSIER, landed, write_csv, write_json


def test_vietnamese_headers_and_numbers_become_typed_rows_of_each_file(tmp_path):
    first = write_csv(tmp_path, "TTPVHCC", "dossier", "a.csv", DOSSIER,
                      [["TTPVHCC", "2026-01", "1.795", "1.700", "1.600", "1.590"]], sep=";", bom=True,
                      vietnamese=True)
    second = write_json(tmp_path, "XA_CHILANG", "dossier", "b.json",
                        [{"unit_code": "XA_CHILANG", "period": "02/2026", "received_total": 8, "received_online": 6,
                          "resolved_total": 4, "resolved_on_time": 2}])
    parsed = parse_feed.fn("dossier", [landed(first), landed(second)])
    assert isinstance(parsed, ParsedFeed) and parsed.feed == "dossier" and parsed.rejected == {}
    rows = parsed.rows.sort_values("_file")
    assert rows["_file"].tolist() == [0, 1] and rows["_row"].tolist() == [2, 1]
    assert rows["period"].tolist() == ["2026-01", "2026-02"]
    assert rows["received_total"].tolist() == [1795, 8]
    assert parsed.cell_errors.empty


def test_an_unreadable_cell_is_a_cell_error_not_a_rejected_file(tmp_path):
    path = write_csv(tmp_path, "TTPVHCC", "dossier", "a.csv", DOSSIER,
                     [["TTPVHCC", "2026-01", "4", "3", "2", "1"], ["TTPVHCC", "2026-02", "bốn", "3", "2", "1"]])
    parsed = parse_feed.fn("dossier", [landed(path)])
    assert parsed.rejected == {}
    errors = parsed.cell_errors
    assert list(errors[["_file", "_row", "column", "value", "check"]].itertuples(index=False, name=None)) == [
        (0, 3, "received_total", "bốn", "int_format")]
    assert len(parsed.rows) == 2 and pd.isna(parsed.rows.set_index("_row").loc[3, "received_total"])


def test_a_file_that_cannot_be_read_is_rejected_whole_and_the_others_parse(tmp_path):
    bad = tmp_path / "TTPVHCC" / "dossier" / "utf16.csv"
    bad.parent.mkdir(parents=True)
    bad.write_bytes("unit_code,period\n".encode("utf-16"))
    good = write_csv(tmp_path, "XA_CHILANG", "dossier", "good.csv", DOSSIER,
                     [["XA_CHILANG", "2026-01", "9", "9", "9", "9"]])
    parsed = parse_feed.fn("dossier", [landed(bad), landed(good)])
    assert list(parsed.rejected) == [0] and parsed.rejected[0].check == "file_encoding"
    assert "TTPVHCC/dossier/utf16.csv" in str(parsed.rejected[0])
    assert parsed.rows["_file"].tolist() == [1]


def test_contents_read_ahead_by_the_flow_parse_like_the_files_themselves(tmp_path):
    """The flow reads a part's bytes while the previous part loads and hands them in; a read that failed comes as
    its FileRejected and rejects that file alone."""
    paths = [write_csv(tmp_path, unit, "dossier", "a.csv", DOSSIER, [[unit, "2026-01", "4", "3", "2", "1"]])
             for unit in ("TTPVHCC", "XA_CHILANG")]
    files = [landed(p) for p in paths]
    from_disk = parse_feed.fn("dossier", files)
    failed = FileRejected(files[1].rel_path, "cannot read the file: gone", check="file_readable")
    handed = parse_feed.fn("dossier", files, [paths[0].read_bytes(), failed])
    pd.testing.assert_frame_equal(handed.rows, from_disk.rows[from_disk.rows["_file"] == 0])
    assert handed.rejected == {1: failed}
