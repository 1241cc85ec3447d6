"""Vietnamese number, date, period and header parsing (pure functions, no database)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from chitieu.feeds import feed_spec, normalize_header
from chitieu.values import parse_date, parse_integer, parse_month, parse_number, parse_period, parse_project_group


@pytest.mark.parametrize("raw,expected", [
    ("1.795", 1795), ("23,49", 23.49), ("1.234.567,5", 1234567.5), ("23.49", 23.49), ("1.2345", 1.2345),
    ("12.345.678", 12345678), ("0", 0), ("-5", -5), ("1 000", 1000), ("95%", 95), (1795, 1795), (23.5, 23.5),
    ("0,5", 0.5), ("100.000.000.000", 100_000_000_000),
])
def test_vietnamese_numbers(raw, expected):
    values, bad = parse_number(pd.Series([raw], dtype=object))
    assert not bad.iloc[0]
    assert values.iloc[0] == pytest.approx(expected)


@pytest.mark.parametrize("raw", ["abc", "1.234.5", "1,2,3", "--1", "1e5", "12a", "٣"])
def test_unparseable_numbers_are_flagged_not_nan(raw):
    values, bad = parse_number(pd.Series([raw], dtype=object))
    assert bad.iloc[0] and pd.isna(values.iloc[0])


def test_empty_cells_are_missing_not_bad():
    values, bad = parse_number(pd.Series([None, "", "  "], dtype=object))
    assert values.isna().all() and not bad.any()


def test_integers_refuse_fractions():
    values, bad = parse_integer(pd.Series(["12,5", "1.795", "7"], dtype=object))
    assert list(bad) == [True, False, False]
    assert list(values[1:]) == [1795, 7]


@pytest.mark.parametrize("dtype", [object, "string"])
def test_integers_refuse_a_percentage(dtype):
    # counts and VND amounts are no rates: `80%` (typed, or a percent cell as shown) is a cell error, not 80
    values, bad = parse_integer(pd.Series(["80%", "7 %", "62,5%", "1.795", "7"], dtype=dtype))
    assert list(bad) == [True, True, True, False, False]
    assert values[:3].isna().all() and list(values[3:]) == [1795, 7]


def test_dates_iso_dmy_and_cells():
    raw = pd.Series(["2026-06-30", "30/06/2026", "1/7/2026", dt.datetime(2026, 9, 30), "31/02/2026", "June"],
                    dtype=object)
    values, bad = parse_date(raw)
    assert list(values[:4].dt.strftime("%Y-%m-%d")) == ["2026-06-30", "2026-06-30", "2026-07-01", "2026-09-30"]
    assert list(bad) == [False, False, False, False, True, True]


def test_months_and_periods():
    months, bad = parse_month(pd.Series(["2026-03", "03/2026", "2026-3", dt.datetime(2026, 5, 1), "2026-13"],
                                        dtype=object))
    assert list(months[:4]) == ["2026-03", "2026-03", "2026-03", "2026-05"] and list(bad) == [False] * 4 + [True]
    periods, bad = parse_period(pd.Series(["2026", "2026-Q2", "2026-q3", "2026-07", 2026, "2026-Q5"], dtype=object))
    assert list(periods[:5]) == ["2026", "2026-Q2", "2026-Q3", "2026-07", "2026"] and bad.iloc[5]


def test_project_groups_in_both_languages():
    groups, bad = parse_project_group(pd.Series(["Hoàn thành", "chuyển tiếp", "Khởi công mới", "Chuẩn bị đầu tư",
                                                 "new", "khác"]))
    assert list(groups[:5]) == ["completed", "transitional", "new", "preparation", "new"] and bad.iloc[5]


@pytest.mark.parametrize("header,column", [
    ("Mã đơn vị", "unit_code"), ("ma don vi", "unit_code"), ("UNIT_CODE", "unit_code"), ("  Kỳ  báo cáo ", "period"),
    ("Số hồ sơ đúng và trước hạn", "resolved_on_time"), ("TỔNG SỐ HỒ SƠ TIẾP NHẬN", "received_total"),
])
def test_headers_match_english_or_vietnamese(header, column):
    assert feed_spec("dossier").header_lookup[normalize_header(header)] == column
