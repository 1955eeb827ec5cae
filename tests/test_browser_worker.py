"""End to end in headless Debian Chromium (Playwright, no browser download).

The app runs under waitress on 127.0.0.1 with a fresh SQLite store; every request the page
makes is routed through a handler that fails the test if it leaves 127.0.0.1, and any
JavaScript dialog fails it too. Under CI these tests must run (``require`` fails instead of
skipping when Chromium is missing).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from geodata.crs.datums import convert
from geodata.nearest.cache import get_index
from stations.records import Station
from tests.servers import live_site
from webmap.testing import synthetic_stations

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"
BACKTICK = "驿站`+alert(2)+`${alert(3)}"  # breaks out of a JS template literal if unescaped
XSS_AT = (116.3662, 39.8951)  # WGS84; nothing else within 500 m
HOME = (116.3400, 39.8793)  # WGS84, 广安门外
PHONE = {"width": 390, "height": 844}
SCREENSHOT_DIR = Path(os.environ.get("NUANXIN_SCREENSHOTS", "/tmp/nuanxin-screenshots"))


def _stations() -> list[Station]:
    rows = synthetic_stations(40, bbox=(116.325, 39.865, 116.355, 39.893), seed=3)
    rows.append(Station(name=XSS, lon=XSS_AT[0], lat=XSS_AT[1], code="XSS-1",
                        address=XSS + " 地址", opening_hours="24/7", access="open",
                        amenities={"hot_water": "yes", "toilet": "yes"}))
    rows.append(Station(name=BACKTICK, lon=116.372, lat=39.925, code="XSS-2", district="西城区",
                        address="`${alert(4)}`", opening_hours="24/7"))
    return rows


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with live_site(tmp_path_factory, "browser-none", stations=_stations()) as found:
        yield found


class _Guard:
    """Records requests that would leave 127.0.0.1 and any JavaScript dialog."""

    def __init__(self, port: int, *, fake_tiles: tuple[str, ...] = ()):
        self.port, self.fake_tiles = port, fake_tiles
        self.foreign: list[str] = []
        self.tiles: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []

    def route(self, route):
        url = route.request.url
        self.requests.append(url)
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob"):
            return route.continue_()
        if parts.hostname == "127.0.0.1" and parts.port == self.port:
            return route.continue_()
        if any(host in (parts.hostname or "") for host in self.fake_tiles):
            self.tiles.append(url)  # answered here; never sent to the network
            return route.fulfill(status=200, content_type="image/png", body=_PNG)
        self.foreign.append(url)
        return route.abort()


_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")


@pytest.fixture
def page_for(browser):
    contexts = []

    def make(server, *, viewport=PHONE, position=HOME, fake_tiles=()):
        guard = _Guard(server.port, fake_tiles=fake_tiles)
        context = browser.new_context(
            viewport=viewport, device_scale_factor=1, locale="zh-CN",
            timezone_id="Asia/Shanghai", permissions=["geolocation"],
            geolocation={"longitude": position[0], "latitude": position[1], "accuracy": 20},
            service_workers="block")
        context.route("**/*", guard.route)
        page = context.new_page()
        page.on("dialog", lambda d: (guard.dialogs.append(d.message), d.dismiss()))
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        contexts.append((context, guard, errors))
        return page, guard

    yield make
    for context, guard, errors in contexts:
        context.close()
        assert not guard.foreign, f"requests left 127.0.0.1: {guard.foreign}"
        assert not guard.dialogs, f"a dialog opened (script ran): {guard.dialogs}"
        assert not errors, f"JavaScript errors: {errors}"


def _wait(page, js: str, arg=None, *, timeout: float = 10.0):
    """Poll ``js`` (a function source) until truthy. (``wait_for_function`` would need
    ``eval`` in the page, which our Content-Security-Policy forbids, as it should.)"""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(js, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {js}")
        page.wait_for_timeout(50)


def _list_ids(page) -> list[int]:
    return [int(x) for x in page.eval_on_selector_all(
        "#nearest-list .station-item", "els => els.map(e => e.dataset.id)")]


def _expected_nearest(store, position, **filters) -> list[int]:
    results = get_index(store).nearest(round(position[0], 7), round(position[1], 7), k=5,
                                       **filters)
    return [r.station.id for r in results]


def test_map_renders_station_markers_with_no_tile_server(site, page_for):
    server, _ = site
    page, guard = page_for(server)
    page.goto(server.url + "/")
    page.wait_for_selector(".nx-pin", timeout=10_000)
    assert page.locator(".nx-pin").count() >= 3
    assert page.locator(".leaflet-tile").count() == 0  # no basemap at all
    _wait(page, "() => document.querySelectorAll('.leaflet-nx-underlay-pane path').length > 0")
    assert page.locator(".nx-label").count() > 0  # community/street labels of the underlay
    assert not guard.tiles


def test_mocked_geolocation_gives_the_right_nearest_five(site, page_for):
    server, store = site
    page, _ = page_for(server)
    page.goto(server.url + "/")
    page.click("#locate")
    page.wait_for_selector("#nearest-list .station-item")
    assert _list_ids(page) == _expected_nearest(store, HOME)
    first = page.locator("#nearest-list .station-item").first
    assert "米" in first.inner_text() and "步行约" in first.inner_text()
    assert page.locator(".nx-me").count() == 1


def test_a_filter_chip_changes_the_nearest_list(site, page_for):
    server, store = site
    page, _ = page_for(server)
    page.goto(server.url + "/")
    page.click("#locate")
    page.wait_for_selector("#nearest-list .station-item")
    before = _list_ids(page)
    with page.expect_response(lambda r: "/api/nearest" in r.url and "toilet" in r.url):
        page.click('.chip[data-chip="toilet"]')
    _wait(page, "ids => Array.from(document.querySelectorAll('#nearest-list .station-item'))"
          ".map(e => +e.dataset.id).join() !== ids.join()", before)
    after = _list_ids(page)
    assert after == _expected_nearest(store, HOME, amenities=["toilet"])
    assert after != before
    assert all(store.get_station(i).amenities["toilet"] == "yes" for i in after)
    assert page.locator('.chip[data-chip="toilet"]').get_attribute("aria-pressed") == "true"


def test_station_page_navigation_links_carry_converted_coordinates(site, page_for):
    server, store = site
    station = store.list_stations()[0]
    page, _ = page_for(server)
    page.goto(f"{server.url}/stations/{station.id}")
    glon, glat = convert(station.lon, station.lat, src="wgs84", dst="gcj02")
    blon, blat = convert(station.lon, station.lat, src="wgs84", dst="bd09")
    amap = urlsplit(page.get_attribute("#nav-amap-web", "href"))
    assert amap.netloc == "uri.amap.com"
    lon, lat = map(float, parse_qs(amap.query)["position"][0].split(","))  # lon,lat
    assert (lon, lat) == pytest.approx((glon, glat), abs=1.5e-6)
    app = parse_qs(urlsplit(page.get_attribute("#nav-amap-app", "href")).query)
    assert (float(app["dlon"][0]), float(app["dlat"][0])) == pytest.approx((glon, glat),
                                                                            abs=1.5e-6)
    assert app["dev"] == ["0"]  # coordinates are already GCJ-02
    for link in ("#nav-baidu-app", "#nav-baidu-web"):
        q = parse_qs(urlsplit(page.get_attribute(link, "href")).query)
        lat, lon = map(float, q["location"][0].split(","))  # Baidu: lat,lon
        assert (lon, lat) == pytest.approx((blon, blat), abs=1.5e-6)
        assert q["coord_type"] == ["bd09ll"]
    # not the raw WGS84 numbers: the offset is hundreds of metres in Beijing
    assert abs(glon - station.lon) > 0.004


def test_station_named_like_markup_is_shown_as_text_and_runs_nothing(site, page_for):
    server, store = site
    xss_id = next(s.id for s in store.list_stations() if s.name == XSS)
    page, guard = page_for(server, position=XSS_AT)
    page.goto(server.url + "/")
    page.click("#locate")
    page.wait_for_selector(f'#nearest-list .station-item[data-id="{xss_id}"]')
    item = page.locator(f'#nearest-list .station-item[data-id="{xss_id}"]')
    assert item.locator(".item-name").inner_text() == XSS
    assert XSS + " 地址" in item.inner_text()
    item.locator("button", has_text="在地图上看").click()  # opens the marker's popup
    page.wait_for_selector(".nx-popup h3")
    assert page.inner_text(".nx-popup h3") == XSS
    page.goto(f"{server.url}/stations/{xss_id}")
    assert page.inner_text("#station-name") == XSS
    page.wait_for_selector(".leaflet-tooltip")
    assert XSS in page.inner_text(".leaflet-tooltip")
    for url in (server.url + "/", f"{server.url}/stations/{xss_id}"):
        page.goto(url)
        page.wait_for_timeout(300)
        assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert not guard.dialogs
    assert not [u for u in guard.requests if urlsplit(u).path.endswith("/x")]


def test_hostile_names_on_the_union_coverage_map_run_nothing(site, page_for):
    from webmap.users import add_user

    server, store = site
    add_user(store, "browser-test", "a long password 123")
    page, guard = page_for(server, viewport={"width": 1280, "height": 900})
    page.goto(server.url + "/union/login")
    page.fill("input[name=username]", "browser-test")
    page.fill("input[name=password]", "a long password 123")
    page.click("form button[type=submit]")
    page.goto(server.url + "/union/coverage?district=西城区&radius=800")
    page.wait_for_selector(".coverage-map .leaflet-interactive")
    page.goto(server.url + "/union/stations?q=驿站")
    assert BACKTICK in page.inner_text("table")
    page.goto(server.url + "/union/stations?q=" + "%3Cimg")
    assert XSS in page.inner_text("table")
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert not guard.dialogs


def test_datum_js_matches_the_python_formulas(site, page_for):
    server, _ = site
    page, _ = page_for(server)
    page.goto(server.url + "/")
    points = [(115.5 + 0.23 * i, 39.45 + 0.16 * j) for i in range(10) for j in range(10)]
    points += [(2.35, 48.85), (-74.0, 40.7)]  # outside China: unchanged
    for src, dst in (("wgs84", "gcj02"), ("gcj02", "wgs84"), ("wgs84", "bd09"),
                     ("bd09", "wgs84"), ("gcj02", "bd09"), ("bd09", "gcj02")):
        got = page.evaluate("([pts, s, d]) => pts.map(p => NxDatum.convert(p[0], p[1], s, d))",
                            [points, src, dst])
        for (lon, lat), (jx, jy) in zip(points, got, strict=True):
            px, py = convert(lon, lat, src=src, dst=dst)
            assert abs(jx - px) < 1e-9 and abs(jy - py) < 1e-9, (src, dst, lon, lat)


def test_on_amap_tiles_every_overlay_is_drawn_in_gcj02(tmp_path_factory, page_for):
    with live_site(tmp_path_factory, "browser-amap", stations=_stations(),
                   TILES="amap") as (server, store):
        page, guard = page_for(server, fake_tiles=("autonavi.com",))
        page.goto(server.url + "/")
        page.wait_for_selector(".nx-pin")
        markers = page.evaluate(
            "nuanxin.cluster.getLayers().map(m => [m.getLatLng().lng, m.getLatLng().lat, "
            "m.options.title])")
        by_name = {s.name: s for s in store.list_stations()}
        assert markers
        for lng, lat, title in markers:
            s = by_name[title]
            assert (lng, lat) == pytest.approx(
                convert(s.lon, s.lat, src="wgs84", dst="gcj02"), abs=2e-7)
        page.click("#locate")
        page.wait_for_selector("#nearest-list .station-item")
        me = page.evaluate("(() => { let p; nuanxin.me.eachLayer(l => { if (l.getLatLng && "
                           "!l.getRadius) p = l.getLatLng(); }); return [p.lng, p.lat]; })()")
        assert me == pytest.approx(convert(*HOME, src="wgs84", dst="gcj02"), abs=1e-9)
        assert guard.tiles  # Amap tiles were asked for (answered locally, never sent)


def test_report_a_problem_from_the_station_page(site, page_for):
    server, store = site
    station = store.list_stations()[1]
    page, _ = page_for(server)
    page.goto(f"{server.url}/stations/{station.id}")
    page.click('.report-btn[data-kind="locked"]')  # one tap
    page.wait_for_selector("#report-thanks .flash-ok")
    from webmap.feedback import list_reports

    latest = list_reports(store, station_id=station.id)[0]
    assert latest["kind"] == "locked"


def test_phone_sized_screenshot(site, page_for):
    server, _ = site
    page, _ = page_for(server)
    page.goto(server.url + "/")
    page.click("#locate")
    page.wait_for_selector("#nearest-list .station-item")
    page.wait_for_timeout(400)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / "worker-390x844.png"
    png = page.screenshot(path=str(path))
    assert path.stat().st_size > 20_000
    # decode the PNG in the browser and count colours: a blank or broken page has few
    stats = page.evaluate("""async (b64) => {
        const img = new Image(); img.src = 'data:image/png;base64,' + b64; await img.decode();
        const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
        const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
        const d = ctx.getImageData(0, 0, c.width, c.height).data; const seen = new Set();
        for (let i = 0; i < d.length; i += 4 * 7) seen.add((d[i] << 16) | (d[i+1] << 8) | d[i+2]);
        return [img.width, img.height, seen.size];
    }""", base64.b64encode(png).decode())
    assert stats[:2] == [390, 844]
    assert stats[2] > 200
    top = page.evaluate("document.querySelector('.folium-map').getBoundingClientRect().height")
    assert top > 300  # the map takes a real share of the phone screen
    assert page.locator("#locate").bounding_box()["height"] >= 48  # large touch targets
    assert page.locator(".chip").first.bounding_box()["height"] >= 44
