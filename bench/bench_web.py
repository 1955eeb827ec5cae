"""The worker page at Beijing scale vs plain Folium pages, same run, headless Chromium.

26,000 stations (Beijing, Jan 2021: 25,987) are put in a fresh SQLite store and the app is
served by waitress on 127.0.0.1. For each page load we open a fresh browser context (empty
cache) and record, from the page's own Resource Timing entries, the bytes transferred before
the first station marker appears (a MutationObserver notes the moment the first Leaflet
marker, single or cluster, enters the DOM):

* ``ours``: ``/`` — Leaflet + MarkerCluster, the view's stations from ``/api/stations``
  (at most ``MAP_MAX_FEATURES`` per view, counted cells beyond that);
* baseline "MarkerCluster": a plain Folium page, one ``MarkerCluster`` holding a ``Marker``
  (popup and tooltip) per station;
* baseline "FastMarkerCluster": a Folium page with ``folium.plugins.FastMarkerCluster`` —
  the stations as one ``[lat, lon, name]`` array in the page, markers made in the browser
  (popup and tooltip bound lazily, the name set as text);

the same 26,000 stations, every asset rewritten to our vendored copies
(:func:`webmap.vendor.rewrite_html`, which refuses any external link) and served statically
from localhost, so nothing leaves the machine. Ours and both baselines are loaded at the
phone (390×844) and the desktop (1280×800) viewport, interleaved by
:func:`bench._timing.compare` (same warm-up and repeats, medians).

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

from bench._timing import compare, describe

N_STATIONS = 26_000
BYTES_GOAL_KB = 500.0
FIRST_MARKER_GOAL_S = 1.5
VIEWPORTS = {"phone 390×844": {"width": 390, "height": 844},
             "desktop 1280×800": {"width": 1280, "height": 800}}

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


#: Marker per ``[lat, lon, name]`` row; popup and tooltip made on demand, the name as text.
_FAST_CALLBACK = """function (row) {
    var marker = L.marker(new L.LatLng(row[0], row[1]));
    var name = function () {
        var el = document.createElement('span');
        el.textContent = row[2];
        return el;
    };
    marker.bindPopup(name);
    marker.bindTooltip(name);
    return marker;
}"""


def _folium_map():
    import folium

    # no tiles (never fetched here); MarkerCluster then needs the map's own maxZoom
    return folium.Map(location=[39.8793, 116.3400], zoom_start=15, tiles=None,  # [lat, lon]
                      **{"maxZoom": 19})


def _marker_cluster_page(stations) -> str:
    """A plain Folium page: one MarkerCluster of Markers (escaped popups and tooltips)."""
    import folium
    import folium.plugins

    m = _folium_map()
    cluster = folium.plugins.MarkerCluster().add_to(m)
    for s in stations:
        folium.Marker([s.lat, s.lon], popup=folium.Popup(html.escape(s.name)),
                      tooltip=html.escape(s.name)).add_to(cluster)
    return m.get_root().render()


def _fast_marker_cluster_page(stations) -> str:
    """A Folium FastMarkerCluster page: the stations as data, markers made in the browser."""
    import folium.plugins

    m = _folium_map()
    folium.plugins.FastMarkerCluster([[s.lat, s.lon, s.name] for s in stations],  # lat, lon
                                     callback=_FAST_CALLBACK).add_to(m)
    return m.get_root().render()


def _baseline_pages(stations, folder: Path) -> dict[str, dict]:
    """Write both Folium pages (vendored assets) into ``folder``; render time and size."""
    from webmap import vendor

    vendor.install()
    pages = {}
    for name, build in (("MarkerCluster", _marker_cluster_page),
                        ("FastMarkerCluster", _fast_marker_cluster_page)):
        started = time.perf_counter()
        page = vendor.rewrite_html(build(stations))
        render_s = time.perf_counter() - started
        out = folder / f"baseline-{name.lower()}.html"
        out.write_text(page, encoding="utf-8")
        pages[name] = {"file": out.name, "render_s": render_s,
                       "html_mb": out.stat().st_size / 1e6}
    (folder / "static").mkdir()
    os.symlink(vendor.VENDOR_DIR, folder / "static" / "vendor")
    return pages


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # noqa: D401 - silence the per-request log
        pass


_BASELINE_NAMES = {"MarkerCluster": "Folium MarkerCluster of Markers",
                   "FastMarkerCluster": "Folium FastMarkerCluster"}  # at the row's viewport


def _kb(v: float) -> float:
    return round(v, 1)


def _timed_get(url: str) -> tuple[float, float]:
    """(seconds, kilobytes) of one GET."""
    started = time.perf_counter()
    with urllib.request.urlopen(url) as r:
        size = len(r.read()) / 1024
    return time.perf_counter() - started, size


def _measure_all(server_url: str, static_url: str, pages: dict) -> tuple[dict, dict]:
    """Server figures (catalogue build, a city view) and page timings at every viewport."""
    from playwright.sync_api import sync_playwright

    from webmap.testing import launch_chromium

    # the first request builds the in-memory catalogue once, as a running server has
    catalogue_s, _ = _timed_get(server_url + "/api/stations?limit=1")
    city_s, city_kb = _timed_get(server_url + "/api/stations?bbox=115.4,39.4,117.6,41.1&zoom=9"
                                 "&cluster=true&fields=map&limit=400")
    urls = {"ours": server_url + "/"}
    urls.update({name: static_url + page["file"] for name, page in pages.items()})
    timings = {}
    with sync_playwright() as p:
        browser = launch_chromium(p)
        for label, viewport in VIEWPORTS.items():
            timings[label] = compare(
                {name: partial(_measure, browser, u, viewport) for name, u in urls.items()},
                figure=lambda r: r["first_marker_s"], keep_results=True)
        browser.close()
    return {"catalogue_s": catalogue_s, "city_s": city_s, "city_kb": city_kb}, timings


def _page_rows(label: str, t: dict) -> list[dict]:
    """The two rows of one viewport: bytes before the first marker, time to it."""
    html_data = _median(t["ours"]["results"], "html_data_kb")
    first = t["ours"]["median"]
    return [{
        "case": f"worker page {label}, {N_STATIONS:,} stations: bytes before first marker",
        "ours": _kb(html_data), "unit": "KB (HTML + data)",
        "baselines": [{"name": _BASELINE_NAMES[b],
                       "value": _kb(_median(t[b]["results"], "html_data_kb")),
                       "all_kb": _kb(_median(t[b]["results"], "all_kb"))}
                      for b in _BASELINE_NAMES],
        "timing": describe(t["ours"]),
        "ours_all_kb": _kb(_median(t["ours"]["results"], "all_kb")),
        "api_requests": int(_median(t["ours"]["results"], "requests")),
        "goal": f"≤ {BYTES_GOAL_KB:g} KB", "ok": bool(html_data <= BYTES_GOAL_KB)}, {
        "case": f"worker page {label}, {N_STATIONS:,} stations: time to first marker",
        "ours": round(first, 3), "unit": "s",
        "baselines": [{"name": _BASELINE_NAMES[b], "value": round(t[b]["median"], 3),
                       "runs": [round(v, 3) for v in t[b]["runs"]]} for b in _BASELINE_NAMES],
        "timing": describe(t["ours"]),
        "runs": [round(v, 3) for v in t["ours"]["runs"]],
        "goal": f"≤ {FIRST_MARKER_GOAL_S:g} s", "ok": bool(first <= FIRST_MARKER_GOAL_S)}]


def run() -> list[dict]:
    """Measure our page and both Folium pages at both viewports; rows for ``python -m bench``."""
    from stations.store import Store
    from webmap.app import create_app
    from webmap.testing import live_server, synthetic_stations

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
        pages = _baseline_pages(stations, folder)
        app = create_app({"TILES": "none", "DATABASE_URL": url})
        handler = partial(_Quiet, directory=str(folder))
        static = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=static.serve_forever, daemon=True).start()
        static_url = f"http://127.0.0.1:{static.server_address[1]}/"
        try:
            with live_server(app, threads=4) as server:
                server_figures, timings = _measure_all(server.url, static_url, pages)
        finally:
            static.shutdown()
            store.dispose()
    rows = [row for label, t in timings.items() for row in _page_rows(label, t)]
    rows.append({"case": "server: catalogue build on first request (26k stations)",
                 "ours": round(server_figures["catalogue_s"], 3), "unit": "s",
                 "baselines": [], "timing": "once", "store_load_s": round(load_s, 2),
                 **{f"folium_{name}_render_s": round(page["render_s"], 2)
                    for name, page in pages.items()},
                 **{f"folium_{name}_html_mb": round(page["html_mb"], 2)
                    for name, page in pages.items()},
                 "city_view_kb": _kb(server_figures["city_kb"]),
                 "city_view_s": round(server_figures["city_s"], 3)})
    return rows
