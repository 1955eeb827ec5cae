"""Offline geocoding of Chinese addresses against the shipped Beijing gazetteer and the store.

The gazetteer is built from the shipped WGS84 files in ``geodata/data/beijing/``
(``districts.geojson``, ``streets.csv`` with short names and pinyin, ``communities.csv``) plus
every station and every precisely located candidate already in the store (POIs). An address
is folded (NFKC, so full-width digits work), split by
:func:`geodata.places.addresses.parse_address`,
and scanned for every known name form: ``广安门外街道`` / ``广安门外街道办事处`` / ``广安门外`` /
``广外`` (abbreviation of ``X门外``/``X门内`` names) / ``guanganmenwai`` (pinyin);
``鸭子桥社区居委会`` / ``鸭子桥社区`` / ``鸭子桥``; ``西城区`` / ``西城`` / old names ``宣武区``.
Names not found verbatim are matched fuzzily (rapidfuzz) within the district or street already
recognised, which catches typos (``红连南里``) without matching across the city.

Precision and honesty
---------------------
Each answer says how precise it is: ``exact`` (the address equals the address of a precisely
located store POI and has a house number), ``poi`` (the address names a store station or
candidate), ``community``, ``street``, ``district``, ``city`` or ``none``. It never invents a
precise point: an address resolving only to a street gets the street office's point and says
``street``; a community without a point in the data gets its street's point and says
``street``. There is no road or house-number gazetteer shipped, but the geocoder **learns
roads** (:mod:`geodata.places.roads`): every address the store holds at a trusted point (sheet
coordinates, a visit's or a dragged pin, every station) teaches it its road and house number,
and an address on such a road between two known numbers is placed by interpolation with
precision ``road`` (never better). :meth:`Geocoder.teach` adds addresses not yet in the store
(the other rows of a sheet being imported). ``exact`` beyond store POIs only comes from the
online adapters (:mod:`geodata.places.online`).

``朝阳区`` and the other district names are Beijing's unless the address names another
province or city (``吉林省长春市朝阳区`` → ``none``): the offline gazetteer covers Beijing only.

Caching: answers are kept in memory and, in :meth:`Geocoder.geocode_many` with a store, in the
``geocode_cache`` table, keyed by the folded address and a signature of the gazetteer files and
the store's station/candidate versions (a new station makes old answers stale).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

from rapidfuzz import fuzz, process

from geodata.errors import GeodataError
from geodata.places.addresses import ROAD_SUFFIX, normalise_text, parse_address, strip_admin_suffix
from geodata.places.gazetteer import (
    DEFAULT_DATA_DIR,
    FORM_CONFIDENCE,
    LEVELS,
    Gazetteer,
    Place,
    build_lexicon,
    load_gazetteer,
    scan_terms,
)
from geodata.places.roads import RoadBook
from stations import geocode_cache, settings

__all__ = [
    "PRECISIONS",
    "DEFAULT_DATA_DIR",
    "GeocodeResult",
    "Geocoder",
    "Gazetteer",
    "load_gazetteer",
    "normalise_text",
]

PRECISIONS = ("exact", "poi", "road", "community", "street", "district", "city", "none")

_PREFIX_RE = re.compile(r"^(?:中国|中华人民共和国)?(?:北京市?)(?:市辖区)?")
_HOUSE_NO_RE = re.compile(r"^\d+(?:-\d+)?号(?!楼|院)")
_SEGMENT_RE = re.compile(r"^[\u4e00-\u9fff]{2,10}")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_COMMUNITY_MARKERS = ("社区", "居委会", "村委会", "村民委员会", "村", "小区")
_ROADLIKE_END = frozenset("道街路巷同桥口")
_PINYIN_SUFFIX = r"(?:jiedao|diqu|zhen|xiang|qu|street|subdistrict|town|district)?"
#: What a station's name adds to its host's name (北京宝林轩国际大酒店暖心驿站 → the hotel).
_STATION_SUFFIX = re.compile(r"(?:职工)?(?:暖心驿站|工会驿站|爱心驿站|驿站|户外劳动者服务站点?)$")


@dataclass
class GeocodeResult:
    """One geocoding answer; ``lon``/``lat`` are WGS84 and ``None`` when ``precision`` is none."""

    query: str
    lon: float | None = None
    lat: float | None = None
    precision: str = "none"
    matched: str = ""
    confidence: float = 0.0
    district: str = ""
    district_code: str = ""
    street: str = ""
    street_code: str = ""
    community: str = ""
    source: str = "offline"

    def as_dict(self) -> dict:
        """JSON form (INTERFACE.md keys first: query, lon, lat, precision, matched, confidence)."""
        lon = None if self.lon is None else round(self.lon, 7)
        lat = None if self.lat is None else round(self.lat, 7)
        return {"query": self.query, "lon": lon, "lat": lat, "precision": self.precision,
                "matched": self.matched, "confidence": round(float(self.confidence), 3),
                "district": self.district, "district_code": self.district_code,
                "street": self.street, "street_code": self.street_code,
                "community": self.community, "source": self.source}

    @classmethod
    def from_dict(cls, data: dict, *, query: str | None = None) -> GeocodeResult:
        """Rebuild from :meth:`as_dict` output (e.g. the cache)."""
        known = {k: data[k] for k in _RESULT_FIELDS if k in data}
        if query is not None:
            known["query"] = query
        return cls(**known)


# -- the geocoder ----------------------------------------------------------------------------------
_RESULT_FIELDS = tuple(f.name for f in fields(GeocodeResult))


@dataclass
class _Hits:
    """Name forms found in one address: ``(place, confidence, position)`` per level, and where
    the administrative names (district, street) end."""

    admin_start: int = 0
    admin_end: int = 0
    districts: list = field(default_factory=list)
    streets: list = field(default_factory=list)
    communities: list = field(default_factory=list)

    def add_district(self, place: Place, kind: str, start: int, end: int, after: str) -> None:
        if kind == "short" and start != self.admin_start and not after.startswith("区"):
            return  # 西城 inside another word is not the district
        if not self.districts:
            self.admin_end = max(self.admin_end, end)
        self.districts.append((place, FORM_CONFIDENCE[kind], start))

    def add_street(self, place: Place, kind: str, start: int, end: int, after: str) -> None:
        if kind in ("short", "abbr") and (ROAD_SUFFIX.match(after) or (
                after[:1] in ("内", "外") and ROAD_SUFFIX.match(after[1:]))):
            return  # 广安门外大街, 朝阳门外大街 are roads, not street offices
        if not any(p.code == place.code for p, _, _ in self.streets):
            self.admin_end = max(self.admin_end, end)  # not for 玉桥 of 玉桥街道玉桥东里
        self.streets.append((place, FORM_CONFIDENCE[kind], start))

    def add_community(self, place: Place, kind: str, start: int, end: int, *, term: str,
                      after: str, bounded: bool, token: tuple[int, int] | None) -> None:
        conf = FORM_CONFIDENCE[kind]
        if kind == "short":
            if ROAD_SUFFIX.match(after) or not bounded:
                return  # 鸭子桥路 is a road; 北里 inside 左家庄北里 is not 北里社区
            if token is not None and token[0] <= start and end <= token[1] and \
                    (end - start) < token[1] - token[0]:
                return  # part of a longer name marked 社区 (北关 of 北关偟路社区)
            if _HOUSE_NO_RE.match(after) and term[-1] in _ROADLIKE_END:
                conf = 0.6  # 马连道12号: the community's name used as a road
        self.communities.append((place, conf, start))


@dataclass
class _Found:
    """The places an address resolved to, each with its confidence (``None``/0 when none)."""

    district: Place | None
    d_conf: float
    street: Place | None
    s_conf: float
    community: Place | None
    c_conf: float



class Geocoder:
    """The offline geocoder (see the module docstring).

    Parameters
    ----------
    store : stations.store.Store, optional
        Adds its stations and precisely located candidates as POIs and enables the
        ``geocode_cache`` table in :meth:`geocode_many`.
    gazetteer : Gazetteer, optional
        Defaults to :func:`load_gazetteer` of ``data_dir``.
    data_dir : path, optional
        Folder of the gazetteer files (default ``geodata/data/beijing``).
    cache : bool, default True
        Keep answers in memory (and in the store's cache table in batches).
    """

    name = "offline"

    def __init__(self, store=None, *, gazetteer: Gazetteer | None = None,
                 data_dir: str | Path | None = None, cache: bool = True):
        self.store = store
        self.gazetteer = gazetteer or load_gazetteer(data_dir)
        self.use_cache = cache
        self._memory: dict[str, dict] = {}
        self._pois: list[Place] = []
        self._poi_terms: dict[str, list[tuple[Place, str]]] = {}
        self._poi_prefix: dict[str, list[str]] = {}
        self._poi_addresses: dict[str, Place] = {}
        self._versions: tuple[int, int] = (-1, -1)
        self._checked = 0.0
        self.roads = RoadBook(gazetteer=self.gazetteer)
        self._taught: list[tuple] = []
        self._refresh(force=True)

    # .. store POIs ..
    @property
    def signature(self) -> str:
        """Cache key part: gazetteer data and store versions."""
        return (f"{self.name}/{self.gazetteer.signature}/{self._versions[0]}."
                f"{self._versions[1]}/{len(self._taught)}")

    def teach(self, address: str, lon: float, lat: float, *, district: str = "",
              street: str = "") -> bool:
        """Learn a trusted address not (yet) in the store: its road and house number at this
        WGS84 point (kept across store refreshes). False when it names no road + number."""
        learnt = self.roads.learn(address, lon, lat, district=district, street=street,
                                  source="taught")
        if learnt:
            self._taught.append((address, lon, lat, district, street))
            self._memory.clear()
        return learnt

    def _refresh(self, *, force: bool = False) -> None:
        if self.store is None:
            self._versions = (0, 0)
            return
        now = time.monotonic()
        if not force and now - self._checked < 1.0:
            return
        self._checked = now
        versions = (self.store.version("stations_version"),
                    self.store.version("candidates_version"))
        if versions == self._versions and not force:
            return
        self._versions = versions
        self._memory.clear()
        self._load_pois()

    def _load_pois(self) -> None:
        from stations.candidates import list_candidates

        try:
            stations = self.store.list_stations()
            candidates = [c for c in list_candidates(self.store) if c.precisely_located]
        except Exception as exc:  # tables missing: the store was never initialised
            from stations.errors import StoreError

            raise StoreError(f"无法读取站点用于地理编码 (cannot read the store): {exc}") from exc
        area_terms = self.gazetteer.terms
        pois = []
        district_codes: dict[str, str] = {}
        for kind, rows in (("station", stations), ("candidate", candidates)):
            for r in rows:
                if r.district not in district_codes:
                    district_codes[r.district] = _district_code(self.gazetteer, r.district)
                place = Place("poi", r.name, f"{kind}:{r.id}", r.lon, r.lat, r.district,
                              district_codes[r.district], r.street, "", r.address)
                name = normalise_text(r.name)
                for form in dict.fromkeys((name, _STATION_SUFFIX.sub("", name))):
                    if len(form) >= 4 and form not in area_terms:
                        place.forms.append((form, "full"))
                pois.append(place)
        self._pois = pois
        self._learn_roads(stations, candidates)
        self._poi_terms, self._poi_prefix = build_lexicon(pois)
        self._poi_addresses = {}
        for place in pois:
            key = _address_key(place.address)
            if key and re.search(r"\d", key):
                self._poi_addresses.setdefault(key, place)

    def _learn_roads(self, stations, candidates) -> None:
        """The road book from every station and every candidate at a trusted point (sheet
        coordinates, visit or dragged pin), plus what :meth:`teach` was told."""
        from stations.candidates import LOCATION_SOURCES

        trusted = set(LOCATION_SOURCES) - {"geocoder"}
        book = RoadBook(gazetteer=self.gazetteer)
        for r in stations:
            book.learn(r.address, r.lon, r.lat, district=r.district, street=r.street,
                       source="station")
        for c in candidates:
            if c.location_source in trusted:
                book.learn(c.address, c.lon, c.lat, district=c.district, street=c.street,
                           source=c.location_source)
        for address, lon, lat, district, street in self._taught:
            book.learn(address, lon, lat, district=district, street=street, source="taught")
        self.roads = book

    def _road_answer(self, query: str, q: str, district: Place | None) -> GeocodeResult | None:
        """A learnt road's point for the address (precision ``road``), or None."""
        found = self.roads.locate(q, district=district.name if district is not None else "")
        if found is None:
            return None
        g = self.gazetteer
        if not found.street or not found.district:  # neighbours without names: the point's
            from geodata.places.assign import area_at

            area = area_at(found.lon, found.lat)
            found.district = found.district or area.district
            found.street = found.street or area.street
        street = _place_or_none(g, found.street, found.district)
        return GeocodeResult(
            query=query, lon=found.lon, lat=found.lat, precision="road", matched=found.matched,
            confidence=0.8, district=found.district,
            district_code=_district_code(g, found.district) if found.district else "",
            street=found.street, street_code=street.code if street is not None else "",
            source=self.name)

    # .. single answers ..
    def geocode(self, address: str) -> GeocodeResult:
        """Geocode one address (see the module docstring for precision rules)."""
        self._refresh()
        q = normalise_text(address)
        if self.use_cache and q in self._memory:
            return GeocodeResult.from_dict(self._memory[q], query=str(address))
        data = self._geocode(q, str(address)).as_dict()
        if self.use_cache:
            self._memory[q] = data
        return GeocodeResult.from_dict(data)

    def _geocode(self, q: str, query: str) -> GeocodeResult:
        if not q:
            return GeocodeResult(query=query)
        parts = parse_address(q)
        if parts.in_beijing is False:  # another province or city: outside the gazetteer
            return GeocodeResult(query=query, matched="")
        exact = self._poi_addresses.get(_address_key(q))
        if exact is not None and exact.has_point:
            return self._answer(query, exact, "exact", 0.95)
        token = _community_token(q, parts)
        hits = self._scan(q, token)
        if not hits.districts and not hits.streets and not hits.communities:
            self._pinyin_hits(q, hits.districts, hits.streets)
        return self._best_answer(query, q, parts, self._resolve(q, parts, hits, token))

    def _scan(self, q: str, token: tuple[int, int] | None) -> _Hits:
        """Every district, street and community name form in ``q`` that reads as one."""
        g = self.gazetteer
        prefix = _PREFIX_RE.match(q)
        hits = _Hits(admin_start=prefix.end() if prefix else 0)
        hits.admin_end = hits.admin_start
        boundaries = {0, hits.admin_start}
        for start, end, term in g.scan(q):
            after = q[end:end + 4]
            bounded = start in boundaries or not _CJK_RE.match(q[start - 1])
            boundaries.add(end)
            for place, kind in _one_level(g.terms[term], hits.districts, hits.streets, after):
                if place.kind == "district":
                    hits.add_district(place, kind, start, end, after)
                elif place.kind == "street":
                    hits.add_street(place, kind, start, end, after)
                else:
                    hits.add_community(place, kind, start, end, term=term, after=after,
                                       bounded=bounded, token=token)
        return hits

    def _resolve(self, q: str, parts, hits: _Hits, token: tuple[int, int] | None) -> _Found:
        """The district, street and community the hits (and the parsed parts) point to."""
        g = self.gazetteer
        district, d_conf = _pick_district(hits.districts)
        if district is None and parts.district:
            district, d_conf = self._fuzzy_district(parts.district)
        street, s_conf = self._pick_street(hits.streets, district, parts.street)
        if district is None and street is not None:
            district, d_conf = g.district_by_code.get(street.district_code), s_conf
        # the name marked 社区/居委会, without the admin names before it
        marked = q[max(token[0], hits.admin_end):token[1]] if token is not None else ""
        community, c_conf = self._pick_community(hits.communities, district, street,
                                                 q[hits.admin_end:], marked)
        if community is not None and street is None:
            street = g.street_by_code.get(community.street_code)
            s_conf = c_conf
        if community is not None and district is None:
            district, d_conf = g.district_by_code.get(community.district_code), c_conf
        return _Found(district, d_conf, street, s_conf, community, c_conf)

    def _best_answer(self, query: str, q: str, parts, found: _Found) -> GeocodeResult:
        """The most precise answer with a point: store POI, community, street, district,
        city."""
        district, street, community = found.district, found.street, found.community
        poi = self._pick_poi(q, district, street)
        if poi is not None:
            return self._answer(query, poi, "poi", 0.9)
        road = self._road_answer(query, q, district)
        if road is not None:
            return road
        if community is not None and community.has_point:
            return self._answer(query, community, "community", found.c_conf)
        if street is not None and street.has_point:
            if community is None:
                return self._answer(query, street, "street", found.s_conf)
            return self._answer(query, street, "street", min(found.s_conf, found.c_conf),
                                extra=community.name)
        if district is not None and district.has_point:
            return self._answer(query, district, "district", found.d_conf)
        if parts.in_beijing:
            return self._answer(query, self.gazetteer.city, "city", 0.9)
        return GeocodeResult(query=query)

    def _pinyin_hits(self, q: str, districts: list, streets: list) -> None:
        letters = re.sub(r"[^a-z]", "", q)
        if len(letters) < 4:
            return
        taken: list[tuple[int, int]] = []
        for term, place in self.gazetteer.pinyin:
            if len(term) < 6:  # short pinyin (xiji) only as the whole text (+ jiedao/zhen...)
                at = 0 if re.fullmatch(term + _PINYIN_SUFFIX, letters) else -1
            else:
                at = letters.find(term)
            if at < 0 or any(a < at + len(term) and at < b for a, b in taken):
                continue
            taken.append((at, at + len(term)))
            target = districts if place.kind == "district" else streets
            target.append((place, FORM_CONFIDENCE["pinyin"], at))

    def _fuzzy_district(self, text: str) -> tuple[Place | None, float]:
        names = [d.name for d in self.gazetteer.districts]
        best = process.extractOne(text, names, scorer=fuzz.ratio, score_cutoff=66)
        if best is None:
            return None, 0.0
        return self.gazetteer.districts[best[2]], 0.85 * best[1] / 100

    def _pick_street(self, streets, district, parsed_street):
        if district is not None:  # a street of another district contradicts the address
            streets = [s for s in streets if s[0].district_code == district.code]
        codes = {p.code for p, _, _ in streets}
        if len(codes) == 1:
            best = max(streets, key=lambda s: s[1])
            return best[0], best[1]
        if len(codes) > 1:  # ambiguous (same short name in two districts, or two streets named)
            first = min(streets, key=lambda s: s[2])
            same = [s for s in streets if s[0].code == first[0].code]
            others = {s[0].district_code for s in streets}
            if len(others) == 1:
                return first[0], max(s[1] for s in same) * 0.8
            return None, 0.0
        if parsed_street:  # a 街道/地区/镇 name not found verbatim: a typo?
            core = strip_admin_suffix(parsed_street)
            names, places = self.gazetteer.street_choices(
                district_code=district.code if district is not None else "")
            best = process.extractOne(core, names, scorer=fuzz.ratio, score_cutoff=70)
            if best is not None:
                return places[best[2]], 0.9 * best[1] / 100
        return None, 0.0

    def _pick_community(self, communities, district, street, rest: str, marked: str):
        if street is not None:
            scoped = [c for c in communities if c[0].street_code == street.code]
        elif district is not None:
            scoped = [c for c in communities if c[0].district_code == district.code]
        else:
            scoped = communities
        codes = {p.code for p, _, _ in scoped}
        if len(codes) == 1:
            best = max(scoped, key=lambda s: s[1])
            return best[0], best[1]
        if len(codes) > 1:
            return None, 0.0  # the same community name in several streets: claim less
        if street is None and district is None:
            return None, 0.0  # fuzzy matching across the whole city invents answers
        segment = marked or _residual_segment(rest)
        if len(segment) < 2:
            return None, 0.0
        names, places = self.gazetteer.community_choices(
            street_code=street.code if street is not None else "",
            district_code=district.code if district is not None else "")
        if not names:
            return None, 0.0
        # a name marked 社区/居委会 inside a known street may carry one wrong character in three
        cutoff = 66 if (street is not None or marked) else 75
        best = process.extract(segment, names, scorer=fuzz.ratio, score_cutoff=cutoff, limit=2)
        if not best or (len(best) == 2 and best[1][1] == best[0][1]
                        and places[best[0][2]].code != places[best[1][2]].code):
            return None, 0.0  # nothing close, or two equally close: do not guess
        return places[best[0][2]], 0.85 * best[0][1] / 100

    def _pick_poi(self, q: str, district: Place | None, street: Place | None) -> Place | None:
        if not self._poi_prefix:
            return None
        best = None
        for _, _, term in scan_terms(q, self._poi_prefix):
            for place, _kind in self._poi_terms[term]:
                if district is not None and place.district and \
                        place.district_code != district.code:
                    continue  # a store POI of another district
                if best is None or len(term) > len(best[1]):
                    best = (place, term)
        return best[0] if best is not None and best[0].has_point else None

    def _answer(self, query: str, place: Place, precision: str, confidence: float, *,
                extra: str = "") -> GeocodeResult:
        district = place.district if place.kind != "city" else ""
        street = place.street if place.kind in ("street", "community", "poi") else ""
        d_code, s_code = place.district_code, place.street_code
        if place.kind == "poi":
            matched = place.name
        else:
            names = ["北京市", district, street, place.name if place.kind == "community" else ""]
            matched = " ".join(dict.fromkeys(n for n in names if n))
            if extra:
                matched += f" （{extra}：无坐标，取街道位置）"
        return GeocodeResult(
            query=query, lon=float(place.lon), lat=float(place.lat), precision=precision,
            matched=matched, confidence=round(min(confidence, 1.0), 3), district=district,
            district_code=d_code, street=street, street_code=s_code,
            community=place.name if place.kind == "community" else extra, source=self.name)

    # .. batches ..
    def geocode_many(self, addresses: Sequence[str], *, progress: bool = True
                     ) -> list[GeocodeResult]:
        """Geocode many addresses with a progress bar (stderr) and the cache.

        With a store, answers are read from and written to the ``geocode_cache`` table (one
        transaction for the new answers).
        """
        from tqdm import tqdm

        self._refresh(force=True)
        addresses = [str(a) for a in addresses]
        stored = self._read_db_cache({normalise_text(a) for a in addresses})
        fresh: dict[str, dict] = {}
        results = []
        for address in tqdm(addresses, desc="地理编码 geocoding", unit="条", file=sys.stderr,
                            disable=not progress, leave=False):
            q = normalise_text(address)
            if q in stored and self.use_cache:
                self._memory[q] = stored[q]
            was_cached = q in self._memory
            result = self.geocode(address)
            if not was_cached and q not in stored:
                fresh[q] = result.as_dict()
            results.append(result)
        self._write_db_cache(fresh)
        return results

    def _cache_key(self, q: str) -> str:
        return f"{self.signature}|{q}"

    def _read_db_cache(self, queries: set[str]) -> dict[str, dict]:
        if self.store is None or not self.use_cache or not queries:
            return {}
        keys = {self._cache_key(q): q for q in queries}
        return {keys[k]: answer for k, answer in geocode_cache.cached_answers(
            self.store, keys).items()}

    def _write_db_cache(self, fresh: dict[str, dict]) -> None:
        if self.store is None or not self.use_cache or not fresh:
            return
        geocode_cache.cache_answers(
            self.store, {self._cache_key(q): r for q, r in fresh.items()},
            now=settings.wall_now())


def _community_token(q: str, parts) -> tuple[int, int] | None:
    """Span of the name the parser read as the community (``红莲南里`` of ``红莲南里社区``)."""
    if not parts.community:
        return None
    at = q.find(parts.community)
    core = strip_admin_suffix(parts.community)
    return None if at < 0 else (at, at + len(core))


def _one_level(entries, districts, streets, after: str):
    """Entries of one administrative level: a short name shared by a street and a community
    (六里桥) is the street the first time and the community when the street is already known
    or when the text marks it as one (六里桥社区)."""
    levels = sorted({LEVELS[p.kind] for p, _ in entries})
    if len(levels) == 1:
        return entries
    if after.startswith(_COMMUNITY_MARKERS) and LEVELS["community"] in levels:
        return [(p, k) for p, k in entries if p.kind == "community"]
    found = {0} if districts else set()
    found |= {1} if streets else set()
    open_levels = [lv for lv in levels if lv not in found]
    level = open_levels[0] if open_levels else levels[-1]
    return [(p, k) for p, k in entries if LEVELS[p.kind] == level]


def _residual_segment(rest: str) -> str:
    """The name-like text after the last district/street name (``红连南里`` of
    ``西城区广外红连南里6号楼``); empty when that text is a road (``建国路88号``)."""
    m = _SEGMENT_RE.match(rest)
    if not m:
        return ""
    text = m.group(0)
    road = ROAD_SUFFIX.search(text)
    if road:
        return ""
    return text[:8]


def _address_key(text: str) -> str:
    folded = normalise_text(text)
    folded = _PREFIX_RE.sub("", folded)
    return folded.replace("社区居委会", "社区").replace("居委会", "社区")


def _pick_district(districts) -> tuple[Place | None, float]:
    if not districts:
        return None, 0.0
    codes = {p.code for p, _, _ in districts}
    first = min(districts, key=lambda d: d[2])
    conf = max(c for p, c, _ in districts if p.code == first[0].code)
    return first[0], conf * (1.0 if len(codes) == 1 else 0.7)


def _district_code(gazetteer: Gazetteer, name: str) -> str:
    """The code of the district a store POI names (blank when the gazetteer cannot say)."""
    if not name:
        return ""
    try:
        return gazetteer.find_district(name).code
    except GeodataError:
        return ""


def _place_or_none(gazetteer: Gazetteer, street: str, district: str) -> Place | None:
    """The gazetteer's street of that name (in that district), or None."""
    if not street:
        return None
    try:
        return gazetteer.find_street(street, district=district or None)
    except GeodataError:
        return None
