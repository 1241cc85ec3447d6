"""Alerts to units: real SMTP (aiosmtpd) and Apprise (json:// to a local HTTP server), real ingest runs."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
import sqlalchemy as sa

from chitieu import alerting
from chitieu.config import load_settings
from chitieu.messages_vi import Message, describe_check, format_value, period_vi, problem_message
from flows.ingest import ingest
from tasks.alerts import send_alerts
from tests.feeds import DOSSIER, write_csv
from tests.mailsink import HttpSink, SmtpSink, free_port

AS_OF = dt.date(2026, 11, 20)
UNIT, EMAIL = "TTPVHCC", "ttpvhcc@langson.gov.vn"
BAD_ROWS = [["TTPVHCC", "2026-09", "1.000", "900", "800", "790"],
            ["TTPVHCC", "2026-10", "1.000", "1.200", "800", "790"]]   # row 3: online > total
GOOD_ROWS = [["TTPVHCC", "2026-09", "1.000", "900", "800", "790"],
             ["TTPVHCC", "2026-10", "1.300", "1.200", "800", "790"]]


@pytest.fixture
def smtp(env, monkeypatch):
    with SmtpSink() as sink:
        monkeypatch.setenv("CHITIEU_SMTP_URL", sink.url)
        yield sink


def _alerts(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text("select * from audit.alert order by alert_id")).mappings()]


def _write_bad(inbox, name: str = "hoso_2026.csv"):
    return write_csv(inbox, UNIT, "dossier", name, DOSSIER, BAD_ROWS, vietnamese=True)


# --- end to end over SMTP ---------------------------------------------------------------------


def test_rejected_file_mails_the_unit_in_vietnamese(env, engine, smtp):
    _write_bad(env["inbox"])
    summary = ingest(as_of=AS_OF)

    assert [o.status for o in summary.outcomes] == ["rejected"]
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["To"] == EMAIL and mail["X-Envelope-To"] == EMAIL
    assert mail.get_content_charset() == "utf-8"
    subject, body = str(mail["Subject"]), smtp.bodies()[0]
    assert "Tệp số liệu bị từ chối" in subject and "hoso_2026.csv" in subject and "tháng 10/2026" in subject
    assert "TTPVHCC/dossier/hoso_2026.csv" in body
    assert "Kỳ báo cáo: tháng 09/2026, tháng 10/2026" in body
    assert "«Số hồ sơ trực tuyến» lớn hơn «Tổng số hồ sơ tiếp nhận»" in body
    assert "Dòng 3: Số hồ sơ trực tuyến = 1.200; Tổng số hồ sơ tiếp nhận = 1.000" in body
    assert "gửi lại tệp đã sửa vào đúng thư mục TTPVHCC/dossier/" in body
    # no internal names a civil servant cannot use; the submission's number says what it is for; whom to ask
    assert "mart." not in body and "data_quality" not in body and "mã lần gửi" not in body.lower()
    number = summary.outcomes[0].submission_id
    assert f"Số hiệu lần gửi: {number} (ghi số này khi liên hệ hỗ trợ về tệp)" in body
    assert "Nếu cần hỗ trợ, đề nghị liên hệ: Tỉnh Lạng Sơn, thư điện tử ubnd@langson.gov.vn." in body
    [alert] = _alerts(engine)
    assert (alert["kind"], alert["channel"], alert["recipient"], alert["status"], alert["attempts"]) == (
        "rejected", "smtp", EMAIL, "sent", 1)
    assert alert["submission_id"] == summary.outcomes[0].submission_id and alert["sent_at"] is not None
    assert alert["subject"] == subject and alert["period"] == "2026-09,2026-10"
    assert summary.alerts["sent"] == 1


def test_identical_rerun_and_resend_never_alert_twice(env, engine, smtp):
    _write_bad(env["inbox"])
    first = ingest(as_of=AS_OF)
    ingest(as_of=AS_OF)                                   # same inbox: nothing new
    _write_bad(env["inbox"], "hoso_2026_copy.csv")        # same bytes under another name: a duplicate
    again = ingest(as_of=AS_OF)
    assert [o.status for o in again.outcomes] == ["duplicate"]
    sid = first.outcomes[0].submission_id
    assert send_alerts.fn(load_settings(), [sid]) == {"already": 1, "problems": 1, "resolved": 0}

    assert len(smtp.messages) == 1
    assert len(_alerts(engine)) == 1


def test_a_claim_left_pending_by_an_interrupted_run_is_sent_by_the_recovering_run(env, engine, smtp):
    _write_bad(env["inbox"])
    sid = ingest(as_of=AS_OF).outcomes[0].submission_id
    with engine.begin() as conn:  # as a process killed between claiming the message and recording its outcome
        conn.execute(sa.text("update audit.alert set status = 'pending', attempts = 0, sent_at = null"))
    smtp.messages.clear()
    settings = load_settings()
    assert send_alerts.fn(settings, [sid]) == {"already": 1, "problems": 1, "resolved": 0}  # a live run's claim
    assert smtp.messages == []

    assert send_alerts.fn(settings, [sid], recovered=[sid]) == {"problems": 1, "resolved": 0, "sent": 1}
    assert len(smtp.messages) == 1
    [alert] = _alerts(engine)
    assert alert["status"] == "sent" and alert["sent_at"] is not None and "interrupted" in alert["error"]
    assert send_alerts.fn(settings, [sid], recovered=[sid])["already"] == 1  # recorded now: never a third time
    assert len(smtp.messages) == 1


def test_concurrent_senders_claim_each_alert_once(env, engine, smtp):
    _write_bad(env["inbox"])
    sid = ingest(as_of=AS_OF).outcomes[0].submission_id
    with engine.begin() as conn:                          # forget the first alert, then race two senders
        conn.execute(sa.text("delete from audit.alert"))
    smtp.messages.clear()
    settings, barrier, results = load_settings(), threading.Barrier(4), []

    def racer() -> None:
        barrier.wait()
        results.append(send_alerts.fn(settings, [sid]))

    threads = [threading.Thread(target=racer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.get("sent", 0) for r in results) == [0, 0, 0, 1]
    assert len(smtp.messages) == 1 and len(_alerts(engine)) == 1


def test_correction_sends_one_resolved_notice(env, engine, smtp):
    _write_bad(env["inbox"])
    ingest(as_of=AS_OF)
    write_csv(env["inbox"], UNIT, "dossier", "hoso_2026_sua.csv", DOSSIER, GOOD_ROWS, vietnamese=True)
    fixed = ingest(as_of=AS_OF)
    ingest(as_of=AS_OF)

    assert [o.status for o in fixed.outcomes] == ["loaded"]
    assert len(smtp.messages) == 2
    subject, body = smtp.subjects()[1], smtp.bodies()[1]
    assert subject.startswith("[Chỉ tiêu năm 2026 — Tỉnh Lạng Sơn] Đã khắc phục: Hồ sơ thủ tục hành chính")
    assert "TTPVHCC/dossier/hoso_2026_sua.csv" in body and "TTPVHCC/dossier/hoso_2026.csv" in body
    assert "đã được khắc phục" in body
    kinds = [(a["kind"], a["status"], a["submission_id"]) for a in _alerts(engine)]
    assert kinds[1] == ("resolved", "sent", fixed.outcomes[0].submission_id)
    assert len(kinds) == 2


def test_clean_file_of_another_period_resolves_nothing(env, engine, smtp):
    _write_bad(env["inbox"])
    ingest(as_of=AS_OF)
    write_csv(env["inbox"], UNIT, "dossier", "hoso_thang8.csv", DOSSIER,
              [["TTPVHCC", "2026-08", "1.000", "900", "800", "790"]])
    ingest(as_of=AS_OF)
    assert [a["kind"] for a in _alerts(engine)] == ["rejected"]
    assert len(smtp.messages) == 1


def test_warned_file_is_loaded_and_mailed_as_a_warning(env, engine, smtp):
    history = [["TTPVHCC", f"2026-0{m}", "1.000", "900", "800", "790"] for m in (5, 6, 7)]
    write_csv(env["inbox"], UNIT, "dossier", "lich_su.csv", DOSSIER, history)
    ingest(as_of=AS_OF)
    write_csv(env["inbox"], UNIT, "dossier", "thang8.csv", DOSSIER,
              [["TTPVHCC", "2026-08", "9.000", "900", "800", "790"]])
    summary = ingest(as_of=AS_OF)

    assert [o.status for o in summary.outcomes] == ["loaded_with_warnings"]
    [mail] = smtp.messages
    body = smtp.bodies()[0]
    assert "Cảnh báo chất lượng số liệu" in str(mail["Subject"])
    assert "[Cảnh báo] «Tổng số hồ sơ tiếp nhận» chênh lệch lớn" in body
    assert "Tổng số hồ sơ tiếp nhận = 9.000" in body and "Trung vị các kỳ trước của đơn vị = 1.000" in body
    assert [a["kind"] for a in _alerts(engine)] == ["warning"]


# --- failures and configuration ------------------------------------------------------------------


def test_dead_smtp_port_is_recorded_failed_and_the_run_completes(env, engine, monkeypatch):
    monkeypatch.setenv("CHITIEU_SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    _write_bad(env["inbox"])
    _write_bad(env["inbox"], "khac.csv").write_text(  # a second rejected file: the channel is known to be down
        "unit_code,period,received_total\nTTPVHCC,2026-07,abc\n", encoding="utf-8")
    started = time.monotonic()
    summary = ingest(as_of=AS_OF)
    elapsed = time.monotonic() - started

    assert sorted(o.status for o in summary.outcomes) == ["rejected", "rejected"]
    alerts = _alerts(engine)
    assert [a["status"] for a in alerts] == ["failed", "failed"]
    assert alerts[0]["attempts"] == 3 and "ConnectionRefusedError" in alerts[0]["error"]
    assert alerts[1]["attempts"] == 0 and alerts[1]["error"].startswith("not attempted")
    assert summary.alerts["failed"] == 2
    assert elapsed < 30
    ingest(as_of=AS_OF)                 # still down: tried again once per run, on the same rows (not a new row each)
    assert [a["status"] for a in _alerts(engine)] == ["failed", "failed"]

    with SmtpSink() as sink:            # the mail server is back: the next run, with no new file, tells the unit
        monkeypatch.setenv("CHITIEU_SMTP_URL", sink.url)
        later = ingest(as_of=AS_OF)
        assert later.outcomes == [] and later.alerts["sent"] == 2
        assert sorted(m["To"] for m in sink.messages) == [EMAIL, EMAIL]
        assert [a["status"] for a in _alerts(engine)] == ["sent", "sent"]
        assert "an earlier attempt failed" in _alerts(engine)[0]["error"]
        ingest(as_of=AS_OF)             # sent once: never again
        assert len(sink.messages) == 2


def test_a_failed_alert_is_tried_again_for_a_week_only(env, engine, monkeypatch):
    monkeypatch.setenv("CHITIEU_SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    _write_bad(env["inbox"])
    ingest(as_of=AS_OF)
    with engine.begin() as conn:        # it first failed eight days ago: the unit is no longer told of it
        conn.execute(sa.text("update audit.alert set created_at = now() - interval '8 days'"))
    with SmtpSink() as sink:
        monkeypatch.setenv("CHITIEU_SMTP_URL", sink.url)
        assert ingest(as_of=AS_OF).alerts == {}
        assert sink.messages == [] and [a["status"] for a in _alerts(engine)] == ["failed"]


def test_without_smtp_url_the_alert_is_recorded_not_configured(env, engine):
    _write_bad(env["inbox"])
    summary = ingest(as_of=AS_OF)
    [alert] = _alerts(engine)
    assert (alert["status"], alert["attempts"], alert["recipient"]) == ("not_configured", 0, EMAIL)
    assert "Tệp số liệu bị từ chối" in alert["subject"] and "«Số hồ sơ trực tuyến»" in alert["body"]
    assert summary.alerts["not_configured"] == 1


def test_apprise_url_receives_every_alert(env, engine, smtp, monkeypatch):
    with HttpSink() as hook:
        monkeypatch.setenv("CHITIEU_ALERT_URLS", f"{hook.url} json://user:secret@127.0.0.1:{free_port()}/")
        _write_bad(env["inbox"])
        ingest(as_of=AS_OF)

    [post] = hook.posts
    assert "Tệp số liệu bị từ chối" in post["title"] and "hoso_2026.csv" in post["title"]
    assert "«Số hồ sơ trực tuyến» lớn hơn «Tổng số hồ sơ tiếp nhận»" in post["message"]
    by_channel = sorted((a["channel"], a["status"]) for a in _alerts(engine))
    assert by_channel == [("apprise", "failed"), ("apprise", "sent"), ("smtp", "sent")]
    assert not any("secret" in a["recipient"] for a in _alerts(engine))
    assert len(smtp.messages) == 1


@pytest.mark.parametrize("replies,attempts,error", [
    (["451 4.3.0 try again later"], 2, None),                        # transient: retried after a backoff
    (["550 5.1.1 no such mailbox"], 1, "550"),                        # permanent: not retried
    (["421 busy", "421 busy", "421 busy"], 3, "421"),                 # transient every time: gives up after 3
])
def test_smtp_retries_transient_refusals_only(replies, attempts, error):
    waits: list[float] = []
    with SmtpSink(rcpt_replies=replies) as sink:
        channel = alerting.SmtpChannel(sink.url, "chitieu@localhost")
        outgoing = alerting.Outgoing("k", "reminder", UNIT, "dossier", "2026-10", None, EMAIL,
                                     Message("Tiêu đề", "Nội dung"))
        made, last = alerting._with_backoff(lambda: channel.send(EMAIL, outgoing.message, outgoing), waits.append)
    assert made == attempts and waits == list(alerting.BACKOFF_SECONDS[: attempts - 1])
    assert (last is None) if error is None else (error in last)
    assert len(sink.messages) == (1 if error is None else 0)


# --- message rendering (no I/O) ---------------------------------------------------------------------


def test_value_in_range_is_told_apart_by_the_sample_columns():
    low = describe_check("indicator", "value_in_range", "value", [{"row": 2, "value": -1, "_min_value": 0}])
    high = describe_check("indicator", "value_in_range", "value", [{"row": 2, "value": 140, "_max_value": 100}])
    assert low.startswith("Giá trị nhỏ hơn mức tối thiểu") and high.startswith("Giá trị lớn hơn mức tối đa")


@pytest.mark.parametrize("check,column,expected", [
    ("int_format", "received_total", "Cột «Tổng số hồ sơ tiếp nhận»: giá trị không phải số nguyên hợp lệ"),
    ("column_present", "received_online", "Thiếu cột bắt buộc «Số hồ sơ trực tuyến»"),
    ("file_encoding", None, "Tệp không phải văn bản mã hóa UTF-8; hãy lưu lại dưới dạng «CSV UTF-8»"),
    ("unit_matches_folder", "unit_code", "Mã đơn vị khác với thư mục của đơn vị gửi"),
])
def test_checks_are_described_in_vietnamese(check, column, expected):
    assert describe_check("dossier", check, column).startswith(expected)


def test_values_are_written_the_vietnamese_way():
    assert [format_value(v) for v in (1795, 1234567.5, 23.49, None, "abc")] == [
        "1.795", "1.234.567,5", "23,49", "(trống)", "«abc»"]


def test_long_check_lists_are_cut_with_a_pointer_to_the_warehouse():
    sub = {"submission_id": 7, "unit_code": UNIT, "name_vi": "Trung tâm", "feed": "dossier", "status": "rejected",
           "file_name": "TTPVHCC/dossier/a.csv", "periods": [], "received_at": None, "rows_total": 50,
           "rows_failed": 50}
    checks = [{"expectation": "non_negative", "severity": "error", "column_name": "received_total",
               "failed_rows": 1, "sample": [{"row": n, "received_total": -n}], "message": ""} for n in range(30)]
    message = problem_message(sub, checks, {"unit_code": "LANGSON", "name_vi": "Tỉnh Lạng Sơn"})
    assert "Kỳ báo cáo: không xác định" in message.body
    assert "20. [Lỗi]" in message.body and "21. [Lỗi]" not in message.body
    assert "… và 10 kiểm tra khác không đạt." in message.body


@pytest.mark.parametrize("period, written", [
    ("2026-11", "tháng 11/2026"), ("2026-01", "tháng 01/2026"), ("2026-Q3", "quý 3/2026"), ("2026", "năm 2026"),
])
def test_periods_are_written_as_a_vietnamese_reader_does(period, written):
    assert period_vi(period) == written
    sub = {"submission_id": 7, "unit_code": UNIT, "name_vi": "Trung tâm", "feed": "indicator", "status": "rejected",
           "file_name": "TTPVHCC/indicator/a.csv", "periods": [period], "received_at": None, "rows_total": 1,
           "rows_failed": 1, "help_name": "Văn phòng", "help_email": "hotro@example.vn"}
    message = problem_message(sub, [], {"unit_code": "LANGSON", "name_vi": "Tỉnh Lạng Sơn"})
    assert written in message.subject and f"Kỳ báo cáo: {written}" in message.body
    assert "Nếu cần hỗ trợ, đề nghị liên hệ: Văn phòng, thư điện tử hotro@example.vn." in message.body
