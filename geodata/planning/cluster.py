"""Coverage beyond one machine: the same computation over a dask-geopandas GeoDataFrame.

Demand that does not fit in memory (national courier pings, a year of GPS traces) lives in a
partitioned :class:`dask_geopandas.GeoDataFrame`. :func:`coverage_dask` sends the stations
(small: ~200k points nationally) to every partition, runs
:func:`geodata.planning.coverage.coverage_arrays` there and adds up per-partition sums, so the
result is
the in-memory :func:`coverage_totals` of the concatenated data, exactly for the counts (sums
of float weights may differ in the last bits because they are added in a different order).

When to use it
--------------
* Demand fits in memory (Beijing at 100 m is 1.6 M points, ~40 MB): use
  :func:`geodata.planning.coverage.compute_coverage` / :func:`coverage_totals`. On 2 cores plain
  numpy
  with cKDTree (``workers=-1``) is faster than dask: the scheduler, serialisation and the
  per-partition KD-tree builds cost more than they save.
* Demand does not fit in one machine's memory, or already sits partitioned in Parquet on a
  cluster: use this module with a ``distributed.Client`` connected to that cluster.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geodata.crs.projection import metric_crs_for, to_metric
from geodata.errors import CRSMismatchError
from geodata.planning.coverage import coverage_arrays

__all__ = ["coverage_totals", "coverage_dask"]

_COLUMNS = ("demand_total", "demand_covered", "demand_multi_covered", "points", "uncovered",
            "farthest_m")


def _sums(xy: np.ndarray, weight: np.ndarray, station_xy: np.ndarray, radius_m: float,
          min_stations: int, workers: int) -> dict:
    arrays = coverage_arrays(xy, station_xy, radius_m, min_stations=min_stations,
                             workers=workers)
    covered = arrays.count >= 1
    multi = arrays.count >= max(1, min_stations)
    finite = arrays.nearest_m[np.isfinite(arrays.nearest_m)]
    return {"demand_total": float(weight.sum()), "demand_covered": float(weight[covered].sum()),
            "demand_multi_covered": float(weight[multi].sum()), "points": int(xy.shape[0]),
            "uncovered": int((~covered).sum()),
            "farthest_m": float(finite.max()) if finite.size else np.nan}


def _finish(parts: pd.DataFrame, radius_m: float, min_stations: int, crs: str) -> dict:
    total = float(parts["demand_total"].sum())
    covered = float(parts["demand_covered"].sum())
    multi = float(parts["demand_multi_covered"].sum())
    farthest = parts["farthest_m"].max()
    return {
        "demand_total": total,
        "demand_covered": covered,
        "demand_multi_covered": multi,
        "covered_share": None if total <= 0 else covered / total,
        "multi_covered_share": None if total <= 0 else multi / total,
        "demand_points": int(parts["points"].sum()),
        "uncovered": int(parts["uncovered"].sum()),
        "farthest_m": None if pd.isna(farthest) else float(farthest),
        "radius_m": float(radius_m),
        "min_stations": int(min_stations),
        "crs": crs,
        "partitions": int(len(parts)),
    }


def coverage_totals(lon, lat, weight, station_lon, station_lat, radius_m: float, *,
                    min_stations: int = 2, crs: str | None = None) -> dict:
    """In-memory totals (the reference :func:`coverage_dask` must equal).

    Coordinates are WGS84; distances are straight-line metres in ``crs`` (chosen from the
    stations' extent by default).
    """
    crs = crs or metric_crs_for(station_lon, station_lat)
    xy = np.column_stack(to_metric(lon, lat, crs))
    sxy = np.column_stack(to_metric(station_lon, station_lat, crs))
    parts = pd.DataFrame([_sums(xy, np.asarray(weight, dtype=float), sxy, radius_m,
                                min_stations, -1)])
    return _finish(parts, radius_m, min_stations, crs)


def _partition(frame, station_xy, radius_m, min_stations, crs, weight_column):
    if len(frame) == 0:
        row = {k: 0.0 for k in _COLUMNS}
        row["farthest_m"] = np.nan
        return pd.DataFrame([row])
    geo = frame.to_crs(crs) if str(frame.crs) != crs else frame
    xy = np.column_stack([geo.geometry.x.to_numpy(), geo.geometry.y.to_numpy()])
    weight = (np.ones(len(frame)) if weight_column is None
              else frame[weight_column].to_numpy(dtype=float))
    return pd.DataFrame([_sums(xy, weight, station_xy, radius_m, min_stations, 1)])


def coverage_dask(demand, station_lon, station_lat, radius_m: float, *,
                  weight_column: str | None = "weight", min_stations: int = 2,
                  crs: str | None = None, client=None) -> dict:
    """Coverage totals of a partitioned demand GeoDataFrame (points), computed with dask.

    Parameters
    ----------
    demand : dask_geopandas.GeoDataFrame
        Point demand with a CRS; ``weight_column`` (``None``: weight 1 per point).
    station_lon, station_lat : array
        Stations in WGS84 (broadcast to every partition).
    radius_m : float
        Straight-line reach in metres.
    min_stations : int
        N of 交叉覆盖.
    crs : str, optional
        Metric CRS for the distances; chosen from the stations' extent by default.
    client : distributed.Client, optional
        Where to compute; by default dask's current scheduler (a ``Client`` made current
        is used automatically).

    Returns
    -------
    dict
        ``demand_total, demand_covered, demand_multi_covered, covered_share,
        multi_covered_share, demand_points, uncovered, farthest_m, radius_m, min_stations,
        crs, partitions``.
    """
    if demand.crs is None:
        raise CRSMismatchError("demand GeoDataFrame has no CRS; set it before computing")
    crs = crs or metric_crs_for(station_lon, station_lat)
    sxy = np.column_stack(to_metric(np.asarray(station_lon, float),
                                    np.asarray(station_lat, float), crs))
    if client is not None:
        sxy = client.scatter(sxy, broadcast=True)
    meta = pd.DataFrame({k: pd.Series(dtype=float) for k in _COLUMNS})
    parts = demand.map_partitions(_partition, sxy, radius_m, min_stations, crs, weight_column,
                                  meta=meta)
    result = client.compute(parts).result() if client is not None else parts.compute()
    return _finish(result, radius_m, min_stations, crs)
