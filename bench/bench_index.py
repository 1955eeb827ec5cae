"""Nearest-station search vs scipy ``cKDTree`` on the same projected coordinates, same run.

Single queries at 1,000 / 26,000 (Beijing, 2021) / 200,000 random stations over Beijing's box
(115.4-117.6 E, 39.4-41.1 N), and bulk nearest for 1,000,000 points. Per single-query row:

* ``ours``: :meth:`StationIndex.nearest_ids` (metric x, y in; distances and positions out),
  the plain in-process query API; ``baseline``: ``cKDTree.query((x, y))`` on ``index.xy``.
* ``lonlat_us``: the same lean query from WGS84 lon/lat (projection included).
* ``full_k1_us`` / ``full_k5_us``: :meth:`StationIndex.nearest` with result objects, walking
  time and the open-at-arrival check (what the CLI and API call).

Bulk: ``ours`` = :meth:`StationIndex.nearest_bulk` from WGS84 lon/lat (projection included);
``baseline`` = ``cKDTree.query`` on already projected points. Both single-threaded, best of
two interleaved runs.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.spatial import cKDTree

from geodata.index import StationIndex
from stations.records import Station

SIZES = (1_000, 26_000, 200_000)
QUERIES = 2_000
BULK_POINTS = 1_000_000
BULK_STATIONS = (26_000, 200_000)
SINGLE_GOAL_US = 20.0
BULK_GOAL_RATIO = 2.0
HOURS = ("", "24/7", "Mo-Fr 09:00-17:00", "Mo-Su 08:30-11:00,13:30-17:00")


def _stations(n: int, seed: int) -> list[Station]:
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(115.4, 117.6, n), rng.uniform(39.4, 41.1, n)
    return [Station(name=f"s{i}", lon=float(a), lat=float(b), id=i + 1,
                    opening_hours=HOURS[i % len(HOURS)])
            for i, (a, b) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True))]


def _per_call_us(fn, args: list, repeat: int = 3) -> float:
    """Best-of-``repeat`` mean time per call in microseconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for a in args:
            fn(*a)
        best = min(best, time.perf_counter() - start)
    return best / len(args) * 1e6


def _single(n: int) -> dict:
    stations = _stations(n, seed=n)
    started = time.perf_counter()
    index = StationIndex(stations)
    build_s = time.perf_counter() - started
    tree = cKDTree(index.xy)  # the baseline, on exactly our coordinates
    rng = np.random.default_rng(7)
    qlon, qlat = rng.uniform(115.4, 117.6, QUERIES), rng.uniform(39.4, 41.1, QUERIES)
    qx, qy = index.project(qlon, qlat)
    xy_args = list(zip(qx.tolist(), qy.tolist(), strict=True))
    ll_args = list(zip(qlon.tolist(), qlat.tolist(), strict=True))

    started = time.perf_counter()
    index.nearest_ids(*xy_args[0])  # builds the lean grid (once per index)
    grid_s = time.perf_counter() - started
    for a in xy_args:  # same answers as the baseline, checked before timing
        d, i = index.nearest_ids(*a)
        bd, bi = tree.query(a)
        assert i == [int(bi)] and abs(d[0] - bd) < 1e-6

    ours = _per_call_us(lambda x, y: index.nearest_ids(x, y), xy_args)
    base = _per_call_us(lambda x, y: tree.query((x, y)), xy_args)
    lonlat = _per_call_us(lambda lon, lat: index.nearest_ids(*index.project(lon, lat)), ll_args)
    full1 = _per_call_us(lambda lon, lat: index.nearest(lon, lat, k=1), ll_args[:500], 2)
    full5 = _per_call_us(lambda lon, lat: index.nearest(lon, lat, k=5), ll_args[:500], 2)
    base5 = _per_call_us(lambda x, y: tree.query((x, y), k=5), xy_args, 2)
    ours5 = _per_call_us(lambda x, y: index.nearest_ids(x, y, 5), xy_args, 2)
    row = {
        "case": f"single nearest, {n:,} stations",
        "ours": round(ours, 2),
        "baseline": round(base, 2),
        "baseline_name": "cKDTree.query((x, y))",
        "unit": "µs/query (k=1, nearest_ids)",
        "lonlat_us": round(lonlat, 2),
        "full_k1_us": round(full1, 1),
        "full_k5_us": round(full5, 1),
        "ours_k5_us": round(ours5, 2),
        "baseline_k5_us": round(base5, 2),
        "build_s": round(build_s, 3),
        "grid_build_s": round(grid_s, 3),
    }
    if n == 200_000:
        row["goal"] = f"≤ {SINGLE_GOAL_US:g} µs"
        row["ok"] = ours <= SINGLE_GOAL_US
    return row


def _bulk(n: int) -> dict:
    index = StationIndex(_stations(n, seed=n + 1))
    tree = cKDTree(index.xy)
    rng = np.random.default_rng(11)
    lon, lat = rng.uniform(115.4, 117.6, BULK_POINTS), rng.uniform(39.4, 41.1, BULK_POINTS)
    x, y = index.project(lon, lat)
    points = np.column_stack([x, y])

    base = ours = float("inf")
    for _ in range(2):  # best of two, interleaved, so both see the same machine load
        started = time.perf_counter()
        base_d, base_i = tree.query(points, k=1, workers=1)
        base = min(base, time.perf_counter() - started)
        started = time.perf_counter()
        dist, idx = index.nearest_bulk(lon, lat, k=1, workers=1)
        ours = min(ours, time.perf_counter() - started)
    assert (idx[:, 0] == base_i).all() and np.allclose(dist[:, 0], base_d, rtol=1e-12)
    ratio = ours / base
    return {
        "case": f"bulk nearest, {BULK_POINTS:,} points, {n:,} stations",
        "ours": round(ours, 3),
        "baseline": round(base, 3),
        "baseline_name": "cKDTree.query(projected points)",
        "unit": "s (ours includes lon/lat projection)",
        "ratio": round(ratio, 2),
        "points_per_s": round(BULK_POINTS / ours),
        "goal": f"≤ {BULK_GOAL_RATIO:g}× baseline",
        "ok": ratio <= BULK_GOAL_RATIO,
    }


def run() -> list[dict]:
    """Every case, ours and the cKDTree baseline side by side."""
    rows = [_single(n) for n in SIZES]
    rows += [_bulk(n) for n in BULK_STATIONS]
    return rows


if __name__ == "__main__":  # pragma: no cover
    for r in run():
        print(r)
