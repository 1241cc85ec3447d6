"""Ingest end to end on real files, real PostgreSQL and real Prefect flow runs."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata

import pytest
import sqlalchemy as sa

from chitieu.errors import ConfigError
from flows.ingest import ingest
from tests.feeds import DISB, write_csv, write_json, write_xlsx

AS_OF = dt.date(2026, 11, 20)
DOSSIER = ["unit_code", "period", "received_total", "received_online", "resolved_total", "resolved_on_time",
           "surveyed", "satisfied"]
TASKS = ["task_code", "unit_code", "title", "assigned_date", "due_date", "completed_date"]
ADMIN = ["unit_code", "period", "documents_issued", "conferences_in_person", "conferences_online"]
INDICATOR = ["unit_code", "indicator_code", "period", "value"]


def _log(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select * from mart.submission_log order by submission_id")).mappings().all()
    return {r["file_name"].rsplit("/", 1)[-1]: dict(r) for r in rows}


def _checks(engine, file_suffix: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(
            "select * from mart.data_quality where file_name like :f order by expectation"),
            {"f": f"%/{file_suffix}"}).mappings()]


def test_good_files_in_every_format_load_with_vietnamese_values(env, engine):
    inbox = env["inbox"]
    write_csv(inbox, "TTPVHCC", "dossier", "thang1.csv", DOSSIER,
              [["TTPVHCC", "2026-01", "1.795", "1.700", "1.600", "1.590", "100", "97"],
               ["TTPVHCC", "02/2026", "2.000", "1.950", "1.900", "1.899", "", ""]],
              sep=";", bom=True, vietnamese=True)
    write_xlsx(inbox, "XA_CHILANG", "disbursement", "giai_ngan.xlsx", DISB,
               [["DA01", "Đường Chi Lăng", "XA_CHILANG", "Chuyển tiếp", 1_000_000_000, 300_000_000,
                 dt.datetime(2026, 6, 30)],
                ["DA02", "Trường học", "XA_CHILANG", "new", "2.000.000.000", "800.000.000", "30/09/2026"]],
               title_rows=["ỦY BAN NHÂN DÂN XÃ CHI LĂNG", "BÁO CÁO GIẢI NGÂN VỐN ĐẦU TƯ CÔNG NĂM 2026", ""])
    write_json(inbox, "VP_UBND", "tasks", "nhiem_vu.json", {"rows": [
        {"Mã nhiệm vụ": "NV1", "Mã đơn vị": "VP_UBND", "Nội dung nhiệm vụ": "Báo cáo", "Ngày giao": "05/01/2026",
         "Hạn hoàn thành": "2026-03-01", "Ngày hoàn thành": "2026-02-20"},
        {"Mã nhiệm vụ": "NV2", "Mã đơn vị": "VP_UBND", "Nội dung nhiệm vụ": "Đề án", "Ngày giao": "2026-01-05",
         "Hạn hoàn thành": "2026-03-01", "Ngày hoàn thành": None}]})
    write_json(inbox, "VP_UBND", "admin_ops", "van_ban.json", [
        {"unit_code": "VP_UBND", "period": "2025-01", "documents_issued": 100, "conferences_in_person": 5,
         "conferences_online": 5},
        {"unit_code": "VP_UBND", "period": "2026-01", "documents_issued": "80", "conferences_in_person": 3,
         "conferences_online": 7}])
    write_csv(inbox, "XA_CHILANG", "indicator", "chi_tieu.csv", INDICATOR,
              [["XA_CHILANG", "forest_cover_pct", "2026", "23,6"], ["XA_CHILANG", "sown_area_ha", "2026-Q1", "300"]])
    summary = ingest(as_of=AS_OF)
    assert summary.counts() == {"loaded": 5}
    log = _log(engine)
    assert {k: (v["status"], v["rows_total"], v["version"], v["is_current"]) for k, v in log.items()} == {
        "thang1.csv": ("loaded", 2, 1, True), "giai_ngan.xlsx": ("loaded", 2, 1, True),
        "nhiem_vu.json": ("loaded", 2, 1, True), "van_ban.json": ("loaded", 2, 1, True),
        "chi_tieu.csv": ("loaded", 2, 1, True)}
    with engine.connect() as conn:
        dossier = conn.execute(sa.text("select period, received_total, received_online, surveyed, source_row"
                                       " from core.fact_dossier order by period")).all()
        assert [tuple(r) for r in dossier] == [("2026-01", 1795, 1700, 100, 2), ("2026-02", 2000, 1950, None, 3)]
        disb = conn.execute(sa.text("select project_code, project_group, capital_plan_vnd, disbursed_vnd,"
                                    " as_of_date, source_row from core.fact_disbursement order by 1")).all()
        assert [tuple(r) for r in disb] == [
            ("DA01", "transitional", 1_000_000_000, 300_000_000, dt.date(2026, 6, 30), 5),
            ("DA02", "new", 2_000_000_000, 800_000_000, dt.date(2026, 9, 30), 6)]
        forest = conn.scalar(sa.text("select value from core.fact_indicator where indicator_code = 'forest_cover_pct'"))
        assert float(forest) == pytest.approx(23.6)


def test_mixed_inbox_good_files_load_bad_files_rejected_run_exits_zero(env, engine):
    from typer.testing import CliRunner

    from apps.cli import app

    inbox = env["inbox"]
    write_csv(inbox, "TTPVHCC", "dossier", "good.csv", DOSSIER, [["TTPVHCC", "2026-01", 100, 90, 80, 79, 10, 9]])
    write_csv(inbox, "XA_CHILANG", "dossier", "bad.csv", DOSSIER, [["XA_CHILANG", "2026-01", 100, 120, 80, 79, 10, 9]])
    write_csv(inbox, "XA_DONGDANG", "dossier", "good.csv", DOSSIER,
              [["XA_DONGDANG", "2026-01", 50, 40, 50, 50, 5, 5]])
    result = CliRunner().invoke(app, ["run", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert "rejected" in result.output and "loaded" in result.output
    with engine.connect() as conn:
        status = dict(conn.execute(sa.text("select unit_code, status from mart.submission_log")).all())
        assert status == {"TTPVHCC": "loaded", "XA_CHILANG": "rejected", "XA_DONGDANG": "loaded"}
        assert conn.scalar(sa.text("select count(*) from core.fact_dossier where unit_code = 'XA_CHILANG'")) == 0
        dq = conn.execute(sa.text("select unit_code, expectation, severity, column_name, failed_rows"
                                  " from mart.data_quality")).all()
        assert [tuple(r) for r in dq] == [
            ("XA_CHILANG", "received_online_le_received_total", "error", "received_online", 1)]
        message_vi = conn.scalar(sa.text("select message_vi from mart.data_quality"))
        assert "«Số hồ sơ trực tuyến»" in message_vi and "«Tổng số hồ sơ tiếp nhận»" in message_vi
        province = conn.execute(sa.text("select numerator, denominator from mart.metric_value where unit_code ="
                                        " 'LANGSON' and metric_code = 'online_dossier_rate' and scope = 'month'")).one()
        assert tuple(province) == (130, 150)  # rejected XA_CHILANG excluded


# --- each rule of each feed: one bad file each, all in one run -------------------------------------------

BAD_FILES = [
    # (unit, feed, file, writer args, expected check, column, rows, severity)
    ("TTPVHCC", "dossier", "online_gt_total.csv", (DOSSIER, [["TTPVHCC", "2026-01", 10, 11, 5, 5, 1, 1]]),
     "received_online_le_received_total", "received_online", [2]),
    ("TTPVHCC", "dossier", "ontime_gt_resolved.csv", (DOSSIER, [["TTPVHCC", "2026-01", 10, 9, 5, 6, 1, 1]]),
     "resolved_on_time_le_resolved_total", "resolved_on_time", [2]),
    ("TTPVHCC", "dossier", "satisfied_gt_surveyed.csv", (DOSSIER, [["TTPVHCC", "2026-01", 10, 9, 5, 5, 1, 2]]),
     "satisfied_le_surveyed", "satisfied", [2]),
    ("TTPVHCC", "dossier", "eresult_gt_resolved.csv",
     ([*DOSSIER[:6], "e_results_issued"], [["TTPVHCC", "2026-01", 10, 9, 5, 5, 6]]),
     "e_results_issued_le_resolved_total", "e_results_issued", [2]),
    ("TTPVHCC", "dossier", "petitions.csv",
     ([*DOSSIER[:6], "petitions_received", "petitions_on_time"], [["TTPVHCC", "2026-01", 10, 9, 5, 5, 2, 3]]),
     "petitions_on_time_le_petitions_received", "petitions_on_time", [2]),
    ("TTPVHCC", "dossier", "negative.csv", (DOSSIER, [["TTPVHCC", "2026-01", -10, 0, 5, 5, 1, 1]]),
     "non_negative", "received_total", [2]),
    ("TTPVHCC", "dossier", "not_a_number.csv", (DOSSIER, [["TTPVHCC", "2026-01", "12a", 0, 5, 5, 1, 1]]),
     "int_format", "received_total", [2]),
    ("TTPVHCC", "dossier", "fraction.csv", (DOSSIER, [["TTPVHCC", "2026-01", 10, "2,5", 5, 5, 1, 1]]),
     "int_format", "received_online", [2]),
    ("TTPVHCC", "dossier", "future.csv", (DOSSIER, [["TTPVHCC", "2026-12", 10, 9, 5, 5, 1, 1]]),
     "period_not_future", "period", [2]),
    ("TTPVHCC", "dossier", "bad_period.csv", (DOSSIER, [["TTPVHCC", "2026-13", 10, 9, 5, 5, 1, 1]]),
     "month_format", "period", [2]),
    ("TTPVHCC", "dossier", "other_unit.csv", (DOSSIER, [["XA_CHILANG", "2026-01", 10, 9, 5, 5, 1, 1]]),
     "unit_matches_folder", "unit_code", [2]),
    ("TTPVHCC", "dossier", "unknown_unit.csv", (DOSSIER, [["TTPVHCC", "2026-01", 10, 9, 5, 5, 1, 1],
                                                          ["NOBODY", "2026-02", 10, 9, 5, 5, 1, 1]]),
     "unit_known", "unit_code", [3]),
    ("TTPVHCC", "dossier", "dup_key.csv", (DOSSIER, [["TTPVHCC", "2026-01", 10, 9, 5, 5, 1, 1],
                                                     ["TTPVHCC", "2026-01", 11, 9, 5, 5, 1, 1]]),
     "key_unique", "period", [2, 3]),
    ("TTPVHCC", "dossier", "missing_value.csv", (DOSSIER, [["TTPVHCC", "2026-01", 10, "", 5, 5, 1, 1]]),
     "value_required", "received_online", [2]),
    ("TTPVHCC", "dossier", "missing_column.csv", (DOSSIER[:3], [["TTPVHCC", "2026-01", 10]]),
     "column_present", "received_online", []),
    ("XA_CHILANG", "disbursement", "over_plan.csv",
     (DISB, [["P1", "A", "XA_CHILANG", "new", 100, 101, "2026-06-30"]]),
     "disbursed_vnd_le_capital_plan_vnd", "disbursed_vnd", [2]),
    ("XA_CHILANG", "disbursement", "zero_plan.csv", (DISB, [["P1", "A", "XA_CHILANG", "new", 0, 0, "2026-06-30"]]),
     "capital_plan_positive", "capital_plan_vnd", [2]),
    ("XA_CHILANG", "disbursement", "last_year.csv",
     (DISB, [["P1", "A", "XA_CHILANG", "new", 100, 10, "2025-12-31"]]),
     "as_of_date_in_year", "as_of_date", [2]),
    ("XA_CHILANG", "disbursement", "after_as_of.csv",
     (DISB, [["P1", "A", "XA_CHILANG", "new", 100, 10, "2026-11-21"]]),
     "as_of_date_in_year", "as_of_date", [2]),
    ("XA_CHILANG", "disbursement", "bad_group.csv",
     (DISB, [["P1", "A", "XA_CHILANG", "mystery", 100, 10, "2026-06-30"]]),
     "project_group_format", "project_group", [2]),
    ("XA_CHILANG", "disbursement", "bad_date.csv", (DISB, [["P1", "A", "XA_CHILANG", "new", 100, 10, "31/02/2026"]]),
     "date_format", "as_of_date", [2]),
    ("VP_UBND", "tasks", "due_before.csv", (TASKS, [["T1", "VP_UBND", "x", "2026-03-01", "2026-02-01", ""]]),
     "due_after_assigned", "due_date", [2]),
    ("VP_UBND", "tasks", "done_before.csv",
     (TASKS, [["T1", "VP_UBND", "x", "2026-03-01", "2026-04-01", "2026-02-01"]]),
     "completed_after_assigned", "completed_date", [2]),
    ("VP_UBND", "tasks", "done_future.csv",
     (TASKS, [["T1", "VP_UBND", "x", "2026-03-01", "2026-12-01", "2026-11-25"]]),
     "completed_not_future", "completed_date", [2]),
    ("VP_UBND", "admin_ops", "negative_conf.csv", (ADMIN, [["VP_UBND", "2026-01", 10, -1, 2]]),
     "non_negative", "conferences_in_person", [2]),
    ("XA_CHILANG", "indicator", "unknown_indicator.csv", (INDICATOR, [["XA_CHILANG", "happiness", "2026", 5]]),
     "indicator_known", "indicator_code", [2]),
    ("XA_CHILANG", "indicator", "over_100.csv", (INDICATOR, [["XA_CHILANG", "forest_cover_pct", "2026", 120]]),
     "value_in_range", "value", [2]),
    # a percentage where the indicator is counted in tonnes, or where a count of dossiers belongs: not the number
    ("XA_CHILANG", "indicator", "percent_of_tonnes.csv",
     (INDICATOR, [["XA_CHILANG", "grain_output_t", "2026-Q1", "50%"]]), "value_unit", "value", [2]),
    ("TTPVHCC", "dossier", "percent_of_dossiers.csv", (DOSSIER, [["TTPVHCC", "2026-01", 100, "80%", 90, 85, 1, 1]]),
     "int_format", "received_online", [2]),
    ("XA_CHILANG", "indicator", "wrong_periodicity.csv",
     (INDICATOR, [["XA_CHILANG", "forest_cover_pct", "2026-03", 23]]),
     "period_matches_periodicity", "period", [2]),
]


def test_every_rule_rejects_with_file_row_and_column(env, engine):
    inbox = env["inbox"]
    for unit, feed, name, (header, rows), *_ in BAD_FILES:
        write_csv(inbox, unit, feed, name, header, rows, sep=";")
    write_csv(inbox, "XA_DONGDANG", "dossier", "fine.csv", DOSSIER, [["XA_DONGDANG", "2026-01", 5, 5, 5, 5, 1, 1]])
    summary = ingest(as_of=AS_OF)
    log = _log(engine)
    assert log["fine.csv"]["status"] == "loaded"
    assert len(BAD_FILES) >= 20
    for unit, feed, name, _, check, column, rows in BAD_FILES:
        assert log[name]["status"] == "rejected", name
        checks = {c["expectation"]: c for c in _checks(engine, name)}
        assert check in checks, (name, list(checks))
        found = checks[check]
        assert found["severity"] == "error" and found["column_name"] == column, name
        assert (found["failed_row_numbers"] or []) == rows, name
        message = found["message"]
        assert message.startswith(f"{unit}/{feed}/{name}") or check in message, (name, message)
        if rows:
            assert f"row {rows[0]}" in message or f"rows {rows[0]}" in message, (name, message)
    outcome = {o.file_name.rsplit("/", 1)[-1]: o for o in summary.outcomes}
    assert str(outcome["missing_column.csv"].failures[0].message) == (
        "TTPVHCC/dossier/missing_column.csv, column received_online: "
        "required column 'received_online' (Số hồ sơ trực tuyến) is missing")
    assert outcome["online_gt_total.csv"].failures[0].message == (
        "received_online_le_received_total in column received_online (Số hồ sơ trực tuyến): "
        "1 row(s) failed (rows 2)")
    with engine.connect() as conn:
        for table in ("fact_dossier", "fact_disbursement", "fact_tasks", "fact_admin_ops", "fact_indicator"):
            units = set(conn.scalars(sa.text(f"select distinct unit_code from core.{table}")))
            assert units <= {"XA_DONGDANG"}, table


def _cp1258(text: str) -> bytes:
    """Windows-1258 bytes, as Vietnamese Windows tools write them (base letters plus combining tones)."""
    out = b""
    for ch in text:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            base, *marks = unicodedata.normalize("NFD", ch)
            try:
                out += (unicodedata.normalize("NFC", base + marks[0]) if marks else base).encode("cp1258")
                out += "".join(marks[1:]).encode("cp1258")
            except UnicodeEncodeError:
                out += unicodedata.normalize("NFD", ch).encode("cp1258")
    return out


FILE_LEVEL = [
    ("empty.csv", b"", "file_not_empty", "file is empty"),
    ("header_only.csv", b"unit_code,period,received_total,received_online,resolved_total,resolved_on_time\n",
     "file_has_rows", "file has a header but no data rows"),
    ("windows1258.csv", _cp1258("Mã đơn vị,Kỳ báo cáo\nTTPVHCC,2026-01\n"), "file_encoding", "not UTF-8"),
    ("utf16.csv", "Mã đơn vị,Kỳ báo cáo\n".encode("utf-16"), "file_encoding", "UTF-16"),
    ("garbage.xlsx", b"\x00\x01not a workbook at all" * 10, "file_structure", "not a valid .xlsx"),
    ("broken.json", b'[{"unit_code": "TTPVHCC",', "file_structure", "invalid JSON"),
    ("wrong_shape.json", b'{"data": 1}', "file_structure", 'JSON must be a list of objects'),
    ("truncated.csv", b"unit_code,period,received_total,received_online,resolved_total,resolved_on_time\n"
                      b"TTPVHCC,2026-01,1,1,1,1\nTTPVHCC,2026-02,1\n", "file_structure", "truncated row"),
    ("extra_field.csv", b"unit_code,period,received_total,received_online,resolved_total,resolved_on_time\n"
                        b"TTPVHCC,2026-01,1,1,1,1,7\n", "file_structure", "unquoted separator"),
]


def test_rows_not_in_utf8_reject_their_file_alone(env, engine):
    """A file whose header is plain but whose rows are not UTF-8 shares its layout with good files, which the
    bulk reader reads together: it alone is rejected, the others load every row."""
    header = b"unit_code,period,received_total,received_online,resolved_total,resolved_on_time\n"
    for unit, name, body in [
            ("TTPVHCC", "a.csv", b"TTPVHCC,2026-01,4,3,2,1\nTTPVHCC,2026-02,8,6,4,2\n"),
            ("XA_DONGDANG", "b.csv", _cp1258("XA_DONGDANG,2026-01,5,5,5,5\nXA_DONGDANG,Tháng 2,5,5,5,5\n")),
            ("XA_CHILANG", "c.csv", b"XA_CHILANG,2026-01,9,9,9,9\n")]:
        folder = env["inbox"] / unit / "dossier"
        folder.mkdir(parents=True)
        (folder / name).write_bytes(header + body)
    ingest(as_of=AS_OF)
    log = _log(engine)
    assert {n: (log[n]["status"], log[n]["rows_total"]) for n in ("a.csv", "b.csv", "c.csv")} == {
        "a.csv": ("loaded", 2), "b.csv": ("rejected", 0), "c.csv": ("loaded", 1)}
    (found,) = _checks(engine, "b.csv")
    assert found["expectation"] == "file_encoding" and "not UTF-8" in found["message"]


@pytest.mark.parametrize("name,data,check,fragment", FILE_LEVEL, ids=[f[0] for f in FILE_LEVEL])
def test_unreadable_files_are_rejected_with_reason(env, engine, name, data, check, fragment):
    folder = env["inbox"] / "TTPVHCC" / "dossier"
    folder.mkdir(parents=True)
    (folder / name).write_bytes(data)
    write_csv(env["inbox"], "XA_DONGDANG", "dossier", "fine.csv", DOSSIER,
              [["XA_DONGDANG", "2026-01", 5, 5, 5, 5, 1, 1]])
    ingest(as_of=AS_OF)
    log = _log(engine)
    assert log[name]["status"] == "rejected" and log["fine.csv"]["status"] == "loaded"
    (found,) = _checks(engine, name)
    assert found["expectation"] == check
    assert f"TTPVHCC/dossier/{name}" in found["message"] and fragment in found["message"]


def test_duplicate_bytes_change_nothing(env, engine):
    inbox = env["inbox"]
    path = write_csv(inbox, "TTPVHCC", "dossier", "a.csv", DOSSIER, [["TTPVHCC", "2026-01", 10, 9, 5, 5, 1, 1]])
    ingest(as_of=AS_OF)
    (inbox / "TTPVHCC" / "dossier" / "copy_of_a.csv").write_bytes(path.read_bytes())
    with engine.connect() as conn:
        before = conn.execute(sa.text("select * from core.metric_value order by 1, 2, 3, 4")).all()
    summary = ingest(as_of=AS_OF)
    assert summary.counts() == {"duplicate": 1} and summary.seen == 1
    summary = ingest(as_of=AS_OF)
    assert summary.counts() == {} and summary.seen == 2
    log = _log(engine)
    assert log["copy_of_a.csv"]["status"] == "duplicate" and log["a.csv"]["is_current"]
    with engine.connect() as conn:
        assert conn.scalar(sa.text("select count(*) from core.fact_dossier")) == 1
        after = conn.execute(sa.text("select * from core.metric_value order by 1, 2, 3, 4")).all()
    assert [r[:7] for r in before] == [r[:7] for r in after]


def test_a_pass_with_nothing_new_stops_the_suite_worker_it_started(env, tmp_path):
    import multiprocessing
    import time

    import chitieu.suites
    from chitieu.landing import holds_a_file

    inbox = env["inbox"]
    write_csv(inbox, "TTPVHCC", "dossier", "a.csv", DOSSIER, [["TTPVHCC", "2026-01", 10, 9, 5, 5, 1, 1]])
    ingest(as_of=AS_OF)
    assert chitieu.suites._worker is not None  # started for the new file, kept for the process's next passes
    ingest(as_of=AS_OF)  # nothing new: a running worker is left as it is
    assert chitieu.suites._worker is not None
    others = {p.pid for p in multiprocessing.active_children()}  # the worker, and whatever else this process runs
    chitieu.suites.stop_worker()  # a fresh process: the next pass starts one on the chance there is something new

    def workers() -> set[int]:
        deadline = time.monotonic() + 10
        while (alive := {p.pid for p in multiprocessing.active_children()} - others) and time.monotonic() < deadline:
            time.sleep(0.05)
        return alive

    assert not workers()
    others = {p.pid for p in multiprocessing.active_children()}
    summary = ingest(as_of=AS_OF)
    assert summary.counts() == {} and summary.seen == 1
    assert chitieu.suites._worker is None and not workers()  # stopped, its warm-up not waited for
    # what decides the speculative start: a regular file at <unit>/<feed>/<file>, and nothing else
    empty = tmp_path / "empty_inbox"
    (empty / "TTPVHCC" / "dossier").mkdir(parents=True)
    (empty / "stray.csv").write_text("x")
    (empty / "TTPVHCC" / "note.txt").write_text("x")
    assert not holds_a_file(empty) and holds_a_file(inbox)


def test_files_already_seen_are_not_read_again_but_a_rewritten_one_is(env, engine, monkeypatch):
    import tasks.discover

    inbox = env["inbox"]
    t0 = dt.datetime(2026, 2, 3, 9, tzinfo=dt.UTC)
    write_csv(inbox, "TTPVHCC", "dossier", "a.csv", DOSSIER, [["TTPVHCC", "2026-01", 10, 9, 5, 5, 1, 1]],
              landed_at=t0)
    path = write_csv(inbox, "SO_KHCN", "dossier", "b.csv", DOSSIER, [["SO_KHCN", "2026-01", 10, 9, 5, 5, 1, 1]],
                     landed_at=t0)
    ingest(as_of=AS_OF)
    size = path.stat().st_size
    hashed = []
    real = tasks.discover._sha256
    monkeypatch.setattr(tasks.discover, "_sha256", lambda p: hashed.append(p.name) or real(p))
    summary = ingest(as_of=AS_OF)
    assert hashed == [] and summary.seen == 2 and summary.counts() == {}

    # the same path rewritten in place (same size, a later modification time): read, hashed, loaded as version 2
    write_csv(inbox, "SO_KHCN", "dossier", "b.csv", DOSSIER, [["SO_KHCN", "2026-01", 10, 8, 5, 5, 1, 1]],
              landed_at=t0 + dt.timedelta(days=1))
    assert path.stat().st_size == size
    summary = ingest(as_of=AS_OF)
    assert hashed == ["b.csv"] and summary.counts() == {"loaded": 1} and summary.seen == 1
    with engine.connect() as conn:
        assert conn.scalar(sa.text("select received_online from core.current_dossier where unit_code = 'SO_KHCN'")) == 8


def test_correction_supersedes_and_history_is_kept(env, engine):
    inbox = env["inbox"]
    t0 = dt.datetime(2026, 2, 3, 9, tzinfo=dt.UTC)
    write_csv(inbox, "TTPVHCC", "dossier", "jan.csv", DOSSIER,
              [["TTPVHCC", "2026-01", 100, 50, 10, 10, 1, 1], ["TTPVHCC", "2026-02", 100, 60, 10, 10, 1, 1]],
              landed_at=t0)
    ingest(as_of=AS_OF)
    write_csv(inbox, "TTPVHCC", "dossier", "jan_corrected.csv", DOSSIER,
              [["TTPVHCC", "2026-01", 100, 90, 10, 10, 1, 1]], landed_at=t0 + dt.timedelta(days=3))
    ingest(as_of=AS_OF)
    log = _log(engine)
    assert (log["jan.csv"]["version"], log["jan_corrected.csv"]["version"]) == (1, 2)
    assert log["jan.csv"]["is_current"] and log["jan_corrected.csv"]["is_current"]  # jan.csv still holds February
    with engine.connect() as conn:
        rate = dict(conn.execute(sa.text(
            "select period || ':' || scope, value from mart.metric_value where unit_code = 'LANGSON'"
            " and metric_code = 'online_dossier_rate'")).all())
        assert float(rate["2026-01:month"]) == 90.0 and float(rate["2026-02:ytd"]) == 75.0
        assert conn.scalar(sa.text("select count(*) from core.fact_dossier")) == 3  # history kept
    write_csv(inbox, "TTPVHCC", "dossier", "feb_corrected.csv", DOSSIER,
              [["TTPVHCC", "2026-02", 100, 70, 10, 10, 1, 1]], landed_at=t0 + dt.timedelta(days=4))
    ingest(as_of=AS_OF)
    log = _log(engine)
    assert not log["jan.csv"]["is_current"] and log["feb_corrected.csv"]["version"] == 2


def _january(inbox, name: str, online: int, landed_at: dt.datetime) -> None:
    """TTPVHCC's January dossier figures, `online` of 10 received online, landed at `landed_at`."""
    write_csv(inbox, "TTPVHCC", "dossier", name, DOSSIER, [["TTPVHCC", "2026-01", 10, online, 5, 5, 1, 1]],
              landed_at=landed_at)


def test_a_correction_sent_in_a_later_pass_is_current_whatever_its_files_timestamp(env, engine):
    # a copy that keeps its original modification time (cp -p, unzip, a network share) is still the newer version
    inbox = env["inbox"]
    t0 = dt.datetime(2026, 2, 3, 9, tzinfo=dt.UTC)
    _january(inbox, "jan.csv", 7, t0)
    ingest(as_of=AS_OF)
    _january(inbox, "jan_sua.csv", 9, t0 - dt.timedelta(days=2))
    ingest(as_of=AS_OF)
    log = _log(engine)
    assert (log["jan.csv"]["version"], log["jan_sua.csv"]["version"]) == (1, 2)
    assert log["jan_sua.csv"]["is_current"] and not log["jan.csv"]["is_current"]
    with engine.connect() as conn:
        assert conn.scalar(sa.text("select received_online from core.current_dossier")) == 9
    # within one pass, the file saved last is the newer version, as before
    _january(inbox, "jan_b.csv", 4, t0 + dt.timedelta(days=9))
    _january(inbox, "jan_a.csv", 3, t0 + dt.timedelta(days=8))
    ingest(as_of=AS_OF)
    log = _log(engine)
    assert (log["jan_a.csv"]["version"], log["jan_b.csv"]["version"]) == (3, 4) and log["jan_b.csv"]["is_current"]


def test_versions_follow_the_runs_order_when_an_earlier_run_commits_later(env, engine):
    # two uploads at once: the run started first may load second; it takes its place instead of repeating a number
    from chitieu.catalog import read_catalog
    from chitieu.config import load_settings
    from chitieu.runs import finish_run, start_run
    from tasks.discover import classify_files, discover_files
    from tasks.load import load_submissions
    from tasks.parse import parse_feed
    from tasks.validate import validate_feed

    inbox = env["inbox"]
    t0 = dt.datetime(2026, 2, 3, 9, tzinfo=dt.UTC)
    _january(inbox, "v1.csv", 1, t0)
    ingest(as_of=AS_OF)
    settings = load_settings()
    first, second = (start_run(engine, "upload", AS_OF, None, None) for _ in range(2))
    for name, online, run_id in (("late.csv", 2, second), ("early.csv", 3, first)):  # `second` commits first
        _january(inbox, name, online, t0 + dt.timedelta(days=1))
        files, _ = discover_files.fn(inbox, ["TTPVHCC"])
        parsed = parse_feed.fn("dossier", classify_files.fn(settings, files, []).new)
        verdicts = validate_feed.fn(parsed, read_catalog(settings.catalog_dir), AS_OF, settings)
        load_submissions.fn(settings, parsed, verdicts, run_id, None)
    for run_id in (first, second):
        finish_run(engine, run_id, {})
    log = _log(engine)
    assert [log[n]["version"] for n in ("v1.csv", "early.csv", "late.csv")] == [1, 2, 3]
    assert log["late.csv"]["is_current"] and not log["early.csv"]["is_current"]


def test_warnings_load_and_are_reported(env, engine):
    inbox = env["inbox"]
    t0 = dt.datetime(2026, 7, 2, tzinfo=dt.UTC)
    write_csv(inbox, "XA_CHILANG", "disbursement", "june.csv", DISB,
              [["P1", "A", "XA_CHILANG", "transitional", 1000, 500, "2026-06-30"]], landed_at=t0)
    ingest(as_of=AS_OF)
    write_csv(inbox, "XA_CHILANG", "disbursement", "july.csv", DISB,
              [["P1", "A", "XA_CHILANG", "transitional", 1000, 400, "2026-07-31"]], landed_at=t0 + dt.timedelta(30))
    ingest(as_of=AS_OF)
    log = _log(engine)
    assert log["july.csv"]["status"] == "loaded_with_warnings" and log["july.csv"]["is_current"]
    (warning,) = _checks(engine, "july.csv")
    assert (warning["expectation"], warning["severity"], warning["column_name"]) == (
        "cumulative_not_decreasing", "warning", "disbursed_vnd")
    assert warning["sample"] == [{"row": 2, "disbursed_vnd": 400, "_previous_disbursed_vnd": 500.0}]

    # a rerun checks the file against the unit's other current files again: the warning stays, as it was
    from flows.rerun import rerun

    summary = rerun(unit="XA_CHILANG", feed="disbursement", as_of=AS_OF)
    assert sorted(o.status for o in summary.outcomes) == ["loaded", "loaded_with_warnings"]
    assert _log(engine)["july.csv"]["status"] == "loaded_with_warnings"
    (again,) = _checks(engine, "july.csv")
    assert (again["expectation"], again["sample"]) == (warning["expectation"], warning["sample"])


def test_value_far_from_own_history_is_a_warning(env, engine):
    inbox = env["inbox"]
    months = [["TTPVHCC", f"2026-0{m}", 100 + m, 90, 90, 90, 10, 10] for m in range(1, 6)]
    write_csv(inbox, "TTPVHCC", "dossier", "history.csv", DOSSIER, months)
    ingest(as_of=AS_OF)
    write_csv(inbox, "TTPVHCC", "dossier", "june.csv", DOSSIER, [["TTPVHCC", "2026-06", 5000, 90, 90, 90, 10, 10]])
    ingest(as_of=AS_OF)
    log = _log(engine)
    assert log["june.csv"]["status"] == "loaded_with_warnings"
    (warning,) = _checks(engine, "june.csv")
    assert warning["expectation"] == "value_near_history" and warning["column_name"] == "received_total"


def test_paths_outside_the_contract_are_skipped_never_followed(env, engine, tmp_path):
    inbox = env["inbox"]
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "x.csv").write_text("unit_code,period\nTTPVHCC,2026-01\n")
    (inbox / "TTPVHCC").mkdir()
    (inbox / "TTPVHCC" / "dossier").symlink_to(outside, target_is_directory=True)
    write_csv(inbox, "NOT_A_UNIT", "dossier", "a.csv", DOSSIER, [["NOT_A_UNIT", "2026-01", 1, 1, 1, 1, 1, 1]])
    write_csv(inbox, "XA_CHILANG", "weather", "a.csv", DOSSIER, [["XA_CHILANG", "2026-01", 1, 1, 1, 1, 1, 1]])
    (inbox / "XA_CHILANG" / "dossier").mkdir()
    (inbox / "XA_CHILANG" / "dossier" / ".~lock.bao_cao.xlsx#").write_text("lock")
    (inbox / "XA_CHILANG" / "dossier" / "notes.docx").write_bytes(b"PK\x03\x04 a word document")
    (inbox / "XA_CHILANG" / "dossier" / "link.csv").symlink_to(outside / "x.csv")
    summary = ingest(as_of=AS_OF)
    reasons = {s.rel_path: s.reason for s in summary.skipped}
    assert reasons == {
        "TTPVHCC/dossier": "symlink: not followed",
        "NOT_A_UNIT": "unknown unit folder (not a submitting unit of the catalog)",
        "XA_CHILANG/weather":
            "unknown feed folder (expected one of dossier, disbursement, tasks, admin_ops, indicator)",
        "XA_CHILANG/dossier/.~lock.bao_cao.xlsx#": "hidden or temporary file (name starts with '.' or '~$')",
        "XA_CHILANG/dossier/link.csv": "symlink: not followed",
    }
    # a file of another format in a known unit's feed folder is a rejected submission, and the unit is told
    [outcome] = summary.outcomes
    assert (outcome.file_name, outcome.status) == ("XA_CHILANG/dossier/notes.docx", "rejected")
    assert [f.expectation for f in outcome.failures] == ["file_format"]
    assert ".xlsx" in outcome.failures[0].message_vi and ".txt" in outcome.failures[0].message_vi
    with engine.connect() as conn:
        assert conn.scalar(sa.text("select count(*) from audit.submission")) == 1
        assert conn.scalar(sa.text("select count(*) from audit.alert where kind = 'rejected'")) == 1
        assert conn.scalar(sa.text("select count(*) from raw.landed_file where disposition = 'skipped'")) == 5


def test_rerun_twice_changes_nothing(env, engine):
    from flows.rerun import rerun

    write_csv(env["inbox"], "TTPVHCC", "dossier", "a.csv", DOSSIER, [["TTPVHCC", "2026-01", 10, 9, 5, 5, 1, 1]])
    ingest(as_of=AS_OF)

    def snapshot():
        with engine.connect() as conn:
            return (conn.execute(sa.text("select metric_code, unit_code, period, scope, numerator, denominator, value"
                                         " from core.metric_value order by 1, 2, 3, 4")).all(),
                    conn.execute(sa.text("select submission_id, status, version, is_current, rows_total"
                                         " from mart.submission_log")).all(),
                    conn.execute(sa.text("select * from core.fact_dossier order by source_row")).all())

    before = snapshot()
    summary = rerun(unit="TTPVHCC", feed="dossier", as_of=AS_OF)
    assert [o.status for o in summary.outcomes] == ["loaded"]
    assert snapshot() == before
    rerun(unit="TTPVHCC", feed="dossier", period="2026-01", as_of=AS_OF)
    assert snapshot() == before
    for typo in ("2026-13", "2026-99", "01/2026"):  # not a period: said so, rather than reprocessing nothing
        with pytest.raises(ConfigError, match="--period"):
            rerun(unit="TTPVHCC", feed="dossier", period=typo, as_of=AS_OF)


def test_json_samples_are_stored_as_json(env, engine):
    write_csv(env["inbox"], "TTPVHCC", "dossier", "bad.csv", DOSSIER, [["TTPVHCC", "2026-01", 10, 11, 5, 5, 1, 1]])
    ingest(as_of=AS_OF)
    (check,) = _checks(engine, "bad.csv")
    assert check["sample"] == [{"row": 2, "received_online": 11, "received_total": 10}]
    assert json.dumps(check["sample"])
