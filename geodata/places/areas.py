"""Beijing's districts and streets from the shipped demo data: tables, polygons, locate.

The files live in ``geodata/data/beijing/`` (built by :mod:`geodata.demo.build`; WGS84). Tables
come back as plain Python: :func:`load_streets` and :func:`load_communities` return **lists of
dicts** (``lon``/``lat`` are floats, or ``None`` when the source has no point);
:func:`load_districts` and :func:`load_street_areas` return **GeoDataFrames** in EPSG:4326.
Street polygons are *approximate* (Voronoi of community points, see the data README).

Names are resolved by the one gazetteer (:meth:`geodata.places.gazetteer.Gazetteer.find_district`
and :meth:`~geodata.places.gazetteer.Gazetteer.find_street`), so every function here accepts what
it accepts: ``西城区`` / ``西城`` / ``xicheng`` / ``110102``; ``广安门外街道`` / ``广安门外`` /
``广外`` / ``guanganmenwai`` / ``110102020``. This module only adds the tables and polygons.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from geodata import DATA_DIR as GEODATA_DIR
from geodata.errors import GeodataError
from geodata.places.gazetteer import load_gazetteer

__all__ = [
    "DATA_DIR",
    "load_districts",
    "load_streets",
    "load_communities",
    "load_street_areas",
    "find_street",
    "district_polygon",
    "street_polygon",
    "locate",
    "locate_many",
]

#: The shipped Beijing files (WGS84).
DATA_DIR = GEODATA_DIR


def _folder(data_dir: str | Path | None) -> Path:
    return Path(data_dir) if data_dir else DATA_DIR


def _file(data_dir, name: str) -> Path:
    path = _folder(data_dir) / name
    if not path.exists():
        raise GeodataError(
            f"缺少数据文件 {name} (missing {path}); run `python -m geodata.demo build`")
    return path


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


def find_street(name_or_code: str, *, district: str | None = None,
                data_dir: str | Path | None = None) -> dict:
    """The :func:`load_streets` row of the street
    :meth:`~geodata.places.gazetteer.Gazetteer.find_street` finds.

    Parameters
    ----------
    name_or_code : str
        ``广安门外街道``, ``广安门外``, ``广外``, ``guang an men wai`` or ``110102020``.
    district : str, keyword-only, optional
        Restrict to a district (any written form or code); needed for names that exist in two
        districts (``八里庄街道``).

    Raises
    ------
    GeodataError
        Unknown or ambiguous name; the message lists close matches or the districts to pick.
    """
    code = load_gazetteer(data_dir).find_street(name_or_code, district=district).code
    return next(dict(r) for r in _read_table(str(_file(data_dir, "streets.csv")))
                if r["code"] == code)


def district_polygon(name_or_code: str, *, data_dir: str | Path | None = None):
    """The district's shapely (Multi)Polygon in WGS84 lon/lat."""
    code = load_gazetteer(data_dir).find_district(name_or_code).code
    frame = _read_frame(str(_file(data_dir, "districts.geojson")))
    return frame.loc[frame["adcode"] == code, "geometry"].iloc[0]


def street_polygon(name_or_code: str, *, district: str | None = None,
                   data_dir: str | Path | None = None):
    """The street's *approximate* shapely (Multi)Polygon in WGS84 lon/lat.

    Raises
    ------
    GeodataError
        Unknown street, or a street without an approximate polygon (no point in the sources).
    """
    street = load_gazetteer(data_dir).find_street(name_or_code, district=district)
    frame = _read_frame(str(_file(data_dir, "streets_approx.geojson")))
    hit = frame.loc[frame["code"] == street.code, "geometry"]
    if hit.empty:
        raise GeodataError(
            f"{street.name} ({street.code}) 没有近似边界 (no approximate polygon: the source data "
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
