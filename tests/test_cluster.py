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
            cluster = LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
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
