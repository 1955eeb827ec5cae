"""Coverage of Beijing at 100 m (≈1.6 M demand cells) by 26,000 stations at 1 km.

* Demand: :func:`geodata.planning.demand.grid_demand` over the union of the 16 shipped district
  polygons, 100 m cells (building it is timed separately, it is not part of the goal).
* Stations: 26,000 synthetic points (Beijing had 25,987 暖心驿站 in Jan 2021), drawn from the
  grid cells with a density falling off from the centre (half-density distance 8 km) and
  jittered by up to 50 m, seeded.

Row "coverage step" (same metric points in for everyone; each builds its own tree/index):

* ours: :func:`geodata.planning.coverage.coverage_arrays` (raster pre-pass + cKDTree, all cores),
  min_stations = 2 (counts capped at 2: all 交叉覆盖 needs);
* ``geopandas.sjoin(demand, stations, predicate="dwithin", distance=1000)`` on metric
  GeoDataFrames built beforehand, then counting matches per cell — the usual GeoPandas way
  (single-threaded: sjoin has no workers option);
* ``cKDTree(stations).query_ball_point(demand, 1000, return_length=True, workers=-1)`` — the
  full count per cell (more than we need: ours stops at 2);
* ``cKDTree(stations).query(demand, k=2, distance_upper_bound=1000, workers=-1)`` — the same
  capped answer as ours, i.e. our own fallback path without the raster pre-pass.

Every baseline's per-cell count, capped at 2, must equal ours cell by cell (``agree``).

Row "end to end": ours projects both layers from WGS84, counts and sums the weights; the
baseline builds GeoDataFrames from WGS84, ``to_crs``, sjoin and counts.

All contenders of a row are timed together by :func:`bench._timing.compare` (same warm-up
and repeats, interleaved, medians). The nearest distances (for the farthest point) are lazy
and timed apart (``nearest_for_farthest_s``): no baseline computes them.

Goals (issue 4): coverage step ≥ 10× faster than the sjoin baseline; end to end ≤ 5 s.
"""

from __future__ import annotations

import time
from functools import partial

import numpy as np
from scipy.spatial import cKDTree

from bench._timing import compare, describe
from geodata.crs.projection import BEIJING_CRS, to_metric
from geodata.planning.coverage import coverage_arrays

RADIUS = 1000.0
STATIONS = 26_000
GOAL_S = 5.0
GOAL_SPEEDUP = 10.0


def _data():
    import shapely

    from geodata.places.areas import load_districts
    from geodata.planning.demand import grid_demand

    started = time.perf_counter()
    beijing = shapely.union_all(load_districts().geometry.values)
    grid = grid_demand(beijing, cell_m=100, crs=BEIJING_CRS)
    grid_s = time.perf_counter() - started
    rng = np.random.default_rng(26_000)
    gx, gy = to_metric(grid.lon, grid.lat, BEIJING_CRS)
    cx, cy = to_metric(116.3975, 39.9087, BEIJING_CRS)  # Tiananmen
    r = np.hypot(gx - cx, gy - cy)
    p = 0.5 ** (r / 8000.0) + 0.002
    pick = rng.choice(grid.lon.size, STATIONS, replace=False, p=p / p.sum())
    sx, sy = to_metric(grid.lon[pick], grid.lat[pick], BEIJING_CRS)
    sx = sx + rng.uniform(-50, 50, STATIONS)
    sy = sy + rng.uniform(-50, 50, STATIONS)
    return grid, np.column_stack([gx, gy]), np.column_stack([sx, sy]), grid_s


def _ours_end_to_end(grid, slon, slat) -> tuple[float, float]:
    dxy = np.column_stack(to_metric(grid.lon, grid.lat, BEIJING_CRS))
    sxy = np.column_stack(to_metric(slon, slat, BEIJING_CRS))
    count = coverage_arrays(dxy, sxy, RADIUS, min_stations=2).count
    return float(grid.weight[count >= 1].sum()), float(grid.weight[count >= 2].sum())


def _frames(lon, lat, slon, slat):
    import geopandas as gpd

    demand = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    stations = gpd.GeoDataFrame(geometry=gpd.points_from_xy(slon, slat), crs="EPSG:4326")
    return demand.to_crs(BEIJING_CRS), stations.to_crs(BEIJING_CRS)


def _sjoin_counts(demand, stations) -> np.ndarray:
    import geopandas as gpd

    joined = gpd.sjoin(demand, stations, predicate="dwithin", distance=RADIUS, how="inner")
    return np.bincount(joined.index.to_numpy(), minlength=len(demand))


def _sjoin_end_to_end(grid, slon, slat) -> tuple[float, float]:
    count = _sjoin_counts(*_frames(grid.lon, grid.lat, slon, slat))
    return float(grid.weight[count >= 1].sum()), float(grid.weight[count >= 2].sum())


def _ball_counts(dxy, sxy) -> np.ndarray:
    return cKDTree(sxy).query_ball_point(dxy, RADIUS, return_length=True, workers=-1)


def _k2_counts(dxy, sxy) -> np.ndarray:
    d, _ = cKDTree(sxy).query(dxy, k=2, distance_upper_bound=RADIUS, workers=-1)
    return np.isfinite(d).sum(axis=1)


def run() -> list[dict]:
    from geodata.crs.projection import from_metric

    grid, demand_xy, station_xy, grid_s = _data()
    slon, slat = from_metric(station_xy[:, 0], station_xy[:, 1], BEIJING_CRS)
    # the metric inputs every contender of the coverage step starts from
    dxy = demand_xy
    sxy = np.column_stack(to_metric(slon, slat, BEIJING_CRS))
    frames = _frames(grid.lon, grid.lat, slon, slat)
    names = {"sjoin": "geopandas.sjoin(dwithin 1000) + bincount",
             "ball": "cKDTree.query_ball_point(r=1000, return_length=True, workers=-1)",
             "k2": "cKDTree.query(k=2, distance_upper_bound=1000, workers=-1)"}
    step = compare({
        "ours": partial(coverage_arrays, dxy, sxy, RADIUS, min_stations=2),
        "sjoin": partial(_sjoin_counts, *frames),
        "ball": partial(_ball_counts, dxy, sxy),
        "k2": partial(_k2_counts, dxy, sxy),
    })
    arrays = step["ours"]["result"]
    agree = {k: bool(np.array_equal(np.minimum(step[k]["result"], 2), arrays.count))
             for k in names}
    pairs = int(step["sjoin"]["result"].sum())
    started = time.perf_counter()
    farthest = float(np.max(arrays.nearest_m))
    nearest_s = time.perf_counter() - started
    del frames

    e2e = compare({"ours": partial(_ours_end_to_end, grid, slon, slat),
                   "sjoin": partial(_sjoin_end_to_end, grid, slon, slat)})
    covered, multi = e2e["ours"]["result"]
    same_sums = e2e["sjoin"]["result"] == (covered, multi)

    n = grid.lon.size
    core = step["ours"]["median"]
    speedup = step["sjoin"]["median"] / core
    total = e2e["ours"]["median"]
    return [{
        "case": f"coverage step, {n:,} demand cells (Beijing @100 m) × {STATIONS:,} stations, "
                "1 km, metric in",
        "ours": round(core, 3), "unit": "s",
        "baselines": [{"name": names[k], "value": round(step[k]["median"], 3),
                       "agree": agree[k]} for k in names],
        "timing": describe(step["ours"]),
        "ours_runs": [round(v, 3) for v in step["ours"]["runs"]],
        "sjoin_runs": [round(v, 3) for v in step["sjoin"]["runs"]],
        "pairs_in_sjoin": pairs,
        "nearest_for_farthest_s": round(nearest_s, 3),
        "farthest_m": round(farthest, 1),
        "grid_build_s": round(grid_s, 2),
        "goal": f"≥ {GOAL_SPEEDUP:g}× geopandas.sjoin; every baseline agrees cell by cell",
        "ok": bool(all(agree.values()) and speedup >= GOAL_SPEEDUP),
    }, {
        "case": f"coverage end to end from WGS84, {n:,} cells × {STATIONS:,} stations, 1 km",
        "ours": round(total, 3), "unit": "s",
        "baselines": [{"name": "GeoDataFrames from WGS84 → to_crs → sjoin + bincount",
                       "value": round(e2e["sjoin"]["median"], 3),
                       "same_weighted_sums": same_sums}],
        "timing": describe(e2e["ours"]),
        "covered_share": round(covered / n, 4),
        "multi_covered_share": round(multi / n, 4),
        "goal": f"≤ {GOAL_S:g} s",
        "ok": bool(same_sums and total <= GOAL_S),
    }]


if __name__ == "__main__":  # pragma: no cover
    for row in run():
        print(row)
