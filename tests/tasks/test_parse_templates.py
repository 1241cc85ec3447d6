"""Report templates at the parse step: which rows of a unit's usual CSV are data and which are set aside
(CONTRACT.md section 3). A real data row must never be set aside: that would drop it while the file loads."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from chitieu.catalog import read_catalog
from chitieu.feeds import feed_spec
from chitieu.templates import is_total_label
from tasks.parse import parse_feed
from tasks.validate import _total_mismatches, validate_feed
from tests.conftest import CATALOG
from tests.feeds import landed

DISB_HEADER = "Mã dự án;Tên dự án;Mã đơn vị;Nhóm dự án;Kế hoạch vốn (đồng);Giải ngân lũy kế (đồng);Ngày số liệu"


def _parse(tmp_path: Path, feed: str, lines: list[str], unit: str = "XA_MUONGSEN"):
    path = tmp_path / unit / feed / "bao_cao.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    parsed = parse_feed.fn(feed, [landed(path)])
    assert parsed.rejected == {}
    return parsed


def _parse_xlsx(tmp_path: Path, feed: str, rows: list[list], merges: list[str], unit: str = "TTPVHCC"):
    """A workbook with merged cells (`A2:A3`), parsed as the pipeline reads it (calamine, then the template)."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    for merge in merges:
        sheet.merge_cells(merge)
    path = tmp_path / unit / feed / "bao_cao.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    parsed = parse_feed.fn(feed, [landed(path)])
    assert parsed.rejected == {}
    return parsed


def _errors(parsed, as_of: dt.date) -> list[tuple[str, str | None, list[int]]]:
    verdict = validate_feed.fn(parsed, read_catalog(CATALOG), as_of, None)[0]
    return [(f.expectation, f.column, f.rows) for f in verdict.failures if f.severity == "error"]


def _kinds(parsed) -> list[tuple[int, str]]:
    return [(s.row, s.kind) for s in parsed.set_aside.get(0, [])]


def _mismatches(parsed, feed: str) -> list[str]:
    return [f.message for _, f in _total_mismatches(parsed, feed_spec(feed), set())]


def test_a_note_row_inside_the_table_is_set_aside_alone_and_the_rows_after_it_are_data(tmp_path):
    parsed = _parse(tmp_path, "disbursement", [
        DISB_HEADER,
        "DA_MS_01;Đường thôn Nà Hán;XA_MUONGSEN;chuyển tiếp;1.000.000.000;400.000.000;31/05/2026",
        ";Ghi chú: các dự án dưới đây được điều chỉnh kế hoạch vốn;;;;;",
        "DA_MS_02;Trường tiểu học Mường Sen;XA_MUONGSEN;khởi công mới;2.000.000.000;300.000.000;31/05/2026",
        "DA_MS_03;Nhà văn hóa bản Pủng;XA_MUONGSEN;khởi công mới;500.000.000;100.000.000;31/05/2026",
        ";;;;;;",
        ";Người lập biểu;;;THỦ TRƯỞNG ĐƠN VỊ;;",
        ";Lò Thị Xuân;;;Vi Văn Hùng;;",
    ])
    assert parsed.rows["project_code"].tolist() == ["DA_MS_01", "DA_MS_02", "DA_MS_03"]
    assert parsed.rows["_row"].tolist() == [2, 4, 5]
    assert _kinds(parsed) == [(3, "note"), (7, "below_table"), (8, "below_table")]


def test_a_note_row_after_the_last_data_row_is_below_the_table(tmp_path):
    parsed = _parse(tmp_path, "disbursement", [
        DISB_HEADER,
        "DA_MS_01;Đường thôn Nà Hán;XA_MUONGSEN;chuyển tiếp;1.000.000.000;400.000.000;31/05/2026",
        ";Ghi chú: số liệu tạm tính;;;;;",
        ";Người lập biểu;;;THỦ TRƯỞNG ĐƠN VỊ;;",
    ])
    assert parsed.rows["_row"].tolist() == [2]
    assert _kinds(parsed) == [(3, "below_table"), (4, "below_table")]


def test_a_data_row_without_unit_code_whose_project_code_looks_roman_is_a_row_error_not_a_section(tmp_path):
    header = "STT;Mã dự án;Tên dự án;Mã đơn vị;Nhóm dự án;Kế hoạch vốn (đồng);Giải ngân lũy kế (đồng);Ngày số liệu"
    for code in ("CL-01", "LC.02", "DA-03", "CI_04", "XL01"):
        parsed = _parse(tmp_path / code, "disbursement", [
            header,
            "I;Dự án chuyển tiếp;;;;;;",
            f"1;{code};Đường thôn Bản Thí;;chuyển tiếp;1.000.000.000;500.000.000;31/10/2026",
            "2;DA_CL_09;Cầu treo Bản Khoang;XA_CHILANG;chuyển tiếp;900.000.000;100.000.000;31/10/2026",
        ], unit="XA_CHILANG")
        assert parsed.rows["project_code"].tolist() == [code, "DA_CL_09"], code
        assert _kinds(parsed) == [(2, "section")], code
        verdict = validate_feed.fn(parsed, read_catalog(CATALOG), dt.date(2026, 11, 20), None)[0]
        assert verdict.status == "rejected", code
        assert [(f.expectation, f.column, f.rows) for f in verdict.failures if f.severity == "error"] == [
            ("value_required", "unit_code", [3])], code


def test_a_project_whose_name_starts_with_cong_is_data_not_a_subtotal(tmp_path):
    parsed = _parse(tmp_path, "disbursement", [
        "STT;Tên dự án;Mã dự án;Mã đơn vị;Nhóm dự án;Kế hoạch vốn (đồng);Giải ngân lũy kế (đồng);Ngày số liệu",
        "1;Đường nội thị tổ 5;DA_TC_01;SO_TAICHINH;chuyển tiếp;1.200.000.000;600.000.000;31/05/2026",
        "2;Cộng đồng dân cư thôn Nà Lầu - nhà văn hóa;DA_TC_02;SO_TAICHINH;chuyển tiếp;800.000.000;"
        "200.000.000;31/05/2026",
        "3;Tổng kho lưu trữ tỉnh;DA_TC_03;SO_TAICHINH;chuyển tiếp;1.000.000.000;100.000.000;31/05/2026",
        ";Tổng cộng;;;;3.000.000.000;900.000.000;",
    ], unit="SO_TAICHINH")
    assert parsed.rows["project_code"].tolist() == ["DA_TC_01", "DA_TC_02", "DA_TC_03"]
    assert _kinds(parsed) == [(5, "total")]
    assert _mismatches(parsed, "disbursement") == []


def test_a_row_with_its_own_project_code_is_data_even_under_a_total_like_name(tmp_path):
    parsed = _parse(tmp_path, "disbursement", [
        "STT;Tên dự án;Mã dự án;Mã đơn vị;Nhóm dự án;Kế hoạch vốn (đồng);Giải ngân lũy kế (đồng);Ngày số liệu",
        "1;Tổng số hóa hồ sơ địa chính;DA_TC_04;SO_TAICHINH;khởi công mới;700.000.000;70.000.000;31/05/2026",
    ], unit="SO_TAICHINH")
    assert parsed.rows["project_code"].tolist() == ["DA_TC_04"]
    assert _kinds(parsed) == []


def test_total_labels_are_the_label_words_not_names_starting_with_them():
    for label in ("Cộng", "CỘNG", "Cộng:", "I. Cộng", "Cộng I", "Cộng (I)", "Cộng nhóm A", "Cộng mục II",
                  "Tổng cộng", "TỔNG CỘNG TOÀN XÃ", "Tổng số", "Tổng", "Tổng:", "Tổng I", "Cộng toàn huyện",
                  "Tong cong", "2. Cộng các dự án khởi công mới"):
        assert is_total_label(label), label
    for name in ("Cộng đồng dân cư thôn Nà Lầu", "CỘNG ĐỒNG", "Cộng hòa xã hội chủ nghĩa Việt Nam", "Tổng kho",
                 "Tổng đài 1022", "Cộng tác viên", "Cộng sản"):
        assert not is_total_label(name), name


def test_the_column_number_row_of_a_plain_csv_is_set_aside(tmp_path):
    names = ["Kỳ báo cáo", "Tổng số hồ sơ tiếp nhận", "Số hồ sơ trực tuyến", "Số hồ sơ đã giải quyết",
             "Số hồ sơ đúng và trước hạn", "Số lượt đánh giá", "Số lượt hài lòng", "Số kết quả điện tử",
             "Số phản ánh kiến nghị", "Số phản ánh xử lý đúng hạn", "Mã đơn vị"]
    parsed = _parse(tmp_path, "dossier", [
        ";".join(names),
        ";".join(str(n) for n in range(1, 12)),
        "2026-05;120;96;110;104;50;45;100;3;3;XA_CHILANG",
    ], unit="XA_CHILANG")
    assert parsed.rows["_row"].tolist() == [3] and parsed.cell_errors.empty
    assert _kinds(parsed) == [(2, "column_numbers")]


def test_a_grand_total_after_subtotals_adds_up_every_data_row(tmp_path):
    parsed = _parse(tmp_path, "disbursement", [
        "STT;Mã dự án;Tên dự án;Mã đơn vị;Nhóm dự án;Kế hoạch vốn (đồng);Giải ngân lũy kế (đồng);Ngày số liệu",
        "I;Dự án chuyển tiếp;;;;;;",
        "1;DA_CL_01;Đường thôn Bản Thí;XA_CHILANG;;1.500.000.000;600.000.000;31/05/2026",
        "2;DA_CL_02;Nhà văn hóa thôn Nà Cạn;XA_CHILANG;;800.000.000;400.000.000;31/05/2026",
        ";Cộng;;;;2.300.000.000;1.000.000.000;",
        "II;Dự án khởi công mới;;;;;;",
        "1;DA_CL_03;Trường mầm non Chi Lăng;XA_CHILANG;;2.000.000.000;250.000.000;31/05/2026",
        ";Cộng;;;;2.000.000.000;250.000.000;",
        ";TỔNG CỘNG TOÀN XÃ;;;;4.300.000.000;1.250.000.000;",
    ], unit="XA_CHILANG")
    assert parsed.rows["_row"].tolist() == [3, 4, 7]
    assert [(t.row, t.covers) for t in parsed.totals[0]] == [(5, [3, 4]), (8, [7]), (9, [3, 4, 7])]
    assert _mismatches(parsed, "disbursement") == []


def test_a_subtotal_under_its_heading_still_adds_up_the_rows_below_it(tmp_path):
    parsed = _parse(tmp_path, "disbursement", [
        "STT;Mã dự án;Tên dự án;Mã đơn vị;Nhóm dự án;Kế hoạch vốn (đồng);Giải ngân lũy kế (đồng);Ngày số liệu",
        ";Tổng cộng;;;;2.300.000.000;1.000.000.000;",
        "I;Dự án chuyển tiếp;;;;;;",
        ";Cộng;;;;2.300.000.000;1.000.000.000;",
        "1;DA_CL_01;Đường thôn Bản Thí;XA_CHILANG;;1.500.000.000;600.000.000;31/05/2026",
        "2;DA_CL_02;Nhà văn hóa thôn Nà Cạn;XA_CHILANG;;800.000.000;400.000.000;31/05/2026",
    ], unit="XA_CHILANG")
    assert [(t.row, t.covers) for t in parsed.totals[0]] == [(2, [5, 6]), (4, [5, 6])]
    assert _mismatches(parsed, "disbursement") == []


def test_a_header_over_two_rows_with_cells_merged_down_combines_into_one_header(tmp_path):
    parsed = _parse_xlsx(tmp_path, "dossier", [
        ["BÁO CÁO TÌNH HÌNH GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"],
        ["STT", "Mã đơn vị", "Kỳ báo cáo", "Hồ sơ tiếp nhận", None, "Hồ sơ giải quyết", None],
        [None, None, None, "Tổng số hồ sơ tiếp nhận", "Số hồ sơ trực tuyến", "Số hồ sơ đã giải quyết",
         "Số hồ sơ đúng và trước hạn"],
        [1, "TTPVHCC", "2026-05", 120, 96, 110, 104],
        [2, "TTPVHCC", "2026-06", 130, 100, 125, 120],
    ], ["A2:A3", "B2:B3", "C2:C3", "D2:E2", "F2:G2"])
    assert parsed.rows["_row"].tolist() == [4, 5] and parsed.cell_errors.empty
    assert parsed.rows["period"].tolist() == ["2026-05", "2026-06"]
    assert parsed.rows["resolved_on_time"].tolist() == [104, 120]
    assert _kinds(parsed) == [(1, "title")]
    assert _errors(parsed, dt.date(2026, 7, 10)) == []


def test_a_numbered_sub_heading_keeps_the_project_group_of_the_heading_above(tmp_path):
    parsed = _parse(tmp_path, "disbursement", [
        DISB_HEADER,
        "I;Dự án chuyển tiếp;;;;;",
        "1.;Lĩnh vực giao thông;;;;;",
        "DA_CL_01;Đường thôn Nà Hán;XA_CHILANG;;1.000.000.000;400.000.000;31/05/2026",
        "2.;Dự án khởi công mới - lĩnh vực giáo dục;;;;;",
        "DA_CL_02;Trường tiểu học Mường Sen;XA_CHILANG;;2.000.000.000;300.000.000;31/05/2026",
    ], unit="XA_CHILANG")
    assert parsed.rows["project_group"].tolist() == ["transitional", "new"]
    assert _kinds(parsed) == [(2, "section"), (3, "section"), (5, "section")]
    assert _errors(parsed, dt.date(2026, 6, 10)) == []


def test_a_new_top_level_heading_naming_no_group_clears_the_group(tmp_path):
    for sub in ("1.;Lĩnh vực giao thông;;;;;", ";a) Lĩnh vực giao thông;;;;;"):
        parsed = _parse(tmp_path / sub[:2], "disbursement", [
            DISB_HEADER,
            "I;Dự án chuyển tiếp;;;;;",
            sub,
            "DA_CL_01;Đường thôn Nà Hán;XA_CHILANG;;1.000.000.000;400.000.000;31/05/2026",
            "II.;Dự án khác;;;;;",
            "DA_CL_02;Trường tiểu học Mường Sen;XA_CHILANG;;2.000.000.000;300.000.000;31/05/2026",
        ], unit="XA_CHILANG")
        assert parsed.rows["project_group"].tolist()[0] == "transitional", sub
        assert _errors(parsed, dt.date(2026, 6, 10)) == [("value_required", "project_group", [6])], sub
