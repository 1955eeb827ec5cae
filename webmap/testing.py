"""Helpers for driving the app for real: a waitress server in a thread, headless Chromium,
synthetic stations. Used by the browser tests and by ``bench/bench_web.py``.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from stations.amenities import AMENITIES
from stations.records import Station

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "chromium_available",
    "launch_chromium",
    "LiveServer",
    "live_server",
    "synthetic_stations",
    "csrf_token_from",
    "login",
]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-default-apps",
                 "--disable-domain-reliability", "--no-pings"]


def chromium_available() -> bool:
    """Debian's Chromium is installed (``.ci/system-deps`` installs it)."""
    return shutil.which(CHROMIUM) is not None or shutil.which("chromium") is not None


def launch_chromium(playwright):
    """Launch the system Chromium headless (Playwright never downloads a browser here)."""
    path = CHROMIUM if shutil.which(CHROMIUM) else shutil.which("chromium")
    return playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)


@dataclass
class LiveServer:
    """A running waitress server: ``url`` is ``http://127.0.0.1:<port>``."""

    url: str
    port: int
    server: object


@contextmanager
def live_server(app, *, threads: int = 4) -> Iterator[LiveServer]:
    """Serve ``app`` with waitress on 127.0.0.1 and a free port, in a daemon thread."""
    from waitress.server import create_server

    from webmap.security import waitress_options

    server = create_server(app, host="127.0.0.1", port=0, threads=threads, ident="nuanxin",
                           **waitress_options(app))
    port = int(server.effective_port)
    thread = threading.Thread(target=server.run, name="waitress-test", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", port=port, server=server)
    finally:
        server.close()
        thread.join(timeout=5)


_HOURS = ("Mo-Fr 09:00-17:00", "Mo-Su 06:00-22:00", "24/7", "Mo-Fr 08:30-11:00,13:30-17:00",
          "Mo-Sa 08:00-20:00", "")


def synthetic_stations(n: int, *, seed: int = 7, bbox=(115.95, 39.65, 116.75, 40.15),
                       sample: bool = True) -> list[Station]:
    """``n`` plausible stations scattered over ``bbox`` (WGS84), denser towards the centre.

    Amenities are yes/no/unknown at random, hours from a few typical patterns (one in six
    unknown), access mostly open. Every station is marked ``sample``.
    """
    rng = np.random.default_rng(seed)
    minlon, minlat, maxlon, maxlat = bbox
    cx, cy = (minlon + maxlon) / 2, (minlat + maxlat) / 2
    lon = np.clip(rng.normal(cx, (maxlon - minlon) / 5, n), minlon, maxlon)
    lat = np.clip(rng.normal(cy, (maxlat - minlat) / 5, n), minlat, maxlat)
    states = np.array(["yes", "no", "unknown"])
    amen = states[rng.choice(3, size=(n, len(AMENITIES)), p=[0.55, 0.15, 0.30])]
    hours = rng.integers(0, len(_HOURS), n)
    access = rng.choice(np.array(["open", "register", "ask_staff", "unknown"]), n,
                        p=[0.7, 0.1, 0.1, 0.1])
    return [Station(name=f"测试驿站 {i + 1:05d}", lon=float(lon[i]), lat=float(lat[i]),
                    code=f"SYN-{i + 1:06d}", address=f"测试路 {i + 1} 号",
                    host_type="community", district="西城区", street="广安门外街道",
                    amenities=dict(zip(AMENITIES, amen[i].tolist(), strict=True)),
                    access=str(access[i]), opening_hours=_HOURS[int(hours[i])],
                    sample=sample)
            for i in range(n)]


def csrf_token_from(html: str) -> str:
    """The CSRF token of the first form in a page."""
    import re

    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if not m:
        raise AssertionError("no csrf_token in the page")
    return m.group(1)


def login(client, username: str, password: str):
    """Log a Flask test client in through the real login form (with its CSRF token)."""
    page = client.get("/union/login")
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post("/union/login", data={"username": username, "password": password,
                                             "csrf_token": token, "next": ""})
