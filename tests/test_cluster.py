"""Coverage on a dask distributed cluster equals the in-memory computation."""

from __future__ import annotations

import numpy as np
import pytest

from geodata.planning.cluster import coverage_dask, coverage_totals


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    for attempt in range(3):  # a loaded 2-core box can miss the scheduler's start-up timeout
        try:
            # as `nuanxin coverage --engine dask` starts one: worker processes of one thread
            # (PROJ and GEOS objects are not safe across threads, geodata.planning.cluster)
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   dashboard_address=":0")  # a free port: never clashes
            break
        except RuntimeError:
            if attempt == 2:
                raise
    client = Client(cluster, timeout="60s")
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(2024)
    lon = rng.uniform(116.25, 116.50, 20_000)
    lat = rng.uniform(39.80, 40.00, 20_000)
    weight = rng.integers(0, 40, 20_000).astype(float)
    slon = rng.uniform(116.25, 116.50, 120)
    slat = rng.uniform(39.80, 40.00, 120)
    return lon, lat, weight, slon, slat


def _frame(lon, lat, weight, crs="EPSG:4326"):
    import dask_geopandas
    import geopandas as gpd

    frame = gpd.GeoDataFrame({"weight": weight}, geometry=gpd.points_from_xy(lon, lat),
                             crs="EPSG:4326").to_crs(crs)
    return dask_geopandas.from_geopandas(frame, npartitions=5)


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:3857"], ids=["wgs84", "web-mercator"])
def test_dask_cluster_equals_in_memory(client, data, crs):
    lon, lat, weight, slon, slat = data
    want = coverage_totals(lon, lat, weight, slon, slat, 1000.0, min_stations=2)
    got = coverage_dask(_frame(lon, lat, weight, crs), slon, slat, 1000.0, min_stations=2,
                        client=client)
    assert got["partitions"] == 5
    for key in ("demand_total", "demand_covered", "demand_multi_covered", "demand_points",
                "uncovered"):
        assert got[key] == want[key], key  # integer weights: float sums are exact
    assert got["farthest_m"] == pytest.approx(want["farthest_m"], rel=1e-9)
    assert 0 < got["covered_share"] < 1 and got["multi_covered_share"] < got["covered_share"]


def test_current_client_is_used_without_passing_it(client, data):
    lon, lat, weight, slon, slat = data
    want = coverage_totals(lon[:3000], lat[:3000], np.ones(3000), slon, slat,
                           500.0, min_stations=3)
    got = coverage_dask(_frame(lon[:3000], lat[:3000], np.ones(3000)), slon, slat, 500.0,
                        weight_column=None, min_stations=3)
    assert (got["demand_covered"], got["demand_multi_covered"]) == (
        want["demand_covered"], want["demand_multi_covered"])


# -- nuanxin coverage --engine dask (issue 15, item 6) ---------------------------------------
def _world(store, n_demand: int = 3000):
    """Open stations and imported demand (integer weights) over western Beijing."""
    from stations.demand_points import write_demand
    from webmap.testing import synthetic_stations

    store.add_stations(synthetic_stations(150, seed=15, bbox=(116.25, 39.82, 116.45, 39.98)))
    rng = np.random.default_rng(15)
    write_demand(store, [
        {"lon": float(x), "lat": float(y), "weight": float(w)}
        for x, y, w in zip(rng.uniform(116.22, 116.48, n_demand),
                           rng.uniform(39.80, 40.00, n_demand),
                           rng.integers(1, 40, n_demand), strict=True)])


_SAME = ("demand_total", "demand_covered", "covered_share", "multi_covered_share",
         "by_area", "demand_multi_covered", "demand_points", "uncovered", "radius_m",
         "min_stations", "method")


def _cli(*args: str) -> dict:
    import json

    from click.testing import CliRunner

    from webmap.cli import main as cli

    result = CliRunner().invoke(cli, ["coverage", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("options", [
    ("--radius", "800"),
    ("--radius", "600", "--min-stations", "3", "--district", "西城区"),
    ("--minutes", "10"),
], ids=["all", "district", "minutes"])
def test_cli_dask_engine_gives_the_local_answer(store, client, options):
    """Same store, same options: the dask engine (on the scheduler at --scheduler) answers
    the numbers the single-process engine does, per area too."""
    _world(store)
    local = _cli(*options)
    dask = _cli(*options, "--engine", "dask", "--scheduler", client.scheduler.address)
    assert local["demand_points"] > 100 and 0 < local["covered_share"] < 1
    for key in _SAME:
        assert dask[key] == local[key], key
    assert dask["engine"] == "dask" and dask["partitions"] >= 2
    assert dask["farthest_m"] == pytest.approx(local["farthest"]["distance_m"], abs=0.1)


def test_cli_dask_engine_starts_a_local_cluster(store):
    """Without --scheduler a LocalCluster of worker processes is started (and stopped)."""
    _world(store, 800)
    local = _cli("--radius", "700")
    dask = _cli("--radius", "700", "--engine", "dask", "--partitions", "3")
    assert dask["scheduler"] == "LocalCluster" and dask["partitions"] == 3
    assert dask["workers"] >= 1
    for key in _SAME:
        assert dask[key] == local[key], key


def test_demand_from_partitioned_geoparquet(store, client, tmp_path):
    """Demand read from a partitioned GeoParquet folder (in a projected CRS) gives what the
    single-process core gives on the same points; a district clips it as its polygon does."""
    import geopandas as gpd

    from geodata.planning.cluster import area_coverage_dask
    from geodata.planning.coverage import StationArrays, compute_coverage, resolve_area
    from geodata.planning.demand import DemandSet

    _world(store, 10)
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(116.22, 116.48, 6000), rng.uniform(39.80, 40.00, 6000)
    weight = rng.integers(1, 9, 6000).astype(float)
    frame = gpd.GeoDataFrame({"weight": weight}, geometry=gpd.points_from_xy(lon, lat),
                             crs="EPSG:4326").to_crs("EPSG:3857")
    folder = tmp_path / "demand.parquet"  # a partitioned dataset: one GeoParquet per part
    folder.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(frame)), 4)):
        frame.iloc[part].to_parquet(folder / f"part.{i}.parquet")
    assert len(list(folder.glob("*.parquet"))) == 4
    stations = StationArrays.from_stations(store.list_stations(status=["open"]))
    crs = "EPSG:4548"
    for district in (None, "西城区"):
        spec = resolve_area(district=district)
        want = compute_coverage(DemandSet(lon=lon, lat=lat, weight=weight), stations,
                                radius_m=900, min_stations=2, area=spec, crs=crs)
        if district:  # the single-process engine clips demand to the district polygon
            import shapely

            inside = shapely.intersects_xy(spec.polygon, lon, lat)
            want = compute_coverage(DemandSet(lon=lon[inside], lat=lat[inside],
                                              weight=weight[inside]), stations,
                                    radius_m=900, min_stations=2, area=spec, crs=crs)
        body = want.as_dict()
        got = area_coverage_dask(store, district=district, radius_m=900, min_stations=2,
                                 demand_path=str(folder), client=client, crs=crs)
        assert got["partitions"] == 4 and got["demand_source"] == "parquet"
        for key in _SAME:
            assert got[key] == body[key], (district, key)


@pytest.mark.parametrize("args", [
    ("--engine", "dask", "--at", "2025-01-15T08:00"),
    ("--engine", "dask", "--strip"),
    ("--scheduler", "tcp://127.0.0.1:1"),
    ("--engine", "dask", "--demand-parquet", "x.parquet", "--demand", "area"),
])
def test_cli_dask_engine_refuses_what_it_does_not_do(store, args):
    from click.testing import CliRunner

    from webmap.cli import main as cli

    result = CliRunner().invoke(cli, ["coverage", "--json", *args])
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
