"""No CDN, ever: folium's and its plugins' asset links rewritten to ``/static/vendor/``.

Folium 0.20 links Leaflet, jQuery, Bootstrap, Font Awesome, awesome-markers, MarkerCluster,
LocateControl... from public CDNs. Every one of those files is vendored under
``webmap/static/vendor/`` (versions pinned to folium's, licences kept beside them; see
``webmap/static/vendor/README.md``). Two mechanisms keep pages offline:

* :func:`install` rewrites the ``default_js`` / ``default_css`` class attributes of
  :class:`folium.Map` and of every plugin class, so folium emits our URLs;
* :func:`rewrite_html` post-processes rendered HTML (a safety net for elements that add
  links directly), and :func:`external_assets` finds any ``http(s)://`` script, stylesheet
  or font left, which the app refuses to serve (and the tests look for).
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "VENDOR_DIR",
    "CDN_TO_LOCAL",
    "LEAN_JS",
    "LEAN_CSS",
    "install",
    "local_url",
    "rewrite_html",
    "external_assets",
    "ExternalAssetError",
]

VENDOR_DIR = Path(__file__).resolve().parent / "static" / "vendor"
_STATIC = "/static/vendor/"

#: CDN URL (as folium 0.20 and its plugins write it) → path under ``static/vendor/``.
CDN_TO_LOCAL: dict[str, str] = {
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet-1.9.3/leaflet.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet-1.9.3/leaflet.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/jquery/3.7.1/jquery.min.js":
        "jquery-3.7.1/jquery.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js":
        "bootstrap-5.2.2/js/bootstrap.bundle.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css":
        "bootstrap-5.2.2/css/bootstrap.min.css",
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css":
        "bootstrap-glyphicons-3.1.1/css/bootstrap-glyphicons.css",
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css":
        "fontawesome-free-6.2.0/css/all.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/"
    "leaflet.awesome-markers.js": "leaflet.awesome-markers-2.0.2/leaflet.awesome-markers.js",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/"
    "leaflet.awesome-markers.css": "leaflet.awesome-markers-2.0.2/leaflet.awesome-markers.css",
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/"
    "leaflet.awesome.rotate.min.css": "folium-0.20.0/leaflet.awesome.rotate.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js":
        "leaflet.markercluster-1.1.0/leaflet.markercluster.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css":
        "leaflet.markercluster-1.1.0/MarkerCluster.css",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"
    "MarkerCluster.Default.css": "leaflet.markercluster-1.1.0/MarkerCluster.Default.css",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet-locatecontrol/0.66.2/L.Control.Locate.min.js":
        "leaflet.locatecontrol-0.66.2/L.Control.Locate.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet-locatecontrol/0.66.2/"
    "L.Control.Locate.min.css": "leaflet.locatecontrol-0.66.2/L.Control.Locate.min.css",
    "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/folium/templates/"
    "leaflet_heat.min.js": "folium-0.20.0/leaflet_heat.min.js",
}

#: The lean asset set of the worker page (Leaflet only; no jQuery/Bootstrap/Font Awesome).
LEAN_JS = [("leaflet", _STATIC + "leaflet-1.9.3/leaflet.js")]
LEAN_CSS = [("leaflet_css", _STATIC + "leaflet-1.9.3/leaflet.css")]
JQUERY_JS = ("jquery", _STATIC + "jquery-3.7.1/jquery.min.js")


class ExternalAssetError(RuntimeError):
    """A rendered page would load a script, stylesheet or font from outside the app."""


def local_url(url: str) -> str:
    """Our ``/static/vendor/...`` URL for a CDN URL folium uses (unchanged when unknown)."""
    rel = CDN_TO_LOCAL.get(url)
    return _STATIC + rel if rel else url


def _rewrite_pairs(pairs: Iterable[tuple[str, str]] | None) -> list[tuple[str, str]] | None:
    if pairs is None:
        return None
    return [(name, local_url(url)) for name, url in pairs]


def _asset_classes() -> Iterable[type]:
    import branca.element
    import folium
    import folium.plugins

    seen: set[type] = set()
    for module in (folium, folium.plugins, branca.element):
        for _, obj in inspect.getmembers(module, inspect.isclass):
            for klass in obj.__mro__:
                if klass in seen:
                    continue
                seen.add(klass)
                if "default_js" in vars(klass) or "default_css" in vars(klass):
                    yield klass


@functools.cache
def install() -> None:
    """Point folium's and its plugins' ``default_js``/``default_css`` at our vendored files.

    Runs once per process (the classes it rewrites are the process's own, not an app's; later
    calls return at once). Only URLs in :data:`CDN_TO_LOCAL` change; plugins we do not vendor
    keep their CDN links, and a page using one is refused by :func:`rewrite_html` (the tests
    render every page and fail on any external asset).
    """
    for klass in _asset_classes():
        for attr in ("default_js", "default_css"):
            if attr in vars(klass):
                setattr(klass, attr, _rewrite_pairs(vars(klass)[attr]))


_ASSET_PATTERNS = (
    re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?([^\"'\s>]+)", re.I),
    re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?([^\"'\s>]+)", re.I),
    re.compile(r"@import\s+(?:url\()?[\"']?([^\"')\s;]+)", re.I),
    re.compile(r"@font-face\s*{[^}]*?url\(\s*[\"']?([^\"')\s]+)", re.I | re.S),
)
_VIEWPORT_META = re.compile(r"<meta\s+name=\"viewport\"[^>]*>", re.I | re.S)


def external_assets(html: str) -> list[str]:
    """Every script/stylesheet/font URL in ``html`` that points outside the app."""
    found = []
    for pattern in _ASSET_PATTERNS:
        for m in pattern.finditer(html):
            url = m.group(1)
            if re.match(r"^(https?:)?//", url, re.I):
                found.append(url)
    return found


def rewrite_html(html: str, *, strict: bool = True) -> str:
    """Replace every known CDN URL in rendered HTML with our vendored URL.

    Also drops folium's ``user-scalable=no`` viewport tag (our pages set their own, which lets
    people zoom text). With ``strict`` (the default) any remaining external script,
    stylesheet or font raises :class:`ExternalAssetError`.
    """
    for cdn, rel in CDN_TO_LOCAL.items():
        if cdn in html:
            html = html.replace(cdn, _STATIC + rel)
    html = _VIEWPORT_META.sub("", html)
    if strict:
        left = external_assets(html)
        if left:
            raise ExternalAssetError(
                "页面引用了外部资源 (external assets in a page; vendor them under "
                f"webmap/static/vendor and map them in webmap.vendor.CDN_TO_LOCAL): {left}")
    return html
