"""The disbursement stock (each unit's month-end sum of its projects' latest figures of the year, and the
province's sum of them) is derived only from the months that may have changed on: random passes (new months,
corrections of a month, late older months, rows dated after the as-of date, projects coming and going, as-of dates
moving forward, back and into 2027, one batch or pipelined parts) leave core.metric_value equal to every month
computed afresh from the current facts."""

from __future__ import annotations

import calendar
import datetime as dt
import json
import random

import pytest
import sqlalchemy as sa

from chitieu.warehouse import read_sql, sql_statements
from flows.ingest import ingest
from tests.feeds import DISB, write_csv

T0 = dt.datetime(2026, 9, 3, 8, tzinfo=dt.UTC)
UNITS = ["XA_CHILANG", "XA_DONGDANG", "PHUONG_TAMTHANH"]
PROVINCE = "LANGSON"
AS_OF_DATES = [dt.date(2026, 9, 15), dt.date(2026, 10, 20), dt.date(2026, 11, 20), dt.date(2026, 11, 28),
               dt.date(2026, 12, 31), dt.date(2027, 1, 10), dt.date(2027, 2, 15)]


def _month_ends(year: int, as_of: dt.date) -> list[tuple[str, dt.date]]:
    """The months of `year` up to the as-of month, each with its evaluation date min(month end, as-of)."""
    last = 12 if year < as_of.year else as_of.month
    return [(f"{year}-{m:02d}", min(dt.date(year, m, calendar.monthrange(year, m)[1]), as_of))
            for m in range(1, last + 1)]


def _afresh(engine, as_of: dt.date) -> dict[tuple[str, str], tuple[int, int]]:
    """(unit, month) -> (disbursed, plan): for every month of each year a unit has figures in (up to the as-of
    month), the sum over its projects of each one's latest figure of that year dated on or before the month's
    evaluation date; the province's months add up its units'."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select unit_code, project_code, as_of_date, capital_plan_vnd, disbursed_vnd"
                                    " from core.current_disbursement")).all()
    by_unit: dict[str, list] = {}
    for row in rows:
        by_unit.setdefault(row.unit_code, []).append(row)
    expected: dict[tuple[str, str], tuple[int, int]] = {}
    for unit, unit_rows in by_unit.items():
        for year in sorted({r.as_of_date.year for r in unit_rows if r.as_of_date.year <= as_of.year}):
            for period, evaluated_on in _month_ends(year, as_of):
                latest: dict[str, object] = {}
                for r in sorted(unit_rows, key=lambda r: r.as_of_date):
                    if r.as_of_date.year == year and r.as_of_date <= evaluated_on:
                        latest[r.project_code] = r
                if latest:
                    expected[(unit, period)] = (sum(r.disbursed_vnd for r in latest.values()),
                                                sum(r.capital_plan_vnd for r in latest.values()))
    for (_unit, period), (disbursed, plan) in list(expected.items()):
        total = expected.get((PROVINCE, period), (0, 0))
        expected[(PROVINCE, period)] = (total[0] + disbursed, total[1] + plan)
    return expected


def _derived(engine) -> dict[tuple[str, str], tuple[int, int]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select unit_code, period, numerator, denominator from core.metric_value"
                                    " where metric_code = 'disbursement_rate' and scope = 'ytd'")).all()
    return {(r.unit_code, r.period): (int(r.numerator), int(r.denominator)) for r in rows}


def _random_file(rng: random.Random, inbox, unit: str, as_of: dt.date, serial: int, plans: dict) -> None:
    """A unit's file for a random month up to the as-of month (now and then the month after it, or a date after
    the as-of date: rejected), one or two dates in it (now and then one in the month before too), some of its
    projects."""
    months = [(y, m) for y in (2026, 2027) for m in range(1, 13)
              if dt.date(2026, 5, 1) <= dt.date(y, m, 1) <= dt.date(as_of.year, as_of.month, 1)]
    year, month = rng.choice(months)
    if rng.random() < 0.15:  # figures dated after the as-of date
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    last = calendar.monthrange(year, month)[1]
    dates = sorted({dt.date(year, month, min(day, last)) for day in rng.sample([5, 15, 28, 31], rng.randrange(1, 3))})
    if month > 1 and rng.random() < 0.25:  # a catch-up file: the month before too
        dates.insert(0, dt.date(year, month - 1, 20))
    rows = [[f"P{p}", f"Dự án {p}", unit, plans[(unit, p)][0], plans[(unit, p)][1],
             rng.randrange(0, plans[(unit, p)][1] + 1, 50), day.isoformat()]
            for p in rng.sample(range(1, 7), rng.randrange(1, 7)) for day in dates]
    write_csv(inbox, unit, "disbursement", f"giai_ngan_{serial}.csv", DISB, rows,
              landed_at=T0 + dt.timedelta(hours=serial))


@pytest.mark.parametrize("seed, pipelined", [(1, False), (2, False), (5, False), (3, True), (4, True), (6, True)])
def test_random_passes_keep_every_month_equal_to_the_months_computed_afresh(env, engine, monkeypatch, seed,
                                                                          pipelined):
    if pipelined:  # several parts: each derives its units at the run's as-of date before the run's sweep
        import flows.ingest

        monkeypatch.setattr(flows.ingest, "PART_BYTES", 50)
    rng = random.Random(seed)
    groups = ["new", "transitional", "completed"]
    plans = {(u, p): (rng.choice(groups), rng.randrange(1, 20) * 1000) for u in UNITS for p in range(1, 7)}
    as_of, serial = AS_OF_DATES[0], 0
    for _ in range(7):
        # mostly forward, now and then back
        as_of = rng.choice([d for d in AS_OF_DATES if d >= as_of] if rng.random() < 0.8 else AS_OF_DATES)
        for unit in rng.sample(UNITS, rng.randrange(0, len(UNITS) + 1)):
            for _ in range(rng.randrange(1, 3)):
                serial += 1
                _random_file(rng, env["inbox"], unit, as_of, serial, plans)
        ingest(as_of=as_of)
        assert _derived(engine) == _afresh(engine, as_of), as_of


def test_a_part_derived_at_a_new_as_of_date_derives_the_earlier_as_of_month_again(env, engine, monkeypatch):
    """November evaluated on 20 November (a pass as of that date, after one as of the 30th) leaves out a figure
    dated the 28th; on 31 December it counts again. A run whose parts derive their units before the run's sweep
    (which then skips them) must take November again for a unit whose new file is December's."""
    import flows.ingest

    monkeypatch.setattr(flows.ingest, "PART_BYTES", 50)  # a part per unit: the first one's derived by its part
    for unit in ("XA_CHILANG", "XA_DONGDANG"):
        write_csv(env["inbox"], unit, "disbursement", "thang_11.csv", DISB,
                  [["P1", "Đường", unit, "new", 9000, 1000, "2026-11-05"],
                   ["P1", "Đường", unit, "new", 9000, 3000, "2026-11-28"]], landed_at=T0)
    assert ingest(as_of=dt.date(2026, 11, 30)).counts() == {"loaded": 2}
    ingest(as_of=dt.date(2026, 11, 20))
    assert _derived(engine)[("XA_CHILANG", "2026-11")] == (1000, 9000)
    for unit in ("XA_CHILANG", "XA_DONGDANG"):
        write_csv(env["inbox"], unit, "disbursement", "thang_12.csv", DISB,
                  [["P1", "Đường", unit, "new", 9000, 5000, "2026-12-15"]], landed_at=T0 + dt.timedelta(days=1))
    assert ingest(as_of=dt.date(2026, 12, 31)).counts() == {"loaded": 2}
    derived = _derived(engine)
    assert derived == _afresh(engine, dt.date(2026, 12, 31))
    for unit in ("XA_CHILANG", "XA_DONGDANG"):
        assert (derived[(unit, "2026-11")], derived[(unit, "2026-12")]) == ((3000, 9000), (5000, 9000))


def _fact_rows_read(engine, params: dict) -> int:
    """Rows of core.fact_disbursement that sql/derive/stock_components.sql reads with `params` (EXPLAIN ANALYZE of
    its query, the scans that ran)."""
    statement = sql_statements(read_sql("derive/stock_components.sql"))[0]
    query = statement.replace("create temp table stock_component on commit drop as", "", 1)
    with engine.connect() as conn:
        plan = conn.scalar(sa.text("explain (analyze, format json) " + query), params)
        conn.rollback()

    def rows(node) -> int:
        own = (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
               if node.get("Relation Name") == "fact_disbursement" and node["Actual Loops"] else 0)
        return own + sum(rows(child) for child in node.get("Plans", []))

    return rows((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])


def test_a_new_month_is_derived_without_reading_the_months_before_it(env, engine, monkeypatch):
    """Each month a unit reports, its stock is summed from its projects' latest rows: none of the figures behind
    them is read again. A correction of an older month follows the figures from that month on (the control)."""
    import tasks.derive

    ran: list[dict] = []
    original = tasks.derive._script
    monkeypatch.setattr(tasks.derive, "_script", lambda conn, name, params: (
        ran.append(dict(params)) if name == "stock_components" else None, original(conn, name, params))[1])
    for month, as_of in ((9, dt.date(2026, 9, 30)), (10, dt.date(2026, 10, 31)), (11, dt.date(2026, 11, 20))):
        write_csv(env["inbox"], "XA_CHILANG", "disbursement", f"thang_{month}.csv", DISB,
                  [[f"P{p}", "Dự án", "XA_CHILANG", "new", 20000, 1000 * month + p, f"2026-{month:02d}-15"]
                   for p in range(1, 4)], landed_at=T0 + dt.timedelta(days=month))
        ran.clear()
        assert ingest(as_of=as_of).counts() == {"loaded": 1}
    (params,) = [p for p in ran if "XA_CHILANG" in p["units"]]
    assert dict(zip(params["units"], params["since"], strict=True))["XA_CHILANG"] == "2026-11"
    assert _fact_rows_read(engine, params) == 0

    write_csv(env["inbox"], "XA_CHILANG", "disbursement", "thang_9_dinh_chinh.csv", DISB,
              [["P1", "Dự án", "XA_CHILANG", "new", 20000, 500, "2026-09-15"]], landed_at=T0 + dt.timedelta(days=40))
    ran.clear()
    assert sum(ingest(as_of=dt.date(2026, 11, 20)).counts().get(s, 0) for s in ("loaded", "loaded_with_warnings")) == 1
    (params,) = [p for p in ran if "XA_CHILANG" in p["units"]]
    assert _fact_rows_read(engine, params) > 0  # September and October follow the figures again
    assert _derived(engine) == _afresh(engine, dt.date(2026, 11, 20))
