"""The offline gazetteer: every Beijing district, street (街道/乡镇) and community with the ways
people write their names.

Built from the shipped WGS84 files in ``geodata/data/beijing/`` (see its README for sources,
vintages and licences): ``districts.geojson`` (name, short name, pinyin, centre point),
``streets.csv`` (name, short name, pinyin, 2016 name, street-office point) and
``communities.csv`` (name, short name, centre point or blank). Name forms:

* districts: ``西城区``, ``西城``, pinyin ``xicheng``, former names ``宣武区`` (merged 2010);
* streets: ``广安门外街道`` / ``广安门外街道办事处`` / ``广安门外地区``... (full), ``广安门外``
  (short), ``广外`` (abbreviation of ``X门外``/``X门内`` names, as Beijing says ``广外``,
  ``崇外``), ``guanganmenwai`` (pinyin), the 2016 name when it changed;
* communities: ``鸭子桥社区居委会`` / ``鸭子桥社区`` / ``鸭子桥居委会`` (full), ``鸭子桥`` (short).

Lookup by name is decided here and nowhere else: :meth:`Gazetteer.find_district`,
:meth:`Gazetteer.find_street` and :meth:`Gazetteer.find_community` accept every form above, the
statistical code (``110102``, ``110102020``, ``110102020001``; the 12-digit padded forms too)
and pinyin in any case and spacing (``xicheng``, ``Guang An Men Wai``, ``xichengqu``). They
return one :class:`Place` or raise :class:`~geodata.errors.GeodataError` naming close matches
(unknown) or the places to choose between (ambiguous); ``exc.detail`` carries the same as
``{kind, value, reason, suggestions}``. Geocoding, catalogue filters, coverage areas and
candidate sheets all resolve names through these three methods.

:meth:`Gazetteer.scan` finds every known form in a folded address by greedy longest match on a
two-character prefix index (fast: no regex over thousands of names).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from geodata import DATA_DIR as GEODATA_DIR
from geodata.errors import GeocodingError, GeodataError
from geodata.places.addresses import normalise_text, strip_admin_suffix

__all__ = [
    "DEFAULT_DATA_DIR",
    "FORM_CONFIDENCE",
    "LEVELS",
    "Place",
    "Gazetteer",
    "load_gazetteer",
    "build_lexicon",
    "scan_terms",
]

DEFAULT_DATA_DIR = GEODATA_DIR

#: Beijing's city point: 北京市 centre of vonng/adcode 110000.csv (GCJ-02 116.407394, 39.904211)
#: converted to WGS84. Used only for addresses that name nothing finer than the city.
_BEIJING_GCJ02 = (116.407394, 39.904211)
#: Former district names (merged in 2010 / made districts in 2015) → today's district.
_OLD_DISTRICTS = {"宣武区": "西城区", "崇文区": "东城区", "密云县": "密云区", "延庆县": "延庆区"}
LEVELS = {"district": 0, "street": 1, "community": 2, "poi": 3}
#: Base confidence of each way a name can be written.
FORM_CONFIDENCE = {"name": 0.97, "full": 0.95, "old": 0.9, "short": 0.85, "abbr": 0.8,
                   "pinyin": 0.75}
#: Lookup preference among the ways a name matched, best first: the official name or code,
#: generated full forms, the 2016 name, the short name, the ``广外`` abbreviation, pinyin, and
#: last a street name with some other office suffix (``北宫地区`` for ``北宫镇``).
_TIER = {"code": 0, "name": 0, "full": 1, "old": 2, "short": 3, "abbr": 4, "pinyin": 5,
         "core": 6}
#: Digits of each level's code; longer codes are padded with zeros to 12 digits.
_CODE_DIGITS = {"district": 6, "street": 9, "community": 12}
_LEVEL_LABELS = {"district": ("区", "district"), "street": ("街道", "street"),
                 "community": ("社区", "community")}
_PINYIN_TEXT = re.compile(r"[a-z'\-_]+")
_PINYIN_TAIL = re.compile(r"(?:jiedao|diqu|zhen|xiang|qu|street|subdistrict|town|district)$")
#: Office suffixes a street may be written with whatever its official one is.
_STREET_SUFFIX = re.compile(r"(?:街道办事处|地区办事处|办事处|街道办|街道|地区|镇|乡|区)$")


@dataclass
class Place:
    """A named place of the gazetteer (district, street, community or store POI)."""

    kind: str
    name: str
    code: str = ""
    lon: float | None = None
    lat: float | None = None
    district: str = ""
    district_code: str = ""
    street: str = ""
    street_code: str = ""
    address: str = ""
    forms: list[tuple[str, str]] = field(default_factory=list)  # (text, form kind)
    vintage: str = ""  # streets: "2016-2023", "2016" (gone since) or "2023" (new)

    @property
    def current(self) -> bool:
        """False for a street that exists only in the 2016 list."""
        return self.vintage != "2016"

    @property
    def has_point(self) -> bool:
        """True when the data gives the place a point."""
        return self.lon is not None and self.lat is not None


# -- gazetteer -----------------------------------------------------------------------------------
def _float_or_none(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def _read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _district_points(path: Path) -> list[Place]:
    from shapely.geometry import shape  # shapely only for the label point of each polygon

    doc = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for feature in doc.get("features", []):
        props = feature.get("properties") or {}
        name = str(props.get("name", "")).strip()
        code = str(props.get("adcode", props.get("code", ""))).strip()
        lon = _float_or_none(props.get("lon", props.get("center_lon")))
        lat = _float_or_none(props.get("lat", props.get("center_lat")))
        if (lon is None or lat is None) and feature.get("geometry"):
            geom = shape(feature["geometry"])
            point = geom.centroid if geom.contains(geom.centroid) else geom.representative_point()
            lon, lat = point.x, point.y
        place = Place("district", name, code, lon, lat, name, code)
        short = str(props.get("short_name") or "").strip()
        if short and short != name:
            place.forms.append((short, "short"))
        pinyin = re.sub(r"[^a-z]", "", str(props.get("pinyin") or "").lower())
        if pinyin:
            place.forms.append((pinyin, "pinyin"))
        out.append(place)
    return out


def _abbreviation(short: str) -> str | None:
    """``广安门外`` → ``广外``, ``崇文门外`` → ``崇外``: how Beijing shortens gate-area names."""
    m = re.fullmatch(r"([\u4e00-\u9fff])[\u4e00-\u9fff]?门([内外])", short)
    return m.group(1) + m.group(2) if m else None


class Gazetteer:
    """Districts, streets and communities with every written form of their names.

    Parameters
    ----------
    districts, streets, communities : list of Place
        Build with :meth:`from_dir` (the shipped files) or directly (tests).
    signature : str
        Identifies the data (part of cache keys).
    """

    def __init__(self, districts: list[Place], streets: list[Place], communities: list[Place],
                 *, signature: str = ""):
        self.districts, self.streets, self.communities = districts, streets, communities
        self.signature = signature
        self.places: list[Place] = [*districts, *streets, *communities]
        self.by_district_name = {p.name: p for p in districts}
        self.street_by_code = {p.code: p for p in streets}
        self.district_by_code = {p.code: p for p in districts}
        city_lon, city_lat = _beijing_point()
        self.city = Place("city", "北京市", "110000", city_lon, city_lat)
        self._add_forms()
        self.terms, self.prefix = build_lexicon(self.places)
        self.pinyin = self._pinyin_terms()
        self._scoped: dict[tuple[str, str], tuple[list[str], list[Place]]] = {}
        self._names = _name_index(self.places)
        self._codes = {p.code: p for p in self.places if p.code}

    # .. construction ..
    @classmethod
    def from_dir(cls, data_dir: str | Path = DEFAULT_DATA_DIR) -> Gazetteer:
        """Read ``districts.geojson``, ``streets.csv`` and ``communities.csv`` (WGS84)."""
        data_dir = Path(data_dir)
        files = [data_dir / n for n in ("districts.geojson", "streets.csv", "communities.csv")]
        missing = [f.name for f in files if not f.exists()]
        if missing:
            raise GeocodingError(
                f"离线地名库缺少文件 {', '.join(missing)} (gazetteer files missing in {data_dir}); "
                "rebuild the demo data with `make demo`")
        digest = hashlib.sha1()
        for f in files:
            stat = f.stat()
            digest.update(f"{f.name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
        districts = _district_points(files[0])
        streets = []
        for row in _read_csv(files[1]):
            place = Place("street", row["name"].strip(), str(row.get("code", "")).strip(),
                          _float_or_none(row.get("lon")), _float_or_none(row.get("lat")),
                          row.get("district", "").strip(), str(row.get("district_code", "")))
            place.street, place.street_code = place.name, place.code
            place.vintage = (row.get("vintage") or "").strip()
            short = (row.get("short_name") or "").strip()
            if short:
                place.forms.append((short, "short"))
            old = (row.get("name_2016") or "").strip()
            if old and old != place.name:
                place.forms.append((old, "old"))
            pinyin = re.sub(r"[^a-z]", "", (row.get("pinyin") or "").lower())
            if pinyin:
                place.forms.append((pinyin, "pinyin"))
            streets.append(place)
        communities = []
        for row in _read_csv(files[2]):
            place = Place("community", row["name"].strip(), str(row.get("code", "")).strip(),
                          _float_or_none(row.get("lon")), _float_or_none(row.get("lat")),
                          row.get("district", "").strip(), str(row.get("district_code", "")),
                          row.get("street", "").strip(), str(row.get("street_code", "")))
            short = (row.get("short_name") or "").strip()
            if short:
                place.forms.append((short, "short"))
            communities.append(place)
        return cls(districts, streets, communities, signature=digest.hexdigest()[:12])

    def _add_forms(self) -> None:
        for d in self.districts:
            d.forms.insert(0, (d.name, "name"))
            core = strip_admin_suffix(d.name)
            if core != d.name:
                d.forms.append((core, "short"))
        for old, new in _OLD_DISTRICTS.items():
            if new in self.by_district_name:
                self.by_district_name[new].forms.append((old, "old"))
        for s in self.streets:
            core = strip_admin_suffix(s.name)
            cores = {core} | {f for f, k in s.forms if k == "short"}
            for c in list(cores):
                cores.add(strip_admin_suffix(c))
            for c in cores:
                for suffix in ("街道", "街道办事处", "街道办", "地区", "地区办事处", "乡", "镇"):
                    if s.name.endswith(("镇", "乡")) != (suffix in ("镇", "乡")):
                        continue
                    s.forms.append((c + suffix, "full"))
                s.forms.append((c, "short"))
                abbr = _abbreviation(c)
                if abbr:
                    s.forms.append((abbr, "abbr"))
                    s.forms.append((abbr + "街道", "full"))
            s.forms.insert(0, (s.name, "name"))
        for c in self.communities:
            core = strip_admin_suffix(c.name)
            village = c.name.endswith(("村委会", "村民委员会")) or c.name.endswith("村")
            suffixes = ("村委会", "村民委员会", "村") if village else (
                "社区居委会", "社区居民委员会", "社区", "居委会", "社区服务站")
            c.forms.insert(0, (c.name, "name"))
            for suffix in suffixes:
                c.forms.append((core + suffix, "full"))
            if len(core) >= 2:
                c.forms.append((core, "short"))

    def _pinyin_terms(self) -> list[tuple[str, Place]]:
        terms = [(form, p) for p in self.places for form, kind in p.forms if kind == "pinyin"
                 and len(form) >= 4]
        return sorted(terms, key=lambda t: -len(t[0]))

    # .. lookups ..
    def community_choices(self, *, street_code: str = "", district_code: str = ""
                          ) -> tuple[list[str], list[Place]]:
        """Community cores (for fuzzy matching) within a street, a district or everywhere."""
        key = (street_code, "" if street_code else district_code)
        if key not in self._scoped:
            chosen = [c for c in self.communities
                      if (not street_code or c.street_code == street_code)
                      and (street_code or not district_code or c.district_code == district_code)]
            self._scoped[key] = ([strip_admin_suffix(c.name) for c in chosen], chosen)
        return self._scoped[key]

    def street_choices(self, *, district_code: str = "") -> tuple[list[str], list[Place]]:
        """Street cores within a district (or all)."""
        key = ("street", district_code)
        if key not in self._scoped:
            chosen = [s for s in self.streets if not district_code
                      or s.district_code == district_code]
            self._scoped[key] = ([strip_admin_suffix(s.name) for s in chosen], chosen)
        return self._scoped[key]

    def find_district(self, name: str) -> Place:
        """The district written ``name``: ``西城区``, ``西城``, ``宣武区`` (former), ``xicheng``,
        ``110102``.

        Raises
        ------
        GeodataError
            Unknown name; the message lists close matches.
        """
        return self._find("district", name)

    def find_street(self, name: str, *, district: str | Place | None = None) -> Place:
        """The street (街道/乡镇) written ``name``: ``广安门外街道``, ``广安门外街道办事处``,
        ``广安门外``, ``广外``, ``guanganmenwai``, the 2016 name, ``110102020``.

        Parameters
        ----------
        district : str or Place, optional
            Only streets of this district (any form :meth:`find_district` accepts); needed
            for names two districts share (``八里庄街道``).

        Raises
        ------
        GeodataError
            Unknown district or street, or a name several streets answer to; the message
            lists close matches or the districts to choose between.
        """
        scope = self._district_scope(district)
        return self._find("street", name, lambda p: scope is None or p.district_code == scope)

    def find_community(self, name: str, *, street: str | Place | None = None,
                       district: str | Place | None = None) -> Place:
        """The community (社区/村) written ``name``: ``鸭子桥社区居委会``, ``鸭子桥社区``,
        ``鸭子桥``, ``110102020001``, optionally within a street and/or district.

        Raises
        ------
        GeodataError
            Unknown names, or a name several communities answer to (the message lists them).
        """
        d_scope = self._district_scope(district)
        s_scope = None
        if isinstance(street, Place):
            s_scope = street.code
        elif street:
            s_scope = self.find_street(street, district=d_scope).code
        return self._find("community", name, lambda p: (
            (s_scope is None or p.street_code == s_scope)
            and (d_scope is None or p.district_code == d_scope)))

    def _district_scope(self, district: str | Place | None) -> str | None:
        if isinstance(district, Place):
            return district.code
        return self.find_district(district).code if district else None

    def _find(self, kind: str, name: str, keep=None) -> Place:
        text = normalise_text(name)
        matches = self._matches(kind, text, keep or (lambda p: True))
        if not matches:
            raise _unknown(kind, name, self._suggestions(kind, text, keep))
        best = min(tier for tier, _ in matches)
        places = list({p.code: p for tier, p in matches if tier == best}.values())
        if len(places) > 1:
            places = [p for p in places if p.current] or places
        if len(places) > 1:
            raise _ambiguous(kind, name, places)
        return places[0]

    def _matches(self, kind: str, text: str, keep) -> list[tuple[int, Place]]:
        """Every ``(tier, place)`` of ``kind`` within ``keep`` that ``text`` (folded) names."""
        if not text:
            return []
        if text.isdigit():
            place = self._codes.get(_unpadded(text, _CODE_DIGITS[kind]))
            ok = place is not None and place.kind == kind and keep(place)
            return [(_TIER["code"], place)] if ok else []
        index = self._names[kind]
        found = list(index.get(text, ()))
        if _PINYIN_TEXT.fullmatch(text):
            letters = re.sub(r"[^a-z]", "", text)
            for key in dict.fromkeys((letters, _PINYIN_TAIL.sub("", letters))):
                found += [(p, k) for p, k in index.get(key, ()) if k == "pinyin"]
        out = [(_TIER[k], p) for p, k in found if keep(p)]
        if kind == "street" and not out:
            core = _STREET_SUFFIX.sub("", text)
            if core and core != text:
                out = [(_TIER["core"], p) for p, k in index.get(core, ())
                       if k == "short" and keep(p)]
        return out

    def _suggestions(self, kind: str, text: str, keep=None) -> list[str]:
        from rapidfuzz import fuzz, process

        places = self.districts if kind == "district" else (
            self.streets if kind == "street" else self.communities)
        names = sorted({n for p in places if keep is None or keep(p)
                        for n in (p.name, strip_admin_suffix(p.name))})
        found = process.extract(text, names, scorer=fuzz.WRatio, limit=5, score_cutoff=50)
        return [m[0] for m in found]

    def scan(self, text: str, *, start: int = 0) -> list[tuple[int, int, str]]:
        """Known name forms in ``text`` (greedy longest match): ``[(start, end, term)]``."""
        return scan_terms(text, self.prefix, start=start)


def _name_index(places: Iterable[Place]) -> dict[str, dict[str, list[tuple[Place, str]]]]:
    """Per level, every folded written form (pinyin as bare letters) → ``[(place, form kind)]``.

    Unlike :func:`build_lexicon` nothing is pruned: :meth:`Gazetteer._find` ranks the kinds.
    """
    index: dict[str, dict[str, list[tuple[Place, str]]]] = {k: {} for k in _CODE_DIGITS}
    for place in places:
        level = index.get(place.kind)
        if level is None:
            continue
        for form, kind in place.forms:
            key = re.sub(r"[^a-z]", "", form) if kind == "pinyin" else normalise_text(form)
            bucket = level.setdefault(key, [])
            if key and not any(p is place and k == kind for p, k in bucket):
                bucket.append((place, kind))
    return index


def _unpadded(code: str, digits: int) -> str:
    """``110102000000`` → ``110102`` for a 6-digit level (the 12-digit padded form)."""
    if len(code) == 12 and digits < 12 and code[digits:] == "0" * (12 - digits):
        return code[:digits]
    return code


def _unknown(kind: str, value: str, suggestions: list[str]) -> GeodataError:
    zh, en = _LEVEL_LABELS[kind]
    hint = f"; close matches: {', '.join(suggestions)}" if suggestions else ""
    return GeodataError(f"未知{zh} {value!r} (unknown {en} in Beijing){hint}",
                        detail={"kind": kind, "value": str(value), "reason": "unknown",
                                "suggestions": suggestions})


def _ambiguous(kind: str, value: str, places: list[Place]) -> GeodataError:
    zh, en = _LEVEL_LABELS[kind]
    places = sorted(places, key=lambda p: p.code)
    where = "、".join(f"{p.district}{p.street if kind == 'community' else ''} "
                     f"({p.name}, {p.code})" for p in places)
    scope = "a district" if kind == "street" else "a street"
    return GeodataError(
        f"{zh}名 {value!r} 不唯一: {where} (ambiguous {en} name; pass {scope} or the "
        f"{_CODE_DIGITS[kind]}-digit code)",
        detail={"kind": kind, "value": str(value), "reason": "ambiguous",
                "suggestions": [f"{p.district} {p.name} {p.code}" for p in places]})


def build_lexicon(places: Iterable[Place]
                  ) -> tuple[dict[str, list[tuple[Place, str]]], dict[str, list[str]]]:
    """Index the name forms of ``places``: ``(term → [(place, form kind)], prefix index)``."""
    terms: dict[str, list[tuple[Place, str]]] = {}
    for place in places:
        for form, kind in place.forms:
            if kind == "pinyin" or len(form) < 2:
                continue
            bucket = terms.setdefault(form, [])
            if not any(p is place for p, _ in bucket):
                bucket.append((place, kind))
    # A full name beats other places' short names (大榆树镇 the town, not the community whose
    # short name is 大榆树镇); today's name beats a 2016 name. A short form naming places at
    # several levels (六里桥 the street and the community) keeps both: the geocoder reads the
    # first occurrence as the coarser place and a repeated one as the finer.
    for form, bucket in terms.items():
        if len(bucket) > 1 and any(k in ("name", "full") for _, k in bucket):
            for better in ("name", "full"):  # the official name, then generated full forms
                if any(k == better for _, k in bucket):
                    terms[form] = [(p, k) for p, k in bucket if k == better]
                    break
    prefix: dict[str, list[str]] = {}
    for form in terms:
        prefix.setdefault(form[:2], []).append(form)
    for bucket in prefix.values():
        bucket.sort(key=len, reverse=True)
    return terms, prefix


def scan_terms(text: str, prefix: dict[str, list[str]], *, start: int = 0
               ) -> list[tuple[int, int, str]]:
    """Greedy longest-match scan of ``text`` for the terms of a prefix index."""
    hits = []
    i, n = start, len(text)
    while i < n - 1:
        bucket = prefix.get(text[i:i + 2])
        if bucket:
            for term in bucket:
                if text.startswith(term, i):
                    hits.append((i, i + len(term), term))
                    i += len(term)
                    break
            else:
                i += 1
        else:
            i += 1
    return hits


@lru_cache(maxsize=1)
def _beijing_point() -> tuple[float, float]:
    from geodata.crs.datums import gcj02_to_wgs84

    lon, lat = gcj02_to_wgs84(*_BEIJING_GCJ02)
    return float(lon), float(lat)


@lru_cache(maxsize=4)
def _cached_gazetteer(path: str, signature: str) -> Gazetteer:
    return Gazetteer.from_dir(path)


def load_gazetteer(data_dir: str | Path | None = None) -> Gazetteer:
    """The gazetteer of the shipped files (cached while the files are unchanged)."""
    path = Path(data_dir or DEFAULT_DATA_DIR)
    stamp = "|".join(f"{(path / n).stat().st_mtime_ns}" if (path / n).exists() else "-"
                     for n in ("districts.geojson", "streets.csv", "communities.csv"))
    return _cached_gazetteer(str(path), stamp)
