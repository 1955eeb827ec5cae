"""The worker's first nearest answer on one bar of signal (issue 14, item 2).

26,000 stations in a fresh SQLite store, the app under waitress on 127.0.0.1, headless
Chromium at 390×844 with the worker's position allowed (the page then asks for it at once, as
it does for a returning worker). The link is emulated through the Chrome DevTools Protocol
(``Network.emulateNetworkConditions``): **400 kbps down and up, 400 ms round trip** (DevTools'
"Slow 3G"), cache off for nothing: the browser's HTTP cache works as on a phone.

The figure is the time from the start of navigation to the first nearest-result card in the
page (a MutationObserver notes it):

* **cold**: a fresh browser profile (empty caches, no service worker yet);
* **warm**: the same profile loading the page again after one visit (for ours, once the
  service worker controls the page and the station snapshot is on the phone).

"ours" is the page with its service worker; the baseline is the very same page with service
workers blocked (so only the HTTP cache helps when warm). Interleaved by
:func:`bench._timing.compare` (same warm-up and repeats, medians). Goals: cold ≤ 3 s,
warm ≤ 1 s.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

from bench._timing import compare, describe

N_STATIONS = 26_000
COLD_GOAL_S = 3.0
WARM_GOAL_S = 1.0
HOME = (116.3400, 39.8793)
PHONE = {"width": 390, "height": 844}
#: DevTools' "Slow 3G": 400 kbps each way (bytes per second below), 400 ms round trip.
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8,
           "uploadThroughput": 400_000 / 8}

_OBSERVER = """
(() => {
  window.__firstAnswer = null;
  const seen = () => {
    if (window.__firstAnswer === null && document.querySelector('#nearest-list .station-item')) {
      window.__firstAnswer = performance.now();
    }
  };
  new MutationObserver(seen).observe(document, {childList: true, subtree: true});
})();
"""


def _throttle(context, page) -> None:
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)


def _first_answer(page, timeout_s: float = 60.0) -> float:
    deadline = time.monotonic() + timeout_s
    while True:
        t = page.evaluate("window.__firstAnswer")
        if t is not None:
            return t / 1000.0
        if time.monotonic() > deadline:
            raise RuntimeError("no nearest answer appeared")
        page.wait_for_timeout(20)


def _visit(browser, url: str, *, service_worker: bool) -> dict:
    """One cold load then one warm load in the same profile: seconds to the first answer."""
    context = browser.new_context(
        viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai",
        permissions=["geolocation"], service_workers="allow" if service_worker else "block",
        geolocation={"longitude": HOME[0], "latitude": HOME[1], "accuracy": 20})
    context.add_init_script(_OBSERVER)
    try:
        page = context.new_page()
        _throttle(context, page)
        page.goto(url, wait_until="commit")
        cold = _first_answer(page)
        page.wait_for_selector('#nearest[data-source="network"] .station-item', timeout=60_000)
        if service_worker:  # one visit: the worker is in charge and the snapshot kept
            deadline = time.monotonic() + 120
            while not page.evaluate("""() => navigator.serviceWorker.controller !== null &&
                    caches.match('/offline/stations.json').then(r => !!r)"""):
                if time.monotonic() > deadline:
                    raise RuntimeError("the service worker never took over")
                page.wait_for_timeout(100)
        else:
            page.wait_for_load_state("networkidle")
        page.goto(url, wait_until="commit")
        warm = _first_answer(page)
        return {"cold_s": cold, "warm_s": warm}
    finally:
        context.close()


def run() -> list[dict]:
    """Cold and warm first-answer times, with and without the service worker."""
    from playwright.sync_api import sync_playwright

    from stations.store import Store
    from webmap.app import create_app
    from webmap.testing import launch_chromium, live_server, synthetic_stations

    with tempfile.TemporaryDirectory(prefix="nuanxin-bench-3g-") as tmp:
        folder = Path(tmp)
        os.environ["NUANXIN_INSTANCE"] = str(folder / "instance")
        url = f"sqlite:///{folder / 'bench.db'}"
        store = Store(url)
        store.init()
        store.add_stations(synthetic_stations(N_STATIONS, seed=2021))
        app = create_app({"TILES": "none", "DATABASE_URL": url})
        try:
            with live_server(app, threads=4) as server, sync_playwright() as p:
                browser = launch_chromium(p)
                # the first request builds the in-memory catalogue, as a running server has
                page = browser.new_page()
                page.goto(server.url + "/api/nearest?lon=116.34&lat=39.88")
                page.close()
                t = compare({"ours": partial(_visit, browser, server.url + "/",
                                             service_worker=True),
                             "no_sw": partial(_visit, browser, server.url + "/",
                                              service_worker=False)},
                            figure=lambda r: r["cold_s"], keep_results=True)
                browser.close()
        finally:
            store.dispose()

    def med(name: str, key: str) -> float:
        return round(float(statistics.median(r[key] for r in t[name]["results"])), 3)

    base = "the same page without the service worker"
    cold, warm = med("ours", "cold_s"), med("ours", "warm_s")
    return [{
        "case": f"slow 3G (400 kbps, 400 ms RTT), {N_STATIONS:,} stations: first nearest "
                "answer, cold cache",
        "ours": cold, "unit": "s", "timing": describe(t["ours"]),
        "runs": [round(r["cold_s"], 3) for r in t["ours"]["results"]],
        "baselines": [{"name": base, "value": med("no_sw", "cold_s"),
                       "runs": [round(r["cold_s"], 3) for r in t["no_sw"]["results"]]}],
        "goal": f"≤ {COLD_GOAL_S:g} s", "ok": bool(cold <= COLD_GOAL_S)}, {
        "case": f"slow 3G (400 kbps, 400 ms RTT), {N_STATIONS:,} stations: first nearest "
                "answer, warm (after one visit)",
        "ours": warm, "unit": "s", "timing": describe(t["ours"]),
        "runs": [round(r["warm_s"], 3) for r in t["ours"]["results"]],
        "baselines": [{"name": base, "value": med("no_sw", "warm_s"),
                       "runs": [round(r["warm_s"], 3) for r in t["no_sw"]["results"]]}],
        "goal": f"≤ {WARM_GOAL_S:g} s", "ok": bool(warm <= WARM_GOAL_S)}]
