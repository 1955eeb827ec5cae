"""The area view of demand (issue 16): a 100 m grid clipped to polygons, each cell weighing its
area inside (:func:`geodata.planning.demand.area_demand`).

Row "西城区's 15 streets": ours against the usual GeoPandas way — every aligned 100 m box over
the streets' extent as a GeoDataFrame, ``geopandas.overlay(cells, streets, how="intersection")``
and the pieces' areas. Both must give the same cells and the same area per street (``agree``,
relative 1e-9), timed by :func:`bench._timing.compare` (same warm-up and repeats, interleaved).

Row "Beijing's 16 districts" (≈1.66 M cells): ours alone (the overlay baseline takes minutes);
its total must equal the districts' area.

Goal: agreement with the baseline, and the whole city within 10 s (what a union dashboard's
whole-city page can afford before drawing).
"""

from __future__ import annotations

import time
from functools import partial

import numpy as np

from bench._timing import compare, describe, measure
from geodata.crs.projection import BEIJING_CRS

CELL = 100.0
CITY_GOAL_S = 10.0


def _streets():
    from geodata.places.areas import load_street_areas

    frame = load_street_areas()
    return frame[frame["district"] == "西城区"].reset_index(drop=True)


def _ours(frame, level="street"):
    from geodata.planning.demand import area_demand

    return area_demand(list(frame.geometry.values), names=list(frame["name"]),
                       districts=list(frame["district"] if "district" in frame else
                                      frame["name"]), level=level, cell_m=CELL,
                       crs=BEIJING_CRS)


def _overlay(frame):
    import geopandas as gpd
    import shapely

    metric = frame.to_crs(BEIJING_CRS)[["name", "geometry"]]
    x0, y0, x1, y1 = metric.total_bounds
    xs = np.arange(np.floor(x0 / CELL), np.ceil(x1 / CELL)) * CELL
    ys = np.arange(np.floor(y0 / CELL), np.ceil(y1 / CELL)) * CELL
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    cells = gpd.GeoDataFrame(geometry=shapely.box(gx, gy, gx + CELL, gy + CELL), crs=BEIJING_CRS)
    pieces = gpd.overlay(cells, metric, how="intersection", keep_geom_type=True)
    return pieces[pieces.area > 0]


def _agree(ours, pieces) -> bool:
    per_street = pieces.assign(a=pieces.area).groupby("name")["a"].sum()
    mine = {}
    for name, w in zip(ours.street, ours.weight, strict=True):
        mine[name] = mine.get(name, 0.0) + float(w)
    same_areas = all(abs(mine.get(k, 0.0) - v) <= 1e-9 * max(v, 1.0)
                     for k, v in per_street.items())
    return bool(same_areas and len(ours) == len(pieces))


def run() -> list[dict]:
    from geodata.places.areas import load_districts

    streets = _streets()
    step = compare({"ours": partial(_ours, streets), "overlay": partial(_overlay, streets)})
    agree = _agree(step["ours"]["result"], step["overlay"]["result"])
    districts = load_districts()
    started = time.perf_counter()
    city = measure(partial(_ours, districts, "district"), warmup=0, repeats=1)
    city_s = city["median"]
    expected = float(districts.to_crs(BEIJING_CRS).area.sum())
    total = float(city["result"].weight.sum())
    del city
    return [{
        "case": f"area view of 西城区's {len(streets)} streets @100 m "
                f"({len(step['ours']['result']):,} cells)",
        "ours": round(step["ours"]["median"], 3), "unit": "s",
        "baselines": [{"name": "GeoDataFrame of boxes → geopandas.overlay(intersection) → area",
                       "value": round(step["overlay"]["median"], 3), "agree": agree}],
        "timing": describe(step["ours"]),
        "goal": "same cells and the same area per street as the overlay",
        "ok": agree,
    }, {
        "case": "area view of Beijing's 16 districts @100 m",
        "ours": round(city_s, 3), "unit": "s", "baselines": [],
        "total_km2": round(total / 1e6, 3),
        "same_total_as_polygons": abs(total - expected) <= 1e-9 * expected,
        "wall_s": round(time.perf_counter() - started, 3),
        "goal": f"≤ {CITY_GOAL_S:g} s, total equal to the districts' area",
        "ok": bool(city_s <= CITY_GOAL_S and abs(total - expected) <= 1e-9 * expected),
    }]


if __name__ == "__main__":  # pragma: no cover
    for row in run():
        print(row)
