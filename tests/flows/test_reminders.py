"""Reminders for monthly feeds past their due date: real SMTP (aiosmtpd), real flow runs, real PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from apps.cli import app
from chitieu.config import load_settings
from flows.ingest import ingest
from flows.reminders import find_missing_reports, reminders
from tests.feeds import DOSSIER, write_csv
from tests.mailsink import SmtpSink

EXPECTED_PAIRS = 45   # (unit, monthly feed) pairs of catalog/units.csv


@pytest.fixture
def smtp(env, monkeypatch):
    with SmtpSink() as sink:
        monkeypatch.setenv("CHITIEU_SMTP_URL", sink.url)
        yield sink


def _reminder_mails(sink: SmtpSink) -> list:
    return [m for m in sink.messages if "Nhắc gửi báo cáo" in str(m["Subject"])]


def _expected_pairs(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.text(
            "select count(*) from core.unit cross join lateral unnest(monthly_feeds) where is_active"))


def test_catalog_expectation_matches_the_test(engine):
    assert _expected_pairs(engine) == EXPECTED_PAIRS


def test_no_reminder_on_or_before_the_due_date(env, engine, smtp):
    assert reminders(as_of=dt.date(2026, 2, 5)) == {"as_of": "2026-02-05", "overdue": 0}
    assert smtp.messages == []
    with engine.connect() as conn:
        assert conn.scalar(sa.text("select count(*) from audit.alert")) == 0


def test_one_reminder_per_missing_unit_feed_and_month_after_the_due_date(env, engine, smtp):
    inbox = env["inbox"]
    write_csv(inbox, "TTPVHCC", "dossier", "t1.csv", DOSSIER, [["TTPVHCC", "2026-01", "100", "90", "80", "79"]])
    write_csv(inbox, "SO_NOIVU", "dossier", "t1.csv", DOSSIER, [["SO_NOIVU", "2026-01", "100", "190", "80", "79"]])
    ingest(as_of=dt.date(2026, 2, 1))                     # TTPVHCC accepted; SO_NOIVU rejected (online > total)
    assert len(smtp.messages) == 1                        # the rejection alert

    result = reminders(as_of=dt.date(2026, 2, 6))
    mails = _reminder_mails(smtp)
    assert result["overdue"] == len(mails) == EXPECTED_PAIRS - 1 and result["sent"] == EXPECTED_PAIRS - 1
    recipients = sorted(str(m["To"]) for m in mails)
    assert "ttpvhcc@langson.gov.vn" not in recipients
    assert recipients.count("sonoivu@langson.gov.vn") == 1   # a rejected file does not count as sent
    assert recipients.count("xachilang@langson.gov.vn") == 2  # dossier and disbursement
    [mail] = [m for m in mails if m["To"] == "sonoivu@langson.gov.vn"]
    body = mail.get_body(("plain",)).get_content()
    assert str(mail["Subject"]) == ("[Chỉ tiêu năm 2026 — Tỉnh Lạng Sơn] Nhắc gửi báo cáo Hồ sơ thủ tục hành chính "
                                    "tháng 01/2026 (hạn 05/02/2026)")
    assert "Đến ngày 06/02/2026, hệ thống chưa nhận được báo cáo «Hồ sơ thủ tục hành chính» kỳ tháng 01/2026" in body
    assert "vào thư mục SO_NOIVU/dossier/" in body and "2026-01" not in body
    assert "(.csv, .txt, .xlsx, .xls, .ods hoặc .json)" in body  # every format the landing zone takes
    assert "Nếu cần hỗ trợ, đề nghị liên hệ: Tỉnh Lạng Sơn, thư điện tử ubnd@langson.gov.vn." in body

    again = reminders(as_of=dt.date(2026, 2, 7))          # the next day: nothing repeated
    assert again["already"] == EXPECTED_PAIRS - 1 and "sent" not in again
    assert len(_reminder_mails(smtp)) == EXPECTED_PAIRS - 1
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select kind, status, count(*) from audit.alert group by 1, 2 order by 1")).all()
    assert [tuple(r) for r in rows] == [("rejected", "sent", 1), ("reminder", "sent", EXPECTED_PAIRS - 1)]

    # a reminders run killed after claiming one reminder: a fresh claim is left alone, an hour-old one is sent again
    with engine.begin() as conn:
        conn.execute(sa.text("update audit.alert set status = 'pending', sent_at = null where alert_id in"
                             " (select min(alert_id) from audit.alert where kind = 'reminder')"))
    assert reminders(as_of=dt.date(2026, 2, 8)).get("sent") is None
    with engine.begin() as conn:
        conn.execute(sa.text("update audit.alert set created_at = now() - interval '2 hours'"
                             " where status = 'pending'"))
    assert reminders(as_of=dt.date(2026, 2, 8))["sent"] == 1
    assert len(_reminder_mails(smtp)) == EXPECTED_PAIRS
    with engine.connect() as conn:
        assert conn.scalar(sa.text("select count(*) from audit.alert where status = 'pending'")) == 0


def test_months_roll_over_the_year_end(env):
    settings = load_settings()
    periods = {r["period"] for r in find_missing_reports.fn(settings, dt.date(2027, 1, 6))}
    assert "2026-12" in periods and "2026-01" in periods and "2027-01" not in periods
    periods = {r["period"] for r in find_missing_reports.fn(settings, dt.date(2027, 1, 5))}
    assert "2026-11" in periods and "2026-12" not in periods


def test_remind_command_runs_the_flow(env):
    result = CliRunner().invoke(app, ["remind", "--as-of", "2026-02-05"])
    assert result.exit_code == 0, result.output
    assert "overdue: 0" in result.output
