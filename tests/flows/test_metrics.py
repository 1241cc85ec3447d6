"""Derived metrics, milestones and target attainment; every expected figure is computed by hand here."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from flows.ingest import ingest
from tests.feeds import DISB, DOSSIER, write_csv

AS_OF = dt.date(2026, 11, 20)
T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _metrics(engine, metric: str, view: str = "metric_value") -> dict[tuple[str, str, str], tuple]:
    scope = "scope" if view == "metric_value" else "'ytd' as scope"
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"select unit_code, period, {scope}, numerator, denominator, value"
                                    f" from mart.{view} where metric_code = :m"), {"m": metric}).all()
    return {(r.unit_code, r.period, r.scope): (r.numerator, r.denominator, r.value) for r in rows}


def _value(v) -> float | None:
    return None if v is None else round(float(v), 4)


def test_ratio_of_sums_ytd_zero_denominator_and_rejected_excluded(env, engine):
    inbox = env["inbox"]
    write_csv(inbox, "XA_CHILANG", "dossier", "a.csv", DOSSIER,
              [["XA_CHILANG", "2026-01", 100, 90, 10, 10], ["XA_CHILANG", "2026-02", 100, 50, 10, 10]], landed_at=T0)
    write_csv(inbox, "XA_DONGDANG", "dossier", "b.csv", DOSSIER,
              [["XA_DONGDANG", "2026-01", 10, 1, 0, 0], ["XA_DONGDANG", "2026-02", 0, 0, 0, 0]], landed_at=T0)
    write_csv(inbox, "XA_CAOLOC", "dossier", "rejected.csv", DOSSIER,
              [["XA_CAOLOC", "2026-01", 1000, 1000, 10, 11]], landed_at=T0)
    ingest(as_of=AS_OF)
    online = _metrics(engine, "online_dossier_rate")
    # province January: (90 + 1) / (100 + 10) -- not the average of 90 % and 10 % (= 50 %)
    assert _value(online[("LANGSON", "2026-01", "month")][2]) == round(100 * 91 / 110, 4) == 82.7273
    # year to date February, unit A: (90 + 50) / (100 + 100)
    assert _value(online[("XA_CHILANG", "2026-02", "ytd")][2]) == 70.0
    assert _value(online[("LANGSON", "2026-02", "ytd")][2]) == round(100 * 141 / 210, 4)
    # zero denominator: NULL, not 0 and not an error
    assert online[("XA_DONGDANG", "2026-02", "month")] == (0, 0, None)
    assert _metrics(engine, "on_time_resolution_rate")[("XA_DONGDANG", "2026-01", "month")][2] is None
    assert _value(_metrics(engine, "on_time_resolution_rate")[("XA_DONGDANG", "2026-02", "ytd")][2]) is None
    # the rejected XA_CAOLOC submission contributes nothing
    assert not any(unit == "XA_CAOLOC" for unit, _, _ in online)
    assert online[("LANGSON", "2026-01", "month")][:2] == (91, 110)


def test_document_reduction_and_conference_shares(env, engine):
    write_csv(env["inbox"], "VP_UBND", "admin_ops", "ops.csv",
              ["unit_code", "period", "documents_issued", "conferences_in_person", "conferences_online"],
              [["VP_UBND", "2025-01", 100, 9, 1], ["VP_UBND", "2025-02", 100, 9, 1], ["VP_UBND", "2025-03", 100, 9, 1],
               ["VP_UBND", "2026-01", 80, 3, 7], ["VP_UBND", "2026-02", 90, 5, 5]])
    ingest(as_of=AS_OF)
    reduction = _metrics(engine, "document_reduction_rate")
    assert _value(reduction[("VP_UBND", "2026-01", "month")][2]) == 20.0
    # 2026 months to date vs the same 2025 months: 1 - (80 + 90) / (100 + 100); March 2025 is not compared
    assert _value(reduction[("VP_UBND", "2026-02", "ytd")][2]) == 15.0
    assert ("VP_UBND", "2026-03", "ytd") not in reduction
    share = _metrics(engine, "online_conference_share")
    assert _value(share[("VP_UBND", "2026-02", "ytd")][2]) == 60.0  # (7 + 5) / (10 + 10), 2026 months only
    with engine.connect() as conn:
        status = dict(conn.execute(sa.text("select target_code, status from mart.target_attainment"
                                           " where unit_code = 'VP_UBND'")).all())
    assert status["VP04_DOC_REDUCTION"] == "met"        # 15 >= 15
    assert status["VP04_ONLINE_CONF"] == "met"          # 60 >= 60
    assert status["VP04_IN_PERSON_CONF"] == "met"       # 40 <= 40
    assert status["VP01_TASK_ON_TIME"] == "no_data"


def test_document_reduction_month_without_previous_year_month(env, engine):
    """A month with no previous-year month still counts in the year to date (its month row: denominator 0, NULL);
    a previous-year month the year has not reached yet is not compared; a late previous-year month re-derives."""
    header = ["unit_code", "period", "documents_issued", "conferences_in_person", "conferences_online"]
    inbox = env["inbox"]
    write_csv(inbox, "VP_UBND", "admin_ops", "ops.csv", header,
              [["VP_UBND", "2025-01", 200, 1, 1], ["VP_UBND", "2025-02", 50, 1, 1],
               ["VP_UBND", "2025-04", 1000, 1, 1],  # no 2026-04 yet: not in 2026's denominator
               ["VP_UBND", "2026-01", 80, 1, 1], ["VP_UBND", "2026-02", 60, 1, 1]], landed_at=T0)
    ingest(as_of=AS_OF)
    reduction = _metrics(engine, "document_reduction_rate")
    assert _value(reduction[("VP_UBND", "2026-02", "ytd")][2]) == 44.0  # 1 - 140 / 250
    assert not any(period >= "2026-03" for _, period, _ in reduction)

    def status() -> tuple:
        with engine.connect() as conn:
            return tuple(conn.execute(sa.text(
                "select status, actual_value, as_of_period from mart.target_attainment"
                " where target_code = 'VP04_DOC_REDUCTION' and year = 2026")).one())

    assert status()[::2] == ("met", "2026-02")

    # March 2026 arrives; there is no March 2025
    write_csv(inbox, "VP_UBND", "admin_ops", "ops_03.csv", header, [["VP_UBND", "2026-03", 200, 1, 1]],
              landed_at=T0 + dt.timedelta(days=1))
    ingest(as_of=AS_OF)
    reduction = _metrics(engine, "document_reduction_rate")
    for unit in ("VP_UBND", "LANGSON"):
        assert reduction[(unit, "2026-03", "month")] == (200, 0, None)
        # 1 - (80 + 60 + 200) / (200 + 50): 2025-04 is not reached yet
        assert reduction[(unit, "2026-03", "ytd")][:2] == (340, 250)
        assert _value(reduction[(unit, "2026-03", "ytd")][2]) == -36.0
        assert not any(period >= "2026-04" for u, period, _ in reduction if u == unit)
    assert (status()[0], float(status()[1]), status()[2]) == ("not_met", -36.0, "2026-03")

    # a late March 2025 re-derives March 2026
    write_csv(inbox, "VP_UBND", "admin_ops", "ops_2025_03.csv", header, [["VP_UBND", "2025-03", 100, 1, 1]],
              landed_at=T0 + dt.timedelta(days=2))
    ingest(as_of=AS_OF)
    reduction = _metrics(engine, "document_reduction_rate")
    for unit in ("VP_UBND", "LANGSON"):
        assert reduction[(unit, "2026-03", "month")][:2] == (200, 100)
        assert _value(reduction[(unit, "2026-03", "month")][2]) == -100.0
        assert reduction[(unit, "2026-03", "ytd")][:2] == (340, 350)
        assert _value(reduction[(unit, "2026-03", "ytd")][2]) == round(100 * (1 - 340 / 350), 4)
    assert status()[::2] == ("not_met", "2026-03")


def test_task_on_time_rate_at_month_ends_and_as_of(env, engine):
    write_csv(env["inbox"], "VP_UBND", "tasks", "tasks.csv",
              ["task_code", "unit_code", "title", "assigned_date", "due_date", "completed_date"],
              [["T1", "VP_UBND", "on time", "2026-01-05", "2026-03-31", "2026-03-20"],
               ["T2", "VP_UBND", "late", "2026-01-05", "2026-03-31", "2026-04-10"],
               ["T3", "VP_UBND", "open, overdue", "2026-01-05", "2026-06-30", ""],
               ["T4", "VP_UBND", "open, not due", "2026-01-05", "2026-12-31", ""],
               ["T5", "VP_UBND", "early", "2026-02-01", "2026-12-31", "2026-02-10"]])
    ingest(as_of=AS_OF)
    # the contract's view: a stock carries scope ytd and the as-of month only
    assert set(_metrics(engine, "task_on_time_rate")) == {("VP_UBND", "2026-11", "ytd"), ("LANGSON", "2026-11", "ytd")}
    rate = _metrics(engine, "task_on_time_rate", view="stock_metric_history")
    # 31 Jan: nothing completed or overdue -> NULL
    assert rate[("VP_UBND", "2026-01", "ytd")] == (0, 0, None)
    # 28 Feb: T5 done early -> 1 / 1
    assert _value(rate[("VP_UBND", "2026-02", "ytd")][2]) == 100.0
    # 31 Mar: T1, T5 on time; T2 is due on 31 Mar, not yet past due -> 2 / 2
    assert rate[("VP_UBND", "2026-03", "ytd")][:2] == (2, 2)
    # 30 Apr: T2 completed late -> 2 / 3
    assert rate[("VP_UBND", "2026-04", "ytd")][:2] == (2, 3)
    # as of 20 Nov: T3 overdue too -> 2 / 4; T4 not due yet
    assert rate[("VP_UBND", "2026-11", "ytd")][:2] == (2, 4)
    assert _value(rate[("LANGSON", "2026-11", "ytd")][2]) == 50.0
    assert ("VP_UBND", "2026-12", "ytd") not in rate


MILESTONE_CASES = [
    # group, as_of_date, expected milestone date, expected milestone pct, status at 35 % disbursed
    ("completed", "2026-06-29", None, None, "not_due"),
    ("completed", "2026-06-30", "2026-06-30", 100, "behind"),
    ("completed", "2026-07-01", "2026-06-30", 100, "behind"),
    ("completed", "2026-09-30", "2026-06-30", 100, "behind"),
    ("transitional", "2026-06-29", None, None, "not_due"),
    ("transitional", "2026-06-30", "2026-06-30", 30, "on_track"),
    ("transitional", "2026-07-01", "2026-06-30", 30, "on_track"),
    ("transitional", "2026-09-29", "2026-06-30", 30, "on_track"),
    ("transitional", "2026-09-30", "2026-09-30", 60, "behind"),
    ("transitional", "2026-10-01", "2026-09-30", 60, "behind"),
    ("new", "2026-06-30", None, None, "not_due"),
    ("new", "2026-09-29", None, None, "not_due"),
    ("new", "2026-09-30", "2026-09-30", 40, "behind"),
    ("new", "2026-10-01", "2026-09-30", 40, "behind"),
    ("preparation", "2026-06-30", None, None, "not_due"),
    ("preparation", "2026-10-01", None, None, "not_due"),
]


def test_milestone_boundaries_for_each_project_group(env, engine):
    rows = [[f"P{i:02d}", f"{group} {day}", "XA_CHILANG", group, 1000, 350, day]
            for i, (group, day, *_) in enumerate(MILESTONE_CASES)]
    rows.append(["EXACT", "exactly 30 %", "XA_CHILANG", "transitional", 1000, 300, "2026-06-30"])
    write_csv(env["inbox"], "XA_CHILANG", "disbursement", "projects.csv", DISB, rows)
    ingest(as_of=AS_OF)
    with engine.connect() as conn:
        got = {r.project_code: r for r in conn.execute(sa.text("select * from mart.disbursement_progress"))}
    for i, (group, day, milestone_date, milestone_pct, status) in enumerate(MILESTONE_CASES):
        row = got[f"P{i:02d}"]
        assert (str(row.milestone_date) if row.milestone_date else None, row.milestone_pct, row.status) == (
            milestone_date, milestone_pct, status), (group, day)
        assert row.progress_pct == Decimal("35.00")
    assert got["EXACT"].status == "on_track"  # "30 % by 06-30" is met by exactly 30 % on 06-30


def test_disbursement_rate_uses_each_projects_latest_figure(env, engine):
    write_csv(env["inbox"], "XA_CHILANG", "disbursement", "d.csv", DISB,
              [["P1", "A", "XA_CHILANG", "transitional", 1000, 200, "2026-05-31"],
               ["P1", "A", "XA_CHILANG", "transitional", 1000, 400, "2026-08-31"],
               ["P2", "B", "XA_CHILANG", "new", 3000, 300, "2026-07-31"]])
    write_csv(env["inbox"], "XA_DONGDANG", "disbursement", "d.csv", DISB,
              [["Q1", "C", "XA_DONGDANG", "completed", 1000, 1000, "2026-06-30"]])
    ingest(as_of=AS_OF)
    assert {period for _, period, _ in _metrics(engine, "disbursement_rate")} == {"2026-11"}
    rate = _metrics(engine, "disbursement_rate", view="stock_metric_history")
    assert rate[("XA_CHILANG", "2026-05", "ytd")][:2] == (200, 1000)
    assert rate[("XA_CHILANG", "2026-07", "ytd")][:2] == (500, 4000)
    assert rate[("XA_CHILANG", "2026-11", "ytd")][:2] == (700, 4000)
    assert _value(rate[("LANGSON", "2026-11", "ytd")][2]) == round(100 * 1700 / 5000, 4)
    with engine.connect() as conn:
        status = dict(conn.execute(sa.text("select target_code, status from mart.target_attainment"
                                           " where metric_code = 'disbursement_rate'")).all())
    assert status == {"CL_DISBURSEMENT": "not_met", "CCHC_DISBURSEMENT": "not_met"}


def test_target_attainment_met_not_met_no_data_and_indicators(env, engine):
    write_csv(env["inbox"], "TTPVHCC", "dossier", "d.csv", DOSSIER,
              [["TTPVHCC", "2026-01", 100, 96, 100, 98]])
    write_csv(env["inbox"], "XA_CHILANG", "indicator", "i.csv", ["unit_code", "indicator_code", "period", "value"],
              [["XA_CHILANG", "sown_area_ha", "2026-Q1", "300"], ["XA_CHILANG", "sown_area_ha", "2026-Q2", "500"],
               ["XA_CHILANG", "forest_cover_pct", "2026", "23"]])
    ingest(as_of=AS_OF)
    with engine.connect() as conn:
        rows = {r.target_code: r for r in conn.execute(sa.text("select * from mart.target_attainment"))}
    assert (rows["VP02_ONLINE_DOSSIER"].status, float(rows["VP02_ONLINE_DOSSIER"].actual_value)) == ("met", 96.0)
    assert rows["VP02_ON_TIME_RESOLUTION"].status == "not_met"      # 98 < 99
    assert rows["VP02_SATISFACTION"].status == "no_data"            # no survey figures sent
    assert rows["VP02_ONLINE_DOSSIER"].as_of_period == "2026-01"
    sown = next(r for r in rows.values() if r.metric_code == "sown_area_ha")
    assert (sown.status, float(sown.actual_value), sown.as_of_period) == ("met", 800.0, "2026-Q2")  # 300 + 500 >= 760
    forest = next(r for r in rows.values() if r.metric_code == "forest_cover_pct")
    assert (forest.status, float(forest.actual_value)) == ("not_met", 23.0)  # 23 < 23.49
    assert {r.status for r in rows.values()} == {"met", "not_met", "no_data"}


def test_correction_rederives_unit_and_province_only(env, engine):
    inbox = env["inbox"]
    write_csv(inbox, "XA_CHILANG", "dossier", "a.csv", DOSSIER, [["XA_CHILANG", "2026-01", 100, 50, 10, 10]],
              landed_at=T0)
    write_csv(inbox, "XA_DONGDANG", "dossier", "b.csv", DOSSIER, [["XA_DONGDANG", "2026-01", 100, 100, 10, 10]],
              landed_at=T0)
    ingest(as_of=AS_OF)
    assert _value(_metrics(engine, "online_dossier_rate")[("LANGSON", "2026-01", "month")][2]) == 75.0
    with engine.connect() as conn:
        untouched_before = conn.execute(sa.text(
            "select metric_code, period, scope, derived_at from core.metric_value where unit_code = 'XA_DONGDANG'"
            " order by 1, 2, 3")).all()
    write_csv(inbox, "XA_CHILANG", "dossier", "a_fixed.csv", DOSSIER, [["XA_CHILANG", "2026-01", 100, 80, 10, 10]],
              landed_at=T0 + dt.timedelta(days=1))
    ingest(as_of=AS_OF)
    online = _metrics(engine, "online_dossier_rate")
    assert _value(online[("XA_CHILANG", "2026-01", "month")][2]) == 80.0
    assert _value(online[("LANGSON", "2026-01", "month")][2]) == 90.0   # (80 + 100) / 200
    with engine.connect() as conn:
        untouched_after = conn.execute(sa.text(
            "select metric_code, period, scope, derived_at from core.metric_value where unit_code = 'XA_DONGDANG'"
            " order by 1, 2, 3")).all()
        history = conn.execute(sa.text("select file_name, version, is_current from mart.submission_log"
                                       " where unit_code = 'XA_CHILANG' order by version")).all()
    assert untouched_after == untouched_before  # the other unit was not re-derived
    assert [tuple(h) for h in history] == [("XA_CHILANG/dossier/a.csv", 1, False),
                                          ("XA_CHILANG/dossier/a_fixed.csv", 2, True)]


@pytest.mark.parametrize("comparator,target,actual,status", [
    (">", 95, 95.0, "not_met"), (">", 95, 95.01, "met"), (">=", 95, 95.0, "met"), ("=", 100, 100.0, "met"),
    ("=", 100, 99.5, "not_met"), ("<=", 40, 40.0, "met"), ("<", 40, 40.0, "not_met"),
])
def test_comparators(env, engine, comparator, target, actual, status):
    with engine.begin() as conn:
        conn.execute(sa.text("update core.target set comparator = :c, target_value = :t"
                             " where target_code = 'VP02_ONLINE_DOSSIER'"), {"c": comparator, "t": target})
        conn.execute(sa.text("insert into core.metric_value (metric_code, unit_code, period, scope, numerator,"
                             " denominator, value) values ('online_dossier_rate', 'TTPVHCC', '2026-03', 'ytd',"
                             " :a, 100, :a)"), {"a": actual})
        got = conn.scalar(sa.text(
            "select status from mart.target_attainment where target_code = 'VP02_ONLINE_DOSSIER'"))
    assert got == status
