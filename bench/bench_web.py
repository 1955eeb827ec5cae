"""The worker page at Beijing scale vs a plain Folium page, same run, headless Chromium.

26,000 stations (Beijing, Jan 2021: 25,987) are put in a fresh SQLite store and the app is
served by waitress on 127.0.0.1. For each page we open a fresh browser context (empty cache)
and record, from the page's own Resource Timing entries, the bytes transferred before the
first station marker appears (a MutationObserver notes the moment the first Leaflet marker
enters the DOM):

* ``ours``: ``/`` — Leaflet + MarkerCluster, the view's stations from ``/api/stations``
  (at most ``MAP_MAX_FEATURES`` per view, counted cells beyond that);
* ``baseline``: a plain Folium page, one ``MarkerCluster`` holding a ``Marker`` (with a
  popup) per station, the same 26,000 stations, its assets rewritten to our vendored copies
  and served statically from localhost.

"HTML + data" is the document plus API responses; "all" adds scripts and stylesheets.
Goals (issue 5): HTML + data ≤ 500 KB before the first marker, first marker ≤ 1.5 s. The
catalogue build (first request after start or after a station write) is reported apart.
"""

from __future__ import annotations

import html
import http.server
import os
import statistics
import tempfile
import threading
import time
import urllib.request
from functools import partial
from pathlib import Path

N_STATIONS = 26_000
RUNS = 3
BYTES_GOAL_KB = 500.0
FIRST_MARKER_GOAL_S = 1.5
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

_OBSERVER = """
(() => {
  window.__firstMarker = null;
  const seen = () => {
    if (window.__firstMarker === null &&
        document.querySelector('.leaflet-marker-icon, .leaflet-marker-pane > *')) {
      window.__firstMarker = performance.now();
    }
  };
  new MutationObserver(seen).observe(document, {childList: true, subtree: true});
})();
"""

_MEASURE = """
() => {
  const t = window.__firstMarker;
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  let doc = nav.transferSize, data = 0, assets = 0, nData = 0;
  for (const r of res) {
    if (r.responseEnd > t) continue;
    if (r.initiatorType === 'fetch' || r.initiatorType === 'xmlhttprequest') {
      data += r.transferSize; nData += 1;
    } else { assets += r.transferSize; }
  }
  return {first_marker_ms: t, doc: doc, data: data, assets: assets, requests: nData,
          markers: document.querySelectorAll('.leaflet-marker-icon').length};
}
"""


def _wait_first_marker(page, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while page.evaluate("window.__firstMarker") is None:
        if time.monotonic() > deadline:
            raise RuntimeError("no marker appeared")
        page.wait_for_timeout(20)


def _measure(browser, url: str, viewport: dict) -> dict:
    context = browser.new_context(viewport=viewport, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", service_workers="block")
    context.add_init_script(_OBSERVER)
    page = context.new_page()
    page.goto(url, wait_until="commit")
    _wait_first_marker(page)
    page.wait_for_timeout(50)
    out = page.evaluate(_MEASURE)
    context.close()
    out["html_data_kb"] = (out["doc"] + out["data"]) / 1024
    out["all_kb"] = (out["doc"] + out["data"] + out["assets"]) / 1024
    out["first_marker_s"] = out["first_marker_ms"] / 1000
    return out


def _median(runs: list[dict], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def _baseline_page(stations, folder: Path) -> Path:
    """A plain Folium page: one MarkerCluster of Markers (escaped popups), vendored assets."""
    import folium
    import folium.plugins

    from webmap import vendor

    vendor.install()
    # no tiles (never fetched here); MarkerCluster then needs the map's own maxZoom
    m = folium.Map(location=[39.8793, 116.3400], zoom_start=15, tiles=None,  # [lat, lon]
                   **{"maxZoom": 19})
    cluster = folium.plugins.MarkerCluster().add_to(m)
    for s in stations:
        folium.Marker([s.lat, s.lon], popup=folium.Popup(html.escape(s.name)),
                      tooltip=html.escape(s.name)).add_to(cluster)
    page = vendor.rewrite_html(m.get_root().render())
    out = folder / "baseline.html"
    out.write_text(page, encoding="utf-8")
    (folder / "static").mkdir()
    os.symlink(vendor.VENDOR_DIR, folder / "static" / "vendor")
    return out


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # noqa: D401 - silence the per-request log
        pass


def run() -> list[dict]:
    """Measure both pages; rows for ``python -m bench``."""
    from playwright.sync_api import sync_playwright

    from stations.store import Store
    from webmap.app import create_app
    from webmap.testing import launch_chromium, live_server, synthetic_stations

    with tempfile.TemporaryDirectory(prefix="nuanxin-bench-web-") as tmp:
        folder = Path(tmp)
        os.environ["NUANXIN_INSTANCE"] = str(folder / "instance")
        url = f"sqlite:///{folder / 'bench.db'}"
        store = Store(url)
        store.init()
        stations = synthetic_stations(N_STATIONS, seed=2021)
        started = time.perf_counter()
        store.add_stations(stations)
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        _baseline_page(stations, folder)
        folium_render_s = time.perf_counter() - started
        baseline_bytes = (folder / "baseline.html").stat().st_size
        app = create_app({"TILES": "none", "DATABASE_URL": url})
        handler = partial(_Quiet, directory=str(folder))
        static = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=static.serve_forever, daemon=True).start()
        base_url = f"http://127.0.0.1:{static.server_address[1]}/baseline.html"
        try:
            with live_server(app, threads=4) as server:
                started = time.perf_counter()
                with urllib.request.urlopen(server.url + "/api/stations?limit=1") as r:
                    r.read()  # builds the in-memory catalogue once, as a running server has
                catalogue_s = time.perf_counter() - started
                city = (server.url + "/api/stations?bbox=115.4,39.4,117.6,41.1&zoom=9"
                        "&cluster=true&fields=map&limit=400")
                started = time.perf_counter()
                with urllib.request.urlopen(city) as r:
                    city_kb = len(r.read()) / 1024
                city_s = time.perf_counter() - started
                with sync_playwright() as p:
                    browser = launch_chromium(p)
                    ours = [_measure(browser, server.url + "/", PHONE) for _ in range(RUNS)]
                    ours_desk = [_measure(browser, server.url + "/", DESKTOP)
                                 for _ in range(RUNS)]
                    base = [_measure(browser, base_url, DESKTOP) for _ in range(2)]
                    browser.close()
        finally:
            static.shutdown()
            store.dispose()

    def kb(v: float) -> float:
        return round(v, 1)

    b_bytes = _median(base, "html_data_kb")
    b_time = _median(base, "first_marker_s")
    rows = []
    for label, runs in (("phone 390×844", ours), ("desktop 1280×800", ours_desk)):
        html_data = _median(runs, "html_data_kb")
        first = _median(runs, "first_marker_s")
        rows.append({
            "case": f"worker page {label}, {N_STATIONS:,} stations: bytes before first marker",
            "ours": kb(html_data), "baseline": kb(b_bytes),
            "baseline_name": "plain Folium MarkerCluster of Markers (desktop)",
            "unit": "KB (HTML + data)", "ours_all_kb": kb(_median(runs, "all_kb")),
            "baseline_all_kb": kb(_median(base, "all_kb")),
            "api_requests": int(_median(runs, "requests")),
            "goal": f"≤ {BYTES_GOAL_KB:g} KB", "ok": html_data <= BYTES_GOAL_KB})
        rows.append({
            "case": f"worker page {label}, {N_STATIONS:,} stations: time to first marker",
            "ours": round(first, 3), "baseline": round(b_time, 3),
            "baseline_name": "plain Folium MarkerCluster of Markers (desktop)", "unit": "s",
            "runs": [round(r["first_marker_s"], 3) for r in runs],
            "goal": f"≤ {FIRST_MARKER_GOAL_S:g} s", "ok": first <= FIRST_MARKER_GOAL_S})
    rows.append({"case": "server: catalogue build on first request (26k stations)",
                 "ours": round(catalogue_s, 3), "unit": "s",
                 "store_load_s": round(load_s, 2),
                 "baseline_folium_render_s": round(folium_render_s, 2),
                 "baseline_html_mb": round(baseline_bytes / 1e6, 2),
                 "city_view_kb": kb(city_kb), "city_view_s": round(city_s, 3)})
    return rows
