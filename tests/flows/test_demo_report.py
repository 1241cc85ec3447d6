"""`chitieu demo` and `chitieu report`: realistic feeds, two ingest passes, one self-contained HTML page."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa

from chitieu.catalog import read_catalog
from chitieu.demo_feeds import build_feeds, write_feeds
from chitieu.report import ReportData, render_page
from tests.conftest import CATALOG

AS_OF = dt.date(2026, 3, 20)


def _digest(folder: Path) -> dict[str, tuple[str, int]]:
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), int(p.stat().st_mtime))
            for p in sorted(folder.rglob("*")) if p.is_file()}


class _Tags(HTMLParser):
    """Every start tag of a page with its attributes."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _assert_safe_markup(html: str) -> None:
    """No element or attribute that runs code or loads anything; links stay inside the page."""
    tags = _Tags(html).tags
    assert not {t for t, _ in tags} & {"script", "img", "iframe", "link", "object", "embed", "image", "foreignobject"}
    for tag, attrs in tags:
        assert not [a for a in attrs if a.startswith("on") or a in ("src", "srcset", "action")], tag
        for name in ("href", "xlink:href"):
            assert attrs.get(name, "#").startswith("#"), (tag, attrs)


def _assert_offline(html: str) -> None:
    """Nothing in the page may be fetched from elsewhere: no URL, script, external src/href, import or url()."""
    _assert_safe_markup(html)
    assert not re.search(r"https?:", html, re.I)
    assert "//" not in html
    assert "@import" not in html and not re.search(r"url\((?!#)", html)


# --- generator, no warehouse ------------------------------------------------------------------------------


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    catalog = read_catalog(CATALOG)
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        files = build_feeds(catalog, AS_OF, seed)
        for wave in (1, 2):
            write_feeds(files, tmp_path / name, wave)
    first, second, other = (_digest(tmp_path / n) for n in "abc")
    assert first == second
    assert first != other
    names = list(first)
    assert {n.rsplit(".", 1)[1] for n in names} == {"csv", "xlsx", "json"}
    assert {n.split("/")[1] for n in names} == {"dossier", "disbursement", "tasks", "admin_ops", "indicator"}
    submitters = {u["unit_code"] for u in catalog.units if "dossier" in u["monthly_feeds"]}
    assert submitters <= {n.split("/")[0] for n in names if "/dossier/" in n}


def test_files_use_vietnamese_headers_and_numbers_and_land_by_the_as_of_date():
    files = build_feeds(read_catalog(CATALOG), AS_OF, 3)
    vietnamese = [f for f in files if f.data.startswith(b"\xef\xbb\xbf")]
    assert vietnamese and all(";" in f.data.split(b"\n", 1)[0].decode("utf-8-sig") for f in vietnamese)
    assert any(re.search(rb";\d{1,3}(\.\d{3})+;", f.data) for f in vietnamese)  # 1.279 = 1279
    assert any("Tổng số hồ sơ tiếp nhận".encode() in f.data for f in vietnamese)
    deadline = dt.datetime.combine(AS_OF, dt.time(23, 59), tzinfo=dt.timezone(dt.timedelta(hours=7)))
    assert all(f.landed_at <= deadline for f in files)
    notes = " ".join(f.note for f in files)
    for problem in ("online dossiers exceed", "unit code", "not a number", "future", "lower than before",
                    "supersedes"):
        assert problem in notes


# --- rendering, no warehouse -------------------------------------------------------------------------------


def test_report_escapes_unit_supplied_text():
    hostile = '<script>alert("x")</script><img src=//evil.example/a.png>'
    data = ReportData(
        generated_at=dt.datetime(2026, 3, 20, 8, 0, tzinfo=dt.UTC), as_of=AS_OF, as_of_month="2026-03",
        units={"XA_A": {"unit_code": "XA_A", "name_vi": "Xã A", "name_en": "A", "level": "commune"}},
        targets=[{"target_code": "T1", "metric_code": "disbursement_rate", "unit_code": "XA_A", "year": 2026,
                  "comparator": ">=", "target_value": 100, "actual_value": None, "as_of_period": None,
                  "status": "no_data", "unit_of_measure": "%", "deadline": "2026-12", "description_vi": hostile,
                  "description_en": hostile, "source_doc": hostile, "source_clause": hostile}],
        rates=[], milestones=[],
        projects=[{"project_code": hostile, "project_name": hostile, "unit_code": "XA_A", "project_group": "new",
                   "as_of_date": dt.date(2026, 3, 15), "capital_plan_vnd": 10, "disbursed_vnd": 1,
                   "progress_pct": 10, "milestone_date": dt.date(2026, 3, 1), "milestone_pct": 40,
                   "status": "behind"}],
        reporting=[], failure_count=1,
        failures=[{"submission_id": 1, "unit_code": "XA_A", "feed": "dossier", "expectation": hostile,
                   "severity": "error", "column_name": hostile, "failed_rows": 1, "file_name": hostile,
                   "received_at": dt.datetime(2026, 3, 2, tzinfo=dt.UTC), "sample": [{"row": 2, "x": hostile}]}],
        corrections=[{"unit_code": "XA_A", "feed": "dossier", "file_name": hostile, "version": 2,
                      "received_at": dt.datetime(2026, 3, 3, tzinfo=dt.UTC), "is_current": True}],
        submissions={"rejected": 1})
    html = render_page(data)
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    _assert_safe_markup(html)


def _target(code: str, metric: str, value: float, goal: float, unit: str, period: str, deadline: str,
            status: str, source: str) -> dict:
    return {"target_code": code, "metric_code": metric, "unit_code": "XA_CHILANG", "year": 2026, "comparator": ">=",
            "target_value": goal, "actual_value": value, "as_of_period": period, "status": status,
            "unit_of_measure": unit, "deadline": deadline, "description_vi": code, "description_en": code,
            "source_doc": source, "source_clause": "II.1"}


def test_report_cites_documents_speaks_vietnamese_units_and_tells_not_yet_due_from_missed():
    """A year-end target read in November is not yet due (with its pace), one whose deadline passed is missed;
    sources are cited by number, date and title as printed; units of measure are Vietnamese."""
    catalog = read_catalog(CATALOG)
    office, commune = "001_7ce8ab130da5e33f.txt", "003_3629f85e7110177f.txt"
    data = ReportData(
        generated_at=dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC), as_of=dt.date(2026, 11, 20),
        as_of_month="2026-10",
        units={"XA_CHILANG": {"unit_code": "XA_CHILANG", "name_vi": "Xã Chi Lăng", "name_en": "Chi Lang",
                              "level": "commune"}},
        targets=[_target("ARRIVALS", "tourist_arrivals", 45_000, 60_000, "arrivals", "2026-10", "2026-12", "not_met",
                         commune),
                 _target("WEBSITES", "commune_websites_live", 40, 55, "sites", "2026-10", "2026-08", "not_met",
                         office)],
        rates=[], milestones=[], projects=[], reporting=[], failures=[],
        indicators={i["indicator_code"]: i for i in catalog.indicators},
        documents={d["source_doc"]: d for d in catalog.documents})
    html = render_page(data)

    rows = dict(re.findall(r'<tr id="target-(\w+)"[^>]*>(.*?)</tr>', html, re.S))
    assert 'data-status="not_met" data-judged="not_due"' in html and "Chưa đến hạn" in rows["ARRIVALS"]
    assert "Không đạt" not in rows["ARRIVALS"]
    assert "Tiến độ đều đến 10/2026: cần 50.000 lượt khách, đã thực hiện 45.000 lượt khách" in rows["ARRIVALS"]
    assert "chậm so với tiến độ" in rows["ARRIVALS"]
    assert 'data-judged="not_met"' in html and "Không đạt" in rows["WEBSITES"] and "40 trang" in rows["WEBSITES"]
    assert "arrivals" not in rows["ARRIVALS"].replace("ARRIVALS", "") and "sites" not in rows["WEBSITES"]

    assert office not in html and commune not in html and "001 =" not in html
    assert "Kế hoạch số …/KH-VP ngày …/02/2026 của Văn phòng UBND tỉnh Lạng Sơn: Thực hiện nhiệm vụ trọng tâm của " \
           "Văn phòng UBND tỉnh năm 2026" in html
    assert "Quyết định (không ghi số) của UBND xã Chi Lăng: Ban hành nhiệm vụ, giải pháp chủ yếu" in html


def test_every_cited_source_document_is_in_documents_csv(tmp_path):
    import shutil

    from chitieu.errors import CatalogError

    shutil.copytree(CATALOG, tmp_path / "catalog")
    documents = tmp_path / "catalog" / "documents.csv"
    lines = documents.read_text(encoding="utf-8").splitlines(keepends=True)
    documents.write_text("".join(line for line in lines if not line.startswith("004_")), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"documents.csv, column source_doc: '004_f086a341d523f0d6.txt', cited by"):
        read_catalog(tmp_path / "catalog")


# --- the demo on a real warehouse ------------------------------------------------------------------------


def test_demo_loads_problems_and_a_correction_and_reports_every_target(env, engine):
    from flows.demo import demo

    result = demo(as_of=AS_OF, seed=7)
    for key in ("warehouse", "reader", "inbox", "submissions", "report"):
        assert key in result
    assert "chitieu warehouse --reader" in result["reader"]
    assert result["warehouse"].startswith("postgresql://") and "***" not in result["warehouse"]
    assert ":" not in result["warehouse"].split("://", 1)[1].split("@", 1)[0]  # no password

    with engine.connect() as conn:
        statuses = dict(conn.execute(sa.text("select status, count(*) from mart.submission_log group by 1")).all())
        corrected = conn.execute(sa.text(
            "select s.version, s.is_current from mart.submission_log s where s.feed = 'dossier'"
            " and s.unit_code = (select unit_code from mart.submission_log where version = 2 and feed = 'dossier')"
            " and s.periods && (select periods from mart.submission_log where version = 2 and feed = 'dossier')"
            " and s.status <> 'rejected' order by s.version")).all()
        checks = set(conn.scalars(sa.text("select expectation from mart.data_quality")))
        targets = dict(conn.execute(sa.text("select target_code, status from mart.target_attainment")).all())
    assert statuses.get("rejected", 0) >= 3 and statuses.get("loaded_with_warnings", 0) >= 1
    assert statuses["loaded"] > 100
    assert [tuple(r) for r in corrected] == [(1, False), (2, True)]
    assert {"received_online_le_received_total", "unit_matches_folder", "int_format", "period_not_future",
            "cumulative_not_decreasing"} <= checks
    assert {"met", "not_met", "no_data"} <= set(targets.values())

    html = Path(result["report"]).read_text(encoding="utf-8")
    assert Path(result["report"]) == env["home"] / "reports" / "report.html"
    for code, status in targets.items():
        assert f'id="target-{code}" data-status="{status}"' in html
    assert {t["target_code"] for t in read_catalog(CATALOG).targets} == set(targets)
    assert html.count("<svg") >= 4
    assert "Trung tâm Phục vụ hành chính công tỉnh" in html and "Xã Chi Lăng" in html
    for heading in ("Target attainment", "Dossier service rates", "disbursement", "Reporting completeness",
                    "Data quality"):
        assert heading in html
    _assert_offline(html)
    assert "password" not in html.lower()


def test_report_on_an_empty_warehouse_writes_to_out(env, tmp_path):
    from flows.report import report

    path = Path(report(out=str(tmp_path / "out")))
    assert path == tmp_path / "out" / "report.html"
    html = path.read_text(encoding="utf-8")
    assert html.count('data-status="no_data"') == len(read_catalog(CATALOG).targets)
    _assert_offline(html)


def test_demo_refuses_an_inbox_holding_other_files(env):
    from chitieu.config import load_settings
    from chitieu.errors import ConfigError
    from flows.demo import reset_demo_inbox

    real = env["inbox"] / "XA_CHILANG" / "dossier" / "thang_01.csv"
    real.parent.mkdir(parents=True)
    real.write_text("unit_code,period\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="did not write"):
        reset_demo_inbox.fn(load_settings())
    assert real.exists()
