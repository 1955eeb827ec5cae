"""Gap clusters: a constructed case with known clusters, weights, nearest stations and the
candidate that would cover each; gaps as demand for siting; the page and the API naming the
demand source and listing the gaps."""

from __future__ import annotations

import numpy as np
import pytest

from geodata.crs.projection import from_metric
from geodata.planning.coverage import StationArrays, compute_coverage
from geodata.planning.demand import DemandSet
from geodata.planning.gaps import CandidateArrays, find_gaps, gaps_as_demand, size_text

CRS = "EPSG:4548"
X0, Y0 = 440_000.0, 4_414_000.0
RADIUS = 500.0


def _cluster(rng, cx, cy, n, spread, people):
    """``n`` points within ``spread`` metres of ``(cx, cy)``, each with ``people`` workers."""
    angle = rng.uniform(0, 2 * np.pi, n)
    dist = spread * np.sqrt(rng.uniform(0, 1, n))
    return (cx + dist * np.cos(angle), cy + dist * np.sin(angle), np.full(n, float(people)))


@pytest.fixture
def case():
    """Three uncovered clusters far apart (A: 30 × 4 people, B: 20 × 2, C: 5 × 1), one covered
    cluster next to the station, and an isolated point with no people."""
    rng = np.random.default_rng(16)
    parts = [_cluster(rng, X0, Y0, 30, 200, 4),            # A
             _cluster(rng, X0 + 4000, Y0, 20, 150, 2),     # B
             _cluster(rng, X0, Y0 + 4000, 5, 100, 1),      # C
             _cluster(rng, X0 + 4000, Y0 + 4000, 10, 100, 3)]  # covered by the station
    x = np.concatenate([p[0] for p in parts] + [[X0 + 2000]])
    y = np.concatenate([p[1] for p in parts] + [[Y0 + 2000]])
    w = np.concatenate([p[2] for p in parts] + [[0.0]])
    label = np.repeat(["A", "B", "C", "D", "Z"], [30, 20, 5, 10, 1])
    lon, lat = from_metric(x, y, CRS)
    demand = DemandSet(lon=lon, lat=lat, weight=w, name=[f"p{i}" for i in range(len(w))])
    slon, slat = from_metric([X0 + 4000], [Y0 + 4100], CRS)
    stations = StationArrays.from_arrays(slon, slat, ids=[9], names=["东北驿站"], hours=["24/7"])
    result = compute_coverage(demand, stations, radius_m=RADIUS, crs=CRS)
    # candidates: one in the middle of A (covers all of A), one 450 m east of B's centre
    # (covers only B's eastern part), one far from everything
    clon, clat = from_metric([X0, X0 + 4450, X0 - 9000], [Y0, Y0, Y0], CRS)
    candidates = CandidateArrays(ids=np.array([1, 2, 3]),
                                 names=np.array(["甲", "乙", "丙"], dtype=object),
                                 lon=clon, lat=clat)
    return {"result": result, "candidates": candidates, "label": label, "x": x, "y": y, "w": w}


def test_clusters_are_the_constructed_ones_largest_first(case):
    gaps = find_gaps(case["result"], candidates=case["candidates"])
    label = case["label"]
    assert [g.rank for g in gaps] == [1, 2, 3]
    found = [set(label[g.members]) for g in gaps]
    assert found == [{"A"}, {"B"}, {"C"}]  # D is covered, Z weighs nothing
    assert [g.size for g in gaps] == [120.0, 40.0, 5.0]
    assert [g.points for g in gaps] == [30, 20, 5]


def test_each_gap_names_its_nearest_station_and_distance(case):
    gaps = find_gaps(case["result"], candidates=case["candidates"])
    sx, sy = X0 + 4000, Y0 + 4100
    for gap in gaps:
        m = gap.members
        cx = (case["x"][m] * case["w"][m]).sum() / case["w"][m].sum()
        cy = (case["y"][m] * case["w"][m]).sum() / case["w"][m].sum()
        assert gap.nearest_station_name == "东北驿站" and gap.nearest_station_id == 9
        assert gap.nearest_station_m == pytest.approx(np.hypot(cx - sx, cy - sy), abs=0.01)


def test_best_passing_candidate_that_would_cover_it(case):
    gaps = find_gaps(case["result"], candidates=case["candidates"])
    a, b, c = gaps
    assert a.candidate["name"] == "甲" and a.candidate["covers"] == 120.0
    assert a.candidate["covers_share"] == 1.0
    m = b.members
    expected = case["w"][m][np.hypot(case["x"][m] - (X0 + 4450), case["y"][m] - Y0) <= RADIUS]
    assert b.candidate["name"] == "乙" and 0 < b.candidate["covers"] == expected.sum() < 40
    assert c.candidate is None  # nobody passing is within reach of C
    assert find_gaps(case["result"])[0].candidate is None  # no candidates given


def test_weights_decide_what_is_a_gap(case):
    result = case["result"]
    # a heavier seed: only neighbourhoods with ≥ 10 people start a gap; C (5 people) is noise
    gaps = find_gaps(result, min_weight=10)
    assert [set(case["label"][g.members]) for g in gaps] == [{"A"}, {"B"}]
    # a tighter neighbourhood splits nothing here but keeps each cluster whole
    assert len(find_gaps(result, eps_m=300)) == 3
    assert len(find_gaps(result, max_gaps=2)) == 2


def test_gaps_as_demand_for_siting(case):
    gaps = find_gaps(case["result"])
    demand = gaps_as_demand(case["result"], gaps)
    assert demand.total == 165.0 and len(demand) == 55
    assert sorted(set(demand.meta["gap_id"].tolist())) == [1, 2, 3]
    assert np.all(demand.weight[demand.meta["gap_id"] == 1] == 4.0)
    assert len(gaps_as_demand(case["result"], [])) == 0


def test_binned_clustering_matches_on_a_big_grid():
    """Above the binning threshold the same clusters come out (two uncovered blocks)."""
    xs, ys = np.meshgrid(np.arange(0, 15_000, 25.0), np.arange(0, 1_500, 25.0))
    x, y = xs.ravel() + X0, ys.ravel() + Y0
    keep = (x - X0 < 6000) | (x - X0 > 9000)  # a 3 km empty band splits the field in two
    lon, lat = from_metric(x[keep], y[keep], CRS)
    demand = DemandSet(lon=lon, lat=lat, weight=1.0)
    assert len(demand) > 20_000
    slon, slat = from_metric([X0 - 50_000], [Y0], CRS)
    result = compute_coverage(demand, StationArrays.from_arrays(slon, slat), radius_m=1000,
                              crs=CRS)
    gaps = find_gaps(result)
    assert len(gaps) == 2 and sum(g.size for g in gaps) == len(demand)
    west, east = np.count_nonzero(x[keep] - X0 < 6000), np.count_nonzero(x[keep] - X0 > 9000)
    assert [g.size for g in gaps] == [max(west, east), min(west, east)]


def test_size_in_words():
    assert size_text(110, "people") == "110 人"
    assert size_text(650_000, "m2") == "65.0 公顷"
    assert size_text(3, "points") == "3 个点"


# ----------------------------------------------------------------------------- store and page
@pytest.fixture
def guangwai(store):
    """The demo store (stations, screened candidates, community proxy points)."""
    from geodata.demo import load_demo

    load_demo(store)
    return store


def test_area_coverage_lists_gaps_with_passing_candidates(guangwai):
    from geodata.planning.coverage import area_coverage
    from stations.candidates import list_candidates

    result = area_coverage(guangwai, street="广外", radius_m=500, network=None)
    body = result.as_dict()
    assert body["demand_source"] == "area" and body["gaps"]
    passing = {c.id for c in list_candidates(guangwai)
               if c.screening_result == "pass" and c.station_id is None}
    named = [g["candidate"]["id"] for g in body["gaps"] if g["candidate"]]
    assert named and set(named) <= passing
    assert all(g["street"] == "广安门外街道" and g["size_zh"].endswith("公顷")
               for g in body["gaps"])
    # every uncovered m² is in a gap, except slivers lighter than one cell on their own and
    # gaps beyond the 50 listed
    uncovered = body["demand_total"] - body["demand_covered"]
    assert 0.9 * uncovered <= sum(g["size"] for g in body["gaps"]) <= uncovered + 1e-6


def _client(store):
    from webmap.app import create_app
    from webmap.testing import login
    from webmap.users import add_user

    add_user(store, "gw", "correct horse battery", role="street", district="西城区",
             street="广安门外街道")
    client = create_app({"TESTING": True, "TILES": "none"}).test_client()
    assert login(client, "gw", "correct horse battery").status_code == 302
    return client


def test_page_names_the_demand_source_before_and_after_a_sheet(guangwai, tmp_path):
    from pathlib import Path

    from webmap.testing import csrf_token_from

    client = _client(guangwai)
    before = client.get("/union/coverage?radius=500").get_data(as_text=True)
    assert "需求来源：按面积" in before and "不是人数" in before
    assert 'id="time-strip"' in before and before.count('class="stat strip-cell"') == 4
    assert 'id="gaps"' in before and "下载需求表模板" in before
    template = client.get("/union/coverage/demand-template.xlsx")
    assert template.status_code == 200 and template.data[:2] == b"PK"
    proxy = client.get("/union/coverage?radius=500&demand=community_proxy").get_data(
        as_text=True)
    assert "需求来源：社区代理点" in proxy and "不代表人数" in proxy
    sample = Path(__file__).resolve().parents[1] / "geodata" / "demo" / \
        "guangwai_demand_sample.csv"
    token = csrf_token_from(before)
    with sample.open("rb") as fh:
        response = client.post("/union/coverage/demand", data={
            "csrf_token": token, "crs": "wgs84", "file": (fh, "广外需求.csv")},
            content_type="multipart/form-data")
    assert response.status_code == 302
    after = client.get("/union/coverage?radius=500").get_data(as_text=True)
    assert "需求来源：导入的需求点" in after and "600 人" in after
    assert "待定位" in after  # the district-only row is waiting for a pin
    assert "（示例）" in after or "示例" in after
    assert client.get("/union/coverage?demand=bogus").status_code == 400
    # the row found only to 西城区 is listed with a pin form; a pin outside the account's
    # street is refused, one inside counts it
    from stations.demand_points import pending_pins

    assert 'id="demand-pending"' in after and "某物流公司" in after
    (row,) = pending_pins(guangwai)
    url = f"/union/coverage/demand/{row['id']}/pin"
    token = csrf_token_from(after)
    outside = client.post(url, data={"csrf_token": token, "lon": "116.3975", "lat": "39.9087",
                                     "crs": "wgs84"})
    assert outside.status_code == 403 and pending_pins(guangwai)
    assert client.post(url, data={"csrf_token": token, "lon": "东经", "lat": "39.88",
                                  "crs": "wgs84"}).status_code == 400
    placed = client.post(url, data={"csrf_token": token, "lon": "116.3300", "lat": "39.8840",
                                    "crs": "wgs84"})
    assert placed.status_code == 302 and pending_pins(guangwai) == []
    pinned = client.get("/union/coverage?radius=500").get_data(as_text=True)
    assert "609 人" in pinned and 'id="demand-pending"' not in pinned


def test_api_demand_choice_and_strip(guangwai):
    from webmap.app import create_app

    client = create_app({"TESTING": True, "TILES": "none"}).test_client()
    body = client.get("/api/coverage?street=广外&radius=500&strip=true").get_json()
    assert body["demand_source"] == "area" and body["demand_unit"] == "m2"
    assert [r["time"] for r in body["time_strip"]] == ["06:00", "12:00", "18:00", "22:00"]
    proxy = client.get("/api/coverage?street=广外&radius=500&demand=community_proxy").get_json()
    assert proxy["demand_source"] == "community_proxy" and proxy["demand_unit"] == "points"
    assert client.get("/api/coverage?demand=people").status_code == 400
