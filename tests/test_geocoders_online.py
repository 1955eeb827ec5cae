"""Online geocoders as optional adapters: recorded responses (never the network), conversion to
WGS84, precision mapping, errors, configuration from the environment, the fallback chain."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
from pathlib import Path

import pytest

from geodata.errors import GeocodingError
from geodata.places.geocoding import Geocoder, GeocodeResult
from geodata.places.online import (
    AmapGeocoder,
    BaiduGeocoder,
    ChainGeocoder,
    NominatimGeocoder,
    TiandituGeocoder,
    geocoder_from_env,
    urllib_transport,
)

FIXTURES = Path(__file__).parent / "data" / "geocoders"
# the shipped WGS84 point of 广安门外街道 (streets.csv), for the Amap GCJ-02 body's conversion
GUANGWAI_WGS84 = (116.3339173, 39.8779927)


class Recorded:
    """A transport replaying one recorded body and remembering the requests."""

    def __init__(self, name: str):
        self.body = (FIXTURES / name).read_bytes()
        self.requests: list[tuple[str, dict]] = []

    def __call__(self, url, *, headers=None, timeout=None):
        self.requests.append((url, dict(headers or {})))
        return self.body

    def query(self) -> dict:
        url = self.requests[-1][0]
        return {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).items()}


def failing_transport(url, *, headers=None, timeout=None):
    raise GeocodingError("无法连接地理编码服务 (cannot reach the geocoding service): offline")


# -- each adapter on recorded answers ----------------------------------------------------------
def test_amap_converts_gcj02_to_wgs84():
    transport = Recorded("amap_ok.json")
    r = AmapGeocoder("KEY123", transport=transport).geocode("北京市西城区广安门外街道办事处")
    q = transport.query()
    assert q["key"] == "KEY123" and q["address"] == "北京市西城区广安门外街道办事处"
    assert q["city"] == "北京"
    assert transport.requests[0][0].startswith("https://restapi.amap.com/v3/geocode/geo?")
    assert (r.precision, r.source, r.district) == ("poi", "amap", "西城区")
    assert r.lon == pytest.approx(GUANGWAI_WGS84[0], abs=1e-6)
    assert r.lat == pytest.approx(GUANGWAI_WGS84[1], abs=1e-6)
    assert r.matched.startswith("北京市西城区")


def test_amap_road_level_and_no_result():
    road = AmapGeocoder("k", transport=Recorded("amap_road.json")).geocode("广安门外大街")
    assert road.precision == "road" and road.lon is not None
    none = AmapGeocoder("k", transport=Recorded("amap_none.json")).geocode("火星")
    assert (none.precision, none.lon, none.lat) == ("none", None, None)


def test_amap_error_is_a_geocoding_error_naming_the_reason():
    with pytest.raises(GeocodingError, match="INVALID_USER_KEY"):
        AmapGeocoder("bad", transport=Recorded("amap_error.json")).geocode("x")


def test_tianditu_is_wgs84_and_maps_levels():
    transport = Recorded("tianditu_ok.json")
    r = TiandituGeocoder("TK", transport=transport).geocode("北京市西城区广安门外街道办事处")
    q = transport.query()
    assert q["tk"] == "TK" and json.loads(q["ds"]) == {"keyWord": "北京市西城区广安门外街道办事处"}
    assert (r.precision, r.lon, r.lat, r.confidence) == ("exact", 116.333917, 39.877993, 1.0)
    none = TiandituGeocoder("TK", transport=Recorded("tianditu_none.json")).geocode("x")
    assert none.precision == "none" and none.lon is None


def test_baidu_converts_bd09_to_wgs84_and_respects_precise_flag():
    transport = Recorded("baidu_ok.json")
    r = BaiduGeocoder("AK", transport=transport).geocode("北京市西城区广安门外大街1号")
    assert transport.query()["ak"] == "AK" and transport.query()["output"] == "json"
    assert r.precision == "exact" and r.confidence == 0.8
    assert r.lon == pytest.approx(116.3401, abs=1e-6) and r.lat == pytest.approx(39.8845, abs=1e-6)
    coarse = BaiduGeocoder("AK", transport=Recorded("baidu_imprecise.json")).geocode("西城区")
    assert coarse.precision == "district"
    with pytest.raises(GeocodingError, match="240"):
        BaiduGeocoder("AK", transport=Recorded("baidu_error.json")).geocode("x")


@pytest.mark.parametrize("fixture, precision", [
    ("nominatim_ok.json", "road"), ("nominatim_house.json", "exact"),
    ("nominatim_empty.json", "none"),
])
def test_nominatim_ranks_map_to_precision(fixture, precision):
    transport = Recorded(fixture)
    r = NominatimGeocoder("https://nominatim.example.org/", transport=transport).geocode("q")
    assert r.precision == precision
    url, headers = transport.requests[0]
    assert url.startswith("https://nominatim.example.org/search?")
    assert transport.query()["format"] == "jsonv2" and "nuanxin" in headers["User-Agent"]
    if precision == "road":
        assert (r.lon, r.lat, r.district) == (116.3405678, 39.8945123, "西城区")


def test_answers_are_cached_in_memory():
    transport = Recorded("amap_ok.json")
    amap = AmapGeocoder("k", transport=transport)
    results = amap.geocode_many(["广外", "广外", "广外"], progress=False)
    assert len(transport.requests) == 1 and len({r.lon for r in results}) == 1


@pytest.mark.parametrize("body", [b"<html>502</html>", b"\xff\xfe"])
def test_garbage_responses_are_geocoding_errors(body):
    amap = AmapGeocoder("k", transport=lambda url, headers=None, timeout=None: body)
    with pytest.raises(GeocodingError, match="JSON"):
        amap.geocode("x")


# -- configuration ---------------------------------------------------------------------------------
def test_offline_is_the_default():
    assert isinstance(geocoder_from_env(env={}), Geocoder)
    assert isinstance(geocoder_from_env(env={"NUANXIN_GEOCODER": "offline",
                                             "NUANXIN_AMAP_KEY": "k"}), Geocoder)


def test_keys_alone_do_not_switch_online_geocoding_on():
    assert isinstance(geocoder_from_env(env={"NUANXIN_AMAP_KEY": "k"}), Geocoder)


def test_a_configured_chain_ends_with_offline():
    chain = geocoder_from_env(env={"NUANXIN_GEOCODER": "tianditu,amap",
                                   "NUANXIN_TIANDITU_KEY": "t", "NUANXIN_AMAP_KEY": "a"})
    assert isinstance(chain, ChainGeocoder)
    assert [g.name for g in chain.geocoders] == ["tianditu", "amap", "offline"]


@pytest.mark.parametrize("env, match", [
    ({"NUANXIN_GEOCODER": "amap"}, "NUANXIN_AMAP_KEY"),
    ({"NUANXIN_GEOCODER": "baidu"}, "NUANXIN_BAIDU_AK"),
    ({"NUANXIN_GEOCODER": "nominatim"}, "NUANXIN_NOMINATIM_URL"),
    ({"NUANXIN_GEOCODER": "google"}, "unknown geocoder"),
])
def test_misconfiguration_is_named(env, match):
    with pytest.raises(GeocodingError, match=match):
        geocoder_from_env(env=env)


def test_chain_falls_back_to_offline_when_the_service_is_down():
    chain = geocoder_from_env(env={"NUANXIN_GEOCODER": "amap", "NUANXIN_AMAP_KEY": "k"},
                              transport=failing_transport)
    r = chain.geocode("西城区广外红莲南里")
    assert (r.source, r.precision) == ("offline", "community")
    assert chain.errors and chain.errors[0].startswith("amap:")


def test_chain_prefers_a_precise_online_answer_and_keeps_the_finest():
    online = geocoder_from_env(env={"NUANXIN_GEOCODER": "tianditu", "NUANXIN_TIANDITU_KEY": "t"},
                               transport=Recorded("tianditu_ok.json"))
    assert online.geocode("西城区广外").source == "tianditu"  # exact beats the offline street
    coarse = geocoder_from_env(env={"NUANXIN_GEOCODER": "baidu", "NUANXIN_BAIDU_AK": "b"},
                               transport=Recorded("baidu_imprecise.json"))
    r = coarse.geocode("西城区广外红莲南里")  # Baidu says district, offline finds the community
    assert (r.source, r.precision) == ("offline", "community")


def test_chain_returns_none_when_nobody_knows():
    chain = ChainGeocoder([AmapGeocoder("k", transport=Recorded("amap_none.json"))])
    assert chain.geocode("火星基地").precision == "none"
    assert isinstance(chain.geocode_many(["a"], progress=False)[0], GeocodeResult)


# -- the real urllib transport, against a local server (no outside network) ----------------------
def test_urllib_transport_speaks_http_to_a_local_server():
    body = (FIXTURES / "amap_ok.json").read_bytes()
    seen = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            seen["path"], seen["agent"] = self.path, self.headers.get("User-Agent")
            status = 200 if self.path.startswith("/v3/") else 500
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body if status == 200 else b"{}")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        amap = AmapGeocoder("k")
        amap.URL = f"{base}/v3/geocode/geo"
        r = amap.geocode("北京市西城区广安门外街道办事处")
        assert r.precision == "poi" and "address=" in seen["path"]
        assert "nuanxin" in seen["agent"]
        with pytest.raises(GeocodingError, match="HTTP 500"):
            urllib_transport(f"{base}/broken")
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(GeocodingError, match="cannot reach"):
        urllib_transport(f"{base}/v3/", timeout=1)
