"""Radius, nearest and coverage queries answered by the store's database where it can: on
PostGIS by its SQL (:meth:`stations.store.Store.spatial_within` and friends, GiST indexes,
EPSG:4548 metres), on SQLite by the same projection in memory. Both give identical answers
(tests/test_postgis_spatial.py); the in-memory :class:`~geodata.nearest.index.StationIndex`
stays the hot path of ``/api/nearest``."""

from __future__ import annotations

import numpy as np

from geodata.crs.projection import BEIJING_CRS, to_metric
from geodata.nearest.snapshot import DEFAULT_CACHE

__all__ = ["within", "nearest"]



def _open_xy(store, status: str | None):
    snapshot = DEFAULT_CACHE.get(store)
    stations = snapshot.with_status(None if status is None else [status])
    stations = [s for s in stations if s.lon is not None and s.lat is not None]
    if not stations:
        return stations, np.empty((0, 2))
    x, y = to_metric([s.lon for s in stations], [s.lat for s in stations], BEIJING_CRS)
    return stations, np.column_stack([np.asarray(x, float), np.asarray(y, float)])


def _distances(store, lon: float, lat: float, status: str | None):
    stations, xy = _open_xy(store, status)
    qx, qy = to_metric([lon], [lat], BEIJING_CRS)
    d = np.hypot(xy[:, 0] - float(np.asarray(qx)[0]), xy[:, 1] - float(np.asarray(qy)[0]))
    ids = np.array([s.id for s in stations], dtype=np.int64)
    order = np.lexsort((ids, d))
    return ids[order], d[order]


def within(store, lon: float, lat: float, radius_m: float, *,
           status: str | None = "open") -> list[tuple[int, float]]:
    """``(station id, metres)`` of every station within ``radius_m`` of a WGS84 point,
    nearest first, ties by id."""
    if store.is_postgis:
        return store.spatial_within(lon, lat, radius_m, status=status)
    ids, d = _distances(store, lon, lat, status)
    keep = d <= float(radius_m)
    return [(int(i), float(x)) for i, x in zip(ids[keep], d[keep], strict=True)]


def nearest(store, lon: float, lat: float, k: int = 5, *,
            status: str | None = "open") -> list[tuple[int, float]]:
    """``(station id, metres)`` of the ``k`` nearest stations, nearest first."""
    if store.is_postgis:
        return store.spatial_nearest(lon, lat, k, status=status)
    ids, d = _distances(store, lon, lat, status)
    return [(int(i), float(x)) for i, x in zip(ids[:k], d[:k], strict=True)]
