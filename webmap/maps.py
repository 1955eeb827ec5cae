"""Folium map builders: pure functions returning ``folium.Map`` objects (no Flask here).

Every overlay is drawn in the datum of the tile provider: Amap tiles are GCJ-02, so WGS84
stations, outlines and positions are converted before drawing (a WGS84 point on Amap tiles
lands ~550 m off in Beijing); Tianditu and OpenStreetMap are WGS84; with no tiles the map is
WGS84 and the vector underlay (:mod:`webmap.underlay`) alone gives orientation.

The views render a map with :func:`map_parts`, which also rewrites every asset link to our
vendored copies (:mod:`webmap.vendor`).
"""

from __future__ import annotations

import html
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import branca.element
import folium
import folium.plugins

from geodata.crs.datums import convert
from stations.records import Station
from webmap import vendor

__all__ = [
    "TileProvider",
    "TILE_PROVIDERS",
    "tile_datum",
    "LeanMap",
    "PopupMap",
    "base_map",
    "add_underlay",
    "worker_map",
    "station_map",
    "map_parts",
    "UNDERLAY_STYLE",
    "escape_text",
    "MetricScale",
]


@dataclass(frozen=True)
class TileProvider:
    """A basemap: URL template(s), attribution, the datum its tiles are drawn in."""

    name: str
    label_zh: str
    datum: str
    urls: tuple[str, ...] = ()
    attribution: str = ""
    subdomains: str = "abc"
    max_zoom: int = 18
    image_hosts: tuple[str, ...] = ()  # for the Content-Security-Policy img-src

    def tile_urls(self, *, key: str = "") -> tuple[str, ...]:
        return tuple(u.replace("{key}", key) for u in self.urls)


_TDT = ("https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
        "&TILECOL={x}&tk={key}")

TILE_PROVIDERS: dict[str, TileProvider] = {
    "amap": TileProvider(
        "amap", "高德地图", "gcj02",
        ("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
         "&x={x}&y={y}&z={z}",),
        "&copy; 高德地图 AutoNavi", "1234", 18, ("https://*.is.autonavi.com",)),
    "tianditu": TileProvider(
        "tianditu", "天地图", "wgs84",
        (_TDT.replace("{layer}", "vec"), _TDT.replace("{layer}", "cva")),
        "&copy; 天地图 tianditu.gov.cn", "01234567", 18, ("https://*.tianditu.gov.cn",)),
    "osm": TileProvider(
        "osm", "OpenStreetMap", "wgs84", ("https://tile.openstreetmap.org/{z}/{x}/{y}.png",),
        "&copy; OpenStreetMap contributors", "abc", 19, ("https://tile.openstreetmap.org",)),
    "none": TileProvider("none", "无底图 (仅行政区界)", "wgs84", (), "", "abc", 19, ()),
}

#: Leaflet path styles of the underlay by ``properties.kind`` (also used by worker.js).
UNDERLAY_STYLE = {
    "district": {"color": "#5b6b7a", "weight": 2, "opacity": 0.8, "fill": False},
    "street": {"color": "#8a9aa9", "weight": 1, "opacity": 0.7, "dashArray": "4 4",
               "fill": False},
}


#: Characters that are not safe as-is in folium's HTML-in-JavaScript slots, as entities the
#: browser shows as themselves: HTML (``& < > " '``), JavaScript template literals (`````,
#: ``$``, ``\\``) and template syntax (``{ } %`` and ``#``), so that no text can ever read as
#: ``{{ }}``, ``{% %}`` or ``{# #}`` to a template engine. One table, applied in one pass: a
#: second pass would escape the ``&``/``#`` of the first one's entities (``'`` → ``&#x27;``
#: → ``&&#35;x27;``, shown as ``&#x27;``).
_TEXT_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                                "'": "&#39;", "\\": "&#92;", "`": "&#96;", "$": "&#36;",
                                "{": "&#123;", "}": "&#125;", "%": "&#37;", "#": "&#35;"})


def escape_text(text: object) -> str:
    """User text made safe for folium's HTML-in-JavaScript slots (tooltips, popups, labels).

    The one escape for every piece of user text that goes into a map: every HTML,
    template-literal and template-syntax character becomes an entity the browser shows as
    that character (``None`` → ``""``).
    """
    return ("" if text is None else str(text)).translate(_TEXT_ENTITIES)


def tile_datum(tiles: str) -> str:
    """The datum overlays must be drawn in on ``tiles`` (``gcj02`` for Amap, else ``wgs84``)."""
    return TILE_PROVIDERS[tiles].datum


class LeanMap(folium.Map):
    """A folium Map that loads Leaflet only (no jQuery, Bootstrap or Font Awesome).

    The worker pages draw plain symbols and need none of those; leaving them out keeps a
    phone's first load small.
    """

    default_js = vendor.LEAN_JS
    default_css = vendor.LEAN_CSS


class PopupMap(folium.Map):
    """Leaflet plus jQuery: what folium's ``Popup`` needs, without Bootstrap's global CSS.

    The planning maps (:mod:`webmap.planmap`) use popups, circles, GeoJSON and a layer
    control; none of them needs Bootstrap or the icon fonts, and Bootstrap's class names
    (``.card``, ``.btn``...) would restyle the dashboard around the map.
    """

    default_js = vendor.LEAN_JS + [vendor.JQUERY_JS]
    default_css = vendor.LEAN_CSS


class MetricScale(branca.element.MacroElement):
    """Leaflet's scale bar in metres and kilometres only (no feet or miles)."""

    _template = branca.element.Template("""
        {% macro script(this, kwargs) %}
            L.control.scale({metric: true, imperial: false, maxWidth: 120})
                .addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self):
        super().__init__()
        self._name = "MetricScale"


def _to_datum(lon: float, lat: float, datum: str) -> tuple[float, float]:
    if datum == "wgs84":
        return float(lon), float(lat)
    x, y = convert(lon, lat, src="wgs84", dst=datum)
    return float(x), float(y)


def base_map(*, tiles: str = "none", center: tuple[float, float], zoom: int = 15,
             tianditu_key: str = "", lean: bool | str = True, height: str = "100%",
             map_id: str | None = None) -> folium.Map:
    """An empty map with the configured basemap.

    Parameters
    ----------
    tiles : {"amap", "tianditu", "osm", "none"}
    center : (lon, lat)
        WGS84; converted to the tile datum (folium wants ``[lat, lon]``).
    zoom : int
    tianditu_key : str
        Browser key for Tianditu (it ends up in the page, as browser keys do).
    lean : bool or "popups"
        ``True``: Leaflet only (:class:`LeanMap`); ``"popups"``: plus jQuery for folium
        popups (:class:`PopupMap`); ``False``: folium's full asset set.
    """
    vendor.install()
    provider = TILE_PROVIDERS[tiles]
    lon, lat = _to_datum(center[0], center[1], provider.datum)
    klass = PopupMap if lean == "popups" else LeanMap if lean else folium.Map
    m = klass(location=[lat, lon], zoom_start=zoom, tiles=None, control_scale=False,
              height=height, prefer_canvas=False,  # folium's location is [lat, lon]
              **{"maxZoom": provider.max_zoom, "minZoom": 3})  # the map's own limits
    if map_id:
        m._name, m._id = "map", map_id
    MetricScale().add_to(m)
    for url in provider.tile_urls(key=tianditu_key):
        folium.TileLayer(tiles=url, attr=provider.attribution, name=provider.label_zh,
                         subdomains=provider.subdomains, max_zoom=provider.max_zoom,
                         overlay=False, control=False).add_to(m)
    return m


def add_underlay(m: folium.Map, underlay: dict, *, labels: bool = True) -> folium.Map:
    """Draw an underlay FeatureCollection (:func:`webmap.underlay.underlay_geojson`, already in
    the map's datum) as thin outlines plus text labels (escaped)."""
    lines = [f for f in underlay.get("features", [])
             if f["properties"].get("kind") in UNDERLAY_STYLE]
    if lines:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": lines}, name="区界/街道 (underlay)",
            style_function=lambda f: UNDERLAY_STYLE[f["properties"]["kind"]],
            interactive=False, control=False).add_to(m)
    if labels:
        for f in underlay.get("features", []):
            kind = f["properties"].get("kind")
            if kind not in ("district_label", "street_label", "community"):
                continue
            lon, lat = f["geometry"]["coordinates"]
            text = escape_text(f["properties"].get("name", ""))
            folium.Marker(
                [lat, lon], interactive=False,  # folium wants [lat, lon]
                icon=folium.DivIcon(html=f'<span class="nx-label nx-label-{kind}">{text}</span>',
                                    class_name="nx-label-icon", icon_size=(0, 0)),
            ).add_to(m)
    return m


# The same plain bubble for client-side clusters as for the server's counted cells.
_CLUSTER_ICON = """
function (cluster) {
    var n = cluster.getChildCount();
    var size = n < 10 ? 34 : n < 100 ? 42 : n < 1000 ? 50 : 58;
    var span = document.createElement("span");
    span.className = "nx-bubble-n";
    span.textContent = String(n);
    return L.divIcon({className: "nx-bubble", html: span, iconSize: [size, size]});
}
"""


def worker_map(*, tiles: str, center: tuple[float, float], zoom: int = 15,
               tianditu_key: str = "") -> tuple[folium.Map, folium.plugins.MarkerCluster]:
    """The worker page's map: basemap and an empty marker cluster the page fills by view.

    Returns the map and the cluster layer (its JS name is ``cluster.get_name()``).
    """
    m = base_map(tiles=tiles, center=center, zoom=zoom, tianditu_key=tianditu_key, lean=True)
    cluster = folium.plugins.MarkerCluster(
        name="驿站", control=False, icon_create_function=_CLUSTER_ICON,
        options={"showCoverageOnHover": False, "maxClusterRadius": 40,
                 "spiderfyOnMaxZoom": True, "disableClusteringAtZoom": 16,
                 "chunkedLoading": True})
    # our own bubbles (_CLUSTER_ICON): the plugin's default cluster skin is one request less
    cluster.default_css = [(name, url) for name, url in cluster.default_css
                           if not url.endswith("MarkerCluster.Default.css")]
    cluster.add_to(m)
    return m, cluster


def station_map(station: Station, *, tiles: str, underlay: dict | None = None,
                zoom: int = 16, tianditu_key: str = "") -> folium.Map:
    """A small map of one station (marker with an escaped tooltip), in the tile datum."""
    m = base_map(tiles=tiles, center=(station.lon, station.lat), zoom=zoom,
                 tianditu_key=tianditu_key, lean=True, height="100%")
    if underlay:
        add_underlay(m, underlay)
    lon, lat = _to_datum(station.lon, station.lat, tile_datum(tiles))
    colour = {"open": "#1a7f37", "suspended": "#b35900", "closed": "#6e7781"}.get(
        station.status, "#1a7f37")
    folium.CircleMarker(
        [lat, lon], radius=11, color="#ffffff", weight=3, fill=True, fill_color=colour,
        fill_opacity=1.0,  # folium wants [lat, lon]
        tooltip=folium.Tooltip(escape_text(station.name), permanent=True, direction="top",
                               offset=(0, -12)),
    ).add_to(m)
    return m


_SCRIPT_TAG = re.compile(r"<script(?=[\s>])", re.I)


class _Text:
    """Stands in for a Jinja template made from *rendered* output: renders to itself.

    branca renders every element's macros once, then wraps the output in
    ``Element(rendered)``, which compiles it as a new Jinja template and renders it a second
    time with the page (``figure.header/html/script.render()``). Any ``{{ }}`` in user text
    that survived the first (correctly escaped) pass would then run on the server. While
    :func:`map_parts` renders, such elements hold a ``_Text`` instead: their content is data,
    never template source.
    """

    __slots__ = ("source",)

    def __init__(self, source: str, *_args, **_kwargs):
        self.source = source

    def render(self, *_args, **_kwargs) -> str:
        return self.source


_RENDER_LOCK = threading.RLock()


@contextmanager
def _rendered_text_is_data():
    """During a render, ``branca.element.Element(text)`` keeps ``text`` literally.

    Only :meth:`branca.element.Element.__init__` looks ``Template`` up in branca's module at
    call time, and during a render it is only called with rendered output (folium and branca
    build their real templates at import time, as class attributes).
    """
    with _RENDER_LOCK:
        original = branca.element.Template
        branca.element.Template = _Text
        try:
            yield
        finally:
            branca.element.Template = original


_EXTERNAL_SCRIPT = re.compile(r"<script(?=[^>]*\bsrc\s*=)", re.I)


def map_parts(m: folium.Map, *, nonce: str | None = None,
              defer: bool = False) -> dict[str, str]:
    """Render a map into ``{"header", "html", "script", "name"}`` for a page template.

    Rendering happens once: rendered output is never compiled as a template again (see
    :class:`_Text`), so user text cannot be template source. Asset links are rewritten to
    ``/static/vendor/`` (:func:`webmap.vendor.rewrite_html` raises if anything external is
    left). With ``nonce`` every ``<script>`` tag of the header gets it (the page's
    Content-Security-Policy allows only nonce-carrying inline scripts). With ``defer`` the
    header's script files (Leaflet and its plugins) load without blocking the page; the
    page must then run ``script`` after them (the worker page wraps it in a function it
    calls on ``DOMContentLoaded``).
    """
    vendor.install()
    root = m.get_root()
    with _rendered_text_is_data():
        root.render()
        header = vendor.rewrite_html(root.header.render())
        body = vendor.rewrite_html(root.html.render())
        script = vendor.rewrite_html(root.script.render())
    if defer:
        header = _EXTERNAL_SCRIPT.sub("<script defer", header)
    if nonce:
        header = _SCRIPT_TAG.sub(f'<script nonce="{html.escape(nonce)}"', header)
        body = _SCRIPT_TAG.sub(f'<script nonce="{html.escape(nonce)}"', body)
    return {"header": header, "html": body, "script": script, "name": m.get_name()}
