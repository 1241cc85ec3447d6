"""Approval of a unit's period: the lock, its alert, reopening, history, and concurrency (real PostgreSQL, Prefect
runs and SMTP)."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time

import pytest
import sqlalchemy as sa

from chitieu import approval
from chitieu.errors import ChitieuError
from flows.ingest import ingest
from tests.feeds import DOSSIER, write_csv
from tests.mailsink import SmtpSink

AS_OF = dt.date(2026, 11, 20)
UNIT = "TTPVHCC"
SEPT = [[UNIT, "2026-09", "1.000", "900", "800", "790"]]
SEPT_FIXED = [[UNIT, "2026-09", "1.010", "905", "800", "795"]]
OCT = [[UNIT, "2026-10", "1.100", "1.000", "900", "880"]]
NOV = [[UNIT, "2026-11", "1.050", "990", "900", "870"]]


@pytest.fixture
def smtp(env, monkeypatch):
    with SmtpSink() as sink:
        monkeypatch.setenv("CHITIEU_SMTP_URL", sink.url)
        yield sink


def _write(env, name: str, rows: list[list], landed_at: dt.datetime | None = None):
    return write_csv(env["inbox"], UNIT, "dossier", name, DOSSIER, rows, vietnamese=True, landed_at=landed_at)


def _status(engine, name: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "select status, version, is_current from mart.submission_log where file_name like :f"
            " order by submission_id"), {"f": f"%/{name}"}).all()]


def _approve(engine, period: str, by: str = "reviewer@tinh", feed: str = "dossier") -> approval.Lock:
    with engine.begin() as conn:
        return approval.approve(conn, UNIT, feed, period, by)


def _reopen(engine, period: str, reason: str = "đơn vị báo sai số hồ sơ", feed: str = "dossier") -> int:
    with engine.begin() as conn:
        return approval.reopen(conn, UNIT, feed, period, "reviewer@tinh", reason)


def _online_rate(engine, unit: str, period: str) -> tuple:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text(
            "select numerator, is_approved from mart.metric_value where metric_code = 'online_dossier_rate'"
            " and unit_code = :u and period = :p and scope = 'month'"), {"u": unit, "p": period}).one())


def test_approved_period_refuses_a_new_file_until_reopened(env, engine, smtp):
    _write(env, "t09.csv", SEPT)
    _write(env, "t10.csv", OCT)
    assert ingest(as_of=AS_OF).counts() == {"loaded": 2}
    lock = _approve(engine, "2026-09")
    assert _approve(engine, "2026-09") == lock                  # approving again changes nothing
    assert _online_rate(engine, UNIT, "2026-09") == (900, True)
    assert _online_rate(engine, UNIT, "2026-10") == (1000, False)
    assert _online_rate(engine, "LANGSON", "2026-09")[1] is True  # the only contributing unit is approved

    fixed = _write(env, "t09_sua.csv", SEPT_FIXED)
    _write(env, "t11.csv", NOV)                                  # another period: unaffected
    summary = ingest(as_of=AS_OF)
    by_name = {o.file_name.rsplit("/", 1)[-1]: o for o in summary.outcomes}
    assert by_name["t09_sua.csv"].status == "rejected" and by_name["t11.csv"].status == "loaded"
    [failure] = by_name["t09_sua.csv"].failures
    assert (failure.expectation, failure.severity, failure.rows) == ("period_locked", "error", [2])
    assert "reviewer@tinh" in failure.message and "2026-09" in failure.message
    assert _online_rate(engine, UNIT, "2026-09") == (900, True)  # the approved figure did not move

    [mail] = [b for b in smtp.bodies() if "t09_sua.csv" in b]
    assert "kỳ 2026-09 đã được reviewer@tinh phê duyệt lúc" in mail
    assert "đề nghị liên hệ reviewer@tinh để mở lại kỳ báo cáo" in mail
    with engine.connect() as conn:
        quality = conn.execute(sa.text(
            "select severity, message_vi, sample from mart.data_quality where expectation = 'period_locked'")).one()
    assert quality.severity == "error" and quality.sample[0]["approved_by"] == "reviewer@tinh"

    # resending the same bytes while locked changes nothing (no new refusal, no new mail); under another name they
    # are a duplicate of the refusal
    os.utime(fixed, (time.time(), time.time()))
    mails = len(smtp.messages)
    assert ingest(as_of=AS_OF).counts() == {}
    assert len(smtp.messages) == mails
    copy = _write(env, "t09_gui_lai.csv", SEPT_FIXED)
    assert ingest(as_of=AS_OF).counts() == {"duplicate": 1}

    assert _reopen(engine, "2026-09") == 1
    with pytest.raises(ChitieuError, match="not approved"):
        _reopen(engine, "2026-09")
    assert _online_rate(engine, UNIT, "2026-09") == (900, False)

    # the same bytes, sent again under the same name, are now taken: a new version of September (the copy sent
    # while locked was released with the refusal: it is this run's duplicate of it, not what kept it "seen")
    copy.unlink()
    stamp = time.time() + 5
    os.utime(fixed, (stamp, stamp))
    again = ingest(as_of=AS_OF)
    assert [(o.file_name.rsplit("/", 1)[-1], o.status) for o in again.outcomes] == [("t09_sua.csv", "loaded")]
    assert _status(engine, "t09_sua.csv") == [("rejected", None, False), ("loaded", 2, True)]
    assert _online_rate(engine, UNIT, "2026-09") == (905, False)
    assert _status(engine, "t10.csv") == [("loaded", 1, True)] and _status(engine, "t11.csv") == [("loaded", 1, True)]

    with engine.connect() as conn:
        history = conn.execute(sa.text(
            "select period, status, approved_by, reason, is_current from mart.approval order by approval_id")).all()
    assert [tuple(r) for r in history] == [
        ("2026-09", "approved", "reviewer@tinh", None, False),
        ("2026-09", "reopened", "reviewer@tinh", "đơn vị báo sai số hồ sơ", True)]


def _refused_correction(env, engine) -> None:
    """September loaded and approved, then its correction t09_sua.csv refused by the lock."""
    _write(env, "t09.csv", SEPT)
    ingest(as_of=AS_OF)
    _approve(engine, "2026-09")
    _write(env, "t09_sua.csv", SEPT_FIXED)
    assert ingest(as_of=AS_OF).counts() == {"rejected": 1}


def test_a_copy_sent_while_locked_does_not_keep_the_correction_out_after_reopening(env, engine):
    _refused_correction(env, engine)
    _write(env, "t09_sua_lan2.csv", SEPT_FIXED)           # the unit tries again before anyone reopens
    assert ingest(as_of=AS_OF).counts() == {"duplicate": 1}
    assert _reopen(engine, "2026-09") == 1
    _write(env, "t09_sua_lan3.csv", SEPT_FIXED)           # and sends it once more after the reopening
    assert sorted(ingest(as_of=AS_OF).counts().items()) == [("duplicate", 2), ("loaded", 1)]
    assert _online_rate(engine, UNIT, "2026-09") == (905, False)


def test_rerun_takes_the_refused_file_after_reopening(env, engine):
    from flows.rerun import rerun

    _refused_correction(env, engine)

    locked = rerun(unit=UNIT, feed="dossier", period="2026-09", as_of=AS_OF)  # approved data are left as they are
    assert locked.outcomes == [] and [s.rel_path for s in locked.skipped] == [f"{UNIT}/dossier/t09.csv"]

    _reopen(engine, "2026-09")
    summary = rerun(unit=UNIT, feed="dossier", period="2026-09", as_of=AS_OF)
    assert sorted(o.status for o in summary.outcomes) == ["loaded", "loaded"]
    assert _status(engine, "t09_sua.csv") == [("loaded", 2, True)]
    assert _online_rate(engine, UNIT, "2026-09") == (905, False)
    # it holds its content again: the same bytes under another name are a duplicate
    _write(env, "t09_copy.csv", SEPT_FIXED)
    assert ingest(as_of=AS_OF).counts() == {"duplicate": 1}


def test_approve_needs_data_and_a_reason_to_reopen(env, engine):
    with pytest.raises(ChitieuError, match="nothing to approve"):
        _approve(engine, "2026-09")
    with pytest.raises(ChitieuError, match="YYYY-MM"):
        _approve(engine, "2026-Q3")
    _write(env, "t09.csv", SEPT)
    ingest(as_of=AS_OF)
    _approve(engine, "2026-09")
    with pytest.raises(ChitieuError, match="reason"):
        _reopen(engine, "2026-09", reason="  ")


def _waiting_on_advisory_lock(engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.scalar(sa.text(
            "select count(*) from pg_locks where locktype = 'advisory' and not granted")))


def _wait_for(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_upload_waiting_on_an_approval_is_refused_by_it(env, engine):
    _write(env, "t09.csv", SEPT)
    ingest(as_of=AS_OF)
    _write(env, "t09_sua.csv", SEPT_FIXED)
    with engine.connect() as conn:
        tx = conn.begin()
        approval.approve(conn, UNIT, "dossier", "2026-09", "reviewer@tinh")  # holds the unit's lock until commit
        result = {}
        upload = threading.Thread(target=lambda: result.update(summary=ingest(as_of=AS_OF)))
        upload.start()
        _wait_for(lambda: _waiting_on_advisory_lock(engine))           # the load waits for the approval
        tx.commit()
    upload.join(120)
    assert result["summary"].counts() == {"rejected": 1}
    assert result["summary"].outcomes[0].failures[0].expectation == "period_locked"
    assert _online_rate(engine, UNIT, "2026-09") == (900, True)


def test_approval_waiting_on_an_upload_approves_what_landed(env, engine):
    _write(env, "t09.csv", SEPT)
    ingest(as_of=AS_OF)
    _write(env, "t09_sua.csv", SEPT_FIXED)
    result, errors = {}, []
    with engine.connect() as blocker:
        tx = blocker.begin()
        # the upload takes the unit's lock, then waits here (its refresh of current slices) with the lock held
        blocker.execute(sa.text("lock table core.current_slice in exclusive mode"))
        upload = threading.Thread(target=lambda: result.update(summary=ingest(as_of=AS_OF)))
        upload.start()

        def _approve_now():
            try:
                result["lock"] = _approve(engine, "2026-09")
            except Exception as exc:  # reported below
                errors.append(exc)

        _wait_for(lambda: _lock_waits(engine, "relation") >= 1)
        approver = threading.Thread(target=_approve_now)
        approver.start()
        _wait_for(lambda: _waiting_on_advisory_lock(engine))            # the approval waits for the upload
        tx.commit()
    upload.join(120)
    approver.join(60)
    assert not errors
    assert result["summary"].counts() == {"loaded": 1}
    assert _status(engine, "t09_sua.csv") == [("loaded", 2, True)]
    assert _online_rate(engine, UNIT, "2026-09") == (905, True)     # what is approved is what landed


def _lock_waits(engine, kind: str) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.text("select count(*) from pg_locks where locktype = :k and not granted"),
                               {"k": kind}))


def test_report_marks_approved_figures(env, engine, tmp_path):
    from flows.report import report

    _write(env, "t09.csv", SEPT)
    _write(env, "t10.csv", OCT)
    ingest(as_of=AS_OF)
    _approve(engine, "2026-09")
    html = (tmp_path / "out" / "report.html")
    report(out=str(html.parent), as_of=AS_OF)
    text = html.read_text(encoding="utf-8")
    assert "90,0✓" in text                    # September's online rate (900 / 1000), approved
    assert "90,9" in text and "90,9✓" not in text   # October's (1000 / 1100), not approved
    assert "✓ approved" in text


def test_review_queue_shows_open_warnings_explanations_and_approval(env, engine):
    history = [[UNIT, f"2026-0{m}", "1.000", "900", "800", "790"] for m in (5, 6, 7)]
    _write(env, "history.csv", history)
    ingest(as_of=AS_OF)
    _write(env, "t08.csv", [[UNIT, "2026-08", "2.500", "900", "800", "790"]])   # 2.5x the usual: a warning
    [outcome] = ingest(as_of=AS_OF).outcomes
    assert outcome.status == "loaded_with_warnings"
    with engine.begin() as conn:
        with pytest.raises(ChitieuError, match="no failed check"):
            approval.explain_warning(conn, outcome.submission_id, "value_near_history", "resolved_total",
                                     "x", "ttpvhcc@langson.gov.vn")
        approval.explain_warning(conn, outcome.submission_id, "value_near_history", "received_total",
                                 "Tháng 8 tiếp nhận hồ sơ đất đai đợt cao điểm", "ttpvhcc@langson.gov.vn")
    _approve(engine, "2026-08")

    def queue(period: str) -> dict:
        with engine.connect() as conn:
            return dict(conn.execute(sa.text(
                "select * from mart.review_queue where unit_code = :u and feed = 'dossier' and period = :p"),
                {"u": UNIT, "p": period}).mappings().one())

    row = queue("2026-08")
    assert (row["open_warnings"], row["explained_warnings"], row["is_approved"]) == (1, 1, True)
    [warning] = row["warnings"]
    assert warning["explanation"] == "Tháng 8 tiếp nhận hồ sơ đất đai đợt cao điểm"
    assert warning["sample"][0]["_score_received_total"] > 3.5 and warning["sample"][0]["_points"] == 3
    assert row["approval_by"] == "reviewer@tinh"
    earlier = queue("2026-05")
    assert (earlier["open_warnings"], earlier["is_approved"], earlier["approval_status"]) == (0, False, None)
    assert earlier["notes"][0]["note"] == "history_too_short"


def test_cli_approve_and_unapprove_name_the_operating_system_user(env, engine):
    import getpass

    from typer.testing import CliRunner

    from apps.cli import app

    _write(env, "t09.csv", SEPT)
    ingest(as_of=AS_OF)
    runner = CliRunner()
    done = runner.invoke(app, ["approve", "--unit", UNIT, "--feed", "dossier", "--period", "2026-09"])
    assert done.exit_code == 0, done.output
    missing = runner.invoke(app, ["unapprove", "--unit", UNIT, "--feed", "dossier", "--period", "2026-09"])
    assert missing.exit_code != 0                                    # --reason is required
    reopened = runner.invoke(app, ["unapprove", "--unit", UNIT, "--feed", "dossier", "--period", "2026-09",
                                   "--reason", "sửa số liệu"])
    assert reopened.exit_code == 0, reopened.output
    again = runner.invoke(app, ["unapprove", "--unit", UNIT, "--feed", "dossier", "--period", "2026-09",
                                "--reason", "lần nữa"])
    assert again.exit_code == 1 and "not approved" in again.output
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select status, approved_by, reason from mart.approval order by approval_id")).all()
    user = getpass.getuser()
    assert [tuple(r) for r in rows] == [("approved", user, None), ("reopened", user, "sửa số liệu")]


def test_periods_lock_by_themselves_after_the_catalog_days_reopening_is_the_exception(env, engine, tmp_path,
                                                                                     monkeypatch):
    import shutil

    from tests.conftest import CATALOG

    catalog = tmp_path / "catalog"
    shutil.copytree(CATALOG, catalog)
    (catalog / "feeds.csv").write_text("feed,lock_after_days\ndossier,10\nadmin_ops,\n", encoding="utf-8")
    monkeypatch.setenv("CHITIEU_CATALOG", str(catalog))
    as_of = dt.date(2026, 11, 10)        # September is due 05/10 (+10 days: locked), October 05/11 (not yet)
    _write(env, "t09.csv", SEPT)
    _write(env, "t10.csv", OCT)
    assert ingest(as_of=as_of).counts() == {"loaded": 2}
    _write(env, "t09_sua.csv", SEPT_FIXED)
    _write(env, "t10_sua.csv", [[UNIT, "2026-10", "1.100", "1.001", "900", "880"]])
    summary = ingest(as_of=as_of)
    status = {o.file_name.rsplit("/", 1)[-1]: o for o in summary.outcomes}
    assert status["t09_sua.csv"].status == "rejected" and status["t10_sua.csv"].status == "loaded"
    assert "đã tự động khóa" in status["t09_sua.csv"].failures[0].message_vi
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(sa.text(
            "select period, status, approved_by, automatic from mart.approval"))] == [
            ("2026-09", "approved", "auto", True)]
    _reopen(engine, "2026-09")
    stamp = time.time() + 5
    os.utime(env["inbox"] / UNIT / "dossier" / "t09_sua.csv", (stamp, stamp))
    assert ingest(as_of=as_of).counts() == {"loaded": 1}          # not locked again: it was reopened


def test_feeds_catalog_errors_name_file_row_and_column(tmp_path):
    from chitieu.errors import CatalogError

    (tmp_path / "feeds.csv").write_text("feed,lock_after_days\ndossier,ten\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"feeds.csv, line 2, column lock_after_days: 'ten'"):
        approval.read_lock_days(tmp_path)
    assert approval.read_lock_days(tmp_path / "none") == {}


def test_year_to_date_is_approved_only_when_every_reported_month_up_to_it_is(env, engine):
    _write(env, "t08.csv", [[UNIT, "2026-08", "1.000", "900", "800", "790"]])
    _write(env, "t09.csv", SEPT)
    _write(env, "t10.csv", OCT)
    ingest(as_of=AS_OF)

    def ytd(unit: str = UNIT) -> dict[str, bool]:
        with engine.connect() as conn:
            return dict(conn.execute(sa.text(
                "select period, is_approved from mart.metric_value where metric_code = 'online_dossier_rate'"
                " and unit_code = :u and scope = 'ytd'"), {"u": unit}).all())

    _approve(engine, "2026-09")
    assert ytd() == {"2026-08": False, "2026-09": False, "2026-10": False}   # August is not approved
    _approve(engine, "2026-08")
    assert ytd() == {"2026-08": True, "2026-09": True, "2026-10": False}
    assert ytd("LANGSON") == {"2026-08": True, "2026-09": True, "2026-10": False}


def test_tasks_lock_the_tasks_due_in_the_month_a_register_changes(env, engine):
    tasks = ["task_code", "unit_code", "title", "assigned_date", "due_date", "completed_date"]

    def register(name: str, rows: list[list]) -> None:
        write_csv(env["inbox"], "VP_UBND", "tasks", name, tasks, rows)

    march = ["NV1", "VP_UBND", "Báo cáo quý", "2026-01-05", "2026-03-31", "2026-03-20"]
    april = ["NV2", "VP_UBND", "Đề án", "2026-01-05", "2026-04-30", ""]
    register("r1.csv", [march, april])
    ingest(as_of=AS_OF)
    with engine.begin() as conn:
        approval.approve(conn, "VP_UBND", "tasks", "2026-03", "reviewer@tinh")
    register("r2.csv", [march, april[:5] + ["2026-04-28"]])          # March's task unchanged: taken
    assert ingest(as_of=AS_OF).counts() == {"loaded": 1}
    register("r3.csv", [march[:5] + ["2026-03-25"], april])          # March's task changed: refused
    [refused] = ingest(as_of=AS_OF).outcomes
    assert refused.status == "rejected" and refused.failures[0].expectation == "period_locked"
    assert refused.failures[0].rows == [2]
