"""The reviewer's pages of the portal (CONTRACT.md sections 8 and 9) over a real server, warehouse and Prefect runs:
approve and reopen a unit's period from the review queue, the lock it puts on new files, a unit's explanation of a
warning seen by the reviewer, and who may do what."""

from __future__ import annotations

import csv
import io

import httpx
import sqlalchemy as sa

from tests.apps.conftest import CLERK, CLERK2, DOSSIER, PROVINCE, UNIT, csrf_of, dossier_csv


def _submit(portal, data: bytes, name: str) -> dict:
    with portal.api(CLERK) as api:
        answer = api.post("/api/v1/submissions", params={"feed": "dossier"}, files={"file": (name, data)})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _approvals(portal) -> list[tuple]:
    with portal.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "select unit_code, feed, period, status, approved_by, reason from mart.approval order by approval_id"))]


def _row(unit: str = UNIT, feed: str = "dossier", period: str = "2026-10") -> dict:
    return {"unit": unit, "feed": feed, "period": period}


def test_province_approves_a_period_then_a_new_file_is_locked_until_reopened_with_a_reason(portal):
    assert _submit(portal, dossier_csv(UNIT), "thang10.csv")["status"] == "loaded"
    with portal.signed_in(PROVINCE) as province:
        queue = province.get("/review", params={"unit": UNIT, "feed": "dossier"})
        assert queue.status_code == 200
        assert f'data-unit="{UNIT}" data-feed="dossier" data-period="2026-10"' in queue.text
        assert "Chưa duyệt" in queue.text and 'action="/review/approve"' in queue.text
        done = province.post("/review/approve", data={**_row(), "csrf": csrf_of(queue.text),
                                                       "filter_unit": UNIT, "filter_feed": "dossier"})
        assert done.status_code == 303 and done.headers["location"] == f"/review?unit={UNIT}&feed=dossier&done=approved"
        after = province.get(done.headers["location"])
        assert "Đã duyệt kỳ báo cáo." in after.text and f"bởi {PROVINCE}" in after.text
        assert 'action="/review/reopen"' in after.text and 'action="/review/approve"' not in after.text
    assert _approvals(portal) == [(UNIT, "dossier", "2026-10", "approved", PROVINCE, None)]

    fixed = dossier_csv(UNIT).replace(b"120,100", b"125,100")
    refused = _submit(portal, fixed, "thang10-sua.csv")
    assert refused["status"] == "rejected"
    assert [c["check"] for c in refused["conflicts"]] == ["period_locked"]
    assert PROVINCE in refused["conflicts"][0]["message_vi"]

    with portal.signed_in(PROVINCE) as province:
        csrf = csrf_of(province.get("/review").text)
        for reason in (None, "", "   "):
            form = {**_row(), "csrf": csrf} | ({"reason": reason} if reason is not None else {})
            answer = province.post("/review/reopen", data=form)
            assert answer.status_code == 422 and "lý do" in answer.text
        assert len(_approvals(portal)) == 1
        # reopening a period that is not approved is refused too, in Vietnamese
        other = province.post("/review/reopen", data={**_row(period="2026-09"), "csrf": csrf, "reason": "x"})
        assert other.status_code == 422 and "chưa được duyệt" in other.text
        done = province.post("/review/reopen", data={**_row(), "csrf": csrf, "reason": "Đơn vị báo sai số hồ sơ"})
        assert done.status_code == 303 and done.headers["location"] == "/review?done=reopened"
        assert "Đã mở lại" in province.get("/review").text
    assert _approvals(portal)[1:] == [(UNIT, "dossier", "2026-10", "reopened", PROVINCE, "Đơn vị báo sai số hồ sơ")]
    again = _submit(portal, fixed, "thang10-sua.csv")
    assert again["status"] == "loaded" and again["is_current"]
    with portal.engine.connect() as conn:
        events = conn.execute(sa.text("select event from portal.audit_event where email = :e and event in"
                                      " ('approve', 'reopen') order by event_id"), {"e": PROVINCE}).scalars().all()
    assert events == ["approve", "reopen"]


def _history_then_a_jump(portal) -> int:
    """Three ordinary months, then August at 2.5x the usual: a warning on the received dossiers."""
    def rows(*lines):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows([DOSSIER, *lines])
        return buffer.getvalue().encode()

    history = rows(*([UNIT, f"2026-0{m}", "1000", "900", "800", "790"] for m in (5, 6, 7)))
    assert _submit(portal, history, "lich-su.csv")["status"] == "loaded"
    august = _submit(portal, rows([UNIT, "2026-08", "2500", "900", "800", "790"]), "thang08.csv")
    assert august["status"] == "loaded_with_warnings", august
    return august["submission_id"]


def test_a_unit_explains_a_warning_and_the_reviewer_sees_it_in_the_queue(portal):
    submission_id = _history_then_a_jump(portal)
    with portal.engine.connect() as conn:
        [(expectation, column)] = conn.execute(sa.text(
            "select expectation, column_name from audit.check_result where submission_id = :s"
            " and severity = 'warning'"), {"s": submission_id}).all()
    text = "Tháng 8 tiếp nhận hồ sơ đất đai đợt cao điểm <script>alert(1)</script>"
    form = {"expectation": expectation, "column": column or "", "explanation": text}
    path = f"/submissions/{submission_id}/explain"
    with portal.signed_in(CLERK) as clerk, portal.signed_in(CLERK2) as other:
        page = clerk.get(f"/submissions/{submission_id}")
        assert page.status_code == 200 and f'action="{path}"' in page.text
        assert clerk.post(path, data=form).status_code == 403                         # no CSRF token
        assert clerk.post(path, data={**form, "csrf": "wrong"}).status_code == 403
        # another unit, guessing the id, with its own valid token: refused, nothing kept
        refused = other.post(path, data={**form, "csrf": csrf_of(other.get("/").text)})
        assert refused.status_code == 403
        assert other.get(f"/submissions/{submission_id}").status_code == 403
        # a check the submission does not have as a warning, or an empty explanation: refused
        csrf = csrf_of(page.text)
        assert clerk.post(path, data={**form, "csrf": csrf, "expectation": "period_locked"}).status_code == 422
        assert clerk.post(path, data={**form, "csrf": csrf, "explanation": "  "}).status_code == 422
        with portal.engine.connect() as conn:
            assert conn.scalar(sa.text("select count(*) from audit.warning_explanation")) == 0
        done = clerk.post(path, data={**form, "csrf": csrf})
        assert done.status_code == 303
        shown = clerk.get(done.headers["location"]).text
        assert "Đã lưu lời giải thích" in shown and "<script>alert" not in shown
        assert "Tháng 8 tiếp nhận hồ sơ đất đai đợt cao điểm &lt;script&gt;" in shown
        assert clerk.get("/review").status_code == 403
    with portal.engine.connect() as conn:
        assert conn.execute(sa.text("select explained_by, explanation from audit.warning_explanation")).all() == [
            (CLERK, text)]
    with portal.signed_in(PROVINCE) as province:
        queue = province.get("/review", params={"unit": UNIT, "feed": "dossier", "period": "2026-08"})
        assert queue.status_code == 200
        assert queue.text.count("data-unit=") == 1 and 'data-period="2026-08"' in queue.text
        assert "Cảnh báo còn lại: 1 (đơn vị đã giải thích 1)" in queue.text
        assert "Tháng 8 tiếp nhận hồ sơ đất đai đợt cao điểm &lt;script&gt;" in queue.text
        assert "<script>" not in queue.text
        assert f"— {CLERK}" in queue.text
        # the reviewer reads the explanation; it is the unit's word, not the reviewer's
        assert province.post(path, data={**form, "csrf": csrf_of(queue.text)}).status_code == 403


def test_a_unit_account_is_refused_the_queue_and_its_actions_and_forms_need_csrf(portal):
    assert _submit(portal, dossier_csv(UNIT), "thang10.csv")["status"] == "loaded"
    with httpx.Client(base_url=portal.url) as anonymous:
        assert anonymous.get("/review").headers["location"] == "/login"
        assert anonymous.post("/review/approve", data=_row()).status_code == 303
    with portal.signed_in(CLERK) as clerk:
        home = clerk.get("/")
        assert 'href="/review"' not in home.text
        csrf = csrf_of(home.text)
        assert clerk.get("/review").status_code == 403
        assert clerk.post("/review/approve", data={**_row(), "csrf": csrf}).status_code == 403
        assert clerk.post("/review/reopen", data={**_row(), "csrf": csrf, "reason": "x"}).status_code == 403
    with portal.signed_in(PROVINCE) as province:
        assert 'href="/review"' in province.get("/").text
        for token in (None, "", "wrong"):
            form = _row() | ({"csrf": token} if token is not None else {})
            assert province.post("/review/approve", data=form).status_code == 403
        # a period without current data cannot be approved
        csrf = csrf_of(province.get("/review").text)
        nothing = province.post("/review/approve", data={**_row(period="2026-07"), "csrf": csrf})
        assert nothing.status_code == 422 and "Không duyệt được" in nothing.text
    assert _approvals(portal) == []
    with portal.engine.connect() as conn:
        refusals = conn.scalar(sa.text("select count(*) from portal.audit_event where event = 'refused'"
                                       " and http_status = 403 and email = :e"), {"e": CLERK})
    assert refusals == 3
