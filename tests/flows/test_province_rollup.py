"""The province's year to date when a month is partly reported (CONTRACT.md section 4); figures by hand."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from chitieu.config import load_settings
from flows.ingest import ingest
from tasks.report import fetch_report_data
from tests.feeds import DISB, DOSSIER, write_csv

AS_OF = dt.date(2026, 11, 20)
T0 = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
SURVEY = [*DOSSIER, "surveyed", "satisfied"]


def _rows(engine, sql: str, **params) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).all()


def _dossier(unit: str, period: str, total: int, good: int) -> list:
    # online and satisfaction move together: `good` of `total` dossiers online, `good` of `total` surveyed satisfied
    return [unit, period, total, good, total, total, total, good]


def test_province_ytd_keeps_units_that_have_not_sent_the_latest_month(env, engine):
    inbox = env["inbox"]
    # XA_CHILANG sent January to March; XA_DONGDANG only January and February (March not sent yet)
    write_csv(inbox, "XA_CHILANG", "dossier", "q1.csv", SURVEY,
              [_dossier("XA_CHILANG", "2026-01", 100, 80), _dossier("XA_CHILANG", "2026-02", 100, 80),
               _dossier("XA_CHILANG", "2026-03", 100, 100)], landed_at=T0)
    write_csv(inbox, "XA_DONGDANG", "dossier", "jan_feb.csv", SURVEY,
              [_dossier("XA_DONGDANG", "2026-01", 300, 297), _dossier("XA_DONGDANG", "2026-02", 300, 297)],
              landed_at=T0)
    ingest(as_of=AS_OF)
    rows = _rows(engine, "select period, scope, numerator, denominator, value from mart.metric_value"
                         " where metric_code = 'online_dossier_rate' and unit_code = 'LANGSON'")
    got = {(r.period, r.scope): (int(r.numerator), int(r.denominator), round(float(r.value), 4)) for r in rows}
    # month rows add the units that reported the month
    assert got[("2026-03", "month")] == (100, 100, 100.0)
    assert got[("2026-02", "month")] == (377, 400, 94.25)
    # year to date: January (80 + 297) / 400; February 754 / 800; March adds XA_CHILANG's March to both units'
    # January and February: (754 + 100) / (800 + 100) -- not XA_CHILANG's own 260 / 300 = 86.67 %
    assert got[("2026-01", "ytd")] == (377, 400, 94.25)
    assert got[("2026-02", "ytd")] == (754, 800, 94.25)
    assert got[("2026-03", "ytd")] == (854, 900, round(100 * 854 / 900, 4)) == (854, 900, 94.8889)
    # the province's satisfaction target (>= 90 %) is judged on 94.89 %, not on the first reporter's 86.67 %
    (target,) = _rows(engine, "select actual_value, as_of_period, status from mart.target_attainment"
                              " where target_code = 'CCHC_SATISFACTION'")
    assert (round(float(target.actual_value), 4), target.as_of_period, target.status) == (94.8889, "2026-03", "met")
    # the report draws the same province year-to-date line: it does not dip in March
    data = fetch_report_data.fn(load_settings(), AS_OF)
    line = [round(float(r["value"]), 4) for r in sorted(data.rates, key=lambda r: r["period"])
            if r["metric_code"] == "online_dossier_rate" and r["unit_code"] == "LANGSON" and r["scope"] == "ytd"]
    assert line == [94.25, 94.25, 94.8889]

    # XA_DONGDANG's March arrives later: derive stays incremental and the province takes it in
    write_csv(inbox, "XA_DONGDANG", "dossier", "mar.csv", SURVEY, [_dossier("XA_DONGDANG", "2026-03", 300, 150)],
              landed_at=T0)
    ingest(as_of=AS_OF)
    (march,) = _rows(engine, "select numerator, denominator from mart.metric_value where unit_code = 'LANGSON'"
                             " and metric_code = 'online_dossier_rate' and period = '2026-03' and scope = 'ytd'")
    assert (int(march.numerator), int(march.denominator)) == (854 + 150, 900 + 300)


def test_province_stocks_keep_units_without_a_recent_snapshot(env, engine):
    inbox = env["inbox"]
    write_csv(inbox, "XA_CHILANG", "disbursement", "oct.csv", DISB,
              [["P1", "road", "XA_CHILANG", "transitional", 1000, 700, "2026-10-31"]], landed_at=T0)
    # XA_DONGDANG's last snapshot is from March: it still counts at the as-of month
    write_csv(inbox, "XA_DONGDANG", "disbursement", "mar.csv", DISB,
              [["P2", "school", "XA_DONGDANG", "new", 3000, 300, "2026-03-31"]], landed_at=T0)
    ingest(as_of=AS_OF)
    (row,) = _rows(engine, "select period, scope, numerator, denominator, value from mart.metric_value"
                           " where metric_code = 'disbursement_rate' and unit_code = 'LANGSON'")
    assert (row.period, row.scope, int(row.numerator), int(row.denominator)) == ("2026-11", "ytd", 1000, 4000)
    history = {r.period: (int(r.numerator), int(r.denominator)) for r in _rows(
        engine, "select period, numerator, denominator from mart.stock_metric_history"
                " where metric_code = 'disbursement_rate' and unit_code = 'LANGSON'")}
    # March to September: XA_DONGDANG alone; from October both
    assert history["2026-03"] == (300, 3000) and history["2026-09"] == (300, 3000)
    assert history["2026-10"] == (1000, 4000)
    assert "2026-02" not in history
