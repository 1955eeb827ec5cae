"""Never stuck, server side: ``max_distance`` / ``--max-distance`` with ``none_within_m``, and a
point outside the store's coverage area answered as such (issue 14, item 5).

Oracle: brute-force straight-line distances from ``geodata.nearest.index`` projections are not
needed; the index's own ``distance_m`` of every station is compared with the limit, and the
store's stations are listed independently.
"""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from stations.records import Station
from webmap.app import create_app
from webmap.cli import main as cli
from webmap.testing import synthetic_stations

SHANGHAI = (121.4737, 31.2304)
CBD = (116.4600, 39.9090)  # 朝阳 CBD: the stations below are all in 西城
HOME = (116.3400, 39.8800)


def _haversine_m(lon1, lat1, lon2, lat2) -> float:
    """Great-circle metres: an independent oracle for "within M metres" (±0.5 %)."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


@pytest.fixture
def filled(store):
    rows = synthetic_stations(50, bbox=(116.32, 39.86, 116.36, 39.90), seed=11)
    rows.append(Station(name="西城全天驿站", lon=HOME[0], lat=HOME[1], code="R-1",
                        opening_hours="24/7", access="open"))
    store.add_stations(rows)
    return store


@pytest.fixture
def client(filled):
    app = create_app({"TESTING": True, "TILES": "none", "DATABASE_URL": filled.url})
    return app.test_client()


def _get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def _cli(args):
    result = CliRunner().invoke(cli, args)
    return result


@pytest.mark.parametrize("limit", [150, 600, 1500])
def test_max_distance_keeps_exactly_the_stations_within(client, filled, limit):
    body = _get(client, f"/api/nearest?lon={HOME[0] + 0.004}&lat={HOME[1]}&k=100"
                        f"&max_distance={limit}")
    ids = {r["id"] for r in body["results"]}
    expected = {s.id for s in filled.list_stations(status="open")
                if _haversine_m(HOME[0] + 0.004, HOME[1], s.lon, s.lat) <= limit * 0.995}
    borderline = {s.id for s in filled.list_stations(status="open")
                  if abs(_haversine_m(HOME[0] + 0.004, HOME[1], s.lon, s.lat) - limit)
                  < limit * 0.005}
    assert expected - borderline <= ids
    assert all(r["distance_m"] <= limit for r in body["results"])
    assert ids, "the fixture puts stations within every limit tested"
    assert body["max_distance_m"] == limit and "none_within_m" not in body
    assert "outside_coverage" not in body


def test_nothing_within_reach_says_none_within_m(client):
    body = _get(client, f"/api/nearest?lon={CBD[0]}&lat={CBD[1]}&max_distance=3000")
    assert body["results"] == []
    assert body["none_within_m"] == 3000
    # without the limit, the nearest is offered (7+ km away) and the point is covered
    far = _get(client, f"/api/nearest?lon={CBD[0]}&lat={CBD[1]}")
    assert far["results"] and far["results"][0]["distance_m"] > 3000
    assert "none_within_m" not in far and "outside_coverage" not in far


def test_a_point_outside_the_coverage_area_names_no_station(client):
    body = _get(client, f"/api/nearest?lon={SHANGHAI[0]}&lat={SHANGHAI[1]}")
    assert body["results"] == []
    assert body["outside_coverage"] is True and body["coverage_m"] == 20000


def test_coverage_distance_is_a_setting(filled, monkeypatch):
    monkeypatch.setenv("NUANXIN_COVERAGE_M", "2000")
    app = create_app({"TESTING": True, "TILES": "none", "DATABASE_URL": filled.url})
    body = _get(app.test_client(), f"/api/nearest?lon={CBD[0]}&lat={CBD[1]}")
    assert body["results"] == [] and body["outside_coverage"] is True
    assert body["coverage_m"] == 2000


@pytest.mark.parametrize("value", ["-1", "x", "1e9", "nan"])
def test_bad_max_distance_is_a_400(client, value):
    body = _get(client, f"/api/nearest?lon={HOME[0]}&lat={HOME[1]}&max_distance={value}", 400)
    assert "max_distance" in body["error"]


def test_cli_max_distance_matches_the_api(client, filled):
    args = ["nearest", "--lon", str(CBD[0]), "--lat", str(CBD[1]), "--max-distance", "3000"]
    result = _cli(args + ["--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["results"] == [] and body["none_within_m"] == 3000
    text = _cli(args)
    assert text.exit_code == 0 and "3000 米内没有驿站" in text.output
    near = json.loads(_cli(["nearest", "--lon", str(HOME[0]), "--lat", str(HOME[1]),
                            "--max-distance", "500", "--json"]).output)
    api = _get(client, f"/api/nearest?lon={HOME[0]}&lat={HOME[1]}&max_distance=500")
    assert [r["id"] for r in near["results"]] == [r["id"] for r in api["results"]]
    assert near["results"] and all(r["distance_m"] <= 500 for r in near["results"])


def test_cli_answers_shanghai_as_outside_coverage(filled):
    result = _cli(["nearest", "--lon", str(SHANGHAI[0]), "--lat", str(SHANGHAI[1])])
    assert result.exit_code == 0
    assert "不在站点库的服务范围内" in result.output and "公里" in result.output
    body = json.loads(_cli(["nearest", "--lon", str(SHANGHAI[0]), "--lat", str(SHANGHAI[1]),
                            "--json"]).output)
    assert body["results"] == [] and body["outside_coverage"] is True


@pytest.mark.parametrize("value", ["-5", "abc", "1e12"])
def test_cli_bad_max_distance_is_exit_2_one_line(filled, value):
    result = _cli(["nearest", "--lon", "116.34", "--lat", "39.88", "--max-distance", value])
    assert result.exit_code == 2
    assert "--max-distance" in result.output and "Traceback" not in result.output
