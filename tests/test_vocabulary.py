"""One vocabulary: project groups, the wording of an unreadable cell, Vietnamese numbers, SQL statements."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chitieu.vocabulary import FORMAT_VI, PROJECT_GROUP_ALIASES, PROJECT_GROUPS, format_failure_vi, vn_number


@pytest.mark.parametrize(("value", "decimals", "text"), [
    (1795, 2, "1.795"), (23.49, 2, "23,49"), (1234.5, 2, "1.234,5"), (-1234.5, 2, "-1.234,5"),
    (-0.5, 6, "-0,5"), (-0.001, 2, "0"), (-0.0, 2, "0"), (0.125, 6, "0,125"), (1.0, 2, "1"),
    (-1795, 2, "-1.795"), (12_345_678_901_234_567_891, 2, "12.345.678.901.234.567.891"),
    (Decimal("-2500000.75"), 2, "-2.500.000,75"), (99.999, 2, "100"),
])
def test_vietnamese_numbers_have_one_notation_with_the_sign_before_the_digits(value, decimals, text):
    assert vn_number(value, decimals) == text


def test_every_face_writes_numbers_the_same_way():
    """The report, the mail and the demo files used three formatters that disagreed on negatives: mail wrote
    -0.5 as "0,5" and the demo files -0.001 as "-0"."""
    from chitieu.demo_feeds import _vn_number
    from chitieu.messages_vi import format_value
    from chitieu.report.fmt import num

    assert format_value(-0.5) == "-0,5"
    assert format_value(-1234.5) == "-1.234,5"
    assert num(-1234.5) == "-1.234,5" and num(Decimal("-0.004")) == "0"
    assert _vn_number(-0.001) == "0" and _vn_number(-1234.5) == "-1.234,5" and _vn_number(1_000_000) == "1.000.000"


def test_project_groups_are_read_in_english_or_vietnamese():
    assert PROJECT_GROUP_ALIASES == {
        "completed": "completed", "hoanthanh": "completed", "transitional": "transitional",
        "chuyentiep": "transitional", "new": "new", "khoicongmoi": "new", "preparation": "preparation",
        "chuanbidautu": "preparation"}
    assert set(PROJECT_GROUP_ALIASES.values()) == set(PROJECT_GROUPS)


def test_the_report_and_the_catalog_use_the_same_groups():
    from chitieu.report.charts import GROUP_TITLES

    assert list(GROUP_TITLES) == list(PROJECT_GROUPS)
    assert GROUP_TITLES["transitional"] == "Chuyển tiếp / transitional"


def test_an_unreadable_cell_is_worded_once_for_the_data_quality_view_and_for_mail():
    from chitieu.messages_vi import describe_check

    for check in FORMAT_VI:
        assert describe_check("disbursement", check, "capital_plan_vnd") == format_failure_vi(
            _label("disbursement", "capital_plan_vnd"), check)
    assert format_failure_vi("Nhóm dự án", "project_group_format") == (
        "Cột «Nhóm dự án»: giá trị không phải nhóm dự án hợp lệ (hoàn thành, chuyển tiếp, khởi công mới, "
        "chuẩn bị đầu tư)")
    assert format_failure_vi("Ghi chú", "unknown_format") == "Cột «Ghi chú»: giá trị không hợp lệ"


def _label(feed: str, column: str) -> str:
    from chitieu.feeds import feed_spec

    return feed_spec(feed).label(column)


def test_sql_statements_drop_comment_lines_and_empty_statements():
    from chitieu.warehouse import sql_statements

    script = ("-- a header naming :not_a_parameter\nselect 1;\n\n-- only a comment;\n"
              "update t set a = :a -- trailing comments stay\n  where b = 2;\n  \n")
    assert sql_statements(script) == ["select 1", "update t set a = :a -- trailing comments stay\n  where b = 2"]
