"""Beijing's districts and streets from the shipped demo data: loaders, name lookup, locate.

The files live in ``geodata/data/beijing/`` (built by :mod:`geodata.demo.build`; WGS84). Tables
come back as plain Python: :func:`load_streets` and :func:`load_communities` return **lists of
dicts** (``lon``/``lat`` are floats, or ``None`` when the source has no point);
:func:`load_districts` and :func:`load_street_areas` return **GeoDataFrames** in EPSG:4326.
Street polygons are *approximate* (Voronoi of community points, see the data README).

Names may be full or short: ``西城区`` / ``西城`` / ``xicheng`` / ``110102``;
``广安门外街道`` / ``广安门外`` / ``广外`` / ``110102020``. The two-character forms of ``X门外`` /
``X门内`` streets (``广外``, ``广内``, ``崇外``) are derived from the short names when unambiguous.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from geodata import DATA_DIR as GEODATA_DIR
from geodata.errors import GeodataError

__all__ = [
    "DATA_DIR",
    "load_districts",
    "load_streets",
    "load_communities",
    "load_street_areas",
    "find_district",
    "find_street",
    "district_polygon",
    "street_polygon",
    "locate",
    "locate_many",
]

#: The shipped Beijing files (WGS84).
DATA_DIR = GEODATA_DIR
_SUFFIXES = re.compile(r"(街道办事处|地区办事处|办事处|街道|地区|镇|乡|区)$")


def _folder(data_dir: str | Path | None) -> Path:
    return Path(data_dir) if data_dir else DATA_DIR


def _file(data_dir, name: str) -> Path:
    path = _folder(data_dir) / name
    if not path.exists():
        raise GeodataError(
            f"缺少数据文件 {name} (missing {path}); run `python -m geodata.demo build`")
    return path


def _fold(text: object) -> str:
    folded = unicodedata.normalize("NFKC", str(text)).strip().lower()
    return re.sub(r"[\s\-_·]+", "", folded)


def _float_or_none(text: str) -> float | None:
    return float(text) if text not in ("", None) else None


@lru_cache(maxsize=4)
def _read_table(path: str) -> tuple[dict, ...]:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = []
        for row in csv.DictReader(handle):
            row["lon"], row["lat"] = _float_or_none(row["lon"]), _float_or_none(row["lat"])
            rows.append(row)
    return tuple(rows)


def load_streets(*, data_dir: str | Path | None = None) -> list[dict]:
    """Streets/towns of Beijing as a list of dicts.

    Keys: ``code`` (9 digits), ``name``, ``short_name``, ``pinyin``, ``district``,
    ``district_code``, ``lon``, ``lat`` (WGS84 street-office point or ``None``), ``vintage``
    (``2016-2023`` / ``2016`` / ``2023``), ``name_2016``.
    """
    return [dict(r) for r in _read_table(str(_file(data_dir, "streets.csv")))]


def load_communities(*, data_dir: str | Path | None = None) -> list[dict]:
    """Communities/villages (2016 list) as a list of dicts.

    Keys: ``code`` (12 digits), ``name``, ``short_name``, ``kind`` (``community``/``village``),
    ``street``, ``street_code``, ``district``, ``district_code``, ``lon``, ``lat`` (WGS84 centre
    point or ``None``).
    """
    return [dict(r) for r in _read_table(str(_file(data_dir, "communities.csv")))]


@lru_cache(maxsize=4)
def _read_frame(path: str):
    import geopandas as gpd

    frame = gpd.read_file(path, engine="pyogrio")
    if frame.crs is None or frame.crs.to_epsg() != 4326:
        frame = frame.set_crs("EPSG:4326", allow_override=True)
    return frame


def load_districts(*, data_dir: str | Path | None = None):
    """The 16 districts as a GeoDataFrame (EPSG:4326).

    Columns: ``adcode``, ``name``, ``short_name``, ``pinyin``, ``center_lon``, ``center_lat``,
    ``datum``, ``source``, ``geometry``.
    """
    return _read_frame(str(_file(data_dir, "districts.geojson"))).copy()


def load_street_areas(*, data_dir: str | Path | None = None):
    """Approximate street polygons as a GeoDataFrame (EPSG:4326).

    Columns: ``code``, ``name``, ``short_name``, ``district``, ``district_code``, ``points``
    (how many community/office points shaped it), ``approx`` (always true), ``method``,
    ``datum``, ``geometry``.
    """
    return _read_frame(str(_file(data_dir, "streets_approx.geojson"))).copy()


# -- name lookup -----------------------------------------------------------------------------


def _district_rows(data_dir) -> list[dict]:
    frame = _read_frame(str(_file(data_dir, "districts.geojson")))
    return [{k: row[k] for k in ("adcode", "name", "short_name", "pinyin")}
            for _, row in frame.iterrows()]


def find_district(name_or_code: str, *, data_dir: str | Path | None = None) -> dict:
    """The district matching a name (``西城区``/``西城``/``xicheng``) or code (``110102``).

    Returns ``{adcode, name, short_name, pinyin}``.

    Raises
    ------
    GeodataError
        Unknown name; the message lists close matches.
    """
    key = _fold(name_or_code)
    rows = _district_rows(data_dir)
    for row in rows:
        keys = {_fold(row["name"]), _fold(row["short_name"]), _fold(row["pinyin"]),
                row["adcode"], row["adcode"] + "000000"}
        if key in keys or (key and _fold(_SUFFIXES.sub("", key)) == _fold(row["short_name"])):
            return dict(row)
    raise GeodataError(_unknown("区", "district", name_or_code,
                                [r["name"] for r in rows] + [r["short_name"] for r in rows]))


def _street_tiers(row: dict) -> tuple[set[str], ...]:
    """Keys a street answers to, strongest first: code/name, short name, old name/pinyin."""
    return ({row["code"], row["code"] + "000", _fold(row["name"])},
            {_fold(row["short_name"])},
            {k for k in (_fold(row.get("name_2016") or ""), _fold(row["pinyin"])) if k})


def _street_keys(row: dict) -> set[str]:
    return set().union(*_street_tiers(row))


@lru_cache(maxsize=4)
def _aliases(path: str) -> dict[str, str]:
    """``广外`` → street code for ``X门外``/``X门内`` short names, when the alias is unique."""
    rows = _read_table(path)
    taken = {k for r in rows for k in _street_keys(r)}
    found: dict[str, set[str]] = {}
    for row in rows:
        short = row["short_name"]
        if len(short) >= 3 and short.endswith(("门外", "门内")):
            found.setdefault(short[0] + short[-1], set()).add(row["code"])
    return {alias: codes.pop() for alias, codes in found.items()
            if len(codes) == 1 and alias not in taken}


def find_street(name_or_code: str, *, district: str | None = None,
                data_dir: str | Path | None = None) -> dict:
    """The street matching a full or short name, pinyin, alias (``广外``) or code.

    Parameters
    ----------
    name_or_code : str
        ``广安门外街道``, ``广安门外``, ``广外``, ``guang an men wai`` or ``110102020``.
    district : str, keyword-only, optional
        Restrict to a district (any form :func:`find_district` accepts); needed for names that
        exist in two districts (``八里庄街道``).

    Returns
    -------
    dict
        The :func:`load_streets` row.

    Raises
    ------
    GeodataError
        Unknown or ambiguous name; the message lists close matches or the districts to pick.
    """
    path = str(_file(data_dir, "streets.csv"))
    rows = [dict(r) for r in _read_table(path)]
    if district is not None:
        dcode = find_district(district, data_dir=data_dir)["adcode"]
        rows = [r for r in rows if r["district_code"] == dcode]
    key = _fold(name_or_code)
    matches = []
    for tier in range(3):
        matches = [r for r in rows if key in _street_tiers(r)[tier]]
        if matches:
            break
    if not matches:
        code = _aliases(path).get(key)
        matches = [r for r in rows if r["code"] == code]
    if not matches and key:
        stripped = _fold(_SUFFIXES.sub("", key))
        matches = [r for r in rows if stripped and stripped == _fold(r["short_name"])]
    if len(matches) > 1:
        current = [r for r in matches if r["vintage"] != "2016"]
        matches = current or matches
    if len(matches) > 1:
        where = "、".join(f"{r['district']} ({r['name']}, {r['code']})" for r in matches)
        raise GeodataError(
            f"街道名 {name_or_code!r} 不唯一: {where} (ambiguous street name; pass a district "
            "or the 9-digit code)")
    if not matches:
        names = [r["name"] for r in rows] + [r["short_name"] for r in rows]
        raise GeodataError(_unknown("街道", "street", name_or_code, names))
    return matches[0]


def _unknown(label_zh: str, label: str, value: str, names: list[str]) -> str:
    from rapidfuzz import fuzz, process

    close = [m[0] for m in process.extract(str(value), sorted(set(names)), scorer=fuzz.WRatio,
                                           limit=5, score_cutoff=50)]
    hint = f"; close matches: {', '.join(close)}" if close else ""
    return f"未知{label_zh} {value!r} (unknown {label} in Beijing){hint}"


def district_polygon(name_or_code: str, *, data_dir: str | Path | None = None):
    """The district's shapely (Multi)Polygon in WGS84 lon/lat."""
    row = find_district(name_or_code, data_dir=data_dir)
    frame = _read_frame(str(_file(data_dir, "districts.geojson")))
    return frame.loc[frame["adcode"] == row["adcode"], "geometry"].iloc[0]


def street_polygon(name_or_code: str, *, district: str | None = None,
                   data_dir: str | Path | None = None):
    """The street's *approximate* shapely (Multi)Polygon in WGS84 lon/lat.

    Raises
    ------
    GeodataError
        Unknown street, or a street without an approximate polygon (no point in the sources).
    """
    row = find_street(name_or_code, district=district, data_dir=data_dir)
    frame = _read_frame(str(_file(data_dir, "streets_approx.geojson")))
    hit = frame.loc[frame["code"] == row["code"], "geometry"]
    if hit.empty:
        raise GeodataError(
            f"{row['name']} ({row['code']}) 没有近似边界 (no approximate polygon: the source data "
            "has no community or street-office point in this street)")
    return hit.iloc[0]


# -- point in polygon ------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _trees(folder: str):
    import shapely

    districts = _read_frame(str(_file(folder, "districts.geojson")))
    streets = _read_frame(str(_file(folder, "streets_approx.geojson")))
    return (shapely.STRtree(districts.geometry.values), list(districts["name"]),
            shapely.STRtree(streets.geometry.values), list(streets["name"]),
            list(streets["district"]))


def locate_many(lon, lat, *, crs: str = "wgs84", data_dir: str | Path | None = None
                ) -> list[tuple[str | None, str | None]]:
    """``(district, street)`` names for many points; ``None`` where outside Beijing / any street.

    Streets come from the approximate polygons, and only a street of the point's own district
    is returned.
    """
    import numpy as np
    import shapely

    from geodata.crs.datums import convert, normalise_datum

    lon = np.atleast_1d(np.asarray(lon, dtype=float))
    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    if lon.shape != lat.shape:
        raise GeodataError(f"lon and lat differ in length ({lon.size} vs {lat.size})")
    datum = normalise_datum(crs)
    if datum != "wgs84":
        lon, lat = convert(lon, lat, src=datum, dst="wgs84")
    points = shapely.points(lon, lat)
    dtree, dnames, stree, snames, sdistricts = _trees(str(_folder(data_dir)))
    out: list[list] = [[None, None] for _ in range(lon.size)]
    for i, j in zip(*dtree.query(points, predicate="intersects"), strict=True):
        if out[i][0] is None:
            out[i][0] = dnames[j]
    for i, j in zip(*stree.query(points, predicate="intersects"), strict=True):
        if out[i][1] is None and sdistricts[j] == out[i][0]:
            out[i][1] = snames[j]
    return [(d, s) for d, s in out]


def locate(lon: float, lat: float, *, crs: str = "wgs84",
           data_dir: str | Path | None = None) -> tuple[str | None, str | None]:
    """``(district, street)`` names for one point (street from the approximate polygons)."""
    return locate_many([lon], [lat], crs=crs, data_dir=data_dir)[0]
