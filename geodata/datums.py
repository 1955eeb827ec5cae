"""WGS84 ↔ GCJ-02 ↔ BD-09, vectorised with numpy.

GCJ-02 (Amap, Tencent) is WGS84 plus a published obfuscation offset inside China; BD-09
(Baidu) is a further rotation/scale of GCJ-02. Outside China GCJ-02 equals WGS84. The
inverses (GCJ-02→WGS84, BD-09→WGS84) iterate the forward formula until the round trip is
below 1 mm (one-step inverses are 1–3 m off).

Every function takes ``lon, lat`` (scalars or arrays, degrees) and returns ``(lon, lat)`` of
the same shape.
"""

from __future__ import annotations

import numpy as np

from geodata.errors import DatumError

__all__ = [
    "DATUMS",
    "normalise_datum",
    "convert",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
    "in_china",
]

DATUMS = ("wgs84", "gcj02", "bd09")
_ALIASES = {
    "wgs84": "wgs84", "wgs-84": "wgs84", "epsg:4326": "wgs84", "4326": "wgs84", "gps": "wgs84",
    "cgcs2000": "wgs84", "epsg:4490": "wgs84", "tianditu": "wgs84", "osm": "wgs84",
    "gcj02": "gcj02", "gcj-02": "gcj02", "gcj": "gcj02", "amap": "gcj02", "gaode": "gcj02",
    "tencent": "gcj02", "火星坐标": "gcj02", "高德": "gcj02",
    "bd09": "bd09", "bd-09": "bd09", "bd09ll": "bd09", "baidu": "bd09", "百度": "bd09",
}

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by the GCJ-02 formula
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
_TOLERANCE_DEG = 1e-9  # ≈ 0.1 mm: well below the 1 mm round-trip target
_MAX_ITER = 30


def normalise_datum(name: str) -> str:
    """``WGS84``/``gcj-02``/``amap``/``baidu``... → ``wgs84`` / ``gcj02`` / ``bd09``."""
    key = str(name or "").strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    raise DatumError(f"未知坐标系 {name!r} (unknown datum); use one of: {', '.join(DATUMS)}")


def in_china(lon, lat) -> np.ndarray:
    """The rough box inside which GCJ-02 differs from WGS84 (the published formula's test)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _transform_lat(x, y):
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x, y):
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _as_arrays(lon, lat):
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    if lon_a.shape != lat_a.shape:
        raise DatumError(f"lon and lat differ in shape: {lon_a.shape} vs {lat_a.shape}")
    return lon_a, lat_a


def _out(lon_in, lon, lat):
    if np.ndim(lon_in) == 0:
        return float(lon), float(lat)
    return lon, lat


def _gcj_offset(lon, lat):
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02(lon, lat):
    """WGS84 → GCJ-02 (identity outside China)."""
    lon_a, lat_a = _as_arrays(lon, lat)
    dlon, dlat = _gcj_offset(lon_a, lat_a)
    return _out(lon, lon_a + dlon, lat_a + dlat)


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 → WGS84 by fixed-point iteration until the forward round trip is < 1 mm."""
    lon_a, lat_a = _as_arrays(lon, lat)
    wlon, wlat = lon_a.copy(), lat_a.copy()
    for _ in range(_MAX_ITER):
        dlon, dlat = _gcj_offset(wlon, wlat)
        err_lon = wlon + dlon - lon_a
        err_lat = wlat + dlat - lat_a
        wlon = wlon - err_lon
        wlat = wlat - err_lat
        if np.all(np.abs(err_lon) < _TOLERANCE_DEG) and np.all(np.abs(err_lat) < _TOLERANCE_DEG):
            break
    return _out(lon, wlon, wlat)


def gcj02_to_bd09(lon, lat):
    """GCJ-02 → BD-09 (Baidu's published formula)."""
    lon_a, lat_a = _as_arrays(lon, lat)
    z = np.sqrt(lon_a * lon_a + lat_a * lat_a) + 0.00002 * np.sin(lat_a * _X_PI)
    theta = np.arctan2(lat_a, lon_a) + 0.000003 * np.cos(lon_a * _X_PI)
    return _out(lon, z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006)


def _bd09_to_gcj02_step(lon, lat):
    x = lon - 0.0065
    y = lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def bd09_to_gcj02(lon, lat):
    """BD-09 → GCJ-02: closed-form first guess refined until the round trip is < 1 mm."""
    lon_a, lat_a = _as_arrays(lon, lat)
    glon, glat = _bd09_to_gcj02_step(lon_a, lat_a)
    for _ in range(_MAX_ITER):
        blon, blat = gcj02_to_bd09(glon, glat)
        err_lon, err_lat = blon - lon_a, blat - lat_a
        glon, glat = glon - err_lon, glat - err_lat
        if np.all(np.abs(err_lon) < _TOLERANCE_DEG) and np.all(np.abs(err_lat) < _TOLERANCE_DEG):
            break
    return _out(lon, glon, glat)


def wgs84_to_bd09(lon, lat):
    """WGS84 → BD-09 (via GCJ-02)."""
    glon, glat = wgs84_to_gcj02(lon, lat)
    return gcj02_to_bd09(glon, glat)


def bd09_to_wgs84(lon, lat):
    """BD-09 → WGS84 (via GCJ-02, both steps iterated to < 1 mm)."""
    glon, glat = bd09_to_gcj02(lon, lat)
    return gcj02_to_wgs84(glon, glat)


_TABLE = {
    ("wgs84", "gcj02"): wgs84_to_gcj02,
    ("gcj02", "wgs84"): gcj02_to_wgs84,
    ("gcj02", "bd09"): gcj02_to_bd09,
    ("bd09", "gcj02"): bd09_to_gcj02,
    ("wgs84", "bd09"): wgs84_to_bd09,
    ("bd09", "wgs84"): bd09_to_wgs84,
}


def convert(lon, lat, *, src: str, dst: str):
    """Convert coordinates between any two of ``wgs84``, ``gcj02``, ``bd09``.

    Examples
    --------
    >>> convert(116.3975, 39.9087, src="wgs84", dst="gcj02")  # doctest: +ELLIPSIS
    (116.40374..., 39.91010...)
    """
    src, dst = normalise_datum(src), normalise_datum(dst)
    if src == dst:
        lon_a, lat_a = _as_arrays(lon, lat)
        return _out(lon, lon_a.copy(), lat_a.copy())
    return _TABLE[(src, dst)](lon, lat)
