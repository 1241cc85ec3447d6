"""The report at a scale of hundreds of units (issue 21, target 4), in a real browser: Debian's Chromium driven by
Playwright (never a downloaded browser) opens the page from file://, offline.

A catalog of 300 communes is written here (the province's own units topped up by bench/national.py's generator),
each commune sends a dossier month, the real ingest flow loads them and the report flow writes the page. Skips only
when no Chromium is installed."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from bench.national import build_catalog, write_dossier_inbox
from chitieu.report.national import CHART_CAP, THRESHOLD
from tests.conftest import CATALOG, fresh_database, point_chitieu_at
from tests.flows.test_demo_report import _Tags

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and Path(p).exists()), None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
COMMUNES = 300
AS_OF = dt.date(2026, 11, 20)


@pytest.fixture
def many_units(tmp_path, server_url, template_url, monkeypatch):
    """An empty warehouse loaded by the init flow with a 300-commune catalog, and an inbox holding a dossier month
    (10/2026) from every commune."""
    from flows.init_warehouse import init_warehouse

    with fresh_database(server_url, template_url, "many", from_template=False) as url:
        communes = build_catalog(CATALOG, tmp_path / "catalog", COMMUNES)
        paths = point_chitieu_at(monkeypatch, tmp_path, url, tmp_path / "catalog")
        write_dossier_inbox(paths["inbox"], communes)
        init_warehouse()
        yield {**paths, "communes": communes}


def _assert_self_contained(html: str) -> None:
    """One inline script (no src), no handler attribute, nothing that loads from elsewhere."""
    tags = _Tags(html).tags
    assert [t for t, _ in tags].count("script") == 1
    assert not {t for t, _ in tags} & {"img", "iframe", "link", "object", "embed", "image", "foreignobject"}
    for tag, attrs in tags:
        assert not [a for a in attrs if a.startswith("on") or a in ("src", "srcset", "action")], tag
        for name in ("href", "xlink:href"):
            assert attrs.get(name, "#").startswith("#"), (tag, attrs)
    assert "http:" not in html and "https:" not in html and "//" not in html and "@import" not in html


def _values(page, table: str, column: int) -> list[float | None]:
    """The sort values of a column of the table's visible rows, in the order shown."""
    return page.eval_on_selector(table, f"""t => Array.from(t.tBodies[0].rows).filter(r => !r.hidden)
        .map(r => r.cells[{column}].getAttribute('data-value')).map(v => v === '' ? null : parseFloat(v))""")


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt install chromium)")
def test_a_report_of_300_communes_is_ranked_searchable_sortable_and_charts_at_most_the_cap(many_units):
    from playwright.sync_api import sync_playwright

    from flows.ingest import ingest
    from flows.report import report

    ingest(inbox=str(many_units["inbox"]), as_of=AS_OF)
    path = Path(report(as_of=AS_OF))
    html = path.read_text(encoding="utf-8")
    _assert_self_contained(html)
    assert COMMUNES > THRESHOLD
    for section in ("rates", "reporting"):
        assert f'id="{section}-units"' in html and f'id="{section}-table"' in html
    assert "Toàn tỉnh" in html and "đơn vị thấp nhất" in html and "đơn vị cao nhất" in html

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            asked: list[str] = []

            def offline(route) -> None:  # the page must need nothing but its own file
                asked.append(route.request.url)
                route.continue_() if route.request.url.startswith("file:") else route.abort()

            page.route("**/*", offline)
            page.goto(path.as_uri())

            # charts: none draws more than the cap of units
            drawn = page.eval_on_selector_all("svg.chart", "svgs => svgs.map(s => s.getAttribute('data-units'))")
            assert drawn and all(n is not None and int(n) <= CHART_CAP for n in drawn if n is not None), drawn
            assert max(int(n) for n in drawn if n is not None) == CHART_CAP  # the worst 20 of the rates grid

            # search: a commune's name leaves its row only, in every table that lists it
            table = "#rates-table"
            rows = page.locator(f"{table} tbody tr")
            assert rows.count() == COMMUNES  # every commune reported a month
            page.fill("#rates-units input.unit-search", "Xã Mẫu 0123")
            visible = page.locator(f"{table} tbody tr:visible")
            assert visible.count() == 1
            assert visible.first.get_attribute("data-unit") == "XA_N0123"
            assert "1 trên" in page.inner_text("#rates-units .unit-count")
            page.fill("#rates-units input.unit-search", "xa mau 012")  # no diacritics: ten communes
            assert visible.count() == 10
            page.fill("#rates-units input.unit-search", "")
            assert visible.count() == COMMUNES

            # sort by the on-time rate: ascending, then descending; units without a figure last both ways
            column = next(i for i, t in enumerate(page.locator(f"{table} thead th").all_inner_texts())
                          if t.startswith("Giải quyết đúng hạn"))
            header = page.locator(f"{table} thead th").nth(column)
            header.locator("button").click()
            assert header.get_attribute("aria-sort") == "ascending"
            up = _values(page, table, column)
            known = [v for v in up if v is not None]
            assert known == sorted(known) and len(known) >= COMMUNES and up[:len(known)] == known
            header.locator("button").click()
            assert header.get_attribute("aria-sort") == "descending"
            down = [v for v in _values(page, table, column) if v is not None]
            assert down == sorted(known, reverse=True)
            assert rows.first.get_attribute("data-unit") != page.locator(f"{table} tbody tr").last.get_attribute(
                "data-unit")

            # the worst-ranked list agrees with the table sorted ascending
            worst = page.locator("#rates-units .ranking.worst").nth(1).locator("li").first.inner_text()
            header.locator("button").click()
            first = page.locator(f"{table} tbody tr").first
            assert first.get_attribute("data-unit") in worst
            assert all(url.startswith("file:") for url in asked), asked
        finally:
            browser.close()
