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

Open at 03:00 (issue 11): :meth:`StationIndex.nearest` with ``open_at`` when 1 station in
1,000 is open at night, beside :meth:`StationIndex.nearest_widening` (the path before issue 11:
widen the candidates until enough are open, up to every station); same 50 queries, answers
checked equal first. Goal at 200,000 stations: ≤ 1 ms a query (k = 1; k = 5 reported).

Bulk: ``ours`` = :meth:`StationIndex.nearest_bulk` from WGS84 lon/lat (projection included);
``baseline`` = ``cKDTree.query`` on already projected points. Both single-threaded.

Every figure comes from :func:`bench._timing.compare` / :func:`bench._timing.measure`: ours
and its baseline with the same warm-up and repeats, interleaved, medians (single queries: one
timed call is a loop over the 2,000 queries, divided by 2,000).
"""

from __future__ import annotations

import time
from datetime import datetime
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
# open_at when little is open (issue 11): 03:00 on an ordinary Monday, 1 station in 1,000 open
# at night, the rest day-time hours (the shapes hosts write)
OPEN_AT_SIZES = (20_000, 200_000)
OPEN_AT_QUERIES = 50
OPEN_AT_GOAL_US = 1000.0
NIGHT = datetime(2026, 11, 30, 3, 0)
NIGHT_SHARE = 0.001
NIGHT_HOURS = ("24/7", "Mo-Su 22:00-06:00", "24/7; PH off")
DAY_HOURS = ("Mo-Fr 09:00-17:00", "Mo-Su 08:00-20:00; PH off", "工作日 8:00-18:00",
             "Mo-Sa 07:00-19:00", "Mo-Su 08:30-11:00,13:30-17:00", "")


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


def _night_stations(n: int, seed: int) -> list[Station]:
    """Day-time hours everywhere but a :data:`NIGHT_SHARE` of stations open at night."""
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(115.4, 117.6, n), rng.uniform(39.4, 41.1, n)
    night = rng.random(n) < NIGHT_SHARE
    return [Station(name=f"s{i}", lon=float(lon[i]), lat=float(lat[i]), id=i + 1,
                    opening_hours=NIGHT_HOURS[i % len(NIGHT_HOURS)] if night[i]
                    else DAY_HOURS[i % len(DAY_HOURS)])
            for i in range(n)]


def _open_at(n: int) -> dict:
    """``nearest(open_at=03:00)``: little is open, the nearest open station is far."""
    index = StationIndex(_night_stations(n, seed=n + 2))
    rng = np.random.default_rng(13)
    points = list(zip(rng.uniform(115.6, 117.4, OPEN_AT_QUERIES).tolist(),
                      rng.uniform(39.6, 40.9, OPEN_AT_QUERIES).tolist(), strict=True))
    started = time.perf_counter()
    index.nearest(*points[0], k=1, open_at=NIGHT)  # builds the grid and the open-slot index
    build_s = time.perf_counter() - started
    for lon, lat in points:  # same answers, checked before timing
        for k in (1, 5):
            ours = [r.index for r in index.nearest(lon, lat, k=k, open_at=NIGHT)]
            assert ours == [r.index for r in index.nearest_widening(lon, lat, k=k,
                                                                       open_at=NIGHT)]

    def loop(fn, k):
        for lon, lat in points:
            fn(lon, lat, k=k, open_at=NIGHT)

    t1 = compare({"ours": partial(loop, index.nearest, 1),
                  "baseline": partial(loop, index.nearest_widening, 1)})
    t5 = compare({"ours": partial(loop, index.nearest, 5),
                  "baseline": partial(loop, index.nearest_widening, 5)})
    ours = _us(t1["ours"], len(points))
    row = {
        "case": f"nearest open_at 03:00 (little open), k=1, {n:,} stations",
        "ours": round(ours, 1),
        "unit": "µs/query",
        "baselines": [{"name": "widening to every station (before issue 11)",
                       "value": round(_us(t1["baseline"], len(points)), 1)}],
        "timing": describe(t1["ours"]),
        "k5_us": round(_us(t5["ours"], len(points)), 1),
        "k5_baseline_us": round(_us(t5["baseline"], len(points)), 1),
        "night_share": NIGHT_SHARE,
        "first_query_s": round(build_s, 3),
    }
    if n == 200_000:
        row["goal"] = f"≤ {OPEN_AT_GOAL_US:g} µs"
        row["ok"] = bool(ours <= OPEN_AT_GOAL_US)
    return row


def run() -> list[dict]:
    """Every case, ours and the cKDTree baseline side by side."""
    rows = [row for n in SIZES for row in _single(n)]
    rows += [_bulk(n) for n in BULK_STATIONS]
    rows += [_open_at(n) for n in OPEN_AT_SIZES]
    return rows


if __name__ == "__main__":  # pragma: no cover
    for r in run():
        print(r)
