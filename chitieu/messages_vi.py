"""Vietnamese messages to units: quality alerts, resolved notices and reminders (pure rendering, no I/O)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from chitieu.feeds import EXPECTATIONS_DIR, feed_spec
from chitieu.landing import ACCEPTED_EXTENSIONS
from chitieu.local_time import in_local_time
from chitieu.vocabulary import FORMAT_VI, format_failure_vi, vn_number

__all__ = ["Message", "describe_check", "file_problem_vi", "format_value", "period_locked_vi", "period_vi",
           "problem_message", "reminder_message",
           "resolved_message"]

MAX_CHECKS = 20        # checks listed in one message; the rest are in mart.data_quality
MAX_SAMPLE_ROWS = 5    # failing rows shown per check
_FOOTER = "Đây là thư tự động của hệ thống theo dõi chỉ tiêu (chitieu), vui lòng không trả lời thư này."

# Helper columns the suites compare against, as the unit should read them.
_HELPER_LABELS = {
    "_folder_unit": "Thư mục gửi tệp",
    "_history_median": "Trung vị các kỳ trước của đơn vị",
    "_previous_disbursed_vnd": "Giải ngân lũy kế đã báo cáo trước đó",
    "_min_value": "Mức tối thiểu của chỉ tiêu",
    "_max_value": "Mức tối đa của chỉ tiêu",
    "_expected_kind": "Chu kỳ của chỉ tiêu",
    "_sum_of_rows": "Cộng các dòng số liệu",
}
# Columns of an outlier's sample (tasks/validate.py, chitieu/outliers.py), by prefix (one per scored measure).
_SCORE_LABELS = {
    "_z_": "Điểm z hiệu chỉnh (ngưỡng 3,5)",
    "_median_": "Trung vị các kỳ trước của đơn vị",
    "_last_year_": "Cùng kỳ năm trước",
    "_score_": "Điểm bất thường",
    "_points": "Số kỳ đã có số liệu",
}
_KINDS = {"month": "tháng", "quarter": "quý", "year": "năm"}


# Whole-file failures (tasks/parse.py FileRejected.check, tasks/load.py load_failed).
_FILE_VI = {
    "file_encoding": ("Tệp không phải văn bản mã hóa UTF-8; hãy lưu lại dưới dạng «CSV UTF-8» "
                      "(hoặc «Unicode Text», .txt)"),
    "file_format": ("Định dạng tệp không được chấp nhận; đề nghị gửi tệp .xlsx, .xls, .ods (bảng tính), .csv (UTF-8), "
                    ".txt (Unicode Text, phân cách bằng tab hoặc dấu «;») hoặc .json"),
    "file_structure": "Cấu trúc tệp không hợp lệ (tệp hỏng, sai định dạng hoặc có dòng bị thiếu/thừa ô)",
    "file_not_empty": "Tệp rỗng",
    "file_has_rows": "Tệp có dòng tiêu đề nhưng không có dòng số liệu nào",
    "file_size": "Tệp quá lớn; hãy tách thành nhiều tệp nhỏ hơn",
    "file_readable": "Không đọc được tệp",
    "column_unique": "Hai cột trong tệp có cùng ý nghĩa",
    "load_failed": "Cơ sở dữ liệu từ chối số liệu của tệp",
    "period_locked": "Kỳ báo cáo đã được phê duyệt và khóa số liệu",
}


@dataclass(frozen=True)
class Message:
    """One message to a unit: subject and plain-text body."""

    subject: str
    body: str


# --- values -------------------------------------------------------------------------------


def format_value(value: object) -> str:
    """A sample cell as the unit should read it."""
    if value is None or value == "":
        return "(trống)"
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, (int, float)):
        return vn_number(value, 6)
    return f"«{value}»"


def _date_vi(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def _time_vi(moment: dt.datetime | None) -> str:
    if moment is None:
        return "không rõ"
    return in_local_time(moment).strftime("%H:%M ngày %d/%m/%Y")


def period_vi(period: str) -> str:
    """A period as a Vietnamese reader writes it: 2026-11 -> tháng 11/2026, 2026-Q3 -> quý 3/2026, 2026 -> năm 2026."""
    year, _, part = period.partition("-")
    if not (year.isdigit() and len(year) == 4):
        return period
    if not part:
        return f"năm {year}"
    if part[:1] in "Qq" and part[1:].isdigit():
        return f"quý {int(part[1:])}/{year}"
    if part.isdigit():
        return f"tháng {int(part):02d}/{year}"
    return period


def _periods_vi(periods: Sequence[str] | None, limit: int = 6) -> str:
    periods = sorted(periods or [])
    if not periods:
        return "không xác định"
    shown = ", ".join(period_vi(p) for p in periods[:limit])
    return shown + (f" … ({len(periods)} kỳ)" if len(periods) > limit else "")


def _years(periods: Sequence[str] | None, moment: dt.datetime | dt.date | None = None) -> str:
    """The year(s) a message is about, from its periods (else the date it concerns): '2027' or '2026–2027'."""
    years = sorted({p[:4] for p in periods or [] if p[:4].isdigit()})
    if not years and moment is not None:
        if isinstance(moment, dt.datetime):
            moment = in_local_time(moment)
        years = [str(moment.year)]
    return years[0] if len(years) == 1 else f"{years[0]}–{years[-1]}" if years else ""


def _prefix(province: Mapping, years: str) -> str:
    """Subject prefix naming the year(s) and the province from the catalog: '[Chỉ tiêu năm 2027 — Tỉnh Cao Bằng]'."""
    return f"[Chỉ tiêu{' năm ' + years if years else ''} — {province['name_vi']}]"


def _help_line(contact: Mapping) -> str:
    """Whom to ask, from the catalog: the province unit's name and contact_email."""
    if not contact.get("help_email"):
        return "Nếu cần hỗ trợ, đề nghị liên hệ cơ quan chủ trì theo dõi chỉ tiêu của tỉnh."
    name = f"{contact['help_name']}, " if contact.get("help_name") else ""
    return f"Nếu cần hỗ trợ, đề nghị liên hệ: {name}thư điện tử {contact['help_email']}."


def _submission_ref(submission_id: object) -> str:
    return f"số hiệu lần gửi {submission_id} (ghi số này khi liên hệ hỗ trợ về tệp)"


def _short_name(file_name: str) -> str:
    return file_name.rsplit("/", 1)[-1]


def _label(feed: str, column: str) -> str:
    prefix = next((p for p in _SCORE_LABELS if column.startswith(p)), None)
    return _HELPER_LABELS.get(column) or (_SCORE_LABELS[prefix] if prefix else feed_spec(feed).label(column))


# --- checks --------------------------------------------------------------------------------


@cache
def _suite_messages(feed: str) -> dict[tuple[str, str | None], list[tuple[tuple[str, ...], str]]]:
    """(check, column) -> [(columns compared, Vietnamese message)] from expectations/<feed>.json."""
    body = json.loads((EXPECTATIONS_DIR / f"{feed}.json").read_text(encoding="utf-8"))
    out: dict[tuple[str, str | None], list[tuple[tuple[str, ...], str]]] = {}
    for expectation in body["expectations"]:
        meta = expectation.get("meta") or {}
        if "check" in meta and meta.get("message_vi"):
            out.setdefault((meta["check"], meta.get("column")), []).append(
                (tuple(meta.get("columns") or ()), meta["message_vi"]))
    return out


def describe_check(feed: str, check: str, column: str | None, sample: Sequence[Mapping] = ()) -> str:
    """The failed check in plain Vietnamese, naming the column by its Vietnamese label."""
    candidates = _suite_messages(feed).get((check, column))
    if candidates:
        keys = {k for row in sample for k in row}
        # Two expectations can share a check name (value_in_range: min and max); the sample's columns tell which.
        for columns, text in candidates:
            if keys and set(columns) <= keys:
                return text
        return candidates[0][1]
    if check in FORMAT_VI and column:
        return format_failure_vi(_label(feed, column), check)
    label = f"«{_label(feed, column)}»" if column else ""
    if check == "column_present":
        return f"Thiếu cột bắt buộc {label}" if column else "Không tìm thấy dòng tên cột trong 20 dòng đầu của tệp"
    if check == "total_mismatch":
        return f"Dòng tổng cộng không khớp với cộng các dòng số liệu ở cột {label}"
    if check in _FILE_VI:
        return _FILE_VI[check] + (f" (cột {label})" if column else "")
    return f"Kiểm tra «{check}» không đạt" + (f" ở cột {label}" if column else "")


def _sample_lines(feed: str, sample: Sequence[Mapping], column: str | None) -> list[str]:
    names = feed_spec(feed).names
    # jsonb does not keep key order: the checked column first, then the feed's column order, helpers last
    order = {name: n for n, name in reversed(list(enumerate([column, *names])))}  # first place wins
    lines = []
    for row in list(sample)[:MAX_SAMPLE_ROWS]:
        cells = []
        for key in sorted((k for k in row if k != "row"), key=lambda k: (order.get(k, len(order)), k)):
            value = row[key]
            shown = _KINDS.get(value, value) if key == "_expected_kind" else value
            cells.append(f"{_label(feed, key)} = {format_value(shown)}")
        where = f"Dòng {row['row']}" if row.get("row") is not None else "Tệp"
        lines.append(f"     - {where}: " + ("; ".join(cells) or "(không có giá trị)"))
    return lines


def period_locked_vi(locks: Sequence) -> str:
    """Why a file touching approved periods is refused, and whom to ask (locks: chitieu.approval.Lock)."""
    parts, ask = [], []
    for lock in locks:
        if lock.automatic:
            parts.append(f"kỳ {lock.period} đã tự động khóa lúc {_time_vi(lock.approved_at)} (quá hạn chỉnh sửa)")
            ask.append("bộ phận phê duyệt số liệu của tỉnh")
        else:
            parts.append(f"kỳ {lock.period} đã được {lock.approved_by} phê duyệt lúc {_time_vi(lock.approved_at)}")
            ask.append(lock.approved_by)
    whom = ", ".join(dict.fromkeys(ask))
    return (f"Số liệu đã được phê duyệt và khóa: {'; '.join(parts)}. Tệp không được tiếp nhận. Nếu cần sửa số "
            f"liệu của kỳ đã khóa, đề nghị liên hệ {whom} để mở lại kỳ báo cáo, sau đó gửi lại tệp.")


def _check_block(n: int, feed: str, check: Mapping) -> list[str]:
    sample = check.get("sample") or []
    if isinstance(sample, str):
        sample = json.loads(sample)
    if check["expectation"] == "period_locked" and check.get("message_vi"):
        return [f"{n}. [Lỗi] {check['message_vi']}"]
    severity = "Lỗi" if check["severity"] == "error" else "Cảnh báo"
    column = check.get("column_name")
    lines = [f"{n}. [{severity}] {describe_check(feed, check['expectation'], column, sample)}"]
    detail = f"   Cột «{_label(feed, column)}» ({column}). " if column else "   "
    if sample:
        lines.append(f"{detail}Số dòng không đạt: {check.get('failed_rows') or len(sample)}. Ví dụ:")
        lines += _sample_lines(feed, sample, column)
    elif check["expectation"] in _FILE_VI or check["expectation"] == "column_present":
        said = check.get("message_vi") or describe_check(feed, check["expectation"], column)
        lines.append(f"{detail}Chi tiết: {said}")
    elif column:
        lines.append(detail.rstrip())
    return lines


def file_problem_vi(feed: str, check: str, row: int | None = None, column: str | None = None,
                    problem_vi: str | None = None) -> str:
    """Why a whole file was rejected, in Vietnamese only, with its row (line) and column where known."""
    text = problem_vi or describe_check(feed, check, column)
    where = []
    if row is not None:
        where.append(f"dòng {row}")
    if column and not problem_vi and check != "column_present":
        where.append(f"cột «{_label(feed, column)}»")
    return text + (f" ({', '.join(where)})" if where else "")


# --- messages -------------------------------------------------------------------------------


def _greeting(unit: Mapping) -> str:
    return f"Kính gửi: {unit.get('name_vi') or unit['unit_code']} ({unit['unit_code']}),"


def problem_message(sub: Mapping, checks: Sequence[Mapping], province: Mapping) -> Message:
    """Alert for a rejected or warned submission: file, periods, each failed check with sample rows, next steps.

    `province`: the catalog's province unit (Catalog.province / warehouse_province), named in subject and body."""
    feed, rejected = sub["feed"], sub["status"] == "rejected"
    feed_label = feed_spec(feed).label_vi
    periods = _periods_vi(sub.get("periods"))
    folder = f"{sub['unit_code']}/{feed}/"
    title = "Tệp số liệu bị từ chối" if rejected else "Cảnh báo chất lượng số liệu"
    years = _years(sub.get("periods"), sub.get("received_at"))
    subject = f"{_prefix(province, years)} {title}: {_short_name(sub['file_name'])} ({feed_label}, {periods})"
    lines = [
        _greeting(sub), "",
        f"Hệ thống theo dõi chỉ tiêu{' năm ' + years if years else ''} của {province['name_vi']} "
        "đã kiểm tra tệp số liệu đơn vị gửi:",
        f"  • Tệp: {sub['file_name']}",
        f"  • Loại báo cáo: {feed_label} ({feed})",
        f"  • Kỳ báo cáo: {periods}",
        f"  • Thời điểm nhận: {_time_vi(sub.get('received_at'))}",
        f"  • Số dòng: {sub.get('rows_total', 0)}; số dòng bị lỗi: {sub.get('rows_failed', 0)}",
        f"  • Số hiệu lần gửi: {sub['submission_id']} (ghi số này khi liên hệ hỗ trợ về tệp)", "",
    ]
    if rejected:
        lines.append("Kết quả: TỆP BỊ TỪ CHỐI. Toàn bộ số liệu của tệp này chưa được ghi nhận vào kho dữ liệu.")
    else:
        lines.append("Kết quả: tệp ĐÃ ĐƯỢC TIẾP NHẬN nhưng có cảnh báo; đề nghị đơn vị kiểm tra lại các điểm dưới đây.")
    ordered = sorted(checks, key=lambda c: c["severity"] != "error")
    lines += ["", f"Các kiểm tra không đạt ({len(ordered)}):", ""]
    for n, check in enumerate(ordered[:MAX_CHECKS], start=1):
        lines += _check_block(n, feed, check) + [""]
    if len(ordered) > MAX_CHECKS:
        lines += [f"… và {len(ordered) - MAX_CHECKS} kiểm tra khác không đạt.", ""]
    if rejected:
        todo = (f"Việc cần làm: sửa các lỗi nêu trên rồi gửi lại tệp đã sửa vào đúng thư mục {folder} "
                "(giữ nguyên hoặc đổi tên tệp đều được). Hệ thống sẽ tự động kiểm tra lại ở lần chạy tiếp theo "
                "và gửi thông báo khi tệp đạt yêu cầu.")
    else:
        todo = (f"Việc cần làm: nếu số liệu là đúng, đơn vị không cần làm gì thêm. Nếu có sai sót, đề nghị gửi "
                f"tệp đã sửa vào đúng thư mục {folder}; tệp mới sẽ thay thế số liệu cũ của cùng kỳ báo cáo.")
    lines += [todo, "",
              "Danh sách đầy đủ các dòng không đạt được lưu trong hệ thống theo dõi chỉ tiêu; "
              "cán bộ phụ trách có thể tra cứu theo số hiệu lần gửi nêu trên.",
              _help_line(sub), "", _FOOTER]
    return Message(subject, "\n".join(lines))


def resolved_message(passing: Mapping, alerted: Mapping, province: Mapping) -> Message:
    """Notice that a later clean submission fixed what an earlier alert reported."""
    feed_label = feed_spec(passing["feed"]).label_vi
    period_list = passing.get("shared_periods") or alerted.get("periods")
    periods = _periods_vi(period_list)
    subject = (f"{_prefix(province, _years(period_list, passing.get('received_at')))} "
               f"Đã khắc phục: {feed_label}, {periods}")
    lines = [
        _greeting(passing), "",
        f"Tệp {passing['file_name']} (nhận lúc {_time_vi(passing.get('received_at'))}, "
        f"{_submission_ref(passing['submission_id'])}) đã đạt tất cả các kiểm tra và được ghi nhận vào kho dữ liệu.",
        "",
        f"Các vấn đề đã thông báo trước đây với tệp {alerted['file_name']} (số hiệu lần gửi "
        f"{alerted['submission_id']}, báo cáo {feed_label}, kỳ {periods}) đã được khắc phục.", "",
        "Cảm ơn đơn vị đã gửi lại số liệu.", _help_line(passing), "", _FOOTER,
    ]
    return Message(subject, "\n".join(lines))


# "tệp .csv, .txt, ... hoặc .json": every format the landing zone accepts (CONTRACT.md section 2)
_FORMATS_VI = ", ".join(ACCEPTED_EXTENSIONS[:-1]) + " hoặc " + ACCEPTED_EXTENSIONS[-1]


def reminder_message(unit: Mapping, feed: str, period: str, due_date: dt.date, as_of: dt.date,
                     province: Mapping) -> Message:
    """Reminder that a monthly feed has not arrived by its due date."""
    feed_label = feed_spec(feed).label_vi
    subject = (f"{_prefix(province, period[:4])} Nhắc gửi báo cáo {feed_label} {period_vi(period)} "
               f"(hạn {_date_vi(due_date)})")
    lines = [
        _greeting(unit), "",
        f"Đến ngày {_date_vi(as_of)}, hệ thống chưa nhận được báo cáo «{feed_label}» kỳ {period_vi(period)} "
        f"của đơn vị đạt yêu cầu. Hạn gửi là ngày {_date_vi(due_date)} (ngày 5 của tháng kế tiếp).", "",
        f"Đề nghị đơn vị gửi tệp báo cáo ({_FORMATS_VI}) vào thư mục {unit['unit_code']}/{feed}/ "
        "sớm nhất có thể. Nếu đơn vị đã gửi nhưng tệp bị từ chối, vui lòng xem thư thông báo lỗi và gửi lại "
        "tệp đã sửa.", _help_line(unit), "", _FOOTER,
    ]
    return Message(subject, "\n".join(lines))
