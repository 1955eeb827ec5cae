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

The command line
----------------
``nuanxin coverage --engine dask [--scheduler ADDRESS] [--demand-parquet PATH]`` runs
:func:`area_coverage_dask`: the question ``nuanxin coverage`` answers (open stations, a radius
or walking minutes as straight line × detour, ≥ N stations, a district/street or everything,
the per-area breakdown), with the demand partitioned over a dask.distributed cluster — a
``LocalCluster`` (one worker process per core) by default, the scheduler at ADDRESS when given.
Demand comes from the store (as the single-process engine selects it) or from a partitioned
GeoParquet dataset (``dask_geopandas.read_parquet``: a folder of ``*.parquet`` parts with
point geometry, optional ``weight``, ``district``, ``street``). The totals and the per-area
rows equal :func:`geodata.planning.coverage.compute_coverage`'s on the same demand (same CRS,
same rounding); each partition also reports its own compute time (``partition_seconds``),
the figure a cluster estimate scales from.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from geodata.crs.projection import metric_crs_for, to_metric
from geodata.errors import CRSMismatchError
from geodata.planning.coverage import coverage_arrays, prepare_shared

__all__ = ["coverage_totals", "coverage_dask", "area_coverage_dask", "demand_frame",
           "read_demand_parquet", "open_client"]

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


def _one_at_a_time(body):
    """Run a partition's ``body`` holding :data:`geodata.crs.projection.PROJ_LOCK`: a worker
    with several threads computes one partition at a time. PROJ (pyproj 3.7) and GEOS
    objects are not safe when threads make or prepare them at once, and the crash takes the
    worker with it; ``LocalCluster`` workers run one thread each, so this costs nothing
    there (for a cluster of your own: ``dask worker --nthreads 1``, more processes)."""
    from functools import wraps

    from geodata.crs.projection import PROJ_LOCK

    @wraps(body)
    def run(*args, **kwargs):
        with PROJ_LOCK:
            return body(*args, **kwargs)

    return run


@_one_at_a_time
def _partition(frame, station_xy, radius_m, min_stations, crs, weight_column, source):
    """One partition's totals; ``source``: the demand's CRS, as text, asked once before the
    partitions run (``EPSG:4326``: projected with the shared Transformer)."""
    if len(frame) == 0:
        row = {k: 0.0 for k in _COLUMNS}
        row["farthest_m"] = np.nan
        return pd.DataFrame([row])
    x, y = frame.geometry.x.to_numpy(dtype=float), frame.geometry.y.to_numpy(dtype=float)
    if source == "EPSG:4326":
        x, y = to_metric(x, y, crs)
    elif source != crs:
        geo = frame.to_crs(crs)
        x, y = geo.geometry.x.to_numpy(dtype=float), geo.geometry.y.to_numpy(dtype=float)
    xy = np.column_stack([x, y])
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
    epsg = demand.crs.to_epsg()
    source = f"EPSG:{epsg}" if epsg is not None else demand.crs.to_wkt()
    parts = demand.map_partitions(_partition, sxy, radius_m, min_stations, crs, weight_column,
                                  source, meta=meta)
    result = client.compute(parts).result() if client is not None else parts.compute()
    return _finish(result, radius_m, min_stations, crs)


# -- the command line's engine ---------------------------------------------------------------
#: Per-area sums a partition reports (``a<i>_<name>``; the last area is "outside every area").
_AREA_SUMS = ("total", "covered", "multi", "points", "uncovered")


def open_client(scheduler: str | None = None):
    """A ``distributed.Client``: to the scheduler at ``scheduler``, else on a new
    ``LocalCluster`` with one single-threaded worker process per core (closed with the client).
    """
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler, timeout="30s")
    import logging

    # errors only: a worker slow to exit at close is killed by its nanny, not worth a warning
    cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1,
                           processes=True, dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster, timeout="60s")
    client._nuanxin_cluster = cluster  # closed with the client (see _close)
    return client


def _close(client) -> None:
    cluster = getattr(client, "_nuanxin_cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def _read_part(path: str):
    """One GeoParquet file, read under :data:`geodata.crs.projection.PROJ_LOCK`: a worker's
    threads read one file at a time (dask's own parquet reader, two threads at once, aborted
    the process now and then in pyarrow 26 — ``Fatal Python error: Aborted`` in
    ``ParquetFile.__init__``; and the file's CRS is a PROJ object, made under that lock)."""
    import geopandas as gpd

    from geodata.crs.projection import PROJ_LOCK

    with PROJ_LOCK:
        return gpd.read_parquet(path)


def read_demand_parquet(path: str, *, partitions: int | None = None):
    """Demand points from a GeoParquet file or a folder of ``*.parquet`` parts (one
    partition each), as a dask-geopandas frame."""
    from pathlib import Path

    import dask
    import dask.dataframe as dd
    import dask_geopandas  # noqa: F401 - registers GeoDataFrame collections with dask

    from stations.errors import ValidationError

    where = Path(path)
    files = sorted(where.glob("*.parquet")) if where.is_dir() else [where]
    try:
        if not files or not files[0].is_file():
            raise FileNotFoundError(f"no *.parquet file at {path!r}")
        meta = _read_part(str(files[0])).iloc[:0]
    except (OSError, ValueError) as exc:
        raise ValidationError(f"无法读取需求 GeoParquet (cannot read demand GeoParquet "
                              f"{path!r}): {exc}") from None
    frame = dd.from_delayed([dask.delayed(_read_part)(str(f)) for f in files], meta=meta,
                            verify_meta=False)
    if frame.crs is None:
        raise CRSMismatchError(f"{path}: the GeoParquet geometry has no CRS")
    if partitions:
        frame = frame.repartition(npartitions=int(partitions))
    return frame


def demand_frame(demand, *, partitions: int):
    """A :class:`~geodata.planning.demand.DemandSet` as a partitioned dask-geopandas frame."""
    import dask_geopandas
    import geopandas as gpd

    frame = gpd.GeoDataFrame(
        {"weight": np.asarray(demand.weight, dtype=float),
         "district": np.asarray(demand.district, dtype=object),
         "street": np.asarray(demand.street, dtype=object)},
        geometry=gpd.points_from_xy(demand.lon, demand.lat), crs="EPSG:4326")
    return dask_geopandas.from_geopandas(frame, npartitions=max(1, int(partitions)))


def _text_column(frame, name: str, n: int) -> np.ndarray:
    if name in frame.columns:
        return frame[name].fillna("").astype(str).to_numpy(dtype=object)
    return np.full(n, "", dtype=object)


@_one_at_a_time
def _area_partition(frame, station_xy, radius, min_stations, crs, spec, clip, wgs84=True):
    """One partition's sums: totals, per area of ``spec``, farthest distance, its own time.

    ``wgs84``: whether the demand is in EPSG:4326 already (asked once, before the partitions
    run: a partition never asks its frame's shared CRS object, see
    :data:`geodata.crs.projection.PROJ_LOCK`)."""
    import shapely

    from geodata.planning.coverage import _assign_areas
    from geodata.planning.demand import DemandSet

    started = time.perf_counter()
    geo = frame if wgs84 else frame.to_crs("EPSG:4326")
    lon, lat = geo.geometry.x.to_numpy(dtype=float), geo.geometry.y.to_numpy(dtype=float)
    n = lon.size
    weight = (frame["weight"].to_numpy(dtype=float) if "weight" in frame.columns
              else np.ones(n))
    keep = np.isfinite(lon) & np.isfinite(lat)
    if clip is not None and n:
        keep &= shapely.intersects_xy(clip, lon, lat)
    demand = DemandSet(lon=lon[keep], lat=lat[keep], weight=weight[keep],
                       district=_text_column(frame, "district", n)[keep],
                       street=_text_column(frame, "street", n)[keep])
    area = _assign_areas(demand, spec)
    xy = np.column_stack(to_metric(demand.lon, demand.lat, crs))
    arrays = coverage_arrays(xy, station_xy, radius, min_stations=min_stations, workers=1)
    covered, multi = arrays.count >= 1, arrays.count >= max(1, min_stations)
    finite = arrays.nearest_m[np.isfinite(arrays.nearest_m)] if len(demand) else np.zeros(0)
    row = {"farthest_m": float(finite.max()) if finite.size else np.nan}
    w = demand.weight
    for i in range(len(spec.sub_names) + 1):
        mask = area == (i if i < len(spec.sub_names) else -1)
        row.update({f"a{i}_total": float(w[mask].sum()),
                    f"a{i}_covered": float(w[mask & covered].sum()),
                    f"a{i}_multi": float(w[mask & multi].sum()),
                    f"a{i}_points": float(mask.sum()),
                    f"a{i}_uncovered": float((mask & ~covered).sum())})
    row["seconds"] = time.perf_counter() - started
    return pd.DataFrame([row])


def _area_rows(parts: pd.DataFrame, spec) -> tuple[list[dict], dict]:
    """``by_area`` rows as :meth:`CoverageResult.by_area` writes them, and the totals."""
    from geodata.planning.coverage import _r, _rs, _share

    sums = {k: 0.0 for k in _AREA_SUMS}
    rows = []
    for i in range(len(spec.sub_names) + 1):
        got = {k: float(parts[f"a{i}_{k}"].sum()) for k in _AREA_SUMS}
        for k in _AREA_SUMS:
            sums[k] += got[k]
        if i < len(spec.sub_names):
            head = {"name": spec.sub_names[i], "district": spec.sub_districts[i],
                    "level": spec.sub_level}
        elif got["points"]:
            head = {"name": "未归属区域", "district": None, "level": "none"}
        else:
            continue
        rows.append({**head, "demand_total": _r(got["total"]),
                     "demand_covered": _r(got["covered"]),
                     "covered_share": _rs(_share(got["covered"], got["total"])),
                     "multi_covered_share": _rs(_share(got["multi"], got["total"])),
                     "demand_points": int(got["points"]),
                     "uncovered_points": int(got["uncovered"])})
    return rows, sums


def _store_demand(store, spec, *, cell_m: float, demand: str):
    """The demand the single-process engine would count (shifts refused: no hours here)."""
    from geodata.planning.demand import demand_for_area
    from stations.errors import ValidationError

    points = demand_for_area(store, spec.polygon, cell_m=cell_m, demand=demand,
                             sub_geoms=spec.sub_geoms, sub_names=spec.sub_names,
                             sub_districts=spec.sub_districts, sub_level=spec.sub_level)
    if (np.asarray(points.shift_start) >= 0).any():
        raise ValidationError("需求点带有班次 (demand with shifts): --engine dask counts every "
                              "open station at any hour; use the default engine")
    return points


def area_coverage_dask(store, *, district: str | None = None, street: str | None = None,
                       radius_m: float | None = None, minutes: float | None = None,
                       min_stations: int = 2, demand_path: str | None = None,
                       scheduler: str | None = None, client=None,
                       partitions: int | None = None, cell_m: float = 100.0,
                       demand: str = "auto", crs: str | None = None,
                       detour_factor: float | None = None, stations=None) -> dict:
    """``nuanxin coverage --engine dask``: coverage of demand by the open stations on dask.

    ``demand_path`` (GeoParquet) or the store's demand (as :func:`area_coverage` selects it);
    ``client`` (a ``distributed.Client``), else ``scheduler`` (an address), else a new
    ``LocalCluster``. ``partitions``: how many pieces the demand is cut in (default: the
    dataset's own partitions, or 4 per worker for the store's demand). The body carries the
    INTERFACE keys of ``coverage --json`` (``demand_total, demand_covered, covered_share,
    multi_covered_share, by_area``) plus ``engine``, ``partitions``, ``partition_seconds``
    (the mean compute time of one partition), ``seconds`` and the options used.
    ``stations`` (a :class:`~geodata.planning.coverage.StationArrays`) replaces the store's
    open stations (benchmarks; ``store`` may then be ``None`` with ``demand_path``).
    """
    from geodata.planning.coverage import (
        DETOUR_FACTOR,
        METHOD_STRAIGHT,
        StationArrays,
        _check_options,
        resolve_area,
    )
    from geodata.planning.demand import default_crs

    started = time.perf_counter()
    detour = DETOUR_FACTOR if detour_factor is None else detour_factor
    _when, radius, method = _check_options(radius_m=radius_m, minutes=minutes,
                                           min_stations=min_stations, at=None, network=None,
                                           detour_factor=detour)
    spec = resolve_area(district=district, street=street)
    if stations is None:
        stations = StationArrays.from_stations(store.list_stations(status=["open"]))
    own = client is None
    client = open_client(scheduler) if own else client
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        if demand_path:
            frame, clip = read_demand_parquet(demand_path, partitions=partitions), spec.polygon
            crs = crs or default_crs((stations.lon, stations.lat))
        else:
            points = _store_demand(store, spec, cell_m=cell_m, demand=demand)
            frame, clip = demand_frame(points, partitions=partitions or 4 * workers), None
            crs = crs or default_crs((points.lon, points.lat), (stations.lon, stations.lat))
        sxy = np.column_stack(to_metric(stations.lon, stations.lat, crs))
        columns = ["farthest_m"] + [f"a{i}_{k}" for i in range(len(spec.sub_names) + 1)
                                    for k in _AREA_SUMS] + ["seconds"]
        meta = pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
        spec_small = replace(spec, polygon=None)  # each partition needs the sub-areas only
        wgs84 = frame.crs is not None and frame.crs.to_epsg() == 4326
        for geom in (clip, *spec_small.sub_geoms):  # prepared here, before threads share them
            prepare_shared(geom)
        parts = frame.map_partitions(_area_partition, client.scatter(sxy, broadcast=True),
                                     radius, int(min_stations), crs, spec_small, clip, wgs84,
                                     meta=meta)
        result = client.compute(parts).result()
    finally:
        if own:
            _close(client)
    body = _body(result, spec, radius=radius, minutes=minutes, min_stations=min_stations,
                 method=method, detour=detour if method == METHOD_STRAIGHT else None)
    body.update({"stations_counted": len(stations), "crs": crs, "engine": "dask",
                 "scheduler": scheduler or "LocalCluster", "workers": workers,
                 "demand_source": "parquet" if demand_path else "store",
                 "seconds": round(time.perf_counter() - started, 3)})
    return body


def _body(result: pd.DataFrame, spec, *, radius, minutes, min_stations, method, detour) -> dict:
    """The answer from the partitions' sums (keys and rounding of ``coverage --json``)."""
    from geodata.planning.coverage import _r, _rs, _share

    by_area, sums = _area_rows(result, spec)
    total, covered, multi = sums["total"], sums["covered"], sums["multi"]
    farthest = result["farthest_m"].max()
    area = None if spec.level == "all" else {
        "level": spec.level, "name": spec.name, "district": spec.district,
        "approx": spec.level == "street"}
    return {
        "demand_total": _r(total), "demand_covered": _r(covered),
        "covered_share": _rs(_share(covered, total)),
        "multi_covered_share": _rs(_share(multi, total)),
        "by_area": by_area,
        "demand_multi_covered": _r(multi), "radius_m": round(radius, 1),
        "walk_minutes": minutes, "min_stations": int(min_stations), "method": method,
        "detour_factor": detour, "area": area, "demand_points": int(sums["points"]),
        "uncovered": int(sums["uncovered"]), "uncovered_weight": _r(total - covered),
        "farthest_m": None if pd.isna(farthest) else round(float(farthest), 1),
        "partitions": int(len(result)),
        "partition_seconds": round(float(result["seconds"].mean()), 4) if len(result) else 0.0,
    }
