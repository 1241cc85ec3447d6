"""What BI tools see in `mart` (CONTRACT.md section 6): comments, metric names, period_start, is_due."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from chitieu.config import load_settings
from chitieu.warehouse import reader_url
from flows.ingest import ingest
from tests.feeds import DOSSIER, write_csv


def test_every_mart_view_and_column_has_a_comment(engine):
    with engine.connect() as conn:
        views = conn.execute(sa.text(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'mart' and c.relkind in ('v', 'r', 'm')"
            "   and coalesce(obj_description(c.oid, 'pg_class'), '') = ''")).scalars().all()
        columns = conn.execute(sa.text(
            "select c.table_name || '.' || c.column_name from information_schema.columns c"
            " join pg_class t on t.relname = c.table_name"
            " join pg_namespace n on n.oid = t.relnamespace and n.nspname = c.table_schema"
            " where c.table_schema = 'mart'"
            "   and coalesce(col_description(t.oid, c.ordinal_position::int), '') = ''")).scalars().all()
        counted = conn.scalar(sa.text("select count(*) from information_schema.columns where table_schema = 'mart'"))
    assert views == []
    assert columns == []
    assert counted > 60


def test_reader_reads_metric_names_and_period_start(env, engine):
    write_csv(env["inbox"], "XA_CHILANG", "dossier", "a.csv", DOSSIER,
              [["XA_CHILANG", "2026-10", 100, 90, 10, 10], ["XA_CHILANG", "2026-11", 100, 50, 10, 10]],
              landed_at=dt.datetime(2026, 11, 3, tzinfo=dt.UTC))
    ingest(as_of=dt.date(2026, 11, 28))
    reader = sa.create_engine(reader_url(load_settings(), engine), poolclass=sa.pool.NullPool)
    try:
        with reader.connect() as conn:
            names = {r.metric_code: r for r in conn.execute(sa.text("select * from mart.metric"))}
            starts = conn.execute(sa.text(
                "select distinct period, period_start from mart.metric_value where unit_code = 'XA_CHILANG'"
                " order by 1")).all()
            rates = conn.execute(sa.text(
                "select period, period_start, due_date, is_due, received from mart.reporting_rate"
                " where unit_code = 'XA_CHILANG' and feed = 'dossier' and period >= '2026-10' order by 1")).all()
    finally:
        reader.dispose()
    online = names["online_dossier_rate"]
    assert (online.name_vi, online.unit_of_measure, online.direction) == (
        "Tỷ lệ hồ sơ TTHC tiếp nhận, xử lý trực tuyến", "%", "up")
    assert online.name_en.startswith("Share of administrative-procedure dossiers")
    assert names["tourist_arrivals"].kind == "reported"
    assert names["in_person_conference_share"].kind == "derived"
    assert starts == [("2026-10", dt.date(2026, 10, 1)), ("2026-11", dt.date(2026, 11, 1))]
    # on 28 November, October (due 5 November) is due; November (due 5 December) is not, though it was received
    assert rates == [("2026-10", dt.date(2026, 10, 1), dt.date(2026, 11, 5), True, True),
                     ("2026-11", dt.date(2026, 11, 1), dt.date(2026, 12, 5), False, True)]


def test_reporting_calendar_rolls_december_into_january(env, engine):
    write_csv(env["inbox"], "XA_CHILANG", "dossier", "dec.csv", DOSSIER, [["XA_CHILANG", "2026-12", 100, 90, 10, 10]],
              landed_at=dt.datetime(2027, 1, 4, tzinfo=dt.UTC))
    ingest(as_of=dt.date(2027, 1, 10))
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "select period, due_date, is_due, received, on_time from mart.reporting_rate"
            " where unit_code = 'XA_CHILANG' and feed = 'dossier' and period >= '2026-11' order by 1")).all()
        months = conn.scalar(sa.text("select count(distinct period) from mart.reporting_rate"))
    assert rows == [("2026-11", dt.date(2026, 12, 5), True, False, False),
                    ("2026-12", dt.date(2027, 1, 5), True, True, True),
                    ("2027-01", dt.date(2027, 2, 5), False, False, False)]
    assert months == 13  # January 2026 to January 2027: last year's months stay while December is due in January
