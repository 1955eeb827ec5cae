"""Optional online geocoders behind the offline geocoder's interface.

Adapters for Amap (高德 Web 服务 ``/v3/geocode/geo``, GCJ-02), Tianditu (天地图 ``/geocoder``,
CGCS2000 ≈ WGS84), Baidu (百度 ``/geocoding/v3/``, BD-09) and Nominatim (OSM ``/search``,
WGS84). Every answer is converted to WGS84 and mapped onto the same precision scale as the
offline geocoder (``exact`` ... ``none``); a level the mapping does not know is reported as
``city`` (claim less rather than more).

They are used **only when configured** through the environment:

========================  ============================================================
``NUANXIN_GEOCODER``      chain, e.g. ``amap`` or ``tianditu,amap`` (``offline`` is always
                          appended as the fallback; unset or ``offline`` = offline only)
``NUANXIN_AMAP_KEY``      Amap Web service key
``NUANXIN_TIANDITU_KEY``  Tianditu key (``tk``)
``NUANXIN_BAIDU_AK``      Baidu ``ak``
``NUANXIN_NOMINATIM_URL`` base URL of a Nominatim server you may use (no default: respect
                          the public server's usage policy)
========================  ============================================================

HTTP goes through ``urllib`` via an injectable ``transport(url, *, headers, timeout) -> bytes``
so tests replay recorded responses and never touch the network. In a chain an adapter that
fails (network, quota, bad key) or finds nothing hands over to the next one; the offline
geocoder answers last.
"""

from __future__ import annotations

import abc
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence

from geodata.crs.datums import convert
from geodata.errors import GeocodingError
from geodata.places.geocoding import PRECISIONS, Geocoder, GeocodeResult
from stations import settings

__all__ = [
    "Transport",
    "urllib_transport",
    "OnlineGeocoder",
    "AmapGeocoder",
    "TiandituGeocoder",
    "BaiduGeocoder",
    "NominatimGeocoder",
    "ChainGeocoder",
    "ADAPTERS",
    "geocoder_from_env",
]

Transport = Callable[..., bytes]
_USER_AGENT = "nuanxin/0.1 (Nuanxin rest stations for outdoor workers)"


def urllib_transport(url: str, *, headers: Mapping[str, str] | None = None,
                     timeout: float = 10.0) -> bytes:
    """GET ``url`` with urllib and return the body (raises GeocodingError on failure)."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.read()
    except urllib.error.HTTPError as exc:
        raise GeocodingError(f"地理编码服务返回 HTTP {exc.code} (geocoding service error)") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise GeocodingError(f"无法连接地理编码服务 (cannot reach the geocoding service): "
                             f"{getattr(exc, 'reason', exc)}") from exc


def _level(level: str, table: Sequence[tuple[str, str]]) -> str:
    """Map a provider's level text to our precision with ordered substring rules."""
    text = str(level or "").strip()
    for needle, precision in table:
        if needle and needle in text:
            return precision
    return "city"


class OnlineGeocoder(abc.ABC):
    """Base of the adapters: HTTP, JSON, memory cache, batch with progress bar.

    Parameters
    ----------
    transport : callable, optional
        ``transport(url, *, headers, timeout) -> bytes``; defaults to :func:`urllib_transport`.
    timeout : float
        Seconds per request.
    """

    name = "online"
    datum = "wgs84"

    def __init__(self, *, transport: Transport | None = None, timeout: float = 10.0):
        self.transport = transport or urllib_transport
        self.timeout = timeout
        self._memory: dict[str, GeocodeResult] = {}

    @abc.abstractmethod
    def _request(self, address: str) -> tuple[str, dict]:
        """The request URL and headers for one address."""

    @abc.abstractmethod
    def _parse(self, query: str, payload) -> GeocodeResult:
        """The service's decoded JSON answer → a WGS84 :class:`GeocodeResult`."""

    def geocode(self, address: str) -> GeocodeResult:
        """Geocode one address through the service (raises GeocodingError on failure)."""
        address = str(address)
        if address in self._memory:
            cached = self._memory[address]
            return GeocodeResult.from_dict(cached.as_dict(), query=address)
        url, headers = self._request(address)
        body = self.transport(url, headers={"User-Agent": _USER_AGENT, **headers},
                              timeout=self.timeout)
        try:
            payload = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise GeocodingError(f"{self.name}: 返回内容不是 JSON (response is not JSON)") from exc
        result = self._parse(address, payload)
        if result.precision not in PRECISIONS:  # pragma: no cover - guarded by the tables
            raise GeocodingError(f"{self.name}: bad precision {result.precision!r}")
        if result.precision == "none":
            result.lon = result.lat = None
        result = GeocodeResult.from_dict(result.as_dict(), query=address)  # 7 decimals
        self._memory[address] = result
        return result

    def geocode_many(self, addresses: Sequence[str], *, progress: bool = True
                     ) -> list[GeocodeResult]:
        """Geocode one address after another (with a progress bar on stderr)."""
        from tqdm import tqdm

        return [self.geocode(a) for a in tqdm(list(addresses), desc=f"{self.name} 地理编码",
                                             unit="条", file=sys.stderr,
                                             disable=not progress, leave=False)]

    def _result(self, query: str, lon, lat, precision: str, *, matched: str = "",
                confidence: float = 0.8, district: str = "", street: str = "") -> GeocodeResult:
        if precision == "none" or lon is None or lat is None:
            return GeocodeResult(query=query, source=self.name, matched=matched)
        wlon, wlat = convert(float(lon), float(lat), src=self.datum, dst="wgs84")
        return GeocodeResult(query=query, lon=float(wlon), lat=float(wlat), precision=precision,
                             matched=matched, confidence=round(float(confidence), 3),
                             district=district, street=street, source=self.name)


def _text(value) -> str:
    """Amap returns ``[]`` for empty fields: fold lists and None to text."""
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return "" if value is None else str(value)


class AmapGeocoder(OnlineGeocoder):
    """Amap Web service geocoding (``restapi.amap.com/v3/geocode/geo``, GCJ-02)."""

    name = "amap"
    datum = "gcj02"
    URL = "https://restapi.amap.com/v3/geocode/geo"
    LEVELS = (("门牌号", "exact"), ("单元号", "exact"), ("门址", "exact"), ("兴趣点", "poi"),
              ("公交", "poi"), ("地铁", "poi"), ("道路", "road"), ("村庄", "community"),
              ("热点商圈", "community"), ("乡镇", "street"), ("开发区", "district"),
              ("区县", "district"), ("市", "city"), ("省", "city"), ("国家", "none"),
              ("未知", "none"))

    def __init__(self, key: str, *, city: str = "北京", **kwargs):
        super().__init__(**kwargs)
        if not key:
            raise GeocodingError("高德地理编码需要密钥 (Amap needs a key: set NUANXIN_AMAP_KEY)")
        self.key, self.city = key, city

    def _request(self, address):
        query = urllib.parse.urlencode({"key": self.key, "address": address, "city": self.city,
                                        "output": "JSON"})
        return f"{self.URL}?{query}", {}

    def _parse(self, query, payload):
        if str(payload.get("status")) != "1":
            raise GeocodingError(f"高德地理编码失败 (Amap error): {payload.get('info')} "
                                 f"({payload.get('infocode')})")
        items = payload.get("geocodes") or []
        if not items:
            return self._result(query, None, None, "none")
        item = items[0]
        lon, lat = (float(v) for v in str(item["location"]).split(","))
        precision = _level(item.get("level", ""), self.LEVELS)
        return self._result(query, lon, lat, precision,
                            matched=_text(item.get("formatted_address")), confidence=0.8,
                            district=_text(item.get("district")),
                            street=_text(item.get("township")))


class TiandituGeocoder(OnlineGeocoder):
    """Tianditu geocoding (``api.tianditu.gov.cn/geocoder``, CGCS2000 ≈ WGS84)."""

    name = "tianditu"
    datum = "wgs84"
    URL = "https://api.tianditu.gov.cn/geocoder"
    LEVELS = (("门址", "exact"), ("门牌", "exact"), ("兴趣点", "poi"), ("POI", "poi"),
              ("道路", "road"), ("交叉", "road"), ("村", "community"), ("社区", "community"),
              ("乡镇", "street"), ("街道", "street"), ("区县", "district"), ("市", "city"),
              ("省", "city"))

    def __init__(self, key: str, **kwargs):
        super().__init__(**kwargs)
        if not key:
            raise GeocodingError("天地图地理编码需要密钥 (Tianditu needs a key: set "
                                 "NUANXIN_TIANDITU_KEY)")
        self.key = key

    def _request(self, address):
        ds = json.dumps({"keyWord": address}, ensure_ascii=False)
        return f"{self.URL}?{urllib.parse.urlencode({'ds': ds, 'tk': self.key})}", {}

    def _parse(self, query, payload):
        if str(payload.get("status")) != "0":
            message = str(payload.get("msg", ""))
            if "无结果" in message or "没有" in message:
                return self._result(query, None, None, "none")
            raise GeocodingError(f"天地图地理编码失败 (Tianditu error): {message}")
        loc = payload.get("location") or {}
        if loc.get("lon") in (None, "") or loc.get("lat") in (None, ""):
            return self._result(query, None, None, "none")
        score = float(loc.get("score", 80) or 80)
        return self._result(query, loc["lon"], loc["lat"], _level(loc.get("level"), self.LEVELS),
                            matched=str(loc.get("keyWord", "")), confidence=score / 100)


class BaiduGeocoder(OnlineGeocoder):
    """Baidu geocoding v3 (``api.map.baidu.com/geocoding/v3/``, BD-09)."""

    name = "baidu"
    datum = "bd09"
    URL = "https://api.map.baidu.com/geocoding/v3/"
    LEVELS = (("门址", "exact"), ("道路", "road"), ("交叉路口", "road"), ("桥", "road"),
              ("村庄", "community"), ("商圈", "community"), ("乡镇", "street"),
              ("区县", "district"), ("城市", "city"), ("省份", "city"), ("国家", "none"),
              ("UNKNOWN", "none"), ("地产小区", "poi"), ("商务大厦", "poi"), ("政府机构", "poi"),
              ("生活服务", "poi"), ("休闲娱乐", "poi"), ("餐饮", "poi"), ("宾馆", "poi"),
              ("购物", "poi"), ("金融", "poi"), ("教育", "poi"), ("医疗", "poi"),
              ("工业园区", "poi"), ("旅游景点", "poi"), ("汽车服务", "poi"), ("火车站", "poi"),
              ("长途汽车站", "poi"), ("公交", "poi"), ("地铁", "poi"), ("加油站", "poi"),
              ("停车", "poi"), ("机场", "poi"), ("绿地", "poi"), ("港口", "poi"))

    def __init__(self, ak: str, *, city: str = "北京市", **kwargs):
        super().__init__(**kwargs)
        if not ak:
            raise GeocodingError("百度地理编码需要 ak (Baidu needs an ak: set NUANXIN_BAIDU_AK)")
        self.ak, self.city = ak, city

    def _request(self, address):
        query = urllib.parse.urlencode({"address": address, "city": self.city, "output": "json",
                                        "ak": self.ak})
        return f"{self.URL}?{query}", {}

    def _parse(self, query, payload):
        status = int(payload.get("status", -1))
        if status != 0:
            message = str(payload.get("msg") or payload.get("message") or "")
            if "无相关结果" in message:
                return self._result(query, None, None, "none")
            raise GeocodingError(f"百度地理编码失败 (Baidu error {status}): {message}")
        result = payload.get("result") or {}
        loc = result.get("location") or {}
        precision = _level(result.get("level", ""), self.LEVELS)
        if precision == "exact" and not result.get("precise"):
            precision = "poi"  # Baidu says the point is not precise
        return self._result(query, loc.get("lng"), loc.get("lat"), precision,
                            confidence=float(result.get("confidence", 50)) / 100)


class NominatimGeocoder(OnlineGeocoder):
    """Nominatim ``/search`` (OpenStreetMap, WGS84) on a server you are allowed to use."""

    name = "nominatim"
    datum = "wgs84"
    _POI_CATEGORIES = {"amenity", "shop", "tourism", "office", "building", "leisure", "railway",
                       "public_transport", "craft", "healthcare", "man_made", "historic"}

    def __init__(self, url: str, *, user_agent: str = _USER_AGENT, **kwargs):
        super().__init__(**kwargs)
        if not url:
            raise GeocodingError("Nominatim 需要服务地址 (set NUANXIN_NOMINATIM_URL)")
        self.url = url.rstrip("/")
        self.user_agent = user_agent

    def _request(self, address):
        query = urllib.parse.urlencode({"q": address, "format": "jsonv2", "addressdetails": 1,
                                        "limit": 1, "countrycodes": "cn",
                                        "accept-language": "zh-CN"})
        return f"{self.url}/search?{query}", {"User-Agent": self.user_agent}

    def _parse(self, query, payload):
        if isinstance(payload, dict) and payload.get("error"):
            raise GeocodingError(f"Nominatim error: {payload['error']}")
        if not payload:
            return self._result(query, None, None, "none")
        item = payload[0]
        rank = int(item.get("place_rank", 0))
        address = item.get("address") or {}
        category = item.get("category") or item.get("class") or ""
        if address.get("house_number"):
            precision = "exact"
        elif category in self._POI_CATEGORIES and rank >= 28:
            precision = "poi"
        elif rank >= 26 or category == "highway":
            precision = "road"
        elif rank >= 20:
            precision = "community"
        elif rank >= 16:
            precision = "street"
        elif rank >= 12:
            precision = "district"
        elif rank >= 4:
            precision = "city"
        else:
            precision = "none"
        return self._result(query, item.get("lon"), item.get("lat"), precision,
                            matched=str(item.get("display_name", "")),
                            confidence=min(0.95, 0.5 + float(item.get("importance") or 0) / 2),
                            district=str(address.get("city_district") or address.get("district")
                                         or address.get("county") or ""),
                            street=str(address.get("suburb") or address.get("town") or ""))


class ChainGeocoder:
    """Try geocoders in order and keep the finest answer.

    The chain stops at the first answer at ``community`` precision or finer; otherwise every
    geocoder is asked and the finest answer wins (ties: the earlier geocoder). An adapter that
    raises :class:`GeocodingError` (network, quota, key) is skipped and its error kept in
    :attr:`errors`.
    """

    name = "chain"
    _GOOD_ENOUGH = PRECISIONS.index("community")

    def __init__(self, geocoders: Sequence):
        if not geocoders:
            raise GeocodingError("地理编码链为空 (empty geocoder chain)")
        self.geocoders = list(geocoders)
        self.errors: list[str] = []

    def geocode(self, address: str) -> GeocodeResult:
        """The finest answer along the chain (``none`` when nobody finds the address)."""
        best = GeocodeResult(query=str(address))
        for geocoder in self.geocoders:
            try:
                result = geocoder.geocode(address)
            except GeocodingError as exc:
                self.errors.append(f"{geocoder.name}: {exc.message}")
                continue
            rank = PRECISIONS.index(result.precision)
            if rank < PRECISIONS.index(best.precision):
                best = result
            if rank <= self._GOOD_ENOUGH:
                break
        return best

    def geocode_many(self, addresses: Sequence[str], *, progress: bool = True
                     ) -> list[GeocodeResult]:
        """Geocode each address along the chain (progress bar on stderr)."""
        from tqdm import tqdm

        return [self.geocode(a) for a in tqdm(list(addresses), desc="地理编码 geocoding",
                                             unit="条", file=sys.stderr,
                                             disable=not progress, leave=False)]


#: Adapter name → (class, environment variable holding its key or URL).
ADAPTERS: dict[str, tuple[type[OnlineGeocoder], str]] = {
    "amap": (AmapGeocoder, "NUANXIN_AMAP_KEY"),
    "tianditu": (TiandituGeocoder, "NUANXIN_TIANDITU_KEY"),
    "baidu": (BaiduGeocoder, "NUANXIN_BAIDU_AK"),
    "nominatim": (NominatimGeocoder, "NUANXIN_NOMINATIM_URL"),
}


def geocoder_from_env(store=None, *, env: Mapping[str, str] | None = None,
                      transport: Transport | None = None):
    """The geocoder the environment asks for (offline unless ``NUANXIN_GEOCODER`` says more).

    Raises
    ------
    GeocodingError
        An unknown adapter name, or a named adapter without its key/URL variable.
    """
    names = [n.strip().lower() for n in str(settings.get("GEOCODER", env)).replace(
        "|", ",").split(",") if n.strip()]
    offline = Geocoder(store)
    chain = []
    for name in names:
        if name == "offline":
            continue
        if name not in ADAPTERS:
            raise GeocodingError(f"未知地理编码服务 {name!r} (unknown geocoder in "
                                 f"NUANXIN_GEOCODER); use offline, {', '.join(ADAPTERS)}")
        cls, variable = ADAPTERS[name]
        value = str(settings.get(variable.removeprefix(settings.PREFIX), env) or "").strip()
        if not value:
            raise GeocodingError(f"已选择 {name} 但未设置 {variable} (NUANXIN_GEOCODER names "
                                 f"{name} but {variable} is empty)")
        chain.append(cls(value, transport=transport))
    if not chain:
        return offline
    return ChainGeocoder([*chain, offline])
