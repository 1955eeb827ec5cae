"""PostGIS does the spatial work (issue 15 item 1), and gives the answers SQLite gives.

The same 2,000 stations (some closed) and 1,500 demand points go into a SQLite store and a
PostGIS store; bbox listing (``&&`` on the GiST-indexed point there), radius (``ST_DWithin`` on
the projected point), nearest (KNN) and coverage (SQL function ``nuanxin_coverage`` vs the
product's ``compute_coverage``) are asked of both at 40 random points: identical ids, distances
equal to a millimetre, and equal to a brute-force oracle (pyproj, every pair). Two server
processes stay in step through the store's version: a write through one, the other answers
the new state at once.
"""

from __future__ import annotations

import numpy as np
import pytest
import requests

from geodata.crs.projection import BEIJING_CRS, to_metric
from geodata.nearest import spatial
from geodata.planning.coverage import compute_coverage
from geodata.planning.demand import load_demand
from stations import accounts, settings
from stations.demand_points import write_demand
from stations.lifecycle import set_status
from stations.records import Station
from stations.store import Store
from tests.servers import served
from webmap.auth import issue_token
from webmap.testing import synthetic_stations

BBOX = (116.20, 39.80, 116.50, 40.00)
RADII = (300.0, 1000.0, 2500.0)


def _fill(store: Store) -> None:
    stations = synthetic_stations(2000, seed=11)
    store.add_stations(stations)
    for sid in range(1, 2001, 7):
        set_status(store, sid, "closed", actor="t", reason="测试")
    rng = np.random.default_rng(5)
    write_demand(store, [{"name": f"需求{i}", "lon": float(x), "lat": float(y),
                          "weight": float(w), "group": "", "shift": ""}
                         for i, (x, y, w) in enumerate(zip(
                             rng.uniform(116.1, 116.6, 1500), rng.uniform(39.75, 40.05, 1500),
                             rng.integers(1, 20, 1500), strict=True))])


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(3)
    return list(zip(rng.uniform(116.2, 116.5, 40).tolist(), rng.uniform(39.8, 40.0, 40).tolist(),
                    strict=True))


@pytest.fixture
def both(tmp_path, monkeypatch, pg_fresh_url):
    stores = {"sqlite": Store(f"sqlite:///{tmp_path / 'a.db'}"), "postgis": Store(pg_fresh_url)}
    for store in stores.values():
        store.init()
        _fill(store)
    yield stores
    for store in stores.values():
        store.dispose()


def _oracle(store: Store, lon: float, lat: float) -> list[tuple[int, float]]:
    """Every open station by projected distance, brute force."""
    opened = store.list_stations(status="open")
    x, y = to_metric([s.lon for s in opened], [s.lat for s in opened], BEIJING_CRS)
    qx, qy = to_metric([lon], [lat], BEIJING_CRS)
    d = np.hypot(np.asarray(x) - qx[0], np.asarray(y) - qy[0])
    return sorted(zip([s.id for s in opened], d.tolist(), strict=True), key=lambda t: (t[1], t[0]))


def _same(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> None:
    assert [i for i, _ in a] == [i for i, _ in b]
    assert np.allclose([d for _, d in a], [d for _, d in b], rtol=0, atol=1e-3)


@pytest.mark.postgis
def test_bbox_listing_is_identical(both):
    sqlite, postgis = both["sqlite"], both["postgis"]
    for box in (BBOX, (116.30, 39.85, 116.35, 39.90), (116.0, 39.0, 116.1, 39.1)):
        a = [s.id for s in sqlite.list_stations(bbox=box)]
        b = [s.id for s in postgis.list_stations(bbox=box, status="open")] + [
            s.id for s in postgis.list_stations(bbox=box, status="closed")]
        assert sorted(b) == a
        assert [s.id for s in postgis.list_stations(bbox=box)] == a
        inside = [s.id for s in sqlite.list_stations()
                  if box[0] <= s.lon <= box[2] and box[1] <= s.lat <= box[3]]
        assert a == inside
    # an edge exactly on a station is inside on both
    s = sqlite.get_station(5)
    edge = (s.lon, s.lat, s.lon + 0.01, s.lat + 0.01)
    assert 5 in [x.id for x in postgis.list_stations(bbox=edge)]
    assert 5 in [x.id for x in sqlite.list_stations(bbox=edge)]


@pytest.mark.postgis
def test_api_stations_bbox_is_answered_by_the_gist_index_and_identical(both):
    """``/api/stations?bbox=`` on PostGIS asks the database (``geom && envelope``, the GiST
    index); SQLite filters the snapshot. Same features, same order, both backends, every
    filter combined with the box (status, amenity, paging)."""
    import sqlalchemy as sa

    from webmap.app import create_app

    seen: list[str] = []

    def spy(_conn, _cursor, statement, *_args):
        seen.append(statement)

    answers = {}
    for kind, store in both.items():
        app = create_app({"TILES": "none", "DATABASE_URL": store.url, "TESTING": True})
        client = app.test_client()
        sa.event.listen(app.extensions["nuanxin.store"].engine, "before_cursor_execute", spy)
        got = []
        for query in ("bbox=116.2,39.8,116.5,40.0", "bbox=116.30,39.85,116.35,39.90",
                      "bbox=116.0,39.0,116.1,39.1",
                      "bbox=116.2,39.8,116.5,40.0&status=closed",
                      "bbox=116.2,39.8,116.5,40.0&amenity=hot_water&limit=7",
                      "bbox=116.2,39.8,116.5,40.0&limit=5&after=300",
                      "bbox=116.2,39.8,116.5,40.0&crs=gcj02"):
            seen.clear()
            answer = client.get(f"/api/stations?{query}")
            assert answer.status_code == 200, answer.get_json()
            body = answer.get_json()
            got.append((query, body["numberMatched"], [f["properties"]["id"]
                                                       for f in body["features"]]))
            boxed = [q for q in seen if "&&" in q and "ST_MakeEnvelope" in q]
            assert bool(boxed) == (kind == "postgis"), (kind, query, seen)
        answers[kind] = got
        app.extensions["nuanxin.store"].dispose()
    assert answers["postgis"] == answers["sqlite"]
    assert answers["sqlite"][0][1] > 100 and answers["sqlite"][2][1] == 0


@pytest.mark.postgis
def test_radius_and_nearest_are_identical_and_right(both, points):
    sqlite, postgis = both["sqlite"], both["postgis"]
    assert postgis.is_postgis and not sqlite.is_postgis
    for lon, lat in points:
        truth = _oracle(sqlite, lon, lat)
        for radius in RADII:
            a = spatial.within(sqlite, lon, lat, radius)
            b = spatial.within(postgis, lon, lat, radius)
            _same(a, b)
            _same(a, [t for t in truth if t[1] <= radius])
        for k in (1, 5, 12):
            a = spatial.nearest(sqlite, lon, lat, k)
            _same(a, spatial.nearest(postgis, lon, lat, k))
            _same(a, truth[:k])


@pytest.mark.postgis
def test_the_product_nearest_agrees_with_postgis_knn(both, points):
    """``/api/nearest``'s in-memory index (the hot path) answers what PostGIS's KNN does."""
    from geodata.nearest.cache import get_index

    sqlite, postgis = both["sqlite"], both["postgis"]
    for store in (sqlite, postgis):
        index = get_index(store, network=None)
        for lon, lat in points:
            got = [(r.station.id, r.distance_m) for r in index.nearest(lon, lat, k=5)]
            want = postgis.spatial_nearest(lon, lat, 5)
            assert [i for i, _ in got] == [i for i, _ in want]
            assert np.allclose([d for _, d in got], [d for _, d in want], atol=0.5)


@pytest.mark.postgis
def test_coverage_is_identical(both):
    sqlite, postgis = both["sqlite"], both["postgis"]
    covered = []
    for radius in RADII:
        answers = []
        for store in (sqlite, postgis):
            demand = load_demand(store)
            result = compute_coverage(demand, store.list_stations(status="open"),
                                      radius_m=radius, crs=BEIJING_CRS)
            answers.append((int(result.covered.sum()), round(result.demand_covered, 6)))
        sql = postgis.spatial_coverage(radius)
        assert answers[0] == answers[1] == (sql["covered"], round(sql["covered_weight"], 6))
        assert sql["demand_points"] == 1500
        covered.append(sql["covered"])
    assert 0 < covered[0] < covered[1] < 1500  # the radii really differ in what they cover


@pytest.mark.postgis
def test_spatial_sql_needs_postgis(both):
    from stations.errors import StoreError

    with pytest.raises(StoreError, match="PostGIS"):
        both["sqlite"].spatial_within(116.3, 39.9, 100)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def test_two_server_processes_stay_in_step(kind, backend_store, tmp_path):
    """A station closed through one server process: the other's nearest answer drops it
    at once (its snapshot is keyed on the store's version, which every write moves)."""
    store = backend_store
    [near, far] = store.add_stations([
        Station(name="近处驿站", lon=116.3400, lat=39.8800, district="西城区",
                street="广安门外街道", opening_hours="24/7"),
        Station(name="远处驿站", lon=116.3600, lat=39.8900, district="西城区",
                street="广安门外街道", opening_hours="24/7")])
    accounts.add_account(store, username="city", password_hash="-", role="admin",
                         district="", street="", created_at=settings.wall_now())
    token = issue_token(store, "city")
    query = {"lon": 116.3401, "lat": 39.8801, "k": 1}
    with served(store.url, tmp_path / "instance", count=2, threads=2) as (one, two):
        for base in (one, two):  # both warm, both answer the near one
            got = requests.get(f"{base}/api/nearest", params=query, timeout=30).json()
            assert [r["id"] for r in got["results"]] == [near]
        moved = requests.patch(f"{one}/api/stations/{near}", timeout=30,
                               headers={"Authorization": f"Bearer {token}"},
                               json={"lon": 116.30, "lat": 39.95, "version": 1})
        assert moved.status_code == 200, moved.text
        got = requests.get(f"{two}/api/nearest", params=query, timeout=30).json()
        assert [r["id"] for r in got["results"]] == [far]


@pytest.mark.postgis
def test_postgis_assigns_districts_and_streets_as_the_python_rule_does(pg_fresh_url, tmp_path,
                                                                      monkeypatch):
    """``nuanxin init`` stores the outlines; ``nuanxin_area_at`` and
    ``nuanxin_assign_areas`` (SQL) answer what ``geodata.places.areas.locate_many`` does."""
    from click.testing import CliRunner

    from geodata.places.areas import locate_many
    from webmap.cli import main as cli

    monkeypatch.setenv("NUANXIN_DATABASE_URL", pg_fresh_url)
    monkeypatch.setenv("NUANXIN_INSTANCE", str(tmp_path / "instance"))
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    store = Store(pg_fresh_url)
    try:
        assert store.count_areas() > 16
        rng = np.random.default_rng(9)
        lon = rng.uniform(116.0, 116.8, 300).tolist() + [117.9]  # and one outside Beijing
        lat = rng.uniform(39.6, 40.3, 300).tolist() + [41.0]
        expected = locate_many(lon, lat)
        got = [store.spatial_area_at(x, y) for x, y in zip(lon, lat, strict=True)]
        assert got == expected
        assert sum(1 for d, s in expected if d and s) > 100 and expected[-1] == (None, None)
        # stations typed with wrong areas: one SQL statement puts each where it is
        store.add_stations([Station(name=f"站{i}", lon=x, lat=y, district="东城区",
                                    street="某街道") for i, (x, y) in
                            enumerate(zip(lon[:100], lat[:100], strict=True))])
        version = store.version()
        changed = store.spatial_assign_areas()
        assert changed > 0 and store.version() == version + 1
        for station, (district, street) in zip(store.list_stations(), expected[:100],
                                                strict=True):
            if district is None:
                assert (station.district, station.street) == ("东城区", "某街道")
            else:
                assert (station.district, station.street) == (district, street or "")
        assert store.spatial_assign_areas() == 0  # nothing left to change
    finally:
        store.dispose()
