"""The union's sheet in a real browser (issue 12): headless Debian Chromium against waitress.

The 30-row 广外 sheet is imported through the dashboard's form; the report names rows by how
they were located and the two rows waiting for a pin are queued; then the pin of one of them is
dragged on the candidate page's map — drawn on (locally answered) Amap tiles, so in GCJ-02 —
and saved: the stored point is the pin's WGS84, the street follows from the gazetteer and the
candidate is screened again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from geodata.crs.datums import convert
from stations.candidates import get_candidate, list_candidates
from tests.servers import live_site
from tests.test_browser_worker import _PNG, _Guard
from webmap.users import add_user

pytestmark = pytest.mark.browser

SHEET = Path(__file__).parent / "data" / "guangwai_candidates.csv"
USER, PASSWORD = "guangwai", "广外工会-密码-2024"
assert _PNG  # the tiles answered locally by the guard


@pytest.fixture(scope="module")
def union_site(tmp_path_factory):
    with live_site(tmp_path_factory, "browser-union", TILES="amap",
                   fill=lambda store: add_user(store, USER, PASSWORD, role="street",
                                               district="西城区", street="广外")) as found:
        yield found


@pytest.fixture
def page(browser, union_site):
    server, _ = union_site
    guard = _Guard(server.port, fake_tiles=("autonavi.com",))
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", service_workers="block")
    context.route("**/*", guard.route)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.on("dialog", lambda d: (guard.dialogs.append(d.message), d.dismiss()))
    tab.goto(server.url + "/union/login")
    tab.fill("input[name=username]", USER)
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_load_state()
    yield tab
    context.close()
    assert not guard.foreign, f"requests left 127.0.0.1: {guard.foreign}"
    assert not guard.dialogs and not errors, (guard.dialogs, errors)


def test_the_sheet_imported_through_the_dashboard_then_a_dragged_pin(page, union_site):
    server, store = union_site
    page.goto(server.url + "/union/candidates")
    page.set_input_files("input[name=file]", str(SHEET))
    page.click("form[action$='/candidates/import'] button[type=submit]")
    page.wait_for_selector(".import-summary")
    summary = page.inner_text(".import-summary")
    assert summary == "共 30 行：导入 26 行（其中 2 行待定位，需在地图上放置标记），拒绝 4 行。"
    located = dict(tuple(c.strip() for c in row.split("\t")) for row in page.eval_on_selector_all(
        "table.located tbody tr", "rows => rows.map(r => r.innerText)"))
    assert located["按地址定位：仅到区，待定位"] == "第 10、11 行"
    assert located["按地址定位：道路（按门牌推算，约 150 m）"] == "第 3、4、7、19、24 行"
    assert located["表格坐标：精确位置"].startswith("第 1、2、5、")
    rejected_rows = page.eval_on_selector_all("table.rejected tbody tr td:first-child",
                                              "cells => cells.map(c => c.innerText)")
    assert sorted(set(rejected_rows)) == ["27", "28", "29", "30"]
    assert "类型" not in page.inner_text("table.rejected")  # no row refused for its type

    # the needs-a-pin queue lists exactly the two rows, each with its precision
    page.goto(server.url + "/union/candidates?pin=1")
    names = page.eval_on_selector_all("tbody tr td:nth-child(2) a",
                                      "links => links.map(a => a.innerText)")
    assert sorted(names) == ["天宁寺前街药店", "马连道路洗车服务点"]
    assert all("待定位" in t for t in page.eval_on_selector_all(
        "td.precision", "cells => cells.map(c => c.innerText)"))

    # drag the pin of 天宁寺前街药店 on the Amap (GCJ-02) map and save it
    (target,) = [c for c in list_candidates(store) if c.name == "天宁寺前街药店"]
    assert target.lon is None and target.street == ""
    page.goto(f"{server.url}/union/candidates/{target.id}")
    page.wait_for_selector(".nx-candidate-pin")
    # a street union's unplaced row starts at its street's centre (in the tiles' GCJ-02)
    start = page.evaluate("(() => { const p = NxPin.pin.getLatLng(); return [p.lng, p.lat]; })()")
    box = page.locator(".nx-candidate-pin").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] - 4
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 11):  # a real drag: 100 px left, 50 px down
        page.mouse.move(x - 10 * step, y + 5 * step)
    page.mouse.up()
    dropped = page.evaluate("(() => { const p = NxPin.pin.getLatLng(); return [p.lng, p.lat]; })()")
    assert dropped[0] < start[0] and dropped[1] < start[1]  # moved west and south
    lon = float(page.input_value("#pin-form input[name=lon]"))
    lat = float(page.input_value("#pin-form input[name=lat]"))
    # the form carries WGS84: the GCJ-02 pin converted back, as the worker map does
    assert (lon, lat) == pytest.approx(convert(*dropped, src="gcj02", dst="wgs84"), abs=2e-7)
    page.click("#pin-form button[type=submit]")
    page.wait_for_selector(".flashes .flash")
    assert "位置已保存：西城区 广安门外街道" in page.inner_text(".flashes")
    assert page.inner_text(".candidate-area").strip() == "西城区 广安门外街道"
    saved = get_candidate(store, target.id)
    assert (saved.lon, saved.lat) == pytest.approx((lon, lat), abs=1e-7)
    assert (saved.geocode_precision, saved.location_source) == ("exact", "dragged_pin")
    assert saved.street == "广安门外街道" and saved.screening_result is not None
    in_area = next(r for r in saved.screening if r["rule"] == "in_area")
    assert in_area["outcome"] == "pass"  # re-screened with the street the pin gave
    # the pin is drawn where the tiles show the saved point (GCJ-02 on Amap)
    page.wait_for_selector(".nx-candidate-pin")
    redrawn = page.evaluate("(() => { const p = NxPin.pin.getLatLng(); return [p.lng, p.lat]; })()")
    assert redrawn == pytest.approx(convert(lon, lat, src="wgs84", dst="gcj02"), abs=2e-7)
    assert "放置位置标记" in page.inner_text("body")
