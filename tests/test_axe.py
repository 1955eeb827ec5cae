"""axe-core in real Chromium (issue 14, item 4): zero serious or critical violations on the
worker map, the station page and the report form, normal and 长辈模式, at phone size.

axe-core is vendored for the tests only (``tests/vendor/``) and injected by the test as an
init script (pages never load it; our Content-Security-Policy stays as it is). With
``NUANXIN_SCREENSHOTS=DIR`` the phone screenshots of each page are written there (the repo's
``docs/screenshots/`` holds the ones the closing note shows).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from stations.records import Station
from tests.servers import live_site
from webmap.testing import synthetic_stations

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
HOME = (116.3400, 39.8793)
SHOTS = os.environ.get("NUANXIN_SCREENSHOTS")
RESULTS: dict[str, dict] = {}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    rows = synthetic_stations(80, bbox=(116.325, 39.865, 116.355, 39.893), seed=2)
    rows.append(Station(name="暂停的驿站", lon=116.3405, lat=39.8800, code="SUS-1",
                        opening_hours="24/7", status="suspended", status_reason="管道检修"))
    with live_site(tmp_path_factory, "axe", stations=rows, HOTLINE="12351") as found:
        yield found


def _page(browser, elder: bool):
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=1, locale="zh-CN", timezone_id="Asia/Shanghai",
        permissions=["geolocation"], service_workers="block",
        geolocation={"longitude": HOME[0], "latitude": HOME[1], "accuracy": 20})
    context.add_init_script(path=str(AXE))
    if elder:
        context.add_init_script("try { localStorage.setItem('nx-elder', '1'); } catch (e) {}")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return context, page, errors


def _axe(page) -> list[dict]:
    result = page.evaluate("""() => axe.run(document, {resultTypes: ['violations']})
        .then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.length, targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))""")
    return result


def _shoot(page, name: str):
    if not SHOTS:
        return
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"))


def _worker(page, server):
    page.goto(server.url + "/")
    page.click("#locate")
    page.wait_for_selector("#nearest-list .station-item")
    page.wait_for_timeout(300)


def _station(page, server, store):
    sid = store.list_stations()[0].id
    page.goto(f"{server.url}/stations/{sid}")
    page.wait_for_selector(".leaflet-control-scale-line")


def _report_form(page, server, store):
    _worker(page, server)
    item = page.locator("#nearest-list .station-item").first
    item.locator(".report-open").click()
    page.wait_for_selector(".report-panel .report-btn")
    item.locator(".report-panel").scroll_into_view_if_needed()


def _suspended(page, server, store):
    sid = next(s.id for s in store.list_stations() if s.status == "suspended")
    page.goto(f"{server.url}/stations/{sid}")
    page.wait_for_selector("#gone-notice")


PAGES = {"worker": _worker, "station": _station, "report": _report_form,
         "suspended": _suspended}


@pytest.mark.parametrize("elder", [False, True], ids=["normal", "elder"])
@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_or_critical_accessibility_violations(site, browser, name, elder):
    server, store = site
    context, page, errors = _page(browser, elder)
    try:
        fill = PAGES[name]
        fill(page, server) if name == "worker" else fill(page, server, store)
        assert page.evaluate("document.documentElement.classList.contains('elder')") == elder
        violations = _axe(page)
        bad = [v for v in violations if v["impact"] in ("serious", "critical")]
        RESULTS[f"{name}-{'elder' if elder else 'normal'}"] = {
            "serious": sum(v["impact"] == "serious" for v in violations),
            "critical": sum(v["impact"] == "critical" for v in violations),
            "moderate": sum(v["impact"] == "moderate" for v in violations),
            "minor": sum(v["impact"] == "minor" for v in violations),
            "ids": sorted({v["id"] for v in violations})}
        if name in ("worker", "station") and page.viewport_size == PHONE:
            page.evaluate("window.scrollTo(0, 0)")
            _shoot(page, f"{name}-{'elder' if elder else 'normal'}-390x844")
            if name == "worker":
                page.locator("#nearest").scroll_into_view_if_needed()
                _shoot(page, f"worker-list-{'elder' if elder else 'normal'}-390x844")
        assert bad == [], json.dumps(bad, ensure_ascii=False, indent=1)
        assert not errors
    finally:
        context.close()
        if SHOTS and RESULTS:
            (Path(SHOTS) / "axe-results.json").write_text(
                json.dumps(RESULTS, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                encoding="utf-8")


def test_every_control_is_labelled_and_reachable_by_keyboard(site, browser):
    server, _ = site
    context, page, errors = _page(browser, False)
    try:
        _worker(page, server)
        unlabelled = page.evaluate("""() => Array.from(document.querySelectorAll(
            'button, a[href], input, textarea, select')).filter(e => e.offsetParent !== null)
            .filter(e => !(e.innerText || '').trim() && !e.getAttribute('aria-label')
                    && !e.getAttribute('title') && !(e.labels && e.labels.length))
            .map(e => e.outerHTML.slice(0, 80))""")
        assert unlabelled == []
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.keyboard.press("Tab")  # the skip link / first control
        seen = set()
        for _ in range(12):
            page.keyboard.press("Tab")
            seen.add(page.evaluate("document.activeElement.id || document.activeElement.className"))
        assert "locate" in seen or any("chip" in s for s in seen)
        page.focus("#locate")
        page.keyboard.press("Enter")
        page.wait_for_selector("#nearest-list .station-item")
        assert not errors
    finally:
        context.close()
