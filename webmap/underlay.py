"""The light vector underlay: district and street outlines, community labels.

Drawn under the stations so a map is usable with no tile server at all (intranets, tests).
The shipped Beijing files (:mod:`geodata.places.areas`, WGS84) are simplified once per detail
level with a topology-preserving coverage simplification (neighbouring outlines stay shared),
then each request clips them to the view and converts them to the tile provider's datum.
Outlines are returned as lines (so clipping adds no false edges); streets are marked
``approx`` because their polygons are approximations (see the demo data README).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from geodata.crs.datums import convert

__all__ = ["underlay_geojson", "tolerance_for_zoom", "STREET_MIN_ZOOM", "COMMUNITY_MIN_ZOOM"]

#: Street outlines from this zoom on; community labels from COMMUNITY_MIN_ZOOM on.
STREET_MIN_ZOOM = 12
COMMUNITY_MIN_ZOOM = 15
_LEVELS = (0.00005, 0.0002, 0.0008, 0.003)  # simplification tolerances, degrees
_lock = threading.Lock()


def tolerance_for_zoom(zoom: float) -> float:
    """About one screen pixel at ``zoom``, snapped to a precomputed level."""
    pixel_deg = 360.0 / (256.0 * 2.0 ** float(zoom))
    for level in _LEVELS:
        if level >= pixel_deg * 0.8:
            return level
    return _LEVELS[-1]


@lru_cache(maxsize=1)
def _sources():
    from geodata.places.areas import load_communities, load_districts, load_street_areas

    districts = load_districts()
    streets = load_street_areas()
    communities = [c for c in load_communities() if c["lon"] is not None and c["lat"] is not None]
    return districts, streets, communities


@lru_cache(maxsize=len(_LEVELS))
def _level(tolerance: float):
    import shapely

    districts, streets, _ = _sources()
    d_geoms = shapely.boundary(shapely.set_precision(
        shapely.coverage_simplify(np.asarray(districts.geometry.values), tolerance), 1e-6))
    s_geoms = shapely.boundary(shapely.set_precision(
        shapely.coverage_simplify(np.asarray(streets.geometry.values), tolerance), 1e-6))
    return (shapely.STRtree(d_geoms), d_geoms, list(districts["name"]),
            shapely.STRtree(s_geoms), s_geoms, list(streets["name"]), list(streets["district"]))


@lru_cache(maxsize=1)
def _community_points():
    _, _, communities = _sources()
    lon = np.array([c["lon"] for c in communities], dtype=float)
    lat = np.array([c["lat"] for c in communities], dtype=float)
    return lon, lat, communities


@lru_cache(maxsize=1)
def _district_labels():
    districts, _, _ = _sources()
    rows = []
    for _, row in districts.iterrows():
        point = row.geometry.representative_point()
        rows.append((row["name"], float(point.x), float(point.y)))
    return rows


@lru_cache(maxsize=1)
def _street_labels():
    _, streets, _ = _sources()
    rows = []
    for _, row in streets.iterrows():
        point = row.geometry.representative_point()
        rows.append((row["short_name"] or row["name"], row["name"], float(point.x),
                     float(point.y)))
    return rows


def _convert_geometry(geom, datum: str):
    import shapely

    if datum == "wgs84":
        return geom

    def fn(coords: np.ndarray) -> np.ndarray:
        x, y = convert(coords[:, 0], coords[:, 1], src="wgs84", dst=datum)
        return np.column_stack([x, y])

    return shapely.transform(geom, fn)


def _round_coords(obj):
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], float):
            return [round(v, 6) for v in obj]
        return [_round_coords(v) for v in obj]
    return obj


def _feature(geom, props: dict, datum: str) -> dict:
    import shapely

    mapped = shapely.geometry.mapping(_convert_geometry(geom, datum))
    return {"type": "Feature", "properties": props,
            "geometry": {"type": mapped["type"],
                         "coordinates": _round_coords(mapped["coordinates"])}}


def _point(lon: float, lat: float, props: dict, datum: str) -> dict:
    x, y = (lon, lat) if datum == "wgs84" else convert(lon, lat, src="wgs84", dst=datum)
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Point", "coordinates": [round(x, 6), round(y, 6)]}}


def underlay_geojson(bbox: Sequence[float], *, zoom: float, datum: str = "wgs84") -> dict:
    """Outlines and labels inside ``bbox`` (WGS84 minlon, minlat, maxlon, maxlat).

    Parameters
    ----------
    bbox : sequence of 4 floats
        The view in WGS84 (convert a view in another datum first).
    zoom : float
        Map zoom: picks the simplification level and what is shown (streets from
        :data:`STREET_MIN_ZOOM`, community labels from :data:`COMMUNITY_MIN_ZOOM`).
    datum : str
        Datum of the coordinates returned (the tile provider's).

    Returns
    -------
    dict
        GeoJSON FeatureCollection; ``properties.kind`` is ``district`` / ``street`` (lines),
        ``district_label`` / ``street_label`` / ``community`` (points, ``properties.name``).
    """
    import shapely

    minlon, minlat, maxlon, maxlat = (float(v) for v in bbox)
    with _lock:
        d_tree, d_geoms, d_names, s_tree, s_geoms, s_names, s_districts = _level(
            tolerance_for_zoom(zoom))
    box = shapely.box(minlon, minlat, maxlon, maxlat)
    features: list[dict] = []
    for i in d_tree.query(box):
        clipped = shapely.clip_by_rect(d_geoms[i], minlon, minlat, maxlon, maxlat)
        if not clipped.is_empty:
            features.append(_feature(clipped, {"kind": "district", "name": d_names[i]}, datum))
    if zoom >= STREET_MIN_ZOOM:
        for i in s_tree.query(box):
            clipped = shapely.clip_by_rect(s_geoms[i], minlon, minlat, maxlon, maxlat)
            if not clipped.is_empty:
                features.append(_feature(clipped, {"kind": "street", "name": s_names[i],
                                                   "district": s_districts[i], "approx": True},
                                         datum))
    if zoom < STREET_MIN_ZOOM:
        for name, lon, lat in _district_labels():
            if minlon <= lon <= maxlon and minlat <= lat <= maxlat:
                features.append(_point(lon, lat, {"kind": "district_label", "name": name}, datum))
    if STREET_MIN_ZOOM + 1 <= zoom < COMMUNITY_MIN_ZOOM:
        for short, name, lon, lat in _street_labels():
            if minlon <= lon <= maxlon and minlat <= lat <= maxlat:
                features.append(_point(lon, lat, {"kind": "street_label", "name": short,
                                                  "full_name": name}, datum))
    if zoom >= COMMUNITY_MIN_ZOOM:
        lon, lat, rows = _community_points()
        inside = np.flatnonzero((lon >= minlon) & (lon <= maxlon) & (lat >= minlat) &
                                (lat <= maxlat))
        for i in inside[:400]:
            row = rows[i]
            features.append(_point(float(lon[i]), float(lat[i]), {
                "kind": "community", "name": row["short_name"] or row["name"],
                "full_name": row["name"], "street": row["street"]}, datum))
    return {"type": "FeatureCollection", "features": features}
