"""Works offline (issue 14, item 1), in real Chromium with the service worker running.

After one visit, with the network cut (``context.set_offline(True)``): the page opens from the
service worker's cache, locates the worker, answers "nearest, open at arrival" from the
snapshot kept on the phone (compared with the server's own answer), shows
"离线 · 数据更新于 …", and queues a report that is delivered when the network returns.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from geodata.nearest.offline import offline_snapshot, open_intervals
from stations.records import Station
from stations.settings import TZ
from tests.servers import live_site
from webmap.feedback import list_reports
from webmap.offline_assets import precache_urls, release
from webmap.testing import synthetic_stations

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
HOME = (116.3400, 39.8793)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    near = synthetic_stations(60, bbox=(116.325, 39.865, 116.355, 39.893), seed=9)
    city = synthetic_stations(300, bbox=(116.20, 39.75, 116.60, 40.05), seed=10)
    for i, s in enumerate(city):
        s.code, s.name = f"CITY-{i:04d}", f"城区驿站 {i:04d}"
    with live_site(tmp_path_factory, "offline", stations=near + city,
                   REPORTS_PER_HOUR=1000) as found:
        yield found


def _poll(page, js, arg=None, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(js, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {js}")
        page.wait_for_timeout(100)


@pytest.fixture
def phone(browser, site):
    server, _ = site
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=1, locale="zh-CN", timezone_id="Asia/Shanghai",
        permissions=["geolocation"], service_workers="allow",
        geolocation={"longitude": HOME[0], "latitude": HOME[1], "accuracy": 20})
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield context, page, errors
    context.close()
    foreign = [u for u in requests if urlsplit(u).scheme in ("http", "https")
               and urlsplit(u).port != server.port]
    assert not foreign, f"requests left the app: {foreign}"


def _first_visit(page, server):
    page.goto(server.url + "/")
    _poll(page, "() => navigator.serviceWorker.ready"
                ".then(() => !!navigator.serviceWorker.controller)")
    page.click("#locate")
    page.wait_for_selector('#nearest[data-source="network"] .station-item')
    _poll(page, "() => document.documentElement.dataset.snapshot", timeout=30)
    _poll(page, "() => caches.match('/offline/stations.json').then(r => !!r)", timeout=30)
    return page.evaluate("""() => Array.from(document.querySelectorAll(
        '#nearest-list .station-item')).map(e => +e.dataset.id)""")


def test_offline_after_one_visit_answers_nearest_from_the_phone(site, phone):
    server, store = site
    context, page, errors = phone
    online_ids = _first_visit(page, server)
    context.set_offline(True)
    page.reload()  # served by the service worker
    assert page.title().startswith("暖心驿站")
    page.wait_for_selector(".nx-pin")  # the map's stations come from the phone's copy too
    page.click("#locate")
    page.wait_for_selector('#nearest[data-source="offline"] .station-item')
    banner = page.inner_text("#offline-banner")
    assert banner.startswith("离线 · 数据更新于") and page.is_visible("#offline-banner")
    offline = page.evaluate("""() => Array.from(document.querySelectorAll(
        '#nearest-list .station-item')).map(e => +e.dataset.id)""")
    assert offline == online_ids
    # "open at arrival" as the server says for the same stations (its hours, our intervals)
    states = page.eval_on_selector_all("#nearest-list .arrive",
                                       "els => els.map(e => e.className)")
    assert all(("is-open" in c) or ("is-closed" in c) or ("is-unknown" in c) for c in states)
    assert not errors


def test_a_report_made_offline_is_queued_and_sent_when_the_network_returns(site, phone):
    server, store = site
    context, page, errors = phone
    _first_visit(page, server)
    context.set_offline(True)
    page.reload()
    page.click("#locate")
    page.wait_for_selector('#nearest[data-source="offline"] .station-item')
    item = page.locator("#nearest-list .station-item").first
    sid = int(item.get_attribute("data-id"))
    before = len(list_reports(store, station_id=sid))
    item.locator(".report-open").click()
    item.locator('.report-btn[data-kind="no_hot_water"]').click()
    page.wait_for_selector(".report-thanks.is-ok")
    assert "联网后会自动发送" in item.locator(".report-thanks").inner_text()
    assert page.evaluate("document.body.dataset.queued") == "1"
    assert len(list_reports(store, station_id=sid)) == before  # nothing left the phone
    context.set_offline(False)
    deadline = time.monotonic() + 15
    while len(list_reports(store, station_id=sid)) == before:
        assert time.monotonic() < deadline, "the queued report was never delivered"
        page.wait_for_timeout(100)
    assert list_reports(store, station_id=sid)[0]["kind"] == "no_hot_water"
    _poll(page, "() => document.body.dataset.queued === '0'")
    assert not errors


def test_a_visited_station_page_opens_offline(site, phone):
    server, store = site
    context, page, errors = phone
    _first_visit(page, server)
    sid = store.list_stations()[3].id
    page.goto(f"{server.url}/stations/{sid}")
    name = page.inner_text("#station-name")
    context.set_offline(True)
    page.goto(f"{server.url}/stations/{sid}")
    assert page.inner_text("#station-name") == name
    assert not errors


def test_a_new_release_replaces_the_old_caches(site, phone):
    server, _ = site
    context, page, errors = phone
    page.goto(server.url + "/static/css/nuanxin.css")  # same origin, before any worker
    page.evaluate("caches.open('nx-shell-0ldre1ease').then(c => c.put('/x', new Response('old')))")
    _first_visit(page, server)
    names = _poll(page, "() => caches.keys()"
                        ".then(k => k.includes('nx-shell-0ldre1ease') ? null : k)")
    assert f"nx-shell-{release()}" in names
    sw = page.evaluate("fetch('/sw.js').then(r => r.text())")
    assert release() in sw and "__PRECACHE__" not in sw


def test_the_worker_page_needs_nothing_outside_the_precache(site, browser):
    server, _ = site
    context = browser.new_context(viewport=PHONE, service_workers="block")
    asked: list[str] = []
    context.on("request", lambda r: asked.append(urlsplit(r.url).path))
    page = context.new_page()
    page.goto(server.url + "/")
    page.wait_for_selector(".nx-pin")
    context.close()
    static = {p for p in asked if p.startswith("/static/")}
    assert static and static <= set(precache_urls())


# -- the snapshot itself ---------------------------------------------------------------------
def test_open_intervals_agree_with_the_hours_evaluation():
    from datetime import datetime, timedelta

    from stations.hours import hours_of

    start = datetime(2026, 12, 1, 5, 17, tzinfo=TZ)
    end = start + timedelta(hours=48)
    for text in ("Mo-Fr 09:00-17:00", "Mo-Su 06:00-22:00", "24/7",
                 "Mo-Fr 08:30-11:00,13:30-17:00", "Mo-Sa 08:00-20:00"):
        iv = open_intervals(text, start, end)
        hours = hours_of(text)
        for minute in range(0, 48 * 60, 7):
            t = start + timedelta(minutes=minute)
            inside = any(a <= t.timestamp() < b for a, b in iv)
            assert inside == bool(hours.is_open(t)), (text, t)
    assert open_intervals("", start, end) is None  # unknown stays unknown


def test_snapshot_keeps_the_near_stations_in_full_and_the_city_coarsely():
    from datetime import datetime

    rows = synthetic_stations(200, bbox=(116.2, 39.8, 116.5, 40.0), seed=4)
    for i, s in enumerate(rows):
        s.id = i + 1
    body = offline_snapshot(rows, now=datetime(2026, 12, 1, 8, 0, tzinfo=TZ), lon=HOME[0],
                            lat=HOME[1], radius_m=3000)
    assert len(body["near"]) + len(body["city"]) == len(rows)
    assert body["near"] and body["city"]
    from tests.test_reach import _haversine_m

    for s in body["near"]:
        assert _haversine_m(HOME[0], HOME[1], s["lon"], s["lat"]) <= 3000 * 1.001
        assert {"name", "address", "amenities", "access", "trust"} <= set(s)
    for row in body["city"]:
        assert _haversine_m(HOME[0], HOME[1], row[1], row[2]) > 3000 * 0.999
    assert len(body["hours"]) <= 6  # one evaluation per distinct hours text


@pytest.mark.parametrize("query", ["lon=x&lat=39.9", "lon=116.3&lat=95", "lon=nan&lat=39.9"])
def test_bad_snapshot_coordinates_are_a_400(site, query):
    server, _ = site
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{server.url}/offline/stations.json?{query}")
    err.value.close()
    assert err.value.code == 400


def test_the_manifest_names_the_app_standalone_with_icons(site):
    import json
    import urllib.request

    server, _ = site
    with urllib.request.urlopen(server.url + "/manifest.webmanifest") as r:
        assert r.headers["Content-Type"].startswith("application/manifest+json")
        body = json.loads(r.read())
    assert body["name"] == "暖心驿站" and body["display"] == "standalone"
    sizes = {i["sizes"] for i in body["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in body["icons"]:
        with urllib.request.urlopen(server.url + icon["src"]) as r:
            assert r.status == 200 and r.read()


def test_the_service_worker_is_served_from_the_root(site):
    import urllib.request

    server, _ = site
    with urllib.request.urlopen(server.url + "/sw.js") as r:
        assert r.headers["Content-Type"].startswith("text/javascript")
        assert r.headers["Service-Worker-Allowed"] == "/"
        text = r.read().decode()
    assert release() in text and '"/static/js/worker.js"' in text
    assert Station  # the records type is what the snapshot serialises
