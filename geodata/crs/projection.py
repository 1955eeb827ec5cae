"""Metric projections for distance work (never measure in degrees).

Around Beijing we use EPSG:4548 (CGCS2000 / 3-degree Gauss-Kruger CM 117°E); elsewhere
the CGCS2000 3-degree zone whose central meridian is nearest the data's centre, or UTM
outside China.
"""

from __future__ import annotations

import threading

import numpy as np
from pyproj import CRS, Transformer

__all__ = ["BEIJING_CRS", "PROJ_LOCK", "metric_crs_for", "to_metric", "from_metric",
           "transformer"]

BEIJING_CRS = "EPSG:4548"


def metric_crs_for(lon, lat) -> str:
    """Choose a metric CRS for data around ``lon``/``lat`` (arrays or scalars, WGS84).

    China (73–135°E): CGCS2000 3-degree GK zone with CM = nearest multiple of 3°
    (EPSG:4534 CM 75°E … EPSG:4554 CM 135°E); elsewhere the UTM zone of the centre.
    """
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    if lon_a.size == 0:
        return BEIJING_CRS
    clon = float((np.nanmin(lon_a) + np.nanmax(lon_a)) / 2)
    clat = float((np.nanmin(lat_a) + np.nanmax(lat_a)) / 2)
    if 73.5 <= clon <= 136.5 and 15 <= clat <= 55:
        cm = int(round(clon / 3.0)) * 3
        return f"EPSG:{4534 + (cm - 75) // 3}"
    zone = int((clon + 180) // 6) + 1
    return f"EPSG:{(32600 if clat >= 0 else 32700) + zone}"


#: Held while PROJ objects are made or asked about. pyproj 3.7 aborts the process (or
#: answers wrong) when threads make PROJ objects or query the PROJ database at the same
#: time (pyproj4/pyproj#1499; seen here as "Fatal Python error: Aborted" in dask worker
#: threads, in ``CRS.to_epsg``, ``CRS.from_user_input`` and in a shared Transformer's own
#: per-thread copy, which pyproj makes on a thread's first use).
PROJ_LOCK = threading.RLock()
_PER_THREAD = threading.local()


def transformer(src: str, dst: str) -> Transformer:
    """This thread's pyproj Transformer from ``src`` to ``dst``, always lon/lat (x, y) order.

    Made once per thread and pair under :data:`PROJ_LOCK` and used by that thread alone, so
    pyproj never makes a thread's copy by itself, unlocked, while another thread does too.
    """
    made = getattr(_PER_THREAD, "transformers", None)
    if made is None:
        made = _PER_THREAD.transformers = {}
    found = made.get((src, dst))
    if found is None:
        with PROJ_LOCK:
            found = Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst),
                                         always_xy=True)
        if len(made) >= 32:
            made.clear()
        made[(src, dst)] = found
    return found


def to_metric(lon, lat, crs: str = BEIJING_CRS):
    """WGS84 lon/lat → metric x/y (metres) in ``crs``."""
    x, y = transformer("EPSG:4326", crs).transform(np.asarray(lon, dtype=float),
                                                   np.asarray(lat, dtype=float))
    return x, y


def from_metric(x, y, crs: str = BEIJING_CRS):
    """Metric x/y in ``crs`` → WGS84 lon/lat."""
    lon, lat = transformer(crs, "EPSG:4326").transform(np.asarray(x, dtype=float),
                                                       np.asarray(y, dtype=float))
    return lon, lat
