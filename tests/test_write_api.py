"""The write API (issue 10, item 3): tokens, scope, versions, bodies — on SQLite and PostGIS.

Every refusal (401, 403, 409, 400) leaves the store exactly as it was: the stations, their
versions, the audit log and the change counter are compared before and after.
"""

from __future__ import annotations

import hashlib
import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from stations import accounts, audit, settings
from stations.records import Station
from stations.schema import api_tokens_table
from stations.store import Store
from webmap.app import create_app
from webmap.auth import issue_token, revoke_tokens
from webmap.cli import main as cli
from webmap.writes import EDITABLE_FIELDS

#: 西城区 广安门外街道 (the account areas below), another street of 西城区, and 朝阳区.
IN_STREET = (116.3384227, 39.8728584)
OTHER_STREET = (116.37, 39.91)  # 西城区 西长安街街道
OTHER_DISTRICT = (116.48, 39.92)  # 朝阳区 六里屯街道
ACCOUNTS = {  # name: (role, district, street)
    "city": ("admin", "", ""),
    "xicheng": ("district", "西城区", ""),
    "guangwai": ("street", "西城区", "广安门外街道"),
    "reader": ("viewer", "", ""),
}
ROLE_ACCOUNT = {"admin": "city", "district": "xicheng", "street": "guangwai",
                "viewer": "reader"}


@pytest.fixture
def store(backend_store) -> Store:
    """Every test here runs on SQLite and on PostGIS (conftest.backend_store)."""
    return backend_store


@pytest.fixture
def world(store):
    """Three stations (in 广外, another 西城 street, 朝阳) and a token per account."""
    ids = store.add_stations([
        Station(name="广外驿站", lon=IN_STREET[0], lat=IN_STREET[1], district="西城区",
                district_code="110102", street="广安门外街道", street_code="110102020",
                contact_name="王师傅", contact_phone="13800000000"),
        Station(name="西长安街驿站", lon=OTHER_STREET[0], lat=OTHER_STREET[1], district="西城区",
                district_code="110102", street="西长安街街道", street_code="110102001"),
        Station(name="朝阳驿站", lon=OTHER_DISTRICT[0], lat=OTHER_DISTRICT[1], district="朝阳区",
                district_code="110105", street="六里屯街道", street_code="110105014"),
    ])
    tokens = {}
    for name, (role, district, street) in ACCOUNTS.items():
        accounts.add_account(store, username=name, password_hash="-", role=role,
                             district=district, street=street, created_at=settings.wall_now())
        tokens[name] = issue_token(store, name)
    app = create_app({"TESTING": True, "TILES": "none", "DATABASE_URL": store.url})
    yield {"in": ids[0], "other_street": ids[1], "other_district": ids[2], "tokens": tokens,
           "client": app.test_client(), "store": store}
    app.extensions["nuanxin.store"].dispose()


def _auth(world, account: str) -> dict:
    return {"Authorization": f"Bearer {world['tokens'][account]}"}


def _state(store: Store) -> tuple:
    """Everything a refused write must leave alone."""
    stations = [(s.as_dict(), s.version) for s in store.list_stations()]
    return stations, len(audit.list_events(store)), store.version()


def _body(response) -> dict:
    body = response.get_json()
    assert isinstance(body, dict), response.get_data(as_text=True)[:300]
    return body


def _refused(world, call, status: int) -> dict:
    """Run ``call`` and check it is refused with ``status`` and the error shape, the store
    unchanged."""
    before = _state(world["store"])
    response = call()
    body = _body(response)
    assert response.status_code == status, body
    assert set(body) == {"error", "detail"} and body["error"]
    assert _state(world["store"]) == before
    return body


# -- tokens ----------------------------------------------------------------------------------
def test_a_token_is_printed_once_stored_hashed_and_revoked(world):
    store, client = world["store"], world["client"]
    runner = CliRunner()
    made = runner.invoke(cli, ["users", "token", "xicheng"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert made.stdout.count("\n") == 1 and token.startswith("nx_") and len(token) > 40
    with store.engine.connect() as conn:
        hashes = set(conn.execute(sa.select(api_tokens_table.c.token_hash)).scalars())
        stored = " ".join(str(v) for row in conn.execute(sa.select(api_tokens_table))
                          for v in row)
    assert hashlib.sha256(token.encode()).hexdigest() in hashes and token not in stored
    headers = {"Authorization": f"Bearer {token}"}
    ok = client.patch(f"/api/stations/{world['in']}", json={"notes": "令牌可用"},
                      headers=headers)
    assert ok.status_code == 200, ok.get_json()
    revoked = runner.invoke(cli, ["users", "token", "xicheng", "--revoke"])
    assert revoked.exit_code == 0 and "2" in revoked.stdout  # the fixture's token and this one
    body = _refused(world, lambda: client.patch(f"/api/stations/{world['in']}",
                                                json={"notes": "撤销后"}, headers=headers), 401)
    assert "revoked" in body["error"]
    assert client.patch(f"/api/stations/{world['in']}", json={"notes": "x"},
                        headers=_auth(world, "city")).status_code == 200  # others unaffected


def test_token_for_an_unknown_account_is_exit_2(world):
    result = CliRunner().invoke(cli, ["users", "token", "nobody"])
    assert result.exit_code == 2 and "nobody" in result.stderr and not result.stdout


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Basic dXNlcjpwdw==", "Bearer nx_not-a-real-token-but-long-enough",
    "Bearer " + "x" * 5000, "Bearer nx_\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
    "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9",
], ids=["none", "empty", "no-token", "basic", "unknown", "huge", "non-ascii"])
@pytest.mark.parametrize("route", ["create", "patch", "status", "audit"])
def test_no_or_bad_token_is_401_and_changes_nothing(world, header, route):
    client, sid = world["client"], world["in"]
    headers = {} if header is None else {"Authorization": header}
    calls = {
        "create": lambda: client.post("/api/stations", json={
            "name": "x", "lon": IN_STREET[0], "lat": IN_STREET[1]}, headers=headers),
        "patch": lambda: client.patch(f"/api/stations/{sid}", json={"name": "x"},
                                      headers=headers),
        "status": lambda: client.post(f"/api/stations/{sid}/status", json={
            "status": "closed", "reason": "x"}, headers=headers),
        "audit": lambda: client.get(f"/api/audit?station={sid}", headers=headers),
    }
    _refused(world, calls[route], 401)


def test_401_comes_before_a_bad_body(world):
    response = world["client"].post("/api/stations", data="not json",
                                    content_type="application/json")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# -- the scope matrix --------------------------------------------------------------------------
#: role → (in its area, another street of 西城区, another district) allowed?
SCOPE = {"admin": (True, True, True), "district": (True, True, False),
         "street": (True, False, False), "viewer": (False, False, False)}
WHERE = {"in": IN_STREET, "other_street": OTHER_STREET, "other_district": OTHER_DISTRICT}


def _write(world, route: str, account: str, where: str):
    client, headers = world["client"], _auth(world, account)
    sid = world[where]
    if route == "create":
        lon, lat = WHERE[where]
        return client.post("/api/stations", json={"name": "新驿站", "address": "某路 1 号",
                                                  "lon": lon, "lat": lat}, headers=headers)
    if route == "patch":
        return client.patch(f"/api/stations/{sid}", json={"notes": "核实过", "version": 1},
                            headers=headers)
    return client.post(f"/api/stations/{sid}/status", json={
        "status": "suspended", "reason": "检修", "version": 1}, headers=headers)


@pytest.mark.parametrize("route", ["create", "patch", "status"])
@pytest.mark.parametrize("role", list(SCOPE))
@pytest.mark.parametrize("where", list(WHERE))
def test_scope_matrix(world, route, role, where):
    allowed = SCOPE[role][list(WHERE).index(where)]
    if not allowed:
        body = _refused(world, lambda: _write(world, route, ROLE_ACCOUNT[role], where), 403)
        assert body["detail"]["role"] == role
        return
    store = world["store"]
    before = len(audit.list_events(store))
    response = _write(world, route, ROLE_ACCOUNT[role], where)
    body = _body(response)
    assert response.status_code == (201 if route == "create" else 200), body
    props = body["properties"]
    assert props["version"] == (1 if route == "create" else 2)
    assert response.headers["ETag"] == f'"{props["version"]}"'
    events = audit.list_events(store)
    assert len(events) == before + 1 and events[-1]["actor"] == ROLE_ACCOUNT[role]
    if route == "create":
        assert props["id"] not in (world["in"], world["other_street"], world["other_district"])
        assert (props["district"], props["street"]) == {
            "in": ("西城区", "广安门外街道"), "other_street": ("西城区", "西长安街街道"),
            "other_district": ("朝阳区", "六里屯街道")}[where]
    elif route == "status":
        assert props["status"] == "suspended"
        assert store.get_station(world[where]).status == "suspended"


@pytest.mark.parametrize("role, allowed", [("admin", True), ("district", False),
                                           ("street", False)])
def test_a_patch_may_not_move_a_station_out_of_the_area(world, role, allowed):
    client, sid = world["client"], world["in"]
    call = lambda: client.patch(f"/api/stations/{sid}", json={  # noqa: E731
        "lon": OTHER_DISTRICT[0], "lat": OTHER_DISTRICT[1], "version": 1},
        headers=_auth(world, ROLE_ACCOUNT[role]))
    if not allowed:
        body = _refused(world, call, 403)
        assert "朝阳区" in body["detail"]["target"]
        return
    props = _body(call())["properties"]
    assert (props["district"], props["district_code"], props["street"]) == (
        "朝阳区", "110105", "六里屯街道")  # a move re-derives district and street
    assert audit.list_events(world["store"])[-1]["action"] == "move"


def test_a_street_account_may_move_within_its_street_and_names_follow_the_location(world):
    client, sid = world["client"], world["in"]
    body = _body(client.patch(f"/api/stations/{sid}", json={
        "lon": 116.3353571, "lat": 39.8773942, "district": "朝阳区", "version": 1},
        headers=_auth(world, "guangwai")))
    props = body["properties"]
    assert (props["district"], props["street"], props["version"]) == ("西城区", "广安门外街道", 2)


def test_the_id_comes_from_the_database(world):
    """Two creates in a row get distinct, increasing ids above every existing one (never
    computed as max(id)+1 by the application)."""
    client, headers = world["client"], _auth(world, "city")
    made = [_body(client.post("/api/stations", json={
        "name": f"站{i}", "lon": IN_STREET[0], "lat": IN_STREET[1]}, headers=headers))["id"]
        for i in range(3)]
    assert made == sorted(made) and len(set(made)) == 3
    assert min(made) > world["other_district"]


def test_create_takes_a_geojson_feature_and_gcj02(world):
    from geodata.crs.datums import convert

    glon, glat = convert(IN_STREET[0], IN_STREET[1], src="wgs84", dst="gcj02")
    response = world["client"].post("/api/stations", json={
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [float(glon),
                                                                          float(glat)]},
        "properties": {"name": "高德坐标驿站", "opening_hours": "每天 8:00-20:00",
                       "amenities": ["hot_water", "toilet"], "public_phone": "010-63450000"},
        "crs": "gcj02"}, headers=_auth(world, "guangwai"))
    body = _body(response)
    assert response.status_code == 201, body
    lon, lat = body["geometry"]["coordinates"]
    assert abs(lon - IN_STREET[0]) < 1e-5 and abs(lat - IN_STREET[1]) < 1e-5
    props = body["properties"]
    assert props["amenities"]["hot_water"] == "yes" and props["opening_hours"] == \
        "Mo-Su 08:00-20:00"
    assert props["public_phone"] == "010-63450000" and props["street"] == "广安门外街道"


# -- versions --------------------------------------------------------------------------------
def test_every_write_increments_the_version(world):
    client, store, sid = world["client"], world["store"], world["in"]
    headers = _auth(world, "guangwai")
    assert _body(client.get(f"/api/stations/{sid}"))["properties"]["version"] == 1
    assert _body(client.patch(f"/api/stations/{sid}", json={"name": "一", "version": 1},
                              headers=headers))["properties"]["version"] == 2
    assert _body(client.post(f"/api/stations/{sid}/status", json={
        "status": "suspended", "reason": "检修"}, headers={**headers, "If-Match": '"2"'})
    )["properties"]["version"] == 3
    from stations import lifecycle

    lifecycle.reopen(store, station_id=sid, actor="cli")  # a CLI/dashboard-side write
    assert store.get_station(sid).version == 4
    station = store.get_station(sid)
    station.notes = "仪表盘修改"
    store.update_station(station, actor="dashboard")
    assert store.get_station(sid).version == 5
    code = station.code
    store.add_stations([Station(name="导入改名", lon=IN_STREET[0], lat=IN_STREET[1], code=code,
                                district="西城区", district_code="110102", street="广安门外街道",
                                street_code="110102020", notes="仪表盘修改")])
    assert store.get_station(sid).version == 6  # an import update
    response = client.get(f"/api/stations/{sid}")
    assert _body(response)["properties"]["version"] == 6 and response.headers["ETag"] == '"6"'
    unchanged = client.patch(f"/api/stations/{sid}", json={"name": "导入改名", "version": 6},
                             headers=headers)
    assert _body(unchanged)["properties"]["version"] == 6  # nothing changed: no write


@pytest.mark.parametrize("how", ["body", "if-match", "weak-if-match"])
@pytest.mark.parametrize("route", ["patch", "status"])
def test_a_stale_version_is_409_with_the_current_one(world, how, route):
    client, sid = world["client"], world["in"]
    headers = _auth(world, "xicheng")
    client.patch(f"/api/stations/{sid}", json={"notes": "先改一次"}, headers=headers)
    stale = {"body": ({"version": 1}, {}), "if-match": ({}, {"If-Match": '"1"'}),
             "weak-if-match": ({}, {"If-Match": 'W/"1"'})}[how]
    body = {"name": "后改"} if route == "patch" else {"status": "closed", "reason": "撤除"}
    url = f"/api/stations/{sid}" + ("/status" if route == "status" else "")
    method = client.patch if route == "patch" else client.post
    answer = _refused(world, lambda: method(url, json={**body, **stale[0]},
                                            headers={**headers, **stale[1]}), 409)
    assert answer["detail"] == {"version": 2}


def test_body_version_and_if_match_must_agree(world):
    _refused(world, lambda: world["client"].patch(
        f"/api/stations/{world['in']}", json={"name": "x", "version": 1},
        headers={**_auth(world, "city"), "If-Match": '"2"'}), 400)


# -- bodies ----------------------------------------------------------------------------------
@pytest.mark.parametrize("route, body", [
    ("create", {"name": "x"}),  # no position
    ("create", {"name": "", "lon": 116.3, "lat": 39.9}),
    ("create", {"name": "x", "lon": 200, "lat": 39.9}),
    ("create", {"name": "x", "lon": 116.3, "lat": 39.9, "opening_hours": "whenever"}),
    ("create", {"name": "x", "lon": 116.3, "lat": 39.9, "id": 5}),
    ("create", {"name": "x", "lon": 116.3, "lat": 39.9, "status": "closed"}),
    ("create", {"name": "x", "lon": 116.3, "lat": 39.9, "surprise": 1}),
    ("create", {"name": {"nested": 1}, "lon": 116.3, "lat": 39.9}),
    ("create", {"name": "x", "lon": True, "lat": 39.9}),
    ("create", {"name": "x", "lon": 116.3, "lat": 39.9, "crs": "mars"}),
    ("create", {"name": "x", "lon": 116.3, "lat": 39.9, "public_phone": "call me"}),
    ("create", {"name": "x", "lon": 116.3, "lat": 39.9, "amenities": ["jacuzzi"]}),
    ("create", {"type": "Feature", "geometry": {"type": "LineString", "coordinates": []},
                "properties": {"name": "x"}}),
    ("create", []),
    ("patch", {"lon": 116.3}),  # without lat
    ("patch", {"code": "MINE"}),
    ("patch", {"status": "closed"}),
    ("patch", {"capacity": 5.5}),
    ("patch", {"name": "x", "version": "one"}),
    ("patch", {"name": "x", "version": 0}),
    ("patch", {"amenities": {"hot_water": "maybe"}}),
    ("status", {"status": "demolished"}),
    ("status", {"status": "closed"}),  # no reason
    ("status", {"status": "closed", "reason": "x", "extra": 1}),
], ids=lambda v: v if isinstance(v, str) else None)
def test_a_bad_body_is_400_with_the_error_shape(world, route, body):
    client, sid = world["client"], world["in"]
    headers = _auth(world, "city")
    call = {"create": lambda: client.post("/api/stations", json=body, headers=headers),
            "patch": lambda: client.patch(f"/api/stations/{sid}", json=body, headers=headers),
            "status": lambda: client.post(f"/api/stations/{sid}/status", json=body,
                                          headers=headers)}[route]
    _refused(world, call, 400)


def test_an_empty_patch_changes_nothing_and_a_step_from_the_wrong_status_is_409(world):
    """Issue 15: a patch with no field (was 400) answers the station as it is; a lifecycle
    step the current status does not allow (was 400) is a conflict, 409, nothing changed."""
    client, sid = world["client"], world["in"]
    headers = _auth(world, "city")
    before = _state(world["store"])
    for body in ({}, {"version": world["store"].get_station(sid).version}):
        response = client.patch(f"/api/stations/{sid}", json=body, headers=headers)
        assert response.status_code == 200, _body(response)
        assert _body(response)["id"] == sid
    assert _state(world["store"]) == before
    body = _refused(world, lambda: client.post(f"/api/stations/{sid}/status", json={
        "status": "open", "reason": "x"}, headers=headers), 409)
    assert body["detail"]["status"] == "open" and "suspend" in body["detail"]["allowed"]


@pytest.mark.parametrize("data, content_type", [
    ("{not json", "application/json"), ("name=x", "application/x-www-form-urlencoded"),
    ("[" * 100 + "]" * 100, "application/json"),
    ('{"name": "\\ud800", "lon": 116.3, "lat": 39.9}', "application/json"),  # lone surrogate
    ('{"name": "a\\u0000b", "lon": 116.3, "lat": 39.9}', "application/json"),  # NUL
], ids=["invalid", "form", "deep", "surrogate", "nul"])
def test_a_body_that_is_not_a_json_object_is_400(world, data, content_type):
    _refused(world, lambda: world["client"].post(
        "/api/stations", data=data, content_type=content_type,
        headers=_auth(world, "city")), 400)


def test_unknown_station_is_404(world):
    client, headers = world["client"], _auth(world, "city")
    for response in (client.patch("/api/stations/999", json={"name": "x"}, headers=headers),
                     client.post("/api/stations/999/status", json={
                         "status": "closed", "reason": "x"}, headers=headers),
                     client.get("/api/audit?station=999", headers=headers)):
        assert response.status_code == 404 and set(_body(response)) == {"error", "detail"}


def test_patch_changes_any_editable_field(world):
    from datetime import timedelta

    from stations import settings

    client, sid = world["client"], world["in"]
    recent = (settings.now().date() - timedelta(days=10)).isoformat()  # inside 180 days: ok
    body = _body(client.patch(f"/api/stations/{sid}", json={
        "name": "新名字", "address": "广安门外大街 1 号", "host_type": "银行", "access": "需注册",
        "opening_hours": "周一至周五 9:00-17:00", "area_m2": "35", "capacity": 8,
        "verified_on": recent, "contact_name": "李", "contact_phone": "13900000000",
        "public_phone": "(010) 6345 0000", "notes": "新", "sample": True,
        "amenities": {"microwave": "yes", "toilet": "no"}, "amenity_wifi": "yes",
        "version": 1}, headers=_auth(world, "guangwai")))
    props = body["properties"]
    assert (props["name"], props["host_type"], props["access"], props["area_m2"],
            props["capacity"], props["sample"]) == ("新名字", "bank", "register", 35.0, 8, True)
    assert props["opening_hours"] == "Mo-Fr 09:00-17:00"
    assert props["last_verified"] == recent and props["trust"] == "ok"
    assert (props["amenities"]["microwave"], props["amenities"]["toilet"],
            props["amenities"]["wifi"], props["amenities"]["hot_water"]) == (
        "yes", "no", "yes", "unknown")
    assert props["contact_name"] == "李" and props["public_phone"] == "(010) 6345 0000"


def test_openapi_describes_the_write_routes_and_the_bearer_scheme(world):
    from openapi_spec_validator import validate

    doc = _body(world["client"].get("/api/openapi.json"))
    validate(doc)
    assert doc["components"]["securitySchemes"]["bearer"] == {
        **doc["components"]["securitySchemes"]["bearer"], "type": "http", "scheme": "bearer"}
    for path, method in (("/api/stations", "post"), ("/api/stations/{station_id}", "patch"),
                         ("/api/stations/{station_id}/status", "post"),
                         ("/api/audit", "get")):
        op = doc["paths"][path][method]
        assert op["security"] == [{"bearer": []}]
        assert {"401", "403"} <= set(op["responses"])
    assert "409" in doc["paths"]["/api/stations/{station_id}"]["patch"]["responses"]
    props = doc["components"]["schemas"]["Station"]["properties"]
    assert {"version", "trust", "last_verified", "public_phone"} <= set(props)


def test_revoke_helper_counts_and_unknown_user(world):
    from stations.errors import NotFoundError

    assert revoke_tokens(world["store"], "reader") == 1
    assert revoke_tokens(world["store"], "reader") == 0
    with pytest.raises(NotFoundError):
        revoke_tokens(world["store"], "nobody")


# -- never a 500 -----------------------------------------------------------------------------
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=20)
    | st.sampled_from(["116.3384227", "39.8728584", "24/7", "yes", "gcj02", "Feature", "是"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["type", "coordinates", "hot_water", "x"]), inner, max_size=3),
    max_leaves=6)
_KEYS = st.sampled_from([*EDITABLE_FIELDS, "version", "crs", "type", "geometry", "properties",
                         "id", "status", "reason", "x"])


@pytest.fixture
def sqlite_world(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    monkeypatch.setenv("NUANXIN_INSTANCE", str(tmp_path / "instance"))
    s = Store(url)
    s.init()
    (sid,) = s.add_stations([Station(name="甲", lon=IN_STREET[0], lat=IN_STREET[1])])
    accounts.add_account(s, username="city", password_hash="-", role="admin", district="",
                         street="", created_at=settings.wall_now())
    token = issue_token(s, "city")
    app = create_app({"TESTING": True, "TILES": "none", "DATABASE_URL": url})
    yield app.test_client(), sid, {"Authorization": f"Bearer {token}"}
    app.extensions["nuanxin.store"].dispose()
    s.dispose()


@hsettings(max_examples=200, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(route=st.sampled_from(["create", "patch", "status"]),
       body=st.dictionaries(_KEYS, _VALUES, max_size=5),
       if_match=st.none() | st.text(max_size=12))
def test_random_bodies_never_cause_a_server_error(sqlite_world, route, body, if_match):
    client, sid, headers = sqlite_world
    if if_match is not None:
        if not if_match.isascii() or any(c in if_match for c in "\r\n\x00"):
            return
        headers = {**headers, "If-Match": if_match}
    data = json.dumps(body, ensure_ascii=True)  # lone surrogates stay \udxxx escapes
    url = {"create": "/api/stations", "patch": f"/api/stations/{sid}",
           "status": f"/api/stations/{sid}/status"}[route]
    method = client.patch if route == "patch" else client.post
    response = method(url, data=data, content_type="application/json", headers=headers)
    assert response.status_code in (200, 201, 400, 409), response.get_data(as_text=True)[:300]
    if response.status_code >= 400:
        assert set(response.get_json()) == {"error", "detail"}
