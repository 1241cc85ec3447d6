"""Whole-file rejections reach the unit in Vietnamese only; the English detail stays in `message`."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest

from chitieu.catalog import read_catalog
from chitieu.config import load_settings
from chitieu.landing import LandedFile
from tasks.parse import parse_feed
from tasks.validate import validate_feed

CASES = [
    ("cp1258.csv", b"Ma don vi,Ky bao cao\nXA_CHILANG,\xde2026-01\n", "file_encoding",
     "Tệp bị từ chối: Tệp không phải văn bản mã hóa UTF-8; hãy lưu lại dưới dạng «CSV UTF-8» (hoặc «Unicode Text», "
     ".txt) (dòng 2)"),
    ("bao_cao.pdf", b"%PDF-1.4 a report", "file_format",
     "Tệp bị từ chối: Định dạng tệp không được chấp nhận; đề nghị gửi tệp .xlsx, .xls, .ods (bảng tính), .csv "
     "(UTF-8), .txt (Unicode Text, phân cách bằng tab hoặc dấu «;») hoặc .json"),
    ("thieu_cot.csv", "Mã đơn vị;Kỳ báo cáo;Tổng số hồ sơ tiếp nhận\nXA_CHILANG;2026-01;5\n".encode(), "column_present",
     "Tệp bị từ chối: Thiếu cột bắt buộc «Số hồ sơ trực tuyến»"),
    ("cat_dong.csv", "Mã đơn vị,Kỳ báo cáo,Tổng số hồ sơ tiếp nhận,Số hồ sơ trực tuyến,Số hồ sơ đã giải quyết,"
     "Số hồ sơ đúng và trước hạn\nXA_CHILANG,2026-01,5\n".encode(), "file_structure",
     "Tệp bị từ chối: Cấu trúc tệp không hợp lệ (tệp hỏng, sai định dạng hoặc có dòng bị thiếu/thừa ô) (dòng 2)"),
]


@pytest.mark.parametrize(("name", "data", "check", "message_vi"), CASES, ids=[c[0] for c in CASES])
def test_whole_file_rejection_is_told_in_vietnamese(env, name, data, check, message_vi):
    path = env["inbox"] / name
    path.write_bytes(data)
    landed = LandedFile(path, f"XA_CHILANG/dossier/{name}", "XA_CHILANG", "dossier", hashlib.sha256(data).hexdigest(),
                        len(data), dt.datetime(2026, 2, 3, tzinfo=dt.UTC))
    parsed = parse_feed.fn("dossier", [landed])
    verdict = validate_feed.fn(parsed, read_catalog(load_settings().catalog_dir), dt.date(2026, 2, 10))[0]
    [failure] = verdict.failures
    assert (verdict.status, failure.expectation) == ("rejected", check)
    assert failure.message_vi == message_vi
    assert not re.search(r"\b(file|row|save|not|missing|column|header|fields)\b", failure.message_vi)
