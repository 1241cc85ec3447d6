"""chitieu.pg_binary: what PostgreSQL reads from the binary stream equals what it reads from CSV of the same rows."""

from __future__ import annotations

import datetime as dt
import io

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from chitieu.pg_binary import encode

COLUMNS = {"id": "bigint", "row_no": "integer", "small": "smallint", "name": "text", "code": "text",
           "amount": "bigint", "ratio": "double precision", "on_day": "date", "share": "numeric"}


def _table(rows: int | None = None) -> pa.Table:
    names = ["Xã Chi Lăng", "", None, "dấu \"ngoặc\", phẩy; và\nxuống dòng", "a" * 3000, "𝔘nicode ✓"]
    days = [dt.date(2026, 1, 31), dt.date(1999, 12, 31), None, dt.date(2000, 1, 1), dt.date(1970, 1, 1),
            dt.date(2099, 12, 31)]
    base = {
        "id": pa.array([1, -2, 2**62, 0, None, 7], pa.int64()),
        "row_no": pa.array([2, 3, None, 2**31 - 1, -(2**31), 9], pa.int64()),
        "small": pa.array([1, None, -32768, 32767, 0, 5], pa.int64()),
        "name": pa.array(names, pa.string()),
        "code": pa.array(["XA_CHILANG", "PHUONG_KYLUA", "X", None, "Y", "Z"], pa.large_string()),
        "amount": pa.array([1_500_000_000_000, 0, None, -1, 42, 10**15], pa.int64()),
        "ratio": pa.array([0.5, None, -1e300, 3.141592653589793, 0.0, 1e-300], pa.float64()),
        "on_day": pa.array(days, pa.date32()),
        "share": pa.array(["60.00", "0.5", None, "-12345678.00010", "0.0001", "1e3"], pa.string()),
    }
    table = pa.table(base)
    if rows is not None:  # sliced so that the arrays start at an offset
        table = pa.concat_tables([table] * (rows // len(table) + 2)).slice(3, rows)
    return table


def _rows_after_copy(engine, table: pa.Table, fmt: str) -> list[tuple]:
    if fmt == "binary":
        pieces = encode(table, [COLUMNS[c] for c in table.column_names])
    else:
        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
        pieces = [buffer.getbuffer()]
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur:
            cur.execute("create temp table t (seq serial, " + ", ".join(f"{c} {t}" for c, t in COLUMNS.items()) + ")")
            with cur.copy(f"copy t ({', '.join(table.column_names)}) from stdin with (format {fmt})") as copy:
                for piece in pieces:
                    copy.write(piece)
            cur.execute("select * from t order by seq")
            return cur.fetchall()
    finally:
        raw.rollback()
        raw.close()


@pytest.mark.parametrize("rows", [None, 0, 10_000])
def test_binary_copy_reads_as_csv_does(engine, rows):
    table = _table(rows)
    binary = _rows_after_copy(engine, table, "binary")
    assert binary == _rows_after_copy(engine, table, "csv")
    assert len(binary) == table.num_rows
    if rows is None:
        assert binary[2][4] is None and binary[1][4] == ""  # NULL and the empty string stay apart
        assert binary[1][8] == dt.date(1999, 12, 31) and binary[2][8] is None
        assert [str(r[9]) for r in binary] == ["60.00", "0.5", "None", "-12345678.00010", "0.0001", "1000"]


def test_dictionary_encoded_numeric_reads_as_its_texts(engine):
    """A numeric column already dictionary-encoded (chitieu.project_figures' progress) is taken as it is."""
    texts = pa.array(["62.50", None, "0.00", "62.50", "-0.25", "100.00"], pa.string())
    coded = pa.table({"share": texts.dictionary_encode()})
    assert [str(r[-1]) for r in _rows_after_copy(engine, coded, "binary")] == \
        [str(r[-1]) for r in _rows_after_copy(engine, pa.table({"share": texts}), "csv")]


def test_numeric_not_a_number_reads_as_csv_does(engine):
    table = pa.table({"share": pa.array(["NaN", "-0.5"], pa.string())})
    assert [str(r[-1]) for r in _rows_after_copy(engine, table, "binary")] == ["NaN", "-0.5"]
    assert [str(r[-1]) for r in _rows_after_copy(engine, table, "csv")] == ["NaN", "-0.5"]


def test_unsupported_type_is_refused():
    with pytest.raises(ValueError, match="interval"):
        encode(pa.table({"value": pa.array(["1 day"])}), ["interval"])
