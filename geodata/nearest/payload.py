"""The JSON answer of a nearest query: the body of ``nuanxin nearest --json`` and
``/api/nearest`` (INTERFACE.md keys first, then extras)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from geodata.crs.datums import normalise_datum
from geodata.nearest.index import (
    METHOD_NETWORK,
    METHOD_STRAIGHT,
    NearestResult,
    StationIndex,
    _to_wgs84,
)
from stations.amenities import AMENITIES
from stations.settings import DETOUR_FACTOR, WALK_SPEED_KMH

__all__ = ["result_dict", "nearest_payload"]


def result_dict(result: NearestResult) -> dict:
    """One result in the INTERFACE.md form (plus extra keys)."""
    s = result.station
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
        "amenities": [a for a in AMENITIES if s.amenities.get(a) == "yes"],
        "amenities_unknown": [a for a in AMENITIES if s.amenities.get(a, "unknown") == "unknown"],
        "address": s.address,
        "district": s.district,
        "street": s.street,
        "opening_hours": s.opening_hours,
        "status": s.status,
        "access": s.access,
        "host_type": s.host_type,
        "sample": bool(s.sample),
        "method": result.method,
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
