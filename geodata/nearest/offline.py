"""The station snapshot a worker's phone keeps for offline use (issue 14, item 1).

Two levels, one JSON document (``GET /offline/stations.json``):

* **near**: every open station within ``radius_m`` (``NUANXIN_OFFLINE_RADIUS_M``, 5 km) of
  the worker, in full (name, address, amenities, access, trust);
* **city**: every other open station in the store, coarsely (id, place to 5 decimals ≈ 1 m,
  name).

Opening hours are not evaluated on the phone (the OSM grammar and China's holiday calendar
stay on the server): each distinct hours text becomes its list of open intervals over the
next ``horizon_h`` hours (epoch seconds), computed here with :mod:`stations.hours`; the page
checks "open at arrival" against them, and past the horizon the answer is "unknown". Hosts
share a handful of hours texts, so this costs a few evaluations, not one per station.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from stations.amenities import AMENITIES
from stations.hours import hours_of
from stations.records import Station

__all__ = ["open_intervals", "offline_snapshot", "HORIZON_H"]

#: How far ahead the phone can answer "open at arrival" without the network.
HORIZON_H = 48
_EARTH_M = 6_371_008.8


def open_intervals(text: str, start: datetime, end: datetime) -> list[list[int]] | None:
    """Open intervals of hours ``text`` between ``start`` and ``end`` (aware), as
    ``[[from, to], ...]`` epoch seconds; ``None`` when the hours are unknown."""
    hours = hours_of(text)
    if hours.unknown:
        return None
    if hours.always_open:
        return [[int(start.timestamp()), int(end.timestamp())]]
    out: list[list[int]] = []
    t = start
    state = hours.is_open(t)
    for _ in range(400):  # a week of split shifts is far fewer changes
        change = hours.next_change(t)
        stop = end if change is None or change > end else change
        if state:
            out.append([int(t.timestamp()), int(stop.timestamp())])
        if change is None or change >= end:
            break
        t = change
        state = hours.is_open(t)
    return out


def _metres(lon0: float, lat0: float, lon: float, lat: float) -> float:
    p0, p1 = math.radians(lat0), math.radians(lat)
    a = (math.sin((p1 - p0) / 2) ** 2
         + math.cos(p0) * math.cos(p1) * math.sin(math.radians(lon - lon0) / 2) ** 2)
    return 2 * _EARTH_M * math.asin(math.sqrt(min(1.0, a)))


def _full(s: Station, key: int) -> dict:
    return {
        "id": s.id, "name": s.name, "lon": round(float(s.lon), 7), "lat": round(float(s.lat), 7),
        "address": s.address, "access": s.access, "h": key, "sample": bool(s.sample),
        "status": s.status, "trust": getattr(s, "trust", "ok") or "ok",
        "trust_reason": getattr(s, "trust_reason", "") or "",
        "amenities": [a for a in AMENITIES if s.amenities.get(a) == "yes"],
        "amenities_unknown": [a for a in AMENITIES if s.amenities.get(a, "unknown") == "unknown"],
    }


def offline_snapshot(stations: Sequence[Station], *, now: datetime, lon: float | None = None,
                     lat: float | None = None, radius_m: float = 5000.0,
                     horizon_h: int = HORIZON_H) -> dict:
    """The offline document for a worker at (``lon``, ``lat``) WGS84 (no point: city only).

    Returns ``{generated_at, horizon: [from, to], radius_m, center, hours: [intervals|null],
    near: [station...], city: [[id, lon, lat, name, h], ...]}``; ``h`` indexes ``hours``.
    """
    end = now + timedelta(hours=horizon_h)
    keys: dict[str, int] = {}
    hours: list[list[list[int]] | None] = []

    def key_of(text: str) -> int:
        text = text or ""
        if text not in keys:
            keys[text] = len(hours)
            hours.append(open_intervals(text, now, end))
        return keys[text]

    near, city = [], []
    for s in stations:
        k = key_of(s.opening_hours)
        if lon is not None and lat is not None and _metres(lon, lat, s.lon, s.lat) <= radius_m:
            near.append(_full(s, k))
        else:
            city.append([s.id, round(float(s.lon), 5), round(float(s.lat), 5), s.name, k])
    return {
        "generated_at": now.isoformat(timespec="seconds"),
        "horizon": [int(now.timestamp()), int(end.timestamp())],
        "radius_m": float(radius_m),
        "center": None if lon is None or lat is None else [float(lon), float(lat)],
        "hours": hours,
        "near": near,
        "city": city,
    }
