"""The portal's HTTP API (CONTRACT.md section 8) over a real server, warehouse and Prefect runs: every status code
of the contract, the answer's JSON, and a dry run that stores nothing."""

from __future__ import annotations

import sqlalchemy as sa

from tests.apps.conftest import CLERK, CLERK2, OTHER_UNIT, PROVINCE, UNIT, dossier_csv


def _submit(client, data: bytes, name: str = "thang10.csv", **params):
    return client.post("/api/v1/submissions", params={"feed": "dossier", **params}, files={"file": (name, data)})


def test_upload_answers_conflicts_by_row_and_column_then_the_fix_is_current(portal):
    with portal.api(CLERK) as api:
        bad = _submit(api, dossier_csv(UNIT, errors=True))
        assert bad.status_code == 200, bad.text
        answer = bad.json()
        assert answer["status"] == "rejected" and answer["dry_run"] is False and answer["submission_id"]
        assert answer["unit_code"] == UNIT and answer["feed"] == "dossier" and len(answer["sha256"]) == 64
        assert answer["rows_total"] == 2 and answer["rows_failed"] == 2
        by_cell = {(c["row"], c["column"]): c for c in answer["conflicts"]}
        assert by_cell[(2, "received_online")]["severity"] == "error"
        assert by_cell[(2, "received_online")]["value"] == 150
        assert by_cell[(3, "received_total")]["value"] == "mười"
        assert all(c["message_vi"] and c["check"] for c in answer["conflicts"])
        assert set(answer) >= {"status", "dry_run", "submission_id", "unit_code", "feed", "file_name", "sha256",
                               "version", "rows_total", "rows_failed", "conflicts"}

        good = _submit(api, dossier_csv(UNIT), name="thang10-sua.csv").json()
        assert good["status"] == "loaded" and good["version"] == 1 and good["conflicts"] == []
        assert good["is_current"] is True
        # current when the answer comes back: its metrics derived
        with portal.engine.connect() as conn:
            online = conn.scalar(sa.text(
                "select value from mart.metric_value where unit_code = :u and period = '2026-10'"
                " and scope = 'month' and metric_code like '%online%' limit 1"), {"u": UNIT})
        assert online is not None
        # the same answer by id, and in the unit's list
        assert api.get(f"/api/v1/submissions/{good['submission_id']}").json() == good
        listed = api.get("/api/v1/submissions", params={"feed": "dossier"}).json()["submissions"]
        assert {s["submission_id"] for s in listed} == {answer["submission_id"], good["submission_id"]}
        assert api.get("/api/v1/submissions", params={"period": "2026-10"}).json()["submissions"][0][
            "submission_id"] == good["submission_id"]
        again = _submit(api, dossier_csv(UNIT), name="lai.csv").json()
        assert again["status"] == "duplicate" and again["duplicate_of"] == good["submission_id"]
    # the landed files are in the unit's feed folder, and a folder pass finds nothing new
    landed = sorted(p.name for p in (portal.settings.inbox / UNIT / "dossier").iterdir())
    assert len(landed) == 3 and not any(name.startswith(".") for name in landed)
    from flows.ingest import ingest

    assert ingest(as_of=dt_as_of()).outcomes == []


def dt_as_of():
    from tests.apps.conftest import AS_OF

    return AS_OF


def _table_counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        tables = conn.execute(sa.text(
            "select table_schema || '.' || table_name from information_schema.tables"
            " where table_type = 'BASE TABLE' and table_schema in ('raw', 'core', 'audit', 'mart')")).scalars().all()
        return {t: conn.scalar(sa.text(f"select count(*) from {t}")) for t in tables}


def test_dry_run_validates_and_stores_nothing(portal):
    before = _table_counts(portal.engine)
    with portal.api(CLERK) as api:
        answer = _submit(api, dossier_csv(UNIT, errors=True), dry_run="true")
        clean = _submit(api, dossier_csv(UNIT), dry_run="true").json()
    assert answer.status_code == 200
    body = answer.json()
    assert body["dry_run"] is True and body["submission_id"] is None and body["status"] == "rejected"
    assert {(c["row"], c["column"]) for c in body["conflicts"]} >= {(2, "received_online"), (3, "received_total")}
    assert clean["status"] == "loaded" and clean["conflicts"] == []
    assert _table_counts(portal.engine) == before
    assert not (portal.settings.inbox / UNIT).exists()


def test_status_codes_of_the_contract(portal):
    with portal.api() as anonymous:
        assert anonymous.get("/healthz").status_code == 200
        for response in (_submit(anonymous, dossier_csv(UNIT)), anonymous.get("/api/v1/submissions"),
                         anonymous.get("/api/v1/submissions/1")):
            assert response.status_code == 401
            assert set(response.json()) == {"error", "message_vi"}
    with httpx_client(portal, "ct_1_forged") as forged:
        assert forged.get("/api/v1/submissions").status_code == 401
    with portal.api(CLERK) as clerk, portal.api(CLERK2) as other, portal.api(PROVINCE) as province:
        mine = _submit(clerk, dossier_csv(UNIT)).json()["submission_id"]
        # another unit's submission, by id guessing too; another unit's list; submitting for another unit
        refused = other.get(f"/api/v1/submissions/{mine}")
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
        assert other.get("/api/v1/submissions", params={"unit": UNIT}).status_code == 403
        assert other.get("/api/v1/submissions").json()["submissions"] == []
        assert _submit(other, dossier_csv(UNIT), unit=UNIT).status_code == 403
        assert clerk.get("/api/v1/submissions/999999").status_code == 404
        # an unknown path or method: the contract's error body too, not the framework's {"detail": ...}
        for response, status in ((clerk.get("/api/v1/nothing-here"), 404),
                                 (clerk.delete(f"/api/v1/submissions/{mine}"), 405)):
            assert response.status_code == status and set(response.json()) == {"error", "message_vi"}
        # 422: unknown feed, no file
        unknown = clerk.post("/api/v1/submissions", params={"feed": "weather"}, files={"file": ("a.csv", b"x")})
        assert unknown.status_code == 422 and unknown.json()["error"] == "unknown_feed"
        assert clerk.post("/api/v1/submissions", params={"feed": "dossier"}).status_code == 422
        assert _submit(clerk, b"%PDF-1.4", name="bao-cao.pdf").json()["error"] == "file_format"
        # the province sees every unit and may submit for one; a province upload without a unit is refused
        assert province.get(f"/api/v1/submissions/{mine}").status_code == 200
        assert _submit(province, dossier_csv(OTHER_UNIT)).status_code == 422
        assert _submit(province, dossier_csv(OTHER_UNIT), unit=OTHER_UNIT).json()["status"] == "loaded"
    with portal.engine.connect() as conn:
        events = conn.execute(sa.text(
            "select event, http_status from portal.audit_event order by event_id")).all()
    assert ("refused", 401) in events and ("refused", 403) in events and ("refused", 422) in events
    assert ("upload", 200) in events


def httpx_client(portal, token: str):
    import httpx

    return httpx.Client(base_url=portal.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def test_template_download(portal):
    with portal.api(CLERK) as api:
        answer = api.get("/api/v1/templates/dossier.xlsx")
        assert answer.status_code == 200 and answer.content[:2] == b"PK"
        assert api.get("/api/v1/templates/weather.xlsx").status_code == 422
        assert api.get("/api/v1/templates/dossier.xlsx", params={"unit": OTHER_UNIT}).status_code == 403


def test_pages_show_times_on_vietnam_clocks(portal):
    """The warehouse keeps timestamptz; a clerk reads the time of a submission as a clock in Vietnam shows it."""
    from zoneinfo import ZoneInfo

    with portal.api(CLERK) as api:
        sid = _submit(api, dossier_csv(UNIT)).json()["submission_id"]
    with portal.engine.connect() as conn:
        received = conn.scalar(sa.text("select received_at from audit.submission where submission_id = :s"),
                               {"s": sid})
    local = received.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y %H:%M")
    utc = received.astimezone(ZoneInfo("UTC")).strftime("%d/%m/%Y %H:%M")
    assert local != utc
    with portal.signed_in(CLERK) as clerk:
        listing = clerk.get("/submissions").text
    assert local in listing and utc not in listing


def test_targets_page_writes_units_of_measure_in_vietnamese(portal):
    with portal.signed_in(PROVINCE) as province:
        page = province.get("/targets")
    assert page.status_code == 200
    assert " tấn" in page.text and "tonnes" not in page.text  # catalog unit_of_measure_vi, as the report writes it
