"""Another province's catalog across the turn of the year (issue 16): nothing in the code is Lạng Sơn's or 2026's.

Cao Bằng's catalog is written here; its warehouse starts empty and `init` loads it. December figures, a December
correction and January figures arrive in one pass (as of January); each year's targets are judged on that year's
year to date. Every figure is computed by hand in the comments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from chitieu.catalog import read_catalog
from chitieu.errors import CatalogError
from tests.conftest import fresh_database, point_chitieu_at
from tests.feeds import DISB, DOSSIER, write_csv
from tests.mailsink import SmtpSink

INDICATOR = ["unit_code", "indicator_code", "period", "value"]
PASS_1 = dt.date(2026, 12, 28)
PASS_2 = dt.date(2027, 1, 20)

UNITS = """unit_code,name_vi,name_en,level,parent_code,contact_email,active,monthly_feeds
CAOBANG,Tỉnh Cao Bằng,Cao Bang Province,province,,ubnd@caobang.example,true,
CB_VP,Văn phòng UBND tỉnh Cao Bằng,Office,department,CAOBANG,vp@caobang.example,true,
XA_A,Xã A,Commune A,commune,CAOBANG,xa_a@caobang.example,true,dossier disbursement
XA_B,Xã B,Commune B,commune,CAOBANG,xa_b@caobang.example,true,dossier
"""
INDICATORS = """\
indicator_code,name_vi,name_en,unit_of_measure,periodicity,aggregation,min_value,max_value,direction,source_feed
online_dossier_rate,Tỷ lệ hồ sơ trực tuyến,Online dossiers,%,month,last,0,100,up,dossier
disbursement_rate,Tỷ lệ giải ngân,Disbursement,%,month,last,0,100,up,disbursement
tourist_arrivals,Lượt khách du lịch,Tourist arrivals,lượt,month,sum,0,,up,indicator
"""
TARGET_HEAD = ("target_code,indicator_code,unit_code,year,comparator,target_value,unit_of_measure,deadline,owner,"
               "description_vi,description_en,source_doc,source_clause\n")
TARGETS_2026 = TARGET_HEAD + """\
CB_ONLINE,online_dossier_rate,CAOBANG,2026,>=,80,%,2026-12,UBND,Trực tuyến 80%,Online 80%,QĐ 1/2026,1
CB_DISB,disbursement_rate,CAOBANG,2026,>=,90,%,2026-12,UBND,Giải ngân 90%,Disbursed 90%,QĐ 1/2026,2
CB_TOURISTS,tourist_arrivals,CAOBANG,2026,>=,1000,lượt,2026-12,UBND,1000 lượt khách,1000 arrivals,QĐ 1/2026,3
"""
TARGETS_2027 = TARGET_HEAD + """\
CB_ONLINE,online_dossier_rate,CAOBANG,2027,>=,85,%,2027-12,UBND,Trực tuyến 85%,Online 85%,QĐ 9/2027,1
CB_DISB,disbursement_rate,CAOBANG,2027,>=,20,%,2027-12,UBND,Giải ngân 20%,Disbursed 20%,QĐ 9/2027,2
"""


def write_catalog(folder: Path, units: str = UNITS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("units.csv", units), ("indicators.csv", INDICATORS), ("targets_2026.csv", TARGETS_2026),
                       ("targets_2027.csv", TARGETS_2027)):
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def caobang(tmp_path, server_url, template_url, monkeypatch):
    """An empty warehouse database and Cao Bằng's catalog, loaded by the init flow; an SMTP sink for alerts."""
    from flows.init_warehouse import init_warehouse

    with fresh_database(server_url, template_url, "cb", from_template=False) as url:
        paths = point_chitieu_at(monkeypatch, tmp_path, url, write_catalog(tmp_path / "catalog"))
        home, inbox = paths["home"], paths["inbox"]
        with SmtpSink() as sink:
            monkeypatch.setenv("CHITIEU_SMTP_URL", sink.url)
            init_warehouse()
            engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
            yield {"inbox": inbox, "home": home, "engine": engine, "smtp": sink}
            engine.dispose()


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 3, tzinfo=dt.UTC)


def _rows(engine, sql: str, **params) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).all()


def test_a_second_province_across_the_turn_of_the_year(caobang):
    from flows.ingest import ingest
    from flows.report import report

    inbox, engine, smtp = caobang["inbox"], caobang["engine"], caobang["smtp"]
    # --- pass 1, as of 28 December 2026 ------------------------------------------------------------------------
    write_csv(inbox, "XA_A", "dossier", "t11_t12.csv", DOSSIER,
              [["XA_A", "2026-11", 100, 90, 10, 10], ["XA_A", "2026-12", 100, 80, 10, 10]], landed_at=_at(PASS_1))
    write_csv(inbox, "XA_B", "dossier", "t11.csv", DOSSIER, [["XA_B", "2026-11", 100, 70, 10, 10]],
              landed_at=_at(PASS_1))
    write_csv(inbox, "XA_A", "disbursement", "p1_nov.csv", DISB,
              [["P1", "Đường xã", "XA_A", "transitional", 1000, 500, "2026-11-30"]], landed_at=_at(PASS_1))
    write_csv(inbox, "XA_A", "indicator", "khach_t11.csv", INDICATOR, [["XA_A", "tourist_arrivals", "2026-11", 500]],
              landed_at=_at(PASS_1))
    ingest(as_of=PASS_1)

    # --- pass 2, as of 20 January 2027: December late and corrected, January arrives, one bad file -------------
    write_csv(inbox, "XA_A", "dossier", "t12_sua.csv", DOSSIER, [["XA_A", "2026-12", 100, 100, 10, 10]],
              landed_at=_at(dt.date(2027, 1, 3)))                                   # correction: version 2
    write_csv(inbox, "XA_B", "dossier", "t12.csv", DOSSIER, [["XA_B", "2026-12", 100, 90, 10, 10]],
              landed_at=_at(dt.date(2027, 1, 8)))                                   # late (due 5 January)
    write_csv(inbox, "XA_A", "dossier", "t01.csv", DOSSIER, [["XA_A", "2027-01", 200, 150, 10, 10]],
              landed_at=_at(PASS_2))
    write_csv(inbox, "XA_B", "dossier", "t01_loi.csv", DOSSIER, [["XA_B", "2027-01", 100, 150, 10, 10]],
              landed_at=_at(PASS_2))                                                # online > total: rejected
    write_csv(inbox, "XA_A", "disbursement", "p1.csv", DISB,
              [["P1", "Đường xã", "XA_A", "transitional", 1000, 950, "2026-12-31"],  # 2026's closing figure
               ["P1", "Đường xã", "XA_A", "transitional", 2000, 300, "2027-01-15"]],  # 2027's new capital plan
              landed_at=_at(PASS_2))
    write_csv(inbox, "XA_B", "indicator", "khach_t12.csv", INDICATOR, [["XA_B", "tourist_arrivals", "2026-12", 600]],
              landed_at=_at(PASS_2))
    summary = ingest(as_of=PASS_2)
    statuses = {(r.unit_code, r.file_name.rsplit("/", 1)[-1]): (r.status, r.version) for r in _rows(
        engine, "select unit_code, file_name, status, version from mart.submission_log")}
    assert statuses[("XA_A", "t12_sua.csv")] == ("loaded", 2), summary
    assert statuses[("XA_B", "t01_loi.csv")][0] == "rejected"
    assert statuses[("XA_A", "p1.csv")][0] == "loaded"  # a December 2026 snapshot is taken in January

    # --- the province rolls up under its own code, per calendar year ------------------------------------------
    online = {(r.period, r.scope): (int(r.numerator), int(r.denominator)) for r in _rows(
        engine, "select period, scope, numerator, denominator from mart.metric_value"
                " where unit_code = 'CAOBANG' and metric_code = 'online_dossier_rate'")}
    assert online[("2026-11", "month")] == (160, 200)
    assert online[("2026-12", "month")] == (190, 200)      # XA_A's corrected 100 + XA_B's 90
    assert online[("2026-12", "ytd")] == (350, 400)        # 87.5 %
    assert online[("2027-01", "ytd")] == (150, 200)        # the year to date restarts in January: 75 %
    disbursement = {r.period: (int(r.numerator), int(r.denominator)) for r in _rows(
        engine, "select period, numerator, denominator from mart.metric_value"
                " where unit_code = 'CAOBANG' and metric_code = 'disbursement_rate' and scope = 'ytd'")}
    # 2026 stays visible at its December; 2027's stock counts 2027's snapshot only
    assert disbursement == {"2026-12": (950, 1000), "2027-01": (300, 2000)}
    (tourists,) = _rows(engine, "select ytd_value from mart.indicator_value where unit_code = 'CAOBANG'"
                                " and indicator_code = 'tourist_arrivals' and period = '2026-12'")
    assert tourists.ytd_value == Decimal(1100)

    # --- both years' targets, each judged on its own year ------------------------------------------------------
    judged = {(r.target_code, r.year): (r.as_of_period, round(float(r.actual_value), 4), r.status) for r in _rows(
        engine, "select target_code, year, as_of_period, actual_value, status from mart.target_attainment")}
    assert judged == {
        ("CB_ONLINE", 2026): ("2026-12", 87.5, "met"),       # >= 80
        ("CB_ONLINE", 2027): ("2027-01", 75.0, "not_met"),   # >= 85
        ("CB_DISB", 2026): ("2026-12", 95.0, "met"),         # >= 90
        ("CB_DISB", 2027): ("2027-01", 15.0, "not_met"),     # >= 20
        ("CB_TOURISTS", 2026): ("2026-12", 1100.0, "met"),   # >= 1000
    }

    # --- the reporting calendar rolls December into January ----------------------------------------------------
    calendar = {(r.unit_code, r.period): (r.is_due, r.received, r.on_time) for r in _rows(
        engine, "select unit_code, period, is_due, received, on_time from mart.reporting_rate"
                " where feed = 'dossier' and period >= '2026-12'")}
    assert calendar[("XA_A", "2026-12")] == (True, True, True)
    assert calendar[("XA_B", "2026-12")] == (True, True, False)
    assert calendar[("XA_A", "2027-01")] == (False, True, True)   # received early, not yet due

    # --- nothing of another province anywhere ------------------------------------------------------------------
    with engine.connect() as conn:
        tables = conn.execute(sa.text(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema in ('raw', 'core', 'audit', 'mart')")).all()
        hits = [f"{s}.{t}" for s, t in tables if conn.scalar(sa.text(
            f'select count(*) from "{s}"."{t}" x where x::text ilike :p'), {"p": "%langson%"})]
        province_units = conn.execute(sa.text("select unit_code from mart.unit where level = 'province'")).scalars()
        assert list(province_units) == ["CAOBANG"]
    assert hits == []

    # --- alerts name the province and the year of the data -----------------------------------------------------
    rejected = [m for m in smtp.messages if "t01_loi.csv" in str(m["Subject"])]
    assert len(rejected) == 1
    assert str(rejected[0]["Subject"]).startswith("[Chỉ tiêu năm 2027 — Tỉnh Cao Bằng] Tệp số liệu bị từ chối")
    assert "chỉ tiêu năm 2027 của Tỉnh Cao Bằng" in rejected[0].get_body(("plain",)).get_content()
    assert not any("Lạng Sơn" in s or "2026]" in s for s in smtp.subjects() if "2027" in s)

    # --- the report is Cao Bằng's, for 2027 --------------------------------------------------------------------
    html = Path(report(as_of=PASS_2)).read_text(encoding="utf-8")
    assert "<title>Chỉ tiêu 2027 — Tỉnh Cao Bằng</title>" in html
    assert "Lạng Sơn" not in html and "LANGSON" not in html


def test_the_province_is_the_catalogs_one_unit_of_level_province(tmp_path):
    catalog = read_catalog(write_catalog(tmp_path / "one"))
    assert catalog.province["unit_code"] == "CAOBANG"
    assert "CAOBANG" not in catalog.submitter_codes
    assert len({(t["target_code"], t["year"]) for t in catalog.targets}) == 5
    none = UNITS.replace(",province,", ",department,")
    with pytest.raises(CatalogError, match=r"units\.csv.*no unit of level 'province'"):
        read_catalog(write_catalog(tmp_path / "none", none))
    two = UNITS + "BACKAN,Tỉnh Bắc Kạn,Bac Kan,province,,ubnd@backan.example,true,\n"
    with pytest.raises(CatalogError, match=r"units\.csv, line 6, column level: 'BACKAN' is a second unit"):
        read_catalog(write_catalog(tmp_path / "two", two))
    folder = write_catalog(tmp_path / "repeat")
    (folder / "targets_2027_extra.csv").write_text(TARGETS_2027.splitlines()[0] + "\n" + TARGETS_2027.splitlines()[1]
                                                   + "\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"targets_2027_extra\.csv, line 2, column target_code: 'CB_ONLINE' "
                                           r"repeats targets_2027\.csv line 2 for year 2027"):
        read_catalog(folder)


def test_a_target_adjusted_by_decision_is_judged_from_its_effective_date(caobang):
    from flows.ingest import ingest
    from flows.init_warehouse import init_warehouse
    from flows.report import report

    inbox, engine = caobang["inbox"], caobang["engine"]
    catalog = Path(caobang["home"]).parent / "catalog"
    # CB_ONLINE 2027 (>= 85 %) is lowered to >= 70 % by decision from 1 March 2027; the first version stays
    with (catalog / "targets_2027.csv").open("a", encoding="utf-8") as fh:
        fh.write("CB_ONLINE,online_dossier_rate,CAOBANG,2027,>=,70,%,2027-12,UBND,Trực tuyến 70%,Online 70%,"
                 "QĐ 9/2027,1,2027-03-01,Quyết định 45/QĐ-UBND ngày 20/02/2027\n")
    (catalog / "targets_2027.csv").write_text(
        (catalog / "targets_2027.csv").read_text(encoding="utf-8").replace(
            "source_doc,source_clause\n", "source_doc,source_clause,effective_from,decision_ref\n", 1)
        .replace(",QĐ 9/2027,1\n", ",QĐ 9/2027,1,,\n").replace(",QĐ 9/2027,2\n", ",QĐ 9/2027,2,,\n"),
        encoding="utf-8")
    init_warehouse()
    write_csv(inbox, "XA_A", "dossier", "t01_t02.csv", DOSSIER,
              [["XA_A", "2027-01", 200, 150, 10, 10], ["XA_A", "2027-02", 200, 150, 10, 10]],
              landed_at=_at(dt.date(2027, 3, 3)))

    def judged() -> tuple:
        (row,) = _rows(engine, "select target_value, actual_value, status, decision_ref, effective_from"
                               " from mart.target_attainment where target_code = 'CB_ONLINE' and year = 2027")
        return float(row.target_value), float(row.actual_value), row.status, row.decision_ref, row.effective_from

    ingest(as_of=dt.date(2027, 2, 28))   # before the decision takes effect: 75 % against >= 85 %
    assert judged() == (85.0, 75.0, "not_met", None, dt.date(2027, 1, 1))
    ingest(as_of=dt.date(2027, 3, 3))    # from 1 March: 75 % against >= 70 %
    assert judged() == (70.0, 75.0, "met", "Quyết định 45/QĐ-UBND ngày 20/02/2027", dt.date(2027, 3, 1))
    versions = [(float(r.target_value), r.in_force, r.superseded_on) for r in _rows(
        engine, "select target_value, in_force, superseded_on from mart.target_version"
                " where target_code = 'CB_ONLINE' and year = 2027 order by effective_from")]
    assert versions == [(85.0, False, dt.date(2027, 3, 1)), (70.0, True, None)]
    html = Path(report(as_of=dt.date(2027, 3, 3))).read_text(encoding="utf-8")
    assert "điều chỉnh theo Quyết định 45/QĐ-UBND ngày 20/02/2027, từ 01/03/2027" in html
