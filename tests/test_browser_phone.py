"""The worker's phone in real headless Chromium at 390×844 (issue 14; issue 13 item 1's UI).

Never stuck ("在地图上看", reach, coverage, suspended stations, metric scale, rank badges),
one-tap reports with the thank-you in view, flagged/closed stations drawn differently,
长辈模式 remembered, 读给我听. Every test fails on a JavaScript error or a console error.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from urllib.parse import urlsplit

import pytest

from geodata.nearest.cache import get_index
from stations.hours import TZ
from stations.records import Station
from tests.servers import live_site
from tests.test_browser_worker import _Guard, _wait
from webmap.feedback import list_reports
from webmap.testing import synthetic_stations

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
HOME = (116.3400, 39.8793)
FAR = (116.4600, 39.9090)        # 朝阳 CBD: ~11 km from every station below
SHANGHAI = (121.4737, 31.2304)
HOTLINE = "12351"
SUSPENDED = "暂停的驿站"


def _stations() -> list[Station]:
    rows = synthetic_stations(120, bbox=(116.325, 39.865, 116.355, 39.893), seed=5)
    rows.append(Station(name=SUSPENDED, lon=116.3405, lat=39.8800, code="SUS-1",
                        opening_hours="24/7", status="suspended",
                        status_reason="冬季供暖管道检修，暂停到下月"))
    rows.append(Station(name="全天开放驿站", lon=116.3420, lat=39.8810, code="OPEN-1",
                        opening_hours="24/7", access="open"))
    return rows


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with live_site(tmp_path_factory, "phone", stations=_stations(), HOTLINE=HOTLINE,
                   REPORTS_PER_HOUR=1000) as found:
        yield found


@pytest.fixture
def open_page(browser):
    made = []

    def make(server, *, viewport=PHONE, position=HOME, init_script=None):
        guard = _Guard(server.port)
        context = browser.new_context(
            viewport=viewport, device_scale_factor=1, locale="zh-CN",
            timezone_id="Asia/Shanghai", permissions=["geolocation"],
            geolocation={"longitude": position[0], "latitude": position[1], "accuracy": 20},
            service_workers="block")
        context.route("**/*", guard.route)
        if init_script:
            context.add_init_script(init_script)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        page.on("console", lambda m: errors.append(f"console: {m.text}")
                if m.type == "error" else None)
        page.on("dialog", lambda d: (guard.dialogs.append(d.message), d.dismiss()))
        made.append((context, guard, errors))
        return page

    yield make
    for context, guard, errors in made:
        context.close()
        assert not guard.foreign, f"requests left 127.0.0.1: {guard.foreign}"
        assert not errors, f"errors in the page: {errors}"


def _in_viewport(page, selector: str) -> bool:
    return page.evaluate("""(sel) => {
        const r = document.querySelector(sel).getBoundingClientRect();
        return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight
            && r.left >= 0 && r.right <= window.innerWidth; }""", selector)


def _locate(page):
    """Tap 找我附近的驿站 and wait for the server's answer (the phone's saved copy may answer
    first, and the network's answer replaces it when it differs)."""
    page.click("#locate")
    page.wait_for_selector('#nearest[data-source="network"] .station-item')


def _ids(page) -> list[int]:
    return [int(x) for x in page.eval_on_selector_all(
        "#nearest-list .station-item", "els => els.map(e => e.dataset.id)")]


# -- never stuck -----------------------------------------------------------------------------
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_show_on_map_scrolls_the_map_into_view_and_opens_the_popup(site, open_page, viewport):
    server, _ = site
    page = open_page(server, viewport=viewport)
    page.goto(server.url + "/")
    _locate(page)
    names = page.eval_on_selector_all("#nearest-list .item-name",
                                      "els => els.map(e => e.textContent)")
    for i, name in enumerate(names):
        if i == 2:  # zoomed right out first: the station sits inside a cluster
            page.evaluate("nuanxin.map.setZoom(13, {animate: false})")
            page.wait_for_timeout(400)
        item = page.locator("#nearest-list .station-item").nth(i)
        item.scroll_into_view_if_needed()
        item.locator(".show-on-map").click()
        page.wait_for_selector(".leaflet-popup .nx-popup h3")
        _wait(page, "(n) => { const h = document.querySelector('.leaflet-popup .nx-popup h3');"
                    " return h && h.textContent === n; }", name)
        # Leaflet pans the popup into the map (animated): it must end up fully on screen
        _wait(page, """() => { const e = document.querySelector('.leaflet-popup-content');
            if (!e) return false; const r = e.getBoundingClientRect();
            return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight
                && r.left >= 0 && r.right <= window.innerWidth; }""")
        assert _in_viewport(page, ".leaflet-popup-content"), f"popup of {name} off-screen"
        page.evaluate("nuanxin.map.closePopup()")


def test_rank_badges_never_sit_over_cluster_counts(site, open_page):
    server, _ = site
    page = open_page(server)
    page.goto(server.url + "/")
    _locate(page)
    page.wait_for_timeout(500)
    assert page.locator(".nx-rank").count() >= 1  # beside their own markers when zoomed in
    for zoom in (15, 14, 13, 12):
        page.evaluate(f"nuanxin.map.setZoom({zoom}, {{animate: false}})")
        page.wait_for_timeout(600)
        overlap = page.evaluate("""() => {
            const boxes = s => Array.from(document.querySelectorAll(s))
                .map(e => e.getBoundingClientRect());
            const ranks = boxes('.nx-rank'), clusters = boxes('.marker-cluster, .nx-bubble');
            return ranks.some(a => clusters.some(b => a.left < b.right && b.left < a.right
                && a.top < b.bottom && b.top < a.bottom)); }""")
        assert not overlap, f"a rank badge covers a cluster count at zoom {zoom}"
    assert page.locator(".nx-bubble").count() > 0  # the check above met real clusters


def test_the_scale_bar_is_metric_only(site, open_page):
    server, store = site
    page = open_page(server)
    for url in ("/", f"/stations/{store.list_stations()[0].id}"):
        page.goto(server.url + url)
        page.wait_for_selector(".leaflet-control-scale-line")
        lines = page.eval_on_selector_all(".leaflet-control-scale-line",
                                          "els => els.map(e => e.textContent)")
        assert len(lines) == 1 and lines[0].strip().endswith(("m", "km"))
        assert not any(u in lines[0] for u in ("ft", "mi"))


def test_nothing_open_within_reach_says_so_and_offers_the_nearest_and_the_hotline(site, open_page):
    server, _ = site
    page = open_page(server, position=FAR)
    page.goto(server.url + "/")
    _locate(page)
    page.wait_for_selector("#reach:not([hidden])")
    text = page.inner_text("#reach")
    assert "3 公里内没有到达时开放的驿站" in text and "最近的" in text
    assert page.get_attribute("#reach a.hotline", "href") == "tel:" + HOTLINE
    assert page.locator("#nearest-list .station-item").count() == 5  # offered anyway


def test_near_stations_show_no_reach_warning(site, open_page, monkeypatch):
    # a weekday morning, whatever hour the suite runs: the synthetic stations keep day hours,
    # and at night none near HOME is open (then the warning is right to show)
    monkeypatch.setattr("stations.hours.now", lambda: datetime(2026, 12, 1, 10, 0, tzinfo=TZ))
    server, _ = site
    page = open_page(server)
    page.goto(server.url + "/")
    _locate(page)
    assert page.locator("#reach").is_hidden(), (page.inner_text("#reach"),
                                                page.inner_text("#nearest-list"))


def test_a_point_outside_the_coverage_area_is_told_so(site, open_page):
    server, _ = site
    page = open_page(server, position=SHANGHAI)
    page.goto(server.url + "/")
    page.click("#locate")
    page.wait_for_selector("#reach:not([hidden])")
    assert "不在暖心驿站的服务范围内" in page.inner_text("#reach")
    assert page.locator("#nearest-list .station-item").count() == 0
    assert "不在服务范围内" in page.inner_text("#nearest-list")


def test_a_suspended_station_says_so_first_with_the_reason_and_an_open_alternative(site, open_page):
    server, store = site
    sus = next(s for s in store.list_stations() if s.name == SUSPENDED)
    page = open_page(server)
    page.goto(f"{server.url}/stations/{sus.id}")
    first = page.locator("main .card").first
    assert first.get_attribute("id") == "gone-notice"
    assert "暂停开放" in first.inner_text() and "冬季供暖管道检修" in first.inner_text()
    assert _in_viewport(page, "#gone-notice h2")
    assert page.locator(".nav-link").count() == 0  # no navigation to it
    href = page.get_attribute("#alternative", "href")
    alt_id = int(href.rsplit("/", 1)[1])
    expected = get_index(store).nearest(sus.lon, sus.lat, k=1, require_open=True,
                                        open_at="now")[0].station.id
    assert alt_id == expected and alt_id != sus.id
    page.click("#alternative")
    page.wait_for_selector(".nav-link")  # the open one does offer navigation


# -- reports ---------------------------------------------------------------------------------
def test_a_one_tap_report_from_a_result_card_thanks_the_worker_where_they_are(site, open_page):
    server, store = site
    page = open_page(server)
    page.goto(server.url + "/")
    _locate(page)
    item = page.locator("#nearest-list .station-item").nth(3)
    sid = int(item.get_attribute("data-id"))
    before = len(list_reports(store, station_id=sid))
    item.locator(".report-open").click()
    buttons = item.locator(".report-btn")
    assert buttons.count() == 9
    assert [b.strip() for b in buttons.all_inner_texts()] == [
        "✓ 信息无误", "锁门/开放时间没开", "需要下载APP或登记才能进", "没有热水", "厕所不能用",
        "不能充电", "位置不对", "已搬走或关闭", "其他"]
    item.locator('.report-btn[data-kind="locked"]').click()
    page.wait_for_selector(f'.station-item[data-id="{sid}"] .report-thanks.is-ok')
    assert _in_viewport(page, f'.station-item[data-id="{sid}"] .report-thanks')
    assert "谢谢" in item.locator(".report-thanks").inner_text()
    reports = list_reports(store, station_id=sid)
    assert len(reports) == before + 1 and reports[0]["kind"] == "locked"


@pytest.mark.parametrize("kind", ["ok", "needs_registration", "no_hot_water", "gone"])
def test_the_station_page_buttons_send_each_kind(site, open_page, kind):
    server, store = site
    station = store.list_stations()[7]
    page = open_page(server)
    page.goto(f"{server.url}/stations/{station.id}")
    page.locator(f'.report-btn[data-kind="{kind}"]').scroll_into_view_if_needed()
    page.click(f'.report-btn[data-kind="{kind}"]')
    page.wait_for_selector("#report-thanks .flash-ok")
    assert _in_viewport(page, "#report-thanks .flash-ok")
    assert list_reports(store, station_id=station.id)[0]["kind"] == kind


def test_other_sends_the_short_note(site, open_page):
    server, store = site
    station = store.list_stations()[8]
    page = open_page(server)
    page.goto(f"{server.url}/stations/{station.id}")
    page.fill("#report-form textarea[name=note]", "门口在修路，从北门进")
    page.click('.report-btn[data-kind="other"]')
    page.wait_for_selector("#report-thanks .flash-ok")
    latest = list_reports(store, station_id=station.id)[0]
    assert (latest["kind"], latest["note"]) == ("other", "门口在修路，从北门进")


def test_wrong_location_sends_the_dragged_pin_in_wgs84(site, open_page):
    server, store = site
    station = store.list_stations()[9]
    page = open_page(server)
    page.goto(f"{server.url}/stations/{station.id}")
    page.click('.report-btn[data-kind="wrong_location"]')
    page.wait_for_selector(".nx-drag-pin")
    pin = page.locator(".nx-drag-pin").bounding_box()
    x, y = pin["x"] + pin["width"] / 2, pin["y"] + pin["height"] - 4
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y - 30, steps=8)
    page.mouse.up()
    page.click("#pin-bar .pin-ok")
    page.wait_for_selector("#report-thanks .flash-ok")
    latest = list_reports(store, station_id=station.id)[0]
    assert latest["kind"] == "wrong_location"
    assert latest.get("lon") is not None and latest.get("lat") is not None
    # 40 px east and 30 px north in Web Mercator at the map's zoom (no tiles: WGS84 map)
    zoom = page.evaluate("window[document.querySelector('article.station').dataset.map].getZoom()")
    deg_per_px = 360 / (256 * 2 ** zoom)
    assert latest["lon"] - station.lon == pytest.approx(40 * deg_per_px, abs=3 * deg_per_px)
    assert latest["lat"] - station.lat == pytest.approx(
        30 * deg_per_px * math.cos(math.radians(station.lat)), abs=3 * deg_per_px)


# -- drawing trust and closure (fields of the issue-13 Features) -----------------------------
def test_flagged_and_closed_stations_are_drawn_differently_with_their_reasons(site, open_page):
    """Two stations as the server describes them after reports (one flagged, one closed):
    each gets its own pin and a popup with the reason. The map's loads are answered with just
    these two (a fixed answer, so reloads on moves cannot change what is under test)."""
    server, _ = site
    page = open_page(server)
    page.goto(server.url + "/")
    _wait(page, "() => document.documentElement.dataset.map === 'ready'")
    lon, lat = page.evaluate("() => { const c = nuanxin.map.getCenter(); return [c.lng, c.lat]; }")
    base = {"address": "测试路", "access": "open", "sample": True, "open_now": True,
            "always_open": True, "hours_known": True, "problem": None}
    features = [
        {"type": "Feature", "id": 900001, "geometry": {"type": "Point",
                                                      "coordinates": [lon - 0.002, lat]},
         "properties": {**base, "id": 900001, "name": "有问题的驿站", "status": "open",
                        "status_reason": "", "trust": "flagged", "problem": "locked",
                        "trust_reason": "3 位师傅反映锁门"}},
        {"type": "Feature", "id": 900002, "geometry": {"type": "Point",
                                                      "coordinates": [lon + 0.002, lat]},
         "properties": {**base, "id": 900002, "name": "搬走的驿站", "status": "closed",
                        "status_reason": "已搬走", "trust": "ok", "trust_reason": ""}},
    ]
    answer = json.dumps({"type": "FeatureCollection", "features": features, "numberMatched": 2,
                         "numberReturned": 2, "clustered": False})

    def fixed(route):
        if "zoom=" in urlsplit(route.request.url).query:  # the map's own loads
            route.fulfill(status=200, body=answer, content_type="application/json")
        else:  # the offline copy's download goes through
            route.continue_()

    page.route(lambda u: urlsplit(u).path == "/api/stations", fixed)
    page.evaluate("nuanxin.reload()")
    _wait(page, "() => !!nuanxin.markers()[900001] && !!nuanxin.markers()[900002]")
    for sid, pin, words in ((900001, "nx-pin-flagged", "3 位师傅反映锁门"),
                            (900002, "nx-pin-gone", "已搬走")):
        icon = page.evaluate("(id) => nuanxin.markers()[id].options.icon.options.className",
                             sid)
        assert pin in icon.split()  # its own pin (flagged: "!" on it; closed: "×", grey)
        page.evaluate("(id) => { const m = nuanxin.markers()[id]; nuanxin.cluster.zoomToShowLayer("
                      "m, () => m.openPopup()); }", sid)
        _wait(page, "(w) => { const p = document.querySelector('.leaflet-popup .nx-popup');"
                    " return p && p.textContent.includes(w); }", words)
        assert page.locator("." + pin).count() >= 1  # drawn on the map with that pin
        page.evaluate("nuanxin.map.closePopup()")
        _wait(page, "() => !document.querySelector('.leaflet-popup')")


# -- 长辈模式 and 读给我听 ----------------------------------------------------------------------
def _tap_targets_too_small(page) -> list[str]:
    return page.evaluate("""() => Array.from(document.querySelectorAll(
        'button, a.btn, .chip, summary, input[type=radio], .leaflet-control-zoom a'))
        .filter(e => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
                       return r.width > 0 && s.visibility !== 'hidden' && e.offsetParent !== null
                              && (r.height < 44 || r.width < 44); })
        .map(e => (e.className || e.tagName) + ':' + e.textContent.trim().slice(0, 12))""")


def test_elder_mode_is_large_high_contrast_and_remembered(site, open_page):
    server, store = site
    page = open_page(server)
    page.goto(server.url + "/")
    base = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert _tap_targets_too_small(page) == []
    _wait(page, "() => document.documentElement.dataset.map === 'ready'")
    page.click(".elder-toggle")
    assert page.get_attribute(".elder-toggle", "aria-pressed") == "true"
    big = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert big >= base * 1.25
    page.reload()
    assert page.evaluate("document.documentElement.classList.contains('elder')")
    assert page.get_attribute(".elder-toggle", "aria-pressed") == "true"
    _locate(page)
    assert _tap_targets_too_small(page) == []
    grey = page.evaluate("""() => Array.from(
        document.querySelectorAll('.fine, .status, .item-addr'))
        .map(e => getComputedStyle(e).color).filter(c => c !== 'rgb(0, 0, 0)'
        && c !== 'rgb(31, 35, 40)')""")
    assert grey == []  # no small grey text
    page.goto(f"{server.url}/stations/{store.list_stations()[0].id}")  # remembered across pages
    assert page.evaluate("document.documentElement.classList.contains('elder')")
    assert _tap_targets_too_small(page) == []
    page.click(".elder-toggle")
    page.reload()
    assert not page.evaluate("document.documentElement.classList.contains('elder')")


SPEECH_SPY = """
window.__spoken = [];
if (window.speechSynthesis) {
  window.speechSynthesis.speak = (u) => { window.__spoken.push([u.text, u.lang]); };
}
"""


def test_read_it_to_me_speaks_the_nearest_station_in_chinese(site, open_page, browser):
    server, store = site
    page = open_page(server, init_script=SPEECH_SPY)
    page.goto(server.url + "/")
    _locate(page)
    first = page.locator("#nearest-list .station-item").first
    name = first.locator(".item-name").inner_text()
    page.click("#speak")
    spoken = page.evaluate("window.__spoken")
    assert len(spoken) == 1
    text, lang = spoken[0]
    assert lang == "zh-CN"
    assert text.startswith(name) and "步行大约" in text and "分钟" in text
    assert "米" in text or "公里" in text
    assert "开放" in text or "关门" in text or "不知道" in text


def test_read_it_to_me_is_hidden_without_speech(site, open_page):
    server, _ = site
    page = open_page(server, init_script="delete window.speechSynthesis;"
                                         "Object.defineProperty(window, 'speechSynthesis',"
                                         "{value: undefined});")
    page.goto(server.url + "/")
    _locate(page)
    assert page.locator("#speak").is_hidden()


def test_wrong_location_from_a_result_card_uses_the_main_map(site, open_page):
    server, store = site
    page = open_page(server)
    page.goto(server.url + "/")
    _locate(page)
    _wait(page, "() => document.documentElement.dataset.map === 'ready'")
    item = page.locator("#nearest-list .station-item").nth(1)
    sid = int(item.get_attribute("data-id"))
    station = store.get_station(sid)
    item.locator(".report-open").click()
    item.locator('.report-btn[data-kind="wrong_location"]').click()
    page.wait_for_selector(".nx-drag-pin")
    assert _in_viewport(page, "#pin-bar")  # the map came into view with its instructions
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2 + 50, box["y"] + box["height"] / 2 + 20)
    want = page.evaluate("""() => { const ll = nuanxin.map.containerPointToLatLng(
        nuanxin.map.latLngToContainerPoint(nuanxin.map.getCenter()).add([50, 20]));
        return [ll.lng, ll.lat]; }""")
    page.click("#pin-bar .pin-ok")
    page.wait_for_selector("#pin-bar .is-ok")
    assert "谢谢" in page.inner_text("#pin-bar") and _in_viewport(page, "#pin-bar .pin-say")
    latest = list_reports(store, station_id=sid)[0]
    assert latest["kind"] == "wrong_location"
    assert (latest["lon"], latest["lat"]) == pytest.approx(want, abs=2e-5)  # no tiles: WGS84
    assert abs(latest["lon"] - station.lon) > 1e-5 or abs(latest["lat"] - station.lat) > 1e-5
