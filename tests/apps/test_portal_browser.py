"""End to end in a real browser: Debian's Chromium driven by Playwright (never a downloaded browser) against the
portal served by uvicorn on 127.0.0.1. Skips only when no Chromium is installed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.apps.conftest import CLERK, CLERK2, PROVINCE, UNIT, dossier_csv

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and Path(p).exists()), None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt install chromium)")


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _sign_in(page, portal, who: str) -> None:
    page.goto(f"{portal.url}/login")
    page.fill("input[name=email]", who)
    page.fill("input[name=password]", portal.passwords[who])
    page.click("button[type=submit]")
    page.wait_for_url(f"{portal.url}/")


def _upload(page, portal, path: Path) -> None:
    page.goto(f"{portal.url}/upload")
    page.select_option("select[name=feed]", "dossier")
    page.set_input_files("input[name=file]", str(path))
    page.click("main button[type=submit]")
    page.wait_for_selector("#result")


def test_clerk_fixes_a_rejected_report_province_sees_both_versions_other_clerk_is_kept_out(portal, browser,
                                                                                          tmp_path):
    bad, good = tmp_path / "bao-cao-thang-10.csv", tmp_path / "bao-cao-thang-10-sua.csv"
    bad.write_bytes(dossier_csv(UNIT, errors=True))
    good.write_bytes(dossier_csv(UNIT))

    clerk = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    clerk.set_default_timeout(240_000)  # the first upload of a process imports Great Expectations; a busy machine
    page = clerk.new_page()
    _sign_in(page, portal, CLERK)
    # the October report is due this month (by 05/11) and not received: late
    late = page.locator("tr[data-feed=dossier][data-period='2026-10']").first
    assert "Quá hạn" in late.inner_text()

    _upload(page, portal, bad)
    assert page.inner_text("#status") == "Bị từ chối"
    rows = page.locator("#conflicts tbody tr")
    assert rows.count() == 2
    cells = [[c.strip() for c in rows.nth(i).locator("td").all_inner_texts()] for i in range(2)]
    by_row = {c[0]: c for c in cells}
    assert set(by_row) == {"2", "3"}
    assert by_row["2"][4] == "150" and by_row["3"][4] == "mười"
    assert by_row["2"][1] and by_row["3"][1] and all(c[3] for c in cells)  # column labels and messages, Vietnamese
    assert any(ch in by_row["2"][3] + by_row["3"][3] for ch in "ốộàảạ")

    _upload(page, portal, good)
    assert page.inner_text("#status") == "Đã nhận"
    assert page.inner_text("#version") == "1"
    page.goto(f"{portal.url}/due")
    received = page.locator(f"tr[data-unit='{UNIT}'][data-feed=dossier][data-period='2026-10']")
    assert "Đã nhận" in received.inner_text()
    page.goto(f"{portal.url}/submissions")
    ids = page.locator("table.submissions tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert len(ids) == 2
    clerk.close()

    province = browser.new_context()
    page = province.new_page()
    _sign_in(page, portal, PROVINCE)
    page.goto(f"{portal.url}/submissions?unit={UNIT}")
    seen = page.locator("table.submissions tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert sorted(seen) == sorted(ids)
    province.close()

    other = browser.new_context()
    page = other.new_page()
    _sign_in(page, portal, CLERK2)
    for path in (f"/submissions/{ids[0]}", f"/submissions?unit={UNIT}", f"/due?unit={UNIT}"):
        response = page.goto(f"{portal.url}{path}")
        assert response.status == 403
        assert "đơn vị" in page.inner_text("#error")
    page.goto(f"{portal.url}/submissions")
    assert page.locator("table.submissions tbody tr").count() == 0
    other.close()


def test_a_reviewer_approves_from_a_phone_without_sideways_scrolling(portal, browser):
    with portal.api(CLERK) as api:
        assert api.post("/api/v1/submissions", params={"feed": "dossier"},
                        files={"file": ("thang10.csv", dossier_csv(UNIT))}).json()["status"] == "loaded"
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    page = phone.new_page()
    _sign_in(page, portal, PROVINCE)
    page.click("text=Duyệt số liệu")
    page.wait_for_url(f"{portal.url}/review")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the unit filter's long names fit
    page.click(f"[data-unit='{UNIT}'][data-period='2026-10'] form.approve button")
    assert "Đã duyệt" in page.inner_text(f"[data-unit='{UNIT}'][data-period='2026-10']")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    phone.close()
