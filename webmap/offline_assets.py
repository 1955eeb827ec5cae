"""What the service worker (``/sw.js``) keeps on the phone, and the release it belongs to.

The app shell (the worker page), our scripts and styles, the vendored Leaflet files the pages
load, the manifest and icons are precached at install. The cache's name carries
:func:`release`, a digest of exactly those files: a release that changes any of them gets a
new cache and the old one is deleted when the new worker activates (cache versioning). The
station snapshot lives in a separate data cache that survives releases.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

__all__ = ["SHELL", "STATIC_FILES", "precache_urls", "release"]

_STATIC = Path(__file__).resolve().parent / "static"

#: Pages precached as the app shell (answered from the cache when the network is gone).
SHELL = ("/", "/manifest.webmanifest")

#: Files under ``static/`` the worker's pages load (tests/test_offline.py checks the worker
#: page asks for nothing else).
STATIC_FILES = (
    "css/nuanxin.css",
    "js/nx-common.js",
    "js/offline.js",
    "js/datum.js",
    "js/worker.js",
    "js/station.js",
    "img/icon.svg",
    "img/icon-192.png",
    "img/icon-512.png",
    "vendor/leaflet-1.9.3/leaflet.js",
    "vendor/leaflet-1.9.3/leaflet.css",
    "vendor/leaflet.markercluster-1.1.0/leaflet.markercluster.js",
    "vendor/leaflet.markercluster-1.1.0/MarkerCluster.css",
)


def precache_urls() -> list[str]:
    """Every URL the service worker caches at install."""
    return list(SHELL) + ["/static/" + f for f in STATIC_FILES]


@functools.cache
def release() -> str:
    """A short digest of the precached static files and the service worker itself."""
    digest = hashlib.sha256()
    for name in STATIC_FILES + ("js/sw.js",):
        digest.update(name.encode())
        digest.update((_STATIC / name).read_bytes())
    return digest.hexdigest()[:12]
