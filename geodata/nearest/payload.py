"""The JSON answer of a nearest query: the body of ``nuanxin nearest --json`` and
``/api/nearest`` (INTERFACE.md keys first, then extras)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from geodata.crs.datums import normalise_datum
from geodata.nearest.index import (
    METHOD_NETWORK,
    METHOD_STRAIGHT,
    NearestResult,
    StationIndex,
    _check_point,
    _to_wgs84,
)
from stations import settings
from stations.amenities import AMENITIES
from stations.settings import DETOUR_FACTOR, WALK_SPEED_KMH
from stations.trust import trust_of

__all__ = ["result_dict", "nearest_payload", "nearest_answer", "outside_coverage"]


def result_dict(result: NearestResult) -> dict:
    """One result in the INTERFACE.md form (plus extra keys; ``trust``, ``trust_reason``,
    ``problem``, ``last_verified``: :func:`stations.trust.trust_of`)."""
    s = result.station
    worker = s.worker_amenities()
    trust, trust_reason = trust_of(s, today=result.arrival.date())
    return {
        "id": s.id,
        "code": s.code,
        "name": s.name,
        "lon": round(float(s.lon), 7),
        "lat": round(float(s.lat), 7),
        "distance_m": round(result.distance_m, 1),
        "walk_distance_m": round(result.walk_distance_m, 1),
        "walk_minutes": round(result.walk_minutes, 1),
        "arrival": result.arrival.isoformat(timespec="seconds"),
        "open_at_arrival": result.open_at_arrival,
        # as workers are told: amenities reports put in doubt are unknown (issue 13)
        "amenities": [a for a in AMENITIES if worker.get(a) == "yes"],
        "amenities_unknown": [a for a in AMENITIES if worker.get(a, "unknown") == "unknown"],
        "amenity_notes": dict(s.amenity_notes),
        "trust": trust,
        "trust_reason": trust_reason,
        "problem": s.problem,
        "last_verified": s.last_verified.isoformat() if s.last_verified else None,
        "address": s.address,
        "district": s.district,
        "street": s.street,
        "opening_hours": s.opening_hours,
        "status": s.status,
        "access": s.access,
        "host_type": s.host_type,
        "sample": bool(s.sample),
        "method": result.method,
        # the arrival's year is past China's holiday calendar: said, not silently "no holidays"
        "calendar_note": result.calendar_note,
    }


def nearest_payload(results: Sequence[NearestResult], *, lon: float | None = None,
                    lat: float | None = None, crs: str = "wgs84",
                    open_at: datetime | None = None, index: StationIndex | None = None) -> dict:
    """The body of ``nuanxin nearest --json`` and ``GET /api/nearest``.

    ``{results: [...], method, detour_factor, walk_speed_kmh, query: {lon, lat, crs, ...}}``;
    ``method`` comes from ``index`` (or the results), ``query`` is present when ``lon``/``lat``
    are given.
    """
    if index is not None:
        method, detour, speed = index.method, index.detour_factor, index.walk_speed_kmh
    else:
        method = METHOD_NETWORK if any(r.method == METHOD_NETWORK for r in results) \
            else METHOD_STRAIGHT
        detour, speed = DETOUR_FACTOR, WALK_SPEED_KMH
    body: dict = {
        "results": [result_dict(r) for r in results],
        "method": method,
        "detour_factor": detour,
        "walk_speed_kmh": speed,
    }
    if lon is not None and lat is not None:
        datum = normalise_datum(crs)
        wlon, wlat = _to_wgs84(float(lon), float(lat), datum)
        body["query"] = {"lon": float(lon), "lat": float(lat), "crs": datum,
                         "lon_wgs84": round(float(wlon), 7), "lat_wgs84": round(float(wlat), 7)}
        if open_at is not None:
            body["query"]["open_at"] = open_at.isoformat(timespec="seconds")
    return body


def outside_coverage(index: StationIndex, lon: float, lat: float, *, crs: str = "wgs84",
                     coverage_m: float | None = None) -> bool:
    """Whether (lon, lat) lies outside the store's coverage area.

    The coverage area is every point within ``coverage_m`` metres (straight line; default
    ``NUANXIN_COVERAGE_M``, 20 km) of a station in the index. An empty index covers nothing,
    but it is not "outside" either (the answer is simply empty), so this returns ``False``.
    """
    if len(index) == 0:
        return False
    limit = float(settings.get("COVERAGE_M") if coverage_m is None else coverage_m)
    # the straight-line distance to the closest station, on the index's lean path (no result
    # objects or opening hours: this runs before every /api/nearest answer)
    wlon, wlat = _check_point(lon, lat, crs)  # the checks (and errors) of index.nearest
    x, y = index.project(wlon, wlat)
    if not (math.isfinite(x) and math.isfinite(y)):
        return True  # too far from the stations to project in their CRS: far outside
    distances, _ = index.nearest_ids(float(x), float(y), 1)
    return not distances or distances[0] > limit


def nearest_answer(index: StationIndex, lon: float, lat: float, *, k: int = 5,
                   crs: str = "wgs84", amenities: Sequence[str] = (),
                   open_at: datetime | None = None, require_open: bool | None = None,
                   radius_m: float | None = None, max_distance_m: float | None = None,
                   coverage_index: StationIndex | None = None) -> dict:
    """Query ``index`` and build the answer of ``nuanxin nearest`` and ``/api/nearest``.

    On top of :func:`nearest_payload`:

    * ``max_distance_m`` keeps stations within that many metres (straight line, the measure
      of ``distance_m``); when none is left, ``results`` is empty and ``none_within_m`` is
      that distance (``max_distance_m`` is echoed either way).
    * A point outside the store's coverage area (:func:`outside_coverage`) answers
      ``outside_coverage: true`` with ``coverage_m`` and no results, never a station
      hundreds of kilometres away. ``coverage_index`` (default ``index``) is the whole
      store when ``index`` is a filtered one.
    """
    limit = radius_m
    if max_distance_m is not None:
        limit = max_distance_m if radius_m is None else min(radius_m, max_distance_m)
    coverage_m = float(settings.get("COVERAGE_M"))
    outside = outside_coverage(index if coverage_index is None else coverage_index, lon, lat,
                               crs=crs, coverage_m=coverage_m)
    results = [] if outside else index.nearest(
        lon, lat, k=k, crs=crs, amenities=amenities, open_at=open_at, radius_m=limit,
        require_open=require_open)
    body = nearest_payload(results, lon=lon, lat=lat, crs=crs, open_at=open_at, index=index)
    if outside:
        body["outside_coverage"] = True
        body["coverage_m"] = coverage_m
    if max_distance_m is not None:
        body["max_distance_m"] = float(max_distance_m)
        if not results:
            body["none_within_m"] = float(max_distance_m)
    return body
