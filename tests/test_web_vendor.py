"""No CDN, ever: every page loads scripts, stylesheets and fonts from this app only."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import folium
import folium.plugins
import pytest

from webmap import vendor
from webmap.app import create_app
from webmap.testing import login, synthetic_stations
from webmap.users import add_user

PASSWORD = "correct horse battery"


class _Assets(HTMLParser):
    """Collect every URL a page would load as script, stylesheet, font, icon or image."""

    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.urls.append(("script", a["src"]))
        elif tag == "link" and a.get("href") and (a.get("rel") or "") in (
                "stylesheet", "icon", "preload", "modulepreload", "manifest"):
            self.urls.append(("link", a["href"]))
        elif tag in ("img", "iframe", "embed", "source", "audio", "video") and a.get("src"):
            self.urls.append((tag, a["src"]))
        elif tag == "style":
            self._in_style = True
        if a.get("style"):
            self.urls += [("style-attr", u) for u in _css_urls(a["style"])]

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.urls += [("style", u) for u in _css_urls(data)]


def _css_urls(css: str) -> list[str]:
    urls = re.findall(r"url\(\s*['\"]?([^'\")\s]+)", css)
    urls += re.findall(r"@import\s+['\"]([^'\"]+)", css)
    return urls


def _fetch(client, url: str) -> tuple[int, bytes]:
    response = client.get(url)
    try:
        return response.status_code, response.get_data()
    finally:
        response.close()  # static files are streamed from an open file


def _external(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme in ("http", "https") or url.startswith("//"))


@pytest.fixture(params=["none", "amap", "osm", "tianditu"])
def client(request, store):
    store.add_stations(synthetic_stations(5, bbox=(116.33, 39.87, 116.35, 39.89)))
    add_user(store, "union", PASSWORD)
    app = create_app({"TESTING": True, "TILES": request.param, "TIANDITU_KEY": "0123abcd"})
    c = app.test_client()
    assert login(c, "union", PASSWORD).status_code == 302
    return c


PAGES = ["/", "/stations/1", "/stations/999", "/union/", "/union/stations",
         "/union/stations/1", "/union/candidates", "/union/reports",
         "/union/coverage?district=西城区&add=1", "/union/login", "/nowhere"]


def test_every_page_loads_assets_only_from_this_app(client):
    checked = 0
    for page in PAGES:
        response = client.get(page)
        assert response.status_code in (200, 404), page
        html = response.get_data(as_text=True)
        parser = _Assets()
        parser.feed(html)
        external = [u for u in parser.urls if _external(u[1])]
        assert not external, f"{page} loads from outside: {external}"
        assert not vendor.external_assets(html), page
        for kind, url in parser.urls:
            if url.startswith("data:"):
                continue
            status, data = _fetch(client, url)
            assert status == 200, (page, kind, url)
            checked += 1
            if url.endswith(".css"):  # fonts and images a stylesheet pulls in
                css = data.decode("utf-8")
                base = url.rsplit("/", 1)[0] + "/"
                for ref in _css_urls(css):
                    if ref.startswith(("data:", "#")):
                        continue
                    assert not _external(ref), (url, ref)
                    target = (base + ref).split("?")[0].split("#")[0]
                    assert _fetch(client, target)[0] == 200, (url, ref)
    assert checked > 10


def test_coverage_page_really_contains_a_folium_map(client):
    html = client.get("/union/coverage?district=西城区&add=1").get_data(as_text=True)
    assert "L.map(" in html and "/static/vendor/jquery-3.7.1/jquery.min.js" in html


@pytest.mark.parametrize("klass", [folium.Map, folium.plugins.MarkerCluster,
                                   folium.plugins.LocateControl, folium.plugins.HeatMap,
                                   folium.plugins.FastMarkerCluster],
                         ids=lambda k: k.__name__)
def test_folium_classes_we_use_point_at_vendored_files(klass):
    vendor.install()
    for attr in ("default_js", "default_css"):
        for _, url in getattr(klass, attr, None) or []:
            assert url.startswith("/static/vendor/"), (klass.__name__, url)
            assert (vendor.VENDOR_DIR / url.removeprefix("/static/vendor/")).is_file(), url


def test_every_mapped_file_exists_and_every_package_keeps_its_licence():
    for cdn, rel in vendor.CDN_TO_LOCAL.items():
        assert (vendor.VENDOR_DIR / rel).is_file(), cdn
    for folder in (p for p in vendor.VENDOR_DIR.iterdir() if p.is_dir()):
        licences = [p for p in folder.iterdir() if re.match(r"(LICEN[CS]E|MIT-LICENCE)", p.name)]
        assert licences, f"{folder.name} has no licence file"
    readme = (vendor.VENDOR_DIR / "README.md").read_text(encoding="utf-8")
    for folder in (p.name for p in vendor.VENDOR_DIR.iterdir() if p.is_dir()):
        assert folder in readme


def test_a_plain_folium_map_renders_offline_after_rewriting():
    m = folium.Map(location=[39.9, 116.4], tiles=None)
    folium.plugins.MarkerCluster().add_to(m)
    folium.Marker([39.9, 116.4], icon=folium.Icon(icon="home")).add_to(m)
    html = vendor.rewrite_html(m.get_root().render())
    assert not vendor.external_assets(html)


def test_rewrite_refuses_an_unvendored_asset():
    html = '<script src="https://unpkg.com/some-plugin.js"></script>'
    with pytest.raises(vendor.ExternalAssetError, match="unpkg"):
        vendor.rewrite_html(html)
