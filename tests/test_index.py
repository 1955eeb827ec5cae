"""The nearest-station index against brute force, its filters, and ``nuanxin nearest``.

The oracle projects the stations itself (its own pyproj Transformer to EPSG:4548) and ranks
them with plain numpy, so ids, order and distances must match *exactly* in the projected
metric. Against WGS84 geodesics the distances differ only by the projection's scale error
(≤ 2.3e-4 across Beijing's extent, see test_datums).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pytest
from click.testing import CliRunner
from pyproj import Geod, Transformer

from geodata.crs.datums import convert
from geodata.errors import DatumError
from geodata.nearest.cache import get_index
from geodata.nearest.index import METHOD_NETWORK, METHOD_STRAIGHT, StationIndex
from geodata.nearest.payload import nearest_payload
from stations import holidays
from stations.amenities import AMENITIES
from stations.errors import ValidationError
from stations.hours import TZ, OpeningHours, parse_open_at
from stations.lifecycle import set_status
from stations.records import Station
from stations.settings import DETOUR_FACTOR
from webmap.cli import main

TO_4548 = Transformer.from_crs("EPSG:4326", "EPSG:4548", always_xy=True)
FROM_4548 = Transformer.from_crs("EPSG:4548", "EPSG:4326", always_xy=True)
GEOD = Geod(ellps="WGS84")
METRES_PER_MINUTE = 4500 / 60
HOURS = ["", "24/7", "Mo-Fr 09:00-17:00", "Mo-Su 08:30-11:00,13:30-17:00", "Mo-Su 06:00-18:00",
         "Mo-Su 22:00-06:00", "周一至周五 9:00-17:00", "unreadable ??"]
INTERFACE_KEYS = {"id", "name", "lon", "lat", "distance_m", "walk_minutes", "open_at_arrival",
                  "amenities"}
TUESDAY = datetime(2024, 3, 12)  # an ordinary working day (no public holiday)


def random_stations(n: int, seed: int, *, lon=(115.4, 117.6), lat=(39.4, 41.1),
                    p_yes=(0.4, 0.3, 0.3), rare: str | None = None) -> list[Station]:
    """``n`` stations with ids 1..n, random amenities (yes/no/unknown) and hours."""
    rng = np.random.default_rng(seed)
    lons, lats = rng.uniform(*lon, n), rng.uniform(*lat, n)
    states = rng.choice(np.array(["yes", "no", "unknown"]), size=(n, len(AMENITIES)), p=p_yes)
    hours = rng.choice(np.array(HOURS, dtype=object), size=n)
    out = []
    for i in range(n):
        amenities = dict(zip(AMENITIES, states[i].tolist(), strict=True))
        if rare:
            amenities[rare] = "yes" if rng.random() < 0.01 else "no"
        out.append(Station(name=f"驿站{i + 1}", lon=float(lons[i]), lat=float(lats[i]),
                           id=i + 1, code=f"T-{i + 1:06d}", amenities=amenities,
                           opening_hours=str(hours[i])))
    return out


def project(stations) -> np.ndarray:
    x, y = TO_4548.transform([s.lon for s in stations], [s.lat for s in stations])
    return np.column_stack([x, y])


def brute(xy: np.ndarray, qx: float, qy: float, k: int, allowed=None):
    """Positions and distances of the k nearest (ties by position), by exhaustive search."""
    d = np.hypot(xy[:, 0] - qx, xy[:, 1] - qy)
    pos = np.arange(len(d))
    if allowed is not None:
        d, pos = d[allowed], pos[allowed]
    order = np.lexsort((pos, d))[:k]
    return pos[order], d[order]


def random_queries(n: int, seed: int):
    """Mostly inside the stations' box, some beyond its edges."""
    rng = np.random.default_rng(seed)
    return rng.uniform(115.2, 117.8, n), rng.uniform(39.2, 41.3, n)


@pytest.fixture(scope="module")
def beijing():
    stations = random_stations(3000, seed=1)
    return stations, StationIndex(stations), project(stations)


# ---------------------------------------------------------------------------- brute force
def test_nearest_matches_brute_force_on_1000_random_queries(beijing):
    stations, index, xy = beijing
    assert index.crs == "EPSG:4548"
    np.testing.assert_allclose(index.xy, xy, rtol=0, atol=1e-6)
    qlon, qlat = random_queries(1000, seed=2)
    qx, qy = TO_4548.transform(qlon, qlat)
    for i in range(1000):
        results = index.nearest(qlon[i], qlat[i], k=5)
        pos, dist = brute(xy, qx[i], qy[i], 5)
        assert [r.station.id for r in results] == [stations[p].id for p in pos]
        np.testing.assert_allclose([r.distance_m for r in results], dist, rtol=1e-9, atol=1e-6)
        for r in results:
            assert r.walk_distance_m == pytest.approx(r.distance_m * DETOUR_FACTOR)
            assert r.walk_minutes == pytest.approx(r.walk_distance_m / METRES_PER_MINUTE)
            assert r.method == METHOD_STRAIGHT


def test_distances_agree_with_geodesics_within_the_projection_scale_error(beijing):
    stations, index, _ = beijing
    rng = np.random.default_rng(3)  # inside Beijing's box, where the bound holds
    qlon, qlat = rng.uniform(115.4, 117.6, 300), rng.uniform(39.4, 41.1, 300)
    for lon, lat in zip(qlon, qlat, strict=True):
        for r in index.nearest(lon, lat, k=3):
            geodesic = GEOD.inv(lon, lat, r.station.lon, r.station.lat)[2]
            assert abs(r.distance_m - geodesic) <= 2.5e-4 * geodesic + 1e-6


@pytest.mark.parametrize("k", [1, 2, 4])
def test_lean_nearest_ids_matches_brute_force(beijing, k):
    stations, index, xy = beijing
    qlon, qlat = random_queries(1000, seed=10 + k)
    qx, qy = TO_4548.transform(qlon, qlat)
    for i in range(1000):
        dist, pos = index.nearest_ids(float(qx[i]), float(qy[i]), k)
        want_pos, want_dist = brute(xy, qx[i], qy[i], k)
        assert pos == want_pos.tolist()
        np.testing.assert_allclose(dist, want_dist, rtol=1e-9, atol=1e-6)


def test_lean_path_is_exact_on_clustered_stations():
    """Dense clusters and empty space between them: the grid must fall back correctly."""
    rng = np.random.default_rng(4)
    centres = np.array([[116.30, 39.90], [116.45, 39.95], [116.70, 40.30], [115.90, 39.60]])
    pts = np.concatenate([c + rng.normal(0, 0.002 * (j + 1), (500, 2))
                          for j, c in enumerate(centres)])
    stations = [Station(name=f"c{i}", lon=float(a), lat=float(b), id=i + 1)
                for i, (a, b) in enumerate(pts)]
    index = StationIndex(stations)
    xy = project(stations)
    qlon, qlat = rng.uniform(115.8, 116.8, 1000), rng.uniform(39.5, 40.4, 1000)
    qx, qy = TO_4548.transform(qlon, qlat)
    for i in range(1000):
        for k in (1, 3):
            dist, pos = index.nearest_ids(float(qx[i]), float(qy[i]), k)
            want_pos, want_dist = brute(xy, qx[i], qy[i], k)
            assert pos == want_pos.tolist()
            np.testing.assert_allclose(dist, want_dist, rtol=1e-9, atol=1e-6)


def test_duplicate_positions_are_all_found():
    base = random_stations(10, seed=5)
    stations = [Station(name=f"{s.name}-{c}", lon=s.lon, lat=s.lat, id=10 * s.id + c)
                for s in base for c in range(5)]
    index = StationIndex(stations)
    results = index.nearest(base[3].lon, base[3].lat, k=5)
    assert sorted(r.station.id for r in results) == [40 + c for c in range(5)]
    assert all(r.distance_m == 0 for r in results)
    x, y = index.project(base[3].lon, base[3].lat)
    dist, pos = index.nearest_ids(x, y, 1)
    assert dist == [0.0] and stations[pos[0]].lon == base[3].lon


# ---------------------------------------------------------------------------- bulk
def test_bulk_matches_single_queries_and_brute_force(beijing):
    stations, index, xy = beijing
    qlon, qlat = random_queries(2000, seed=6)
    dist, idx = index.nearest_bulk(qlon, qlat, k=3, chunk_size=700)
    assert dist.shape == idx.shape == (2000, 3) and idx.dtype == np.int64
    qx, qy = TO_4548.transform(qlon, qlat)
    for i in range(0, 2000, 7):
        pos, want = brute(xy, qx[i], qy[i], 3)
        assert idx[i].tolist() == pos.tolist()
        np.testing.assert_allclose(dist[i], want, rtol=1e-9, atol=1e-6)
        single = index.nearest(qlon[i], qlat[i], k=3)
        assert [r.index for r in single] == idx[i].tolist()
        np.testing.assert_allclose([r.distance_m for r in single], dist[i], rtol=1e-12)


def test_bulk_k1_radius_and_bad_points(beijing):
    _, index, xy = beijing
    qlon = np.array([116.3, 116.31, np.nan, 116.5])
    qlat = np.array([39.9, 39.91, 40.0, np.inf])
    dist, idx = index.nearest_bulk(qlon, qlat)
    assert dist.shape == (4, 1)
    assert (idx[2:] == -1).all() and np.isinf(dist[2:]).all()
    assert (idx[:2] >= 0).all()
    radius = float(dist[:2].max()) - 1e-3  # the farther of the two falls outside
    dist_r, idx_r = index.nearest_bulk(qlon[:2], qlat[:2], radius_m=radius)
    far = int(np.argmax(dist[:2, 0]))
    assert idx_r[far, 0] == -1 and np.isinf(dist_r[far, 0])
    assert idx_r[1 - far, 0] == idx[1 - far, 0]


def test_bulk_accepts_other_datums(beijing):
    _, index, _ = beijing
    qlon, qlat = random_queries(500, seed=8)
    want_dist, want_idx = index.nearest_bulk(qlon, qlat, k=2)
    for datum in ("gcj02", "bd09"):
        dlon, dlat = convert(qlon, qlat, src="wgs84", dst=datum)
        dist, idx = index.nearest_bulk(dlon, dlat, k=2, crs=datum)
        assert (idx == want_idx).all()
        np.testing.assert_allclose(dist, want_dist, atol=1e-3)


# ---------------------------------------------------------------------------- filters
def test_amenity_filter_matches_brute_force_and_widens(beijing):
    stations, index, xy = beijing
    qlon, qlat = random_queries(200, seed=9)
    qx, qy = TO_4548.transform(qlon, qlat)
    wanted = ["hot_water", "microwave"]
    allowed = np.array([all(s.amenities[a] == "yes" for a in wanted) for s in stations])
    assert 0.1 < allowed.mean() < 0.2  # sparse enough that k*4 candidates often fall short
    for i in range(200):
        results = index.nearest(qlon[i], qlat[i], k=5, amenities=["热水", "microwave"])
        pos, dist = brute(xy, qx[i], qy[i], 5, allowed)
        assert [r.index for r in results] == pos.tolist()
        np.testing.assert_allclose([r.distance_m for r in results], dist, rtol=1e-9)


def test_rare_amenity_needs_many_widenings():
    stations = random_stations(4000, seed=12, rare="aed")
    index = StationIndex(stations)
    xy = project(stations)
    allowed = np.array([s.amenities["aed"] == "yes" for s in stations])
    assert 10 <= allowed.sum() <= 80
    qlon, qlat = random_queries(100, seed=13)
    qx, qy = TO_4548.transform(qlon, qlat)
    for i in range(100):
        results = index.nearest(qlon[i], qlat[i], k=5, amenities="AED")
        assert [r.index for r in results] == brute(xy, qx[i], qy[i], 5, allowed)[0].tolist()


def test_unknown_amenity_is_not_yes_and_a_missing_one_gives_nothing():
    stations = [Station(name="有", lon=116.30, lat=39.90, id=1, amenities={"toilet": "yes"}),
                Station(name="未知", lon=116.3001, lat=39.90, id=2),
                Station(name="无", lon=116.3002, lat=39.90, id=3, amenities={"toilet": "no"})]
    index = StationIndex(stations)
    assert [r.station.name for r in index.nearest(116.3003, 39.9, k=3, amenities=["卫生间"])] \
        == ["有"]
    assert index.nearest(116.3, 39.9, k=3, amenities=["aed"]) == []


def _station_at(name: str, east_m: float, *, hours: str, origin=(116.34, 39.88), sid=None):
    x0, y0 = TO_4548.transform(*origin)
    lon, lat = FROM_4548.transform(x0 + east_m, y0)
    return Station(name=name, lon=lon, lat=lat, id=sid, opening_hours=hours)


def test_open_at_arrival_with_split_hours_and_walking_time():
    split = "Mo-Su 08:30-11:00,13:30-17:00"
    near = _station_at("near", 300, hours=split, sid=1)     # 390 m walk = 5.2 min
    far = _station_at("far", 900, hours=split, sid=2)       # 1170 m walk = 15.6 min
    unknown = _station_at("unknown", 500, hours="", sid=3)
    index = StationIndex([near, far, unknown])

    # leaving at 10:50: near arrives 10:55 (open), far 11:05:36 (closed for lunch)
    leave = TUESDAY.replace(hour=10, minute=50)
    everything = index.nearest(116.34, 39.88, k=3, open_at=leave, require_open=False)
    assert [(r.station.name, r.open_at_arrival) for r in everything] == \
        [("near", True), ("unknown", None), ("far", False)]
    assert everything[2].walk_minutes == pytest.approx(900 * 1.3 / 75, rel=1e-6)
    assert everything[2].arrival == (leave + timedelta(minutes=900 * 1.3 / 75)).replace(
        tzinfo=TZ)
    assert [r.station.name for r in index.nearest(116.34, 39.88, k=3, open_at=leave)] == ["near"]

    # leaving at 13:20: near arrives 13:25 (still closed), far 13:35 (open again)
    after_lunch = TUESDAY.replace(hour=13, minute=20)
    assert [r.station.name for r in index.nearest(116.34, 39.88, k=3, open_at=after_lunch)] \
        == ["far"]
    # open when leaving is not enough: 10:58 is open, but nobody gets anywhere before 11:00
    assert index.nearest(116.34, 39.88, k=3, open_at=TUESDAY.replace(hour=10, minute=58)) == []


def test_without_open_at_nothing_is_filtered_and_now_is_used():
    closed_always = _station_at("never", 100, hours="off", sid=1)
    index = StationIndex([closed_always])
    before = datetime.now(TZ)
    [result] = index.nearest(116.34, 39.88, k=1)
    assert result.open_at_arrival is False
    walk = timedelta(minutes=result.walk_minutes)
    assert before + walk <= result.arrival <= datetime.now(TZ) + walk


def test_open_at_filter_matches_brute_force_on_random_hours(beijing):
    stations, index, xy = beijing
    rng = np.random.default_rng(14)
    qlon, qlat = random_queries(150, seed=15)
    qx, qy = TO_4548.transform(qlon, qlat)
    hours = [OpeningHours.parse(s.opening_hours) if s.opening_hours != "unreadable ??"
             else OpeningHours(known=False) for s in stations]
    for i in range(150):
        leave = TUESDAY + timedelta(minutes=int(rng.integers(0, 7 * 1440)))
        d = np.hypot(xy[:, 0] - qx[i], xy[:, 1] - qy[i])
        order = np.lexsort((np.arange(len(d)), d))
        want = []
        for p in order:
            arrival = leave + timedelta(minutes=d[p] * 1.3 / METRES_PER_MINUTE)
            if hours[p].is_open(arrival) is True:
                want.append(int(p))
                if len(want) == 4:
                    break
        got = index.nearest(qlon[i], qlat[i], k=4, open_at=leave.isoformat())
        assert [r.index for r in got] == want
        assert all(r.open_at_arrival is True for r in got)


def test_radius_limits_nearest_and_within_lists_everything_inside(beijing):
    stations, index, xy = beijing
    qlon, qlat = random_queries(100, seed=16)
    qx, qy = TO_4548.transform(qlon, qlat)
    for i in range(100):
        radius = 1500.0 + 50 * i
        d = np.hypot(xy[:, 0] - qx[i], xy[:, 1] - qy[i])
        inside = np.nonzero(d <= radius)[0]
        inside = inside[np.lexsort((inside, d[inside]))]
        near = index.nearest(qlon[i], qlat[i], k=5, radius_m=radius)
        assert [r.index for r in near] == inside[:5].tolist()
        assert [r.index for r in index.within(qlon[i], qlat[i], radius)] == inside.tolist()
    assert index.nearest(116.3, 39.9, k=5, radius_m=0.01) == []


# ---------------------------------------------------------------------------- inputs
@pytest.mark.parametrize("datum", ["gcj02", "bd09", "GCJ-02", "baidu"])
def test_the_same_place_in_any_datum_gives_the_same_answer(beijing, datum):
    _, index, _ = beijing
    qlon, qlat = random_queries(100, seed=17)
    for lon, lat in zip(qlon, qlat, strict=True):
        want = index.nearest(lon, lat, k=5)
        glon, glat = convert(lon, lat, src="wgs84", dst=datum)
        got = index.nearest(glon, glat, k=5, crs=datum)
        assert [r.index for r in got] == [r.index for r in want]
        np.testing.assert_allclose([r.distance_m for r in got],
                                   [r.distance_m for r in want], atol=1e-3)


def test_project_converts_the_datum_before_projecting(beijing):
    _, index, _ = beijing
    want = TO_4548.transform(116.3975, 39.9087)
    for datum in ("wgs84", "gcj02", "bd09"):
        lon, lat = convert(116.3975, 39.9087, src="wgs84", dst=datum)
        np.testing.assert_allclose(index.project(lon, lat, crs=datum), want, atol=1e-3)


def test_empty_index_answers_empty():
    index = StationIndex([])
    assert len(index) == 0 and index.xy.shape == (0, 2)
    assert index.nearest(116.3, 39.9, k=5, amenities=["热水"], open_at="2024-03-12T08:00") == []
    assert index.within(116.3, 39.9, 1000) == []
    assert index.nearest_ids(0.0, 0.0, 3) == ([], [])
    dist, idx = index.nearest_bulk([116.3, 116.4], [39.9, 40.0], k=2)
    assert (idx == -1).all() and np.isinf(dist).all() and idx.shape == (2, 2)


def test_k_larger_than_the_store(beijing):
    stations = random_stations(7, seed=18)
    index = StationIndex(stations)
    xy = project(stations)
    qx, qy = TO_4548.transform(116.4, 40.0)
    results = index.nearest(116.4, 40.0, k=20)
    assert [r.index for r in results] == brute(xy, qx, qy, 20)[0].tolist()
    assert len(results) == 7
    assert index.nearest_ids(qx, qy, 20)[1] == brute(xy, qx, qy, 20)[0].tolist()
    dist, idx = index.nearest_bulk([116.4], [40.0], k=10)
    assert idx[0, :7].tolist() == brute(xy, qx, qy, 7)[0].tolist()
    assert (idx[0, 7:] == -1).all() and np.isinf(dist[0, 7:]).all()


def test_stations_without_coordinates_are_skipped():
    good = Station(name="ok", lon=116.3, lat=39.9, id=1)
    bad = Station(name="nan", lon=float("nan"), lat=39.9, id=2)
    index = StationIndex([good, bad])
    assert len(index) == 1 and index.skipped == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [({"k": 0}, ValidationError, "k must be a positive integer"),
     ({"k": "3"}, ValidationError, "k must be a positive integer"),
     ({"k": True}, ValidationError, "k must be a positive integer"),
     ({"radius_m": -5}, ValidationError, "radius_m must be metres ≥ 0"),
     ({"radius_m": float("nan")}, ValidationError, "radius_m"),
     ({"amenities": ["飞机"]}, ValidationError, "unknown amenity"),
     ({"open_at": "tomorrow-ish"}, ValidationError, "open_at must be ISO 8601"),
     ({"crs": "utm"}, DatumError, "unknown datum"),
     ({"lon": 200.0}, ValidationError, "lon must be a number in -180..180"),
     ({"lat": float("nan")}, ValidationError, "lat must be a number")],
    ids=lambda v: str(v) if not isinstance(v, dict) else ",".join(v),
)
def test_bad_query_arguments_raise_clear_errors(beijing, kwargs, error, match):
    _, index, _ = beijing
    args = {"lon": 116.3, "lat": 39.9} | kwargs
    with pytest.raises(error, match=match):
        index.nearest(args.pop("lon"), args.pop("lat"), **args)


def test_parse_open_at_reads_iso_and_assumes_shanghai():
    assert parse_open_at("2024-03-12T10:50") == datetime(2024, 3, 12, 10, 50, tzinfo=TZ)
    assert parse_open_at("2024-03-12T02:50Z") == datetime(2024, 3, 12, 10, 50, tzinfo=TZ)
    assert parse_open_at(datetime(2024, 3, 12, 10, 50)).utcoffset() == timedelta(hours=8)
    assert parse_open_at("06:30").time().isoformat() == "06:30:00"


# ---------------------------------------------------------------------------- network hook
class FakeNetwork:
    """Walking distance = straight line × a per-station factor in [1, 3]; records its calls."""

    def __init__(self, stations, seed: int, unreachable=()):
        rng = np.random.default_rng(seed)
        self.factor = {(s.lon, s.lat): float(rng.uniform(1.0, 3.0)) for s in stations}
        self.unreachable = {(s.lon, s.lat) for s in unreachable}
        self.calls = []

    def walk_distances(self, lon, lat, positions):
        self.calls.append((lon, lat, positions.shape))
        qx, qy = TO_4548.transform(lon, lat)
        x, y = TO_4548.transform(positions[:, 0], positions[:, 1])
        straight = np.hypot(x - qx, y - qy)
        out = [np.inf if (a, b) in self.unreachable else d * self.factor[(a, b)]
               for a, b, d in zip(positions[:, 0], positions[:, 1], straight, strict=True)]
        return np.array(out)


def test_network_reranks_by_walking_distance(beijing):
    stations, _, xy = beijing
    network = FakeNetwork(stations, seed=19)
    index = StationIndex(stations, network=network)
    assert index.method == METHOD_NETWORK
    factors = np.array([network.factor[(s.lon, s.lat)] for s in stations])
    qlon, qlat = random_queries(100, seed=20)
    qx, qy = TO_4548.transform(qlon, qlat)
    for i in range(100):
        walk = np.hypot(xy[:, 0] - qx[i], xy[:, 1] - qy[i]) * factors
        want = np.lexsort((np.arange(len(walk)), walk))[:5]
        results = index.nearest(qlon[i], qlat[i], k=5)
        assert [r.index for r in results] == want.tolist()
        np.testing.assert_allclose([r.walk_distance_m for r in results], walk[want], rtol=1e-9)
        assert all(r.method == METHOD_NETWORK for r in results)
        assert all(r.walk_minutes == pytest.approx(r.walk_distance_m / METRES_PER_MINUTE)
                   for r in results)
    lon, lat, shape = network.calls[-1]
    assert (lon, lat) == (qlon[-1], qlat[-1]) and shape[1] == 2 and shape[0] >= 40
    payload = nearest_payload(results, lon=qlon[-1], lat=qlat[-1], index=index)
    assert payload["method"] == "network"


def test_unreachable_by_network_falls_back_to_the_detour_estimate():
    a = _station_at("a", 200, hours="24/7", sid=1)
    b = _station_at("b", 400, hours="24/7", sid=2)
    network = FakeNetwork([a, b], seed=21, unreachable=[a])
    [ra, rb] = sorted(StationIndex([a, b], network=network).nearest(116.34, 39.88, k=2),
                      key=lambda r: r.station.id)
    assert ra.method == METHOD_STRAIGHT and ra.walk_distance_m == pytest.approx(200 * 1.3)
    assert rb.method == METHOD_NETWORK


# ---------------------------------------------------------------------------- store + cache
def test_get_index_rebuilds_when_stations_change(store):
    empty = get_index(store)
    assert len(empty) == 0
    first = random_stations(20, seed=22)
    for s in first:
        s.id = None
    store.add_stations(first)
    index = get_index(store)
    assert len(index) == 20 and get_index(store) is index  # cached while nothing changes
    target = Station(name="新驿站", lon=116.3001, lat=39.9001)
    [new_id] = store.add_stations([target])
    rebuilt = get_index(store)
    assert rebuilt is not index and len(rebuilt) == 21
    assert rebuilt.nearest(116.3001, 39.9001, k=1)[0].station.id == new_id
    set_status(store, new_id, "suspended", reason="装修", actor="test_index")
    assert new_id not in [s.id for s in get_index(store).stations]
    both = get_index(store, statuses=("open", "suspended"))
    assert len(both) == 21
    with pytest.raises(ValidationError, match="unknown status"):
        get_index(store, statuses=("gone",))


# ---------------------------------------------------------------------------- JSON payload
def test_payload_has_the_interface_keys_and_rounding():
    s = Station(name="广外驿站", lon=116.340061234567, lat=39.879314987654, id=7, code="NX-1",
                amenities={"hot_water": "yes", "toilet": "no", "aed": "unknown"},
                opening_hours="24/7", address="广安门外大街1号", sample=True)
    index = StationIndex([s])
    results = index.nearest(116.341, 39.8795, k=1, open_at="2024-03-12T08:00")
    body = nearest_payload(results, lon=116.341, lat=39.8795, crs="WGS84",
                           open_at=parse_open_at("2024-03-12T08:00"), index=index)
    assert set(body) >= {"results", "method", "detour_factor", "query"}
    assert body["method"] == "straight_line_x_detour" and body["detour_factor"] == 1.3
    assert body["query"]["crs"] == "wgs84" and body["query"]["lon"] == 116.341
    [r] = body["results"]
    assert INTERFACE_KEYS <= set(r)
    assert (r["id"], r["name"], r["lon"], r["lat"]) == (7, "广外驿站", 116.3400612, 39.879315)
    assert r["distance_m"] == round(results[0].distance_m, 1)
    assert r["walk_minutes"] == round(results[0].walk_minutes, 1)
    assert r["open_at_arrival"] is True and r["sample"] is True
    assert r["amenities"] == ["hot_water"]
    assert "aed" in r["amenities_unknown"] and "toilet" not in r["amenities_unknown"]
    assert r["arrival"].startswith("2024-03-12T08:0") and r["arrival"].endswith("+08:00")
    json.dumps(body)  # plain JSON types only


# ---------------------------------------------------------------------------- the CLI
def _cli(args):
    return CliRunner().invoke(main, ["nearest", *args])


@pytest.fixture
def filled(store):
    stations = random_stations(400, seed=23, lon=(116.25, 116.45), lat=(39.83, 39.95))
    for s in stations:
        s.id = None
    ids = store.add_stations(stations)
    for s, i in zip(stations, ids, strict=True):
        s.id = i
    return store, stations


def test_cli_nearest_json_matches_brute_force(filled):
    _, stations = filled
    result = _cli(["--lon", "116.34", "--lat", "39.88", "-k", "6", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    xy = project(stations)
    qx, qy = TO_4548.transform(116.34, 39.88)
    pos, dist = brute(xy, qx, qy, 6)
    assert [r["id"] for r in body["results"]] == [stations[p].id for p in pos]
    assert [r["distance_m"] for r in body["results"]] == [round(float(d), 1) for d in dist]
    for r in body["results"]:
        assert INTERFACE_KEYS <= set(r)
        assert isinstance(r["amenities"], list) and set(r["amenities"]) <= set(AMENITIES)
        assert r["open_at_arrival"] in (True, False, None)
    assert body["method"] == "straight_line_x_detour" and body["detour_factor"] == 1.3


def test_cli_nearest_filters_and_datums(filled):
    _, stations = filled
    args = ["--lon", "116.34", "--lat", "39.88", "-k", "3", "--json",
            "--amenity", "热水", "--amenity", "microwave", "--open-at", "2024-03-12T09:30"]
    body = json.loads(_cli(args).stdout)
    by_id = {s.id: s for s in stations}
    assert len(body["results"]) == 3
    for r in body["results"]:
        station = by_id[r["id"]]
        assert station.amenities["hot_water"] == station.amenities["microwave"] == "yes"
        assert {"hot_water", "microwave"} <= set(r["amenities"])
        assert r["open_at_arrival"] is True
    glon, glat = convert(116.34, 39.88, src="wgs84", dst="gcj02")
    again = json.loads(_cli(["--lon", f"{glon:.10f}", "--lat", f"{glat:.10f}", *args[4:],
                             "--crs", "gcj02"]).stdout)
    assert [r["id"] for r in again["results"]] == [r["id"] for r in body["results"]]
    radius = json.loads(_cli(["--lon", "116.34", "--lat", "39.88", "-k", "50",
                              "--radius", "400", "--json"]).stdout)
    assert all(r["distance_m"] <= 400 for r in radius["results"])


def test_cli_nearest_text_table_in_chinese(filled):
    result = _cli(["--lon", "116.34", "--lat", "39.88", "-k", "5",
                   "--open-at", "2024-03-12T09:30"])
    assert result.exit_code == 0, result.output
    assert "最近的 5 个驿站" in result.stdout and "步行约" in result.stdout
    assert "营业中" in result.stdout
    everything = _cli(["--lon", "116.34", "--lat", "39.88", "-k", "40"])
    states = {"营业中", "未营业", "时间未知"}
    assert sum(state in everything.stdout for state in states) >= 2


def test_cli_nearest_on_an_empty_store(store):
    result = _cli(["--lon", "116.34", "--lat", "39.88", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["results"] == []
    text = _cli(["--lon", "116.34", "--lat", "39.88"])
    assert text.exit_code == 0 and "nuanxin init --demo" in text.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--lon", "abc", "--lat", "39.9"], "--lon"),
     (["--lon", "116.3", "--lat", "39.9", "-k", "two"], "-k"),
     (["--lon", "116.3", "--lat", "39.9", "-k", "0"], "k must be a positive integer"),
     (["--lon", "116.3", "--lat", "39.9", "--amenity", "飞机"], "unknown amenity"),
     (["--lon", "116.3", "--lat", "39.9", "--open-at", "noon"], "ISO 8601"),
     (["--lon", "116.3", "--lat", "39.9", "--radius", "-3"], "radius"),
     (["--lon", "116.3", "--lat", "39.9", "--crs", "mars"], "unknown datum"),
     (["--lon", "516.3", "--lat", "39.9"], "lon must be")],
    ids=["lon", "k-word", "k-zero", "amenity", "open-at", "radius", "crs", "lon-range"],
)
def test_cli_nearest_bad_values_exit_2_with_one_line(filled, args, message):
    result = _cli([*args, "--json"])
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert result.stdout == ""


# ---------------------------------------------------------------------------- open at 03:00
NIGHT_HOURS = ["Mo-Fr 09:00-17:00"] * 12 + [
    "Mo-Su 08:00-20:00; PH off", "工作日 8:00-18:00", "Mo-Sa 07:00-19:00", "", "unreadable ??",
    "24/7", "Mo-Su 22:00-06:00; PH off", "Fr-Sa 22:00-04:00", "sunrise-sunset",
    "Apr-Oct Mo-Su 05:00-23:00; Nov-Mar Mo-Su 06:00-21:00", "PH 02:00-05:00",
    "Mo-Fr 10:00-12:00 unknown", '"by appointment"', "open; Su off",
]


def night_stations(n: int, seed: int, *, rare_open: float) -> list[Station]:
    """Mostly daytime hours; only a ``rare_open`` share with anything open at night."""
    rng = np.random.default_rng(seed)
    day_only = [h for h in NIGHT_HOURS if h.startswith(("Mo-Fr 09", "Mo-Su 08", "工作日",
                                                         "Mo-Sa", "Apr-Oct"))]
    out = []
    for s in random_stations(n, seed):
        hours = str(rng.choice(NIGHT_HOURS)) if rng.random() < rare_open else \
            str(rng.choice(day_only))
        trust = "flagged" if rng.random() < 0.1 else "ok"
        out.append(Station(name=s.name, lon=s.lon, lat=s.lat, id=s.id, amenities=s.amenities,
                           opening_hours=hours, trust=trust))
    return out


def parsed_hours(stations) -> list[OpeningHours]:
    """Each station's hours read once, straight from the text (unreadable: unknown)."""
    cache = {}
    for s in stations:
        text = s.opening_hours
        if text not in cache:
            cache[text] = OpeningHours(known=False) if text == "unreadable ??" else \
                OpeningHours.parse(text)
    return [cache[s.opening_hours] for s in stations]


def brute_open(stations, hours, xy, qx, qy, leave, k, *, allowed=None, radius=None,
               penalty=500.0):
    """Exhaustive: every station asked at its own arrival, ranked as nearest() promises."""
    d = np.hypot(xy[:, 0] - qx, xy[:, 1] - qy)
    rows = []
    start = parse_open_at(leave)
    for p in range(len(stations)):
        if (allowed is not None and not allowed[p]) or (radius is not None and d[p] > radius):
            continue
        arrival = start + timedelta(minutes=d[p] * 1.3 / METRES_PER_MINUTE)
        if hours[p].is_open(arrival) is True:
            extra = penalty * 1.3 if stations[p].trust == "flagged" else 0.0
            rows.append((d[p] * 1.3 + extra, d[p], p))
    rows.sort()
    return [p for _, _, p in rows[:k]], [dist for _, dist, _ in rows[:k]]


@pytest.fixture(scope="module")
def night():
    stations = night_stations(3000, seed=21, rare_open=0.01)
    return stations, StationIndex(stations), project(stations), parsed_hours(stations)


LEAVES = [datetime(2026, 11, 30, 3, 0), datetime(2026, 12, 5, 2, 40),  # Monday, Saturday night
          datetime(2026, 10, 1, 3, 10), datetime(2026, 10, 7, 23, 50),  # National Day block
          datetime(2026, 10, 10, 6, 55), datetime(2026, 9, 30, 21, 30),  # make-up Saturday
          datetime(2026, 6, 21, 4, 20), datetime(2026, 12, 31, 23, 0),   # sunrise; a year's end
          datetime(2026, 11, 30, 12, 0)]


@pytest.mark.parametrize("leave", LEAVES, ids=[t.isoformat() for t in LEAVES])
def test_open_at_when_little_is_open_matches_brute_force(night, leave):
    stations, index, xy, hours = night
    qlon, qlat = random_queries(12, seed=leave.hour * 60 + leave.minute)
    qx, qy = TO_4548.transform(qlon, qlat)
    for i in range(12):
        k = 1 + i % 3
        want, dist = brute_open(stations, hours, xy, qx[i], qy[i], leave, k)
        got = index.nearest(qlon[i], qlat[i], k=k, open_at=leave)
        assert [r.index for r in got] == want, (leave, i)
        np.testing.assert_allclose([r.distance_m for r in got], dist, rtol=1e-9, atol=1e-6)
        assert all(r.open_at_arrival is True for r in got)
        baseline = index.nearest_widening(qlon[i], qlat[i], k=k, open_at=leave)
        assert [r.index for r in baseline] == want
        # the open-interval path on its own (nearest() turns to it when widening is costly)
        query = index._query(qlon[i], qlat[i], k, "wgs84", (), leave, None, None)
        assert [r.index for r in index._nearest_by_slots(query)] == want


def test_open_at_with_amenities_and_radius_matches_brute_force(night):
    stations, index, xy, hours = night
    key = AMENITIES[0]
    allowed = np.array([s.amenities.get(key) == "yes" for s in stations])
    qlon, qlat = random_queries(10, seed=5)
    qx, qy = TO_4548.transform(qlon, qlat)
    leave = datetime(2026, 11, 30, 2, 30)
    for i in range(10):
        radius = 30_000.0 if i % 2 else None
        want, _ = brute_open(stations, hours, xy, qx[i], qy[i], leave, 2, allowed=allowed,
                             radius=radius)
        got = index.nearest(qlon[i], qlat[i], k=2, open_at=leave, amenities=[key],
                            radius_m=radius)
        assert [r.index for r in got] == want


def test_slot_masks_say_closed_only_when_closed():
    """A clear quarter-hour bit must mean closed at every instant of it (ordinary days)."""
    monday = datetime(2026, 3, 2)
    for text in set(NIGHT_HOURS) - {"unreadable ??"}:
        hours = OpeningHours.parse(text)
        slots = hours.week_slots()
        if slots is None:
            assert not hours.periodic
            continue
        for minute in range(0, 7 * 1440, 5):
            when = monday + timedelta(minutes=minute)
            if hours.is_open(when) is True:
                assert (slots[0] >> (minute // 15)) & 1, (text, when)
                assert (slots[1] >> (minute // 15)) & 1, (text, when)


# ---------------------------------------------------------------------------- flagged stations
def _flagged_pair(flagged_m: float, other_m: float) -> list[str]:
    flagged = _station_at("flagged", flagged_m, hours="24/7", sid=1)
    flagged.trust = "flagged"
    other = _station_at("other", other_m, hours="24/7", sid=2)
    index = StationIndex([flagged, other])
    results = index.nearest(116.34, 39.88, k=2)
    assert {r.station.name: round(r.distance_m) for r in results} == {
        "flagged": round(flagged_m), "other": round(other_m)}  # true distances reported
    return [r.station.name for r in results]


def test_a_flagged_station_ranks_as_if_500_m_farther():
    assert _flagged_pair(200, 600) == ["other", "flagged"]
    assert _flagged_pair(200, 800) == ["flagged", "other"]  # never left out, just ranked
    assert _flagged_pair(200, 600)[1] == "flagged"


def test_the_flagged_penalty_is_a_setting(monkeypatch):
    monkeypatch.setenv("NUANXIN_FLAGGED_RANK_PENALTY_M", "0")
    assert _flagged_pair(200, 600) == ["flagged", "other"]
    monkeypatch.setenv("NUANXIN_FLAGGED_RANK_PENALTY_M", "-5")
    with pytest.raises(ValidationError, match="FLAGGED_RANK_PENALTY_M"):
        StationIndex([_station_at("a", 10, hours="24/7", sid=1)])


def test_a_result_past_the_calendar_s_years_carries_its_warning():
    index = StationIndex([_station_at("s", 100, hours="24/7; PH off", sid=1)])
    [known] = index.nearest(116.34, 39.88, k=1, open_at=datetime(2026, 12, 1, 9))
    assert known.calendar_note is None
    last = holidays.known_years()[1]
    [beyond] = index.nearest(116.34, 39.88, k=1, open_at=datetime(last + 1, 10, 8, 9))
    assert beyond.open_at_arrival is True  # evaluated as an ordinary day ...
    assert f"{last + 1} 年" in beyond.calendar_note  # ... and said so
    # the next year's statutory days are known: 10-01 is off (the notice's block is not)
    assert index.nearest(116.34, 39.88, k=1, open_at=datetime(last + 1, 10, 1, 9),
                         require_open=True) == []
    far = last + holidays.PROVISIONAL_AHEAD + 1
    [farther] = index.nearest(116.34, 39.88, k=1, open_at=datetime(far, 10, 1, 9))
    assert farther.open_at_arrival is True and "节假日规则不生效" in farther.calendar_note
