"""Issue 15 item 4, "none it allows is refused": each request Schemathesis found refused although
the OpenAPI document allowed it (``positive_data_acceptance``), replayed exactly, with the
answer it gets now — a defined meaning (200/201), a state conflict (409), not found (404), or,
where the document now states the rule, a 400 the document also forbids.
"""

from __future__ import annotations

import json
import re

import pytest

from stations import accounts
from stations import settings as nx_settings
from stations.store import Store
from webmap.api import BBOX_PATTERN, spec
from webmap.app import create_app
from webmap.auth import issue_token
from webmap.params import TIME_PATTERN, check_body
from webmap.testing import synthetic_stations

ZEROS = "0" * 64


@pytest.fixture
def api(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'nuanxin.db'}"
    monkeypatch.setenv("NUANXIN_DATABASE_URL", url)
    monkeypatch.setenv("NUANXIN_INSTANCE", str(tmp_path / "instance"))
    store = Store(url)
    store.init()
    store.add_stations(synthetic_stations(60, bbox=(116.30, 39.85, 116.42, 39.95)))
    accounts.add_account(store, username="city", password_hash="-", role="admin",
                         district="", street="", created_at=nx_settings.wall_now())
    token = issue_token(store, "city")
    app = create_app({"TESTING": True, "TILES": "none", "DATABASE_URL": url})
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    yield client, store
    app.extensions["nuanxin.store"].dispose()
    store.dispose()


def _json(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def _body_schema(path: str, method: str) -> dict:
    op = spec.openapi()["paths"][path][method]
    return op["requestBody"]["content"]["application/json"]["schema"]


def _document_allows(path: str, method: str, body: dict) -> bool:
    try:
        check_body(body, _body_schema(path, method), spec.components)
    except Exception:  # noqa: BLE001 - any refusal of the documented schema
        return False
    return True


def test_cluster_without_zoom_uses_the_zoom_that_fits_the_stations(api):
    client, _ = api
    found = ("/api/stations?bbox=116.32%2C39.86%2C116.36%2C39.90&amenity=hot_water&amenity="
             "toilet&open_at=2025-01-15T06%3A30&district=" + ZEROS + "&street=" + ZEROS +
             "&access=open&always_open=true&status=open&include_unknown=true&crs=wgs84&"
             "fields=all&limit=1&after=0&cluster=true")
    # was 400 "cluster needs the map zoom"; the district named there does not exist: 404
    assert _json(client.get(found), 404)["detail"]["param"] == "district"
    body = _json(client.get("/api/stations?cluster=true&limit=5"), 200)
    assert body["clustered"] is True
    assert sum(f["properties"].get("count", 1) for f in body["features"]) == 60
    explicit = _json(client.get("/api/stations?cluster=true&limit=5&zoom=0"), 200)
    assert len(explicit["features"]) == 1  # zoom 0: one cell holds Beijing


def test_unknown_district_or_street_is_404_with_suggestions(api):
    client, _ = api
    for query in (f"/api/stations?district={ZEROS}", f"/api/stations?street={ZEROS}",
                  f"/api/coverage?district={ZEROS}&street={ZEROS}&radius=1&minutes=1"
                  "&min_stations=2&at=now&demand=auto"):
        body = _json(client.get(query), 404)
        assert set(body) == {"error", "detail"} and "suggestions" in body["detail"]
    doc = spec.openapi()["paths"]
    assert "404" in doc["/api/stations"]["get"]["responses"]
    assert "404" in doc["/api/coverage"]["get"]["responses"]


def test_coverage_with_radius_and_minutes_counts_within_both(api):
    client, _ = api
    both = _json(client.get("/api/coverage?radius=1&minutes=1&at=now"), 200)
    assert both["radius_m"] == 1.0 and both["walk_minutes"] == 1.0
    minutes_bind = _json(client.get("/api/coverage?radius=50000&minutes=1"), 200)
    only_minutes = _json(client.get("/api/coverage?minutes=1"), 200)
    assert minutes_bind["radius_m"] == only_minutes["radius_m"] < 100


def test_nearest_far_from_every_station_is_outside_coverage(api):
    client, _ = api
    found = ("/api/nearest?lon=-180&lat=-90&crs=bd09&k=5&amenity=hot_water&amenity=toilet&"
             "open_at=now&radius=0&max_distance=0&access=open&always_open=true")
    body = _json(client.get(found), 200)  # was 400 "too far from the stations to project"
    assert body["outside_coverage"] is True and body["results"] == []
    here = _json(client.get("/api/nearest?lon=116.36&lat=39.90&radius=0"), 200)
    assert here["results"] == []  # radius 0: only a station at the point itself


def test_a_pin_far_from_the_station_is_dropped_and_the_report_kept(api):
    client, store = api
    sid = store.list_stations()[1].id
    body = _json(client.post(f"/api/stations/{sid}/reports",
                             json={"kind": "ok", "lat": 0.0, "lon": 0.0, "note": ""}), 201)
    assert body["lon"] is None and body["lat"] is None and "5" in body["pin_ignored"]
    near = store.get_station(sid)
    kept = _json(client.post(f"/api/stations/{sid}/reports", json={
        "kind": "wrong_location", "lon": near.lon + 0.001, "lat": near.lat}), 201)
    assert kept["lon"] == pytest.approx(near.lon + 0.001) and "pin_ignored" not in kept
    # half a pin: the document states the rule (anyOf), the server gives its words
    path = "/api/stations/{station_id}/reports"
    assert not _document_allows(path, "post", {"kind": "ok", "lon": 116.3})
    half = _json(client.post(f"/api/stations/{sid}/reports", json={"kind": "ok",
                                                                   "lon": 116.3}), 400)
    assert "lon 和 lat" in half["error"]


def test_a_step_the_lifecycle_refuses_is_409_and_a_reason_rule_is_documented(api):
    client, store = api
    sid = store.list_stations()[1].id
    found = client.post(f"/api/stations/{sid}/status",
                        json={"reason": "", "status": "open", "version": 1})
    body = _json(found, 409)  # was 400: reopening an open station
    assert body["detail"]["from"] == "opened" and "suspend" in body["detail"]["allowed"]
    assert store.get_station(sid).version == 1
    path = "/api/stations/{station_id}/status"
    assert "409" in spec.openapi()["paths"][path]["post"]["responses"]
    assert not _document_allows(path, "post", {"status": "closed", "reason": " "})
    assert _document_allows(path, "post", {"status": "open"})
    refused = _json(client.post(f"/api/stations/{sid}/status",
                                json={"status": "closed", "reason": " "}), 400)
    assert "原因" in refused["error"]
    _json(client.post(f"/api/stations/{sid}/status",
                      json={"status": "closed", "reason": "拆除", "version": 1}), 200)
    again = _json(client.post(f"/api/stations/{sid}/status",
                              json={"status": "closed", "reason": "拆除"}), 409)
    assert again["detail"]["allowed"] == []


def test_station_writes_document_what_a_station_needs(api):
    client, store = api
    nulls = {"name": None, "lon": None, "lat": None, "version": 1}
    patch = "/api/stations/{station_id}"
    # found: PATCH with every field null (name, lon, lat cannot be unset) — now forbidden
    assert not _document_allows(patch, "patch", nulls)
    sid = store.list_stations()[1].id
    assert "name" in _json(client.patch(f"/api/stations/{sid}", json=nulls), 400)["error"]
    assert not _document_allows(patch, "patch", {"lon": 116.3})  # lon and lat together
    assert not _document_allows(patch, "patch", {"amenities": {"hot_water": None}})
    assert not _document_allows(patch, "patch", {"opening_hours": "whenever"})
    assert _document_allows(patch, "patch", {"opening_hours": "每天 8:00-20:00"})
    # an empty patch changes nothing: 200 with the station as it is
    same = _json(client.patch(f"/api/stations/{sid}", json={"version": 1}), 200)
    assert same["properties"]["version"] == 1
    create = "/api/stations"
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [0.0, 0.0]},
               "properties": {"name": None}, "crs": "bd09"}
    assert not _document_allows(create, "post", feature)  # found: a Feature without a name
    assert not _document_allows(create, "post", {"name": "x", "lon": 0, "lat": 0})
    assert not _document_allows(create, "post", {"type": "Feature", "geometry": {},
                                                 "properties": {"name": "x"}})
    # found: a Feature at [1, 1] (outside China; OpenAPI 3.0 could not bound positions) and
    # one without properties (so without a name): the 3.1 document states both
    far = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1.0, 1.0]},
           "properties": {"name": "0"}}
    assert not _document_allows(create, "post", far)
    assert "geometry/coordinates/0" in _json(client.post(create, json=far), 400)["error"]
    bare = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [73.0, 1.0]}}
    assert not _document_allows(create, "post", bare)
    assert _document_allows(create, "post", {**bare, "properties": {"name": "边"}})
    assert _json(client.post(create, json={**bare, "properties": {"name": "边"}}), 201)
    made = _json(client.post(create, json={"name": "新站", "lon": "116.35", "lat": 39.9}), 201)
    assert made["properties"]["name"] == "新站"


def test_query_texts_the_document_allows_are_ones_the_server_reads(api):
    client, _ = api
    # found: bbox "51,-883125166441,056,-37620361" (pattern without ranges) — now forbidden
    assert not re.search(BBOX_PATTERN, "51,-883125166441,056,-37620361")
    _json(client.get("/api/areas?crs=gcj02&bbox=51%2C-883125166441%2C056%2C-37620361"
                     "&zoom=18.5"), 400)
    ordered = _json(client.get("/api/stations?bbox=116.30,39.85,116.36,39.90"), 200)
    swapped = _json(client.get("/api/stations?bbox=116.36,39.90,116.30,39.85"), 200)
    assert ordered["numberMatched"] == swapped["numberMatched"] > 0
    # found: open_at 8130-29-84 and at 30:92 matched the old time pattern
    for text in ("8130-29-84", "0718-14-62", "30:92", "2025-02-30"):
        assert not re.search(TIME_PATTERN, text, re.ASCII)
    assert re.search(TIME_PATTERN, "2024-02-29T08:30+08:00", re.ASCII)
    _json(client.get("/api/coverage?at=30%3A92"), 400)
    # found: an amenity name the server does not know; the document now lists the names
    amenity = next(p for p in spec.openapi()["paths"]["/api/stations"]["get"]["parameters"]
                   if p["name"] == "amenity")
    assert "热水" in json.dumps(amenity, ensure_ascii=False)
    assert _json(client.get("/api/stations?amenity=热水"), 200)["numberMatched"] >= 0
    _json(client.get("/api/stations?amenity=sauna"), 400)
