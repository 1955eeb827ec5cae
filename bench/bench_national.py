"""A nation on one machine, single process vs dask (issue 15, item 6).

186,000 stations (the ACFTU network: 186,100 nationally) over a China-sized extent and
10,000,000 demand points (integer head counts) in a partitioned GeoParquet dataset, both
clustered around 400 synthetic cities between 75–134°E and 18–53°N (fixed seed). Question:
coverage within 1,000 m, 交叉覆盖 ≥ 2 stations, per Beijing district as the CLI does without
an area. Each engine runs in its own process, so its peak memory is its own:

* **single process** — read the whole dataset (``geopandas.read_parquet``), then the
  product's core :func:`geodata.planning.coverage.compute_coverage` (cKDTree on both cores);
* **dask** — :func:`geodata.planning.cluster.area_coverage_dask` on a ``LocalCluster`` (one
  single-threaded worker process per core) reading the partitions where they lie.

Peak memory is the largest total resident set of the engine's process tree (the dask client,
scheduler, nannies and workers together), sampled every 0.1 s. The two answers must agree to
the unit (demand total, covered, multi-covered, points, uncovered, per district): a
difference fails the benchmark. The dask run's mean compute time per partition is the figure a
cluster estimate scales from (``cluster_estimate`` below: partitions × per-partition time over
the cores, plus the measured fixed overhead); no goal is set for time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

N_STATIONS = 186_000
N_DEMAND = 10_000_000
PARTS = 40
RADIUS_M = 1000.0
MIN_STATIONS = 2
CITIES = 400
SEED = 186
EXTENT = (75.0, 18.0, 134.0, 53.0)
_SAME = ("demand_total", "demand_covered", "demand_multi_covered", "demand_points",
         "uncovered", "covered_share", "multi_covered_share", "by_area")


def _clustered(rng, n: int, centres, spread_deg: float):
    import numpy as np

    pick = rng.integers(0, len(centres), n)
    lon = centres[pick, 0] + rng.normal(0, spread_deg, n)
    lat = centres[pick, 1] + rng.normal(0, spread_deg * 0.8, n)
    minlon, minlat, maxlon, maxlat = EXTENT
    return np.clip(lon, minlon, maxlon), np.clip(lat, minlat, maxlat)


def _make(folder: Path) -> None:
    """Stations (``stations.npz``) and demand (``demand/part.N.parquet``) in ``folder``."""
    import geopandas as gpd
    import numpy as np

    rng = np.random.default_rng(SEED)
    minlon, minlat, maxlon, maxlat = EXTENT
    centres = np.column_stack([rng.uniform(minlon + 3, maxlon - 3, CITIES),
                               rng.uniform(minlat + 2, maxlat - 2, CITIES)])
    slon, slat = _clustered(rng, N_STATIONS, centres, 0.12)
    np.savez(folder / "stations.npz", lon=slon, lat=slat)
    out = folder / "demand"
    out.mkdir()
    per = N_DEMAND // PARTS
    for i in range(PARTS):
        lon, lat = _clustered(rng, per, centres, 0.15)
        weight = rng.integers(1, 20, per).astype(float)
        gpd.GeoDataFrame({"weight": weight}, geometry=gpd.points_from_xy(lon, lat),
                         crs="EPSG:4326").to_parquet(out / f"part.{i:03d}.parquet")


def _stations(folder: Path):
    import numpy as np

    from geodata.planning.coverage import StationArrays

    data = np.load(folder / "stations.npz")
    return StationArrays.from_arrays(data["lon"], data["lat"])


def _crs(stations) -> str:
    from geodata.crs.projection import metric_crs_for

    return metric_crs_for(stations.lon, stations.lat)


def _engine_single(folder: Path) -> dict:
    import geopandas as gpd

    from geodata.planning.coverage import compute_coverage, resolve_area
    from geodata.planning.demand import DemandSet

    started = time.perf_counter()
    stations = _stations(folder)
    frame = gpd.read_parquet(folder / "demand")
    demand = DemandSet(lon=frame.geometry.x.to_numpy(), lat=frame.geometry.y.to_numpy(),
                       weight=frame["weight"].to_numpy(dtype=float))
    del frame
    read = time.perf_counter() - started
    result = compute_coverage(demand, stations, radius_m=RADIUS_M, min_stations=MIN_STATIONS,
                              area=resolve_area(), crs=_crs(stations))
    body = result.as_dict(max_points=0)
    body["farthest_m"] = round(body["farthest"]["distance_m"], 1) if body["farthest"] else None
    body["read_seconds"] = round(read, 2)
    body["seconds"] = round(time.perf_counter() - started, 2)
    return {k: body[k] for k in (*_SAME, "farthest_m", "read_seconds", "seconds")}


def _engine_dask(folder: Path) -> dict:
    from geodata.planning.cluster import area_coverage_dask, open_client

    started = time.perf_counter()
    stations = _stations(folder)
    client = open_client(None)
    try:
        up = time.perf_counter() - started
        body = area_coverage_dask(None, radius_m=RADIUS_M, min_stations=MIN_STATIONS,
                                  demand_path=str(folder / "demand"), client=client,
                                  crs=_crs(stations), stations=stations)
    finally:
        client.close()
        client._nuanxin_cluster.close()
    body["cluster_start_seconds"] = round(up, 2)
    body["seconds"] = round(time.perf_counter() - started, 2)
    return {k: body[k] for k in (*_SAME, "farthest_m", "partitions", "workers",
                                 "partition_seconds", "cluster_start_seconds", "seconds")}


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def _run(engine: str, folder: Path) -> dict:
    """One engine in its own process; its answer, wall time and peak tree memory."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.bench_national", engine, str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.1)

    watcher = threading.Thread(target=sample, daemon=True)
    started = time.perf_counter()
    watcher.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    watcher.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} engine failed:\n{err[-3000:]}")
    body = json.loads(out.strip().splitlines()[-1])
    body["wall_seconds"] = round(wall, 2)
    body["peak_mb"] = round(peak[0] / 2**20)
    return body


def run() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="nuanxin-national-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        _make(folder)
        made = time.perf_counter() - started
        single = _run("single", folder)
        dask = _run("dask", folder)
    same = {k: single[k] == dask[k] for k in _SAME}
    cores = os.cpu_count() or 1
    per_part = dask["partition_seconds"]  # coverage compute inside one partition
    computing = dask["seconds"] - dask["cluster_start_seconds"]
    # all-in cost of one partition on one core: reading its Parquet, projecting, the KD-tree
    # and the sums, plus its share of scheduling and worker warm-up (conservative)
    all_in = computing * dask["workers"] / dask["partitions"]
    estimate = {f"{n} cores": round(dask["partitions"] * all_in / n, 1) for n in (8, 32, 128)}
    return [{
        "case": f"national coverage: {N_STATIONS:,} stations × {N_DEMAND:,} demand points, "
                f"{RADIUS_M:g} m, ≥{MIN_STATIONS} (time)",
        "unit": "s", "ours": dask["wall_seconds"],
        "baselines": [{"name": "single process", "value": single["wall_seconds"],
                       "peak_mb": single["peak_mb"]}],
        "dask_peak_mb": dask["peak_mb"], "single_peak_mb": single["peak_mb"],
        "partitions": dask["partitions"], "workers": dask["workers"], "cores": cores,
        "partition_seconds": per_part, "points_per_partition": N_DEMAND // PARTS,
        "cluster_start_seconds": dask["cluster_start_seconds"],
        "partition_all_in_seconds": round(all_in, 3),
        "cluster_estimate_note": "partitions × all-in partition cost / cores, same data "
                                 "(10 M points); scales linearly with the demand",
        "single_read_seconds": single["read_seconds"], "data_build_seconds": round(made, 1),
        "cluster_estimate_s": estimate,
        "covered_share": dask["covered_share"],
        "multi_covered_share": dask["multi_covered_share"],
        "demand_total": dask["demand_total"], "demand_covered": dask["demand_covered"],
        "farthest_m": [single["farthest_m"], dask["farthest_m"]],
        "goal": "the same numbers to the unit (totals, counts, per district)",
        "ok": all(same.values()), "differs": [k for k, v in same.items() if not v],
    }]


if __name__ == "__main__":
    if len(sys.argv) == 3:  # one engine, in its own process (see _run)
        engine = {"single": _engine_single, "dask": _engine_dask}[sys.argv[1]]
        print(json.dumps(engine(Path(sys.argv[2])), ensure_ascii=False, default=float))
    else:
        for row in run():
            print(json.dumps(row, ensure_ascii=False, indent=1))
