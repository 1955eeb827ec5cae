"""Nearest-station search vs scipy ``cKDTree`` on the same projected coordinates, same run.

Single queries at 1,000 / 26,000 (Beijing, 2021) / 200,000 random stations over Beijing's box
(115.4-117.6 E, 39.4-41.1 N), and bulk nearest for 1,000,000 points. Per single-query row:

* ``ours``: :meth:`StationIndex.nearest_ids` (metric x, y in; distances and positions out),
  the plain in-process query API; ``baseline``: ``cKDTree.query((x, y))`` on ``index.xy``.
* ``lonlat_us``: the same lean query from WGS84 lon/lat (projection included).
* ``full_k1_us`` / ``full_k5_us``: :meth:`StationIndex.nearest` with result objects, walking
  time and the open-at-arrival check (what the CLI and API call).

A k = 5 row per size puts :meth:`StationIndex.nearest_ids` with ``k=5`` beside
``cKDTree.query((x, y), k=5)``.

Bulk: ``ours`` = :meth:`StationIndex.nearest_bulk` from WGS84 lon/lat (projection included);
``baseline`` = ``cKDTree.query`` on already projected points. Both single-threaded.

Every figure comes from :func:`bench._timing.compare` / :func:`bench._timing.measure`: ours
and its baseline with the same warm-up and repeats, interleaved, medians (single queries: one
timed call is a loop over the 2,000 queries, divided by 2,000).
"""

from __future__ import annotations

import time
from functools import partial

import numpy as np
from scipy.spatial import cKDTree

from bench._timing import compare, describe, measure
from geodata.nearest.index import StationIndex
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


def _loop(fn, args: list) -> None:
    for a in args:
        fn(*a)


def _us(timing: dict, calls: int) -> float:
    """Median µs per call of a timed loop over ``calls`` calls."""
    return timing["median"] / calls * 1e6


def _single(n: int) -> list[dict]:
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
        d5, i5 = index.nearest_ids(*a, 5)
        bd5, _ = tree.query(a, k=5)
        assert np.allclose(d5, bd5, rtol=0, atol=1e-6)

    k1 = compare({"ours": partial(_loop, lambda x, y: index.nearest_ids(x, y), xy_args),
                  "baseline": partial(_loop, lambda x, y: tree.query((x, y)), xy_args)})
    k5 = compare({"ours": partial(_loop, lambda x, y: index.nearest_ids(x, y, 5), xy_args),
                  "baseline": partial(_loop, lambda x, y: tree.query((x, y), k=5), xy_args)})
    lonlat = measure(partial(
        _loop, lambda lon, lat: index.nearest_ids(*index.project(lon, lat)), ll_args))
    full = ll_args[:500]
    full1 = measure(partial(_loop, lambda lon, lat: index.nearest(lon, lat, k=1), full))
    full5 = measure(partial(_loop, lambda lon, lat: index.nearest(lon, lat, k=5), full))
    ours = _us(k1["ours"], QUERIES)
    row = {
        "case": f"single nearest k=1, {n:,} stations",
        "ours": round(ours, 2),
        "unit": "µs/query",
        "baselines": [{"name": "cKDTree.query((x, y))",
                       "value": round(_us(k1["baseline"], QUERIES), 2)}],
        "timing": describe(k1["ours"]),
        "lonlat_us": round(_us(lonlat, QUERIES), 2),
        "full_k1_us": round(_us(full1, len(full)), 1),
        "full_k5_us": round(_us(full5, len(full)), 1),
        "build_s": round(build_s, 3),
        "grid_build_s": round(grid_s, 3),
    }
    if n == 200_000:
        row["goal"] = f"≤ {SINGLE_GOAL_US:g} µs"
        row["ok"] = bool(ours <= SINGLE_GOAL_US)
    row5 = {
        "case": f"single nearest k=5, {n:,} stations",
        "ours": round(_us(k5["ours"], QUERIES), 2),
        "unit": "µs/query",
        "baselines": [{"name": "cKDTree.query((x, y), k=5)",
                       "value": round(_us(k5["baseline"], QUERIES), 2)}],
        "timing": describe(k5["ours"]),
    }
    return [row, row5]


def _bulk(n: int) -> dict:
    index = StationIndex(_stations(n, seed=n + 1))
    tree = cKDTree(index.xy)
    rng = np.random.default_rng(11)
    lon, lat = rng.uniform(115.4, 117.6, BULK_POINTS), rng.uniform(39.4, 41.1, BULK_POINTS)
    x, y = index.project(lon, lat)
    points = np.column_stack([x, y])

    t = compare({"ours": lambda: index.nearest_bulk(lon, lat, k=1, workers=1),
                 "baseline": lambda: tree.query(points, k=1, workers=1)})
    dist, idx = t["ours"]["result"]
    base_d, base_i = t["baseline"]["result"]
    assert (idx[:, 0] == base_i).all() and np.allclose(dist[:, 0], base_d, rtol=1e-12)
    ours, base = t["ours"]["median"], t["baseline"]["median"]
    return {
        "case": f"bulk nearest, {BULK_POINTS:,} points, {n:,} stations",
        "ours": round(ours, 3),
        "unit": "s",
        "note": "ours starts from lon/lat (projection included), cKDTree from x, y",
        "baselines": [{"name": "cKDTree.query(projected points)", "value": round(base, 3)}],
        "timing": describe(t["ours"]),
        "time_ratio": round(ours / base, 2),
        "points_per_s": round(BULK_POINTS / ours),
        "goal": f"≤ {BULK_GOAL_RATIO:g}× baseline time",
        "ok": bool(ours / base <= BULK_GOAL_RATIO),
    }


def run() -> list[dict]:
    """Every case, ours and the cKDTree baseline side by side."""
    rows = [row for n in SIZES for row in _single(n)]
    rows += [_bulk(n) for n in BULK_STATIONS]
    return rows


if __name__ == "__main__":  # pragma: no cover
    for r in run():
        print(r)
