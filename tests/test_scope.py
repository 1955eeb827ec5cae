"""Scoped accounts (issue 10, item 1): who may write where on the union dashboard, what each
account lists by default, and where every station, candidate and demand point belongs.

The scope matrix posts every dashboard write form (station edit and its move, station status,
report status, candidate step and its pin move, candidate import, screening) as each role —
``admin`` (the city), ``district`` (西城区), ``street`` (广安门外街道), ``viewer`` — at a target in
广安门外街道 (``in``), in another street of 西城区 (``street_out``) and in 东城区 (``out``), on
SQLite and PostGIS: an allowed write answers as the form does, a refused one is a 403 and the
store is unchanged.
"""

from __future__ import annotations

import csv
import io

import pytest

from geodata.io.stations import import_stations
from geodata.places.assign import area_at, area_of_names
from stations.candidates import Candidate, add_candidates, get_candidate, list_candidates
from stations.errors import ValidationError
from stations.lifecycle import history, screen_result
from stations.scope import Area, Scope, account_role
from stations.store import Store
from webmap import feedback
from webmap.app import create_app
from webmap.testing import csrf_token_from, login
from webmap.users import add_user, get_user, list_users

PASSWORD = "correct horse battery"
#: Points (WGS84) and the area each belongs to.
POINTS = {
    "in": (116.3384227, 39.8728584),          # 西城区 广安门外街道 (鸭子桥)
    "street_out": (116.3764526, 39.8789534),  # 西城区 陶然亭街道
    "out": (116.4009943, 39.9146897),         # 东城区 东华门街道
}
AREAS = {"in": ("西城区", "广安门外街道"), "street_out": ("西城区", "陶然亭街道"),
         "out": ("东城区", "东华门街道")}
ROLES = ("admin", "district", "street", "viewer")
TARGETS = ("in", "street_out", "out")
#: Which targets each role may write.
ALLOWED = {"admin": {"in", "street_out", "out"}, "district": {"in", "street_out"},
           "street": {"in"}, "viewer": set()}
ACCOUNTS = {"admin": {}, "district": {"district": "西城"},
            "street": {"street": "广外"}, "viewer": {}}


# -- a small world on each backend ----------------------------------------------------------
@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def world(request, tmp_path, monkeypatch):
    """Three stations (one per target, imported from a CSV with no district or street), a
    report on each, three screened candidates and one account per role."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'scope.db'}"
    else:
        url = request.getfixturevalue("pg_fresh_url")
    monkeypatch.setenv("NUANXIN_DATABASE_URL", url)
    monkeypatch.setenv("NUANXIN_INSTANCE", str(tmp_path / "instance"))
    store = Store(url)
    store.init()
    sheet = tmp_path / "stations.csv"
    with sheet.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "lon", "lat", "opening_hours"])
        for target in TARGETS:
            writer.writerow([f"站点-{target}", *POINTS[target], "Mo-Su 08:00-20:00"])
    report = import_stations(store, sheet)
    assert report.imported == 3, report.rejected
    stations = dict(zip(TARGETS, report.ids, strict=True))
    reports = {t: feedback.add_report(store, sid, kind="locked")["id"]
               for t, sid in stations.items()}
    ids = add_candidates(store, [
        Candidate(name=f"候选-{t}", lon=POINTS[t][0], lat=POINTS[t][1], geocode_precision="input",
                  district=AREAS[t][0], street=AREAS[t][1]) for t in TARGETS])
    candidates = dict(zip(TARGETS, ids, strict=True))
    for cid in ids:
        screen_result(store, cid, actor="test", result="pass", score=50)
    for role in ROLES:
        add_user(store, role, PASSWORD, role=role, **ACCOUNTS[role])
    app = create_app({"TESTING": True, "TILES": "none", "DATABASE_URL": url})
    yield {"store": store, "app": app, "stations": stations, "reports": reports,
           "candidates": candidates}
    app.extensions["nuanxin.store"].dispose()
    store.dispose()


def _client(world, role: str):
    client = world["app"].test_client()
    assert login(client, role, PASSWORD).status_code == 302
    return client


def _token(client) -> str:
    return csrf_token_from(client.get("/union/candidates").get_data(as_text=True))


def _snapshot(store) -> tuple:
    """Everything a dashboard write could change."""
    stations = [s.as_dict() for s in store.list_stations()]
    candidates = [c.as_dict() for c in list_candidates(store)]
    reports = sorted((r["id"], r["status"]) for r in feedback.list_reports(store))
    events = [len(history(store, c["id"])) for c in candidates] + [
        len(history(store, station_id=s["id"])) for s in stations]
    return stations, candidates, reports, events


def _station_form(station, **changes) -> dict:
    form = {"name": station.name, "address": station.address, "host_type": station.host_type,
            "district": station.district, "street": station.street, "lon": str(station.lon),
            "lat": str(station.lat), "access": station.access,
            "opening_hours": station.opening_hours, "area_m2": "", "capacity": "",
            "contact_name": "", "contact_phone": "", "notes": "", "verified_on": ""}
    form.update(changes)
    return form


def _expect(world, role, target, send, success_status: int):
    """Post as ``role``; allowed → ``success_status``, else 403 with the store unchanged."""
    store = world["store"]
    client = _client(world, role)
    before = _snapshot(store)
    response = send(client, _token(client))
    if target in ALLOWED[role]:
        assert response.status_code == success_status, response.get_data(as_text=True)[:400]
        assert _snapshot(store) != before
    else:
        assert response.status_code == 403, response.get_data(as_text=True)[:400]
        assert _snapshot(store) == before
    return response


# -- the matrix ------------------------------------------------------------------------------
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("role", ROLES)
def test_station_edit(world, role, target):
    sid = world["stations"][target]
    station = world["store"].get_station(sid)

    def send(client, token):
        return client.post(f"/union/stations/{sid}", data={
            "csrf_token": token, **_station_form(station, name=f"改名-{role}")})

    _expect(world, role, target, send, 302)


@pytest.mark.parametrize("role", ROLES)
def test_station_move_out_of_scope(world, role):
    """A station moved from 广外 to 东城区 belongs to 东城区 (the location wins over the typed
    西城区/广安门外街道): only the city's admin may move it there."""
    sid = world["stations"]["in"]
    station = world["store"].get_station(sid)
    lon, lat = POINTS["out"]

    def send(client, token):
        return client.post(f"/union/stations/{sid}", data={
            "csrf_token": token, **_station_form(station, lon=str(lon), lat=str(lat))})

    _expect(world, role, "out", send, 302)
    if role == "admin":
        moved = world["store"].get_station(sid)
        assert (moved.district, moved.street) == AREAS["out"]
        assert (moved.district_code, moved.street_code) == ("110101", "110101001")


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("role", ROLES)
def test_station_status(world, role, target):
    sid = world["stations"][target]

    def send(client, token):
        return client.post(f"/union/stations/{sid}/status", data={
            "csrf_token": token, "action": "suspend", "reason": "装修"})

    _expect(world, role, target, send, 302)
    if target in ALLOWED[role]:
        assert world["store"].get_station(sid).status == "suspended"


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("role", ROLES)
def test_report_status(world, role, target):
    rid = world["reports"][target]

    def send(client, token):
        return client.post(f"/union/reports/{rid}", data={"csrf_token": token,
                                                          "status": "handled"})

    _expect(world, role, target, send, 302)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("role", ROLES)
def test_candidate_step(world, role, target):
    cid = world["candidates"][target]

    def send(client, token):
        return client.post(f"/union/candidates/{cid}/step", data={
            "csrf_token": token, "action": "decline", "reason": "单位不同意"})

    _expect(world, role, target, send, 302)
    if target in ALLOWED[role]:
        assert get_candidate(world["store"], cid).stage == "declined"


@pytest.mark.parametrize("role", ROLES)
def test_candidate_visit_pin_out_of_scope(world, role):
    """A field visit that moves the pin to 东城区 moves the candidate there: admin only."""
    cid = world["candidates"]["in"]
    lon, lat = POINTS["out"]

    def send(client, token):
        return client.post(f"/union/candidates/{cid}/step", data={
            "csrf_token": token, "action": "visit", "notes": "实地走访", "lon": str(lon),
            "lat": str(lat), "crs": "wgs84"})

    _expect(world, role, "out", send, 302)
    if role == "admin":
        moved = get_candidate(world["store"], cid)
        assert (moved.district, moved.street) == AREAS["out"] and moved.stage == "visited"


def test_a_visit_pin_inside_the_street_takes_its_area(world):
    cid = world["candidates"]["in"]
    client = _client(world, "street")
    response = client.post(f"/union/candidates/{cid}/step", data={
        "csrf_token": _token(client), "action": "visit", "notes": "门口更准",
        "lon": "116.3353", "lat": "39.8800", "crs": "wgs84"})
    assert response.status_code == 302
    moved = get_candidate(world["store"], cid)
    assert (moved.lon, moved.district, moved.street) == (116.3353, *AREAS["in"])


@pytest.mark.parametrize("role", ROLES)
def test_candidate_import_keeps_only_rows_in_scope(world, role):
    """Each row must lie in the account's area; the others are rejected with row, column and
    reason (a viewer imports nothing: 403)."""
    store = world["store"]
    rows = [f"新候选-{t},北京某处,{POINTS[t][0] + 0.0004},{POINTS[t][1]}" for t in TARGETS]
    sheet = "名称,地址,经度,纬度\n" + "\n".join(rows) + "\n"
    client = _client(world, role)
    before = _snapshot(store)
    response = client.post("/union/candidates/import", data={
        "csrf_token": _token(client), "crs": "wgs84",
        "file": (io.BytesIO(sheet.encode("utf-8")), "sheet.csv")},
        content_type="multipart/form-data")
    if role == "viewer":
        assert response.status_code == 403 and _snapshot(store) == before
        return
    assert response.status_code == 200
    imported = {c.name for c in list_candidates(store) if c.name.startswith("新候选")}
    assert imported == {f"新候选-{t}" for t in ALLOWED[role]}
    html = response.get_data(as_text=True)
    refused = [i + 1 for i, t in enumerate(TARGETS) if t not in ALLOWED[role]]
    column = {"admin": "", "district": "district", "street": "street"}[role]
    for row in refused:
        assert f"<td>{row}</td>" in html and column in html
    assert ("不在本账号的管辖范围" in html) == bool(refused)


@pytest.mark.parametrize("role", ROLES)
def test_screening_screens_only_the_accounts_candidates(world, role):
    """Screening as a district or street account screens its own candidates, with its area as
    the jurisdiction; the others are untouched. A viewer screens nothing (403)."""
    store = world["store"]
    before = {c.id: c.screening for c in list_candidates(store)}
    snapshot = _snapshot(store)
    client = _client(world, role)
    response = client.post("/union/candidates/screen", data={"csrf_token": _token(client)})
    if role == "viewer":
        assert response.status_code == 403 and _snapshot(store) == snapshot
        return
    assert response.status_code == 302
    for target, cid in world["candidates"].items():
        after = get_candidate(store, cid)
        if target not in ALLOWED[role]:
            assert after.screening == before[cid]
            continue
        in_area = next(r for r in after.screening if r["rule"] == "in_area")
        assert in_area["outcome"] == ("not_applicable" if role == "admin" else "pass")


# -- lists follow the scope ------------------------------------------------------------------
@pytest.mark.parametrize("role, shown", [
    ("admin", TARGETS), ("district", ("in", "street_out")), ("street", ("in",)),
    ("viewer", TARGETS),
])
def test_lists_show_the_accounts_area_by_default(world, role, shown):
    client = _client(world, role)
    stations = client.get("/union/stations").get_data(as_text=True)
    candidates = client.get("/union/candidates").get_data(as_text=True)
    reports = client.get("/union/reports?status=all").get_data(as_text=True)
    for target in TARGETS:
        assert (f"站点-{target}" in stations) == (target in shown)
        assert (f"候选-{target}" in candidates) == (target in shown)
        assert (f"站点-{target}" in reports) == (target in shown)
    everywhere = client.get("/union/stations?district=").get_data(as_text=True)
    assert all(f"站点-{t}" in everywhere for t in TARGETS)  # other areas are still readable
    assert all(f"候选-{t}" in client.get("/union/candidates?all=1").get_data(as_text=True)
               for t in TARGETS)


def test_coverage_defaults_to_the_accounts_area(world):
    html = _client(world, "street").get("/union/coverage").get_data(as_text=True)
    assert 'value="广安门外街道"' in html


# -- where things belong -------------------------------------------------------------------
def test_a_csv_station_in_guangwai_gets_its_district_and_street(store, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("name,lon,lat,district,street\n广外站,116.3384227,39.8728584,,\n"
                    "填错区的站,116.3384227,39.8728584,朝阳区,望京街道\n"
                    "北京以外,121.47,31.23,上海市,\n", encoding="utf-8")
    report = import_stations(store, path)
    assert report.imported == 3
    by_name = {s.name: s for s in store.list_stations()}
    for name in ("广外站", "填错区的站"):  # the location wins over a typed contradiction
        s = by_name[name]
        assert (s.district, s.street) == ("西城区", "广安门外街道")
        assert (s.district_code, s.street_code) == ("110102", "110102020")
    outside = by_name["北京以外"]  # outside the shipped data: the typed value is kept
    assert (outside.district, outside.district_code, outside.street) == ("上海市", "", "")


def test_imported_demand_points_get_their_area(store, tmp_path):
    import sqlalchemy as sa

    from geodata.planning.demand import import_demand
    from stations.schema import demand_table

    path = tmp_path / "d.csv"
    path.write_text("name,lon,lat,district,street\n环卫站,116.3384227,39.8728584,,\n"
                    "快递站,116.4009943,39.9146897,西城区,广外\n", encoding="utf-8")
    assert import_demand(store, path)["imported"] == 2
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(demand_table.c.name, demand_table.c.district,
                                      demand_table.c.street)).all()
    assert {tuple(r) for r in rows} == {("环卫站", "西城区", "广安门外街道"),
                                        ("快递站", "东城区", "东华门街道")}


def test_imported_candidates_belong_where_their_pin_is(store, tmp_path):
    from geodata.io.candidates import import_candidates

    path = tmp_path / "c.csv"
    path.write_text("名称,地址,区,街道,经度,纬度\n写错街道,某处,西城区,陶然亭,116.3384227,39.8728584\n",
                    encoding="utf-8")
    assert import_candidates(store, path, progress=False).imported == 1
    (c,) = list_candidates(store)
    assert (c.district, c.street) == ("西城区", "广安门外街道")
    assert c.extra["area_source"] == "approx_polygon"


@pytest.mark.parametrize("lon, lat, typed, expected", [
    (116.3384227, 39.8728584, ("", ""), ("西城区", "110102", "广安门外街道", "110102020")),
    (116.3384227, 39.8728584, ("东城区", "东华门"), ("西城区", "110102", "广安门外街道",
                                                     "110102020")),
    (None, None, ("西城", "广外"), ("西城区", "110102", "广安门外街道", "110102020")),
    (121.47, 31.23, ("西城", "广外"), ("西城区", "110102", "广安门外街道", "110102020")),
    (121.47, 31.23, ("浦东新区", ""), ("浦东新区", "", "", "")),
], ids=["located", "location-wins", "no-point-names", "outside-data-names", "unknown-kept"])
def test_area_at(lon, lat, typed, expected):
    area = area_at(lon, lat, district=typed[0], street=typed[1])
    assert (area.district, area.district_code, area.street, area.street_code) == expected


# -- accounts ------------------------------------------------------------------------------
def test_accounts_store_canonical_names_and_codes(store):
    user = add_user(store, "gw", PASSWORD, role="street", street="guanganmenwai")
    assert (user["role"], user["district"], user["district_code"], user["street"],
            user["street_code"]) == ("street", "西城区", "110102", "广安门外街道", "110102020")
    assert add_user(store, "xc", PASSWORD, district="110102")["role"] == "district"
    assert add_user(store, "city", PASSWORD)["role"] == "admin"


@pytest.mark.parametrize("role, district, street, words", [
    ("street", "", "火星街道", "unknown street"),
    ("street", "东城区", "广外", "not in 东城区"),
    ("district", "火星区", "", "unknown district"),
    ("district", "", "", "needs --district"),
    ("street", "西城区", "", "needs --street"),
    ("district", "西城区", "广外", "whole district"),
    ("admin", "西城区", "", "whole city"),
    ("boss", "", "", "role must be one of"),
], ids=["unknown-street", "street-outside-district", "unknown-district", "district-no-area",
        "street-no-street", "district-with-street", "admin-with-area", "bad-role"])
def test_add_user_refuses_bad_areas(store, role, district, street, words):
    with pytest.raises(ValidationError, match=words):
        add_user(store, "someone", PASSWORD, role=role, district=district, street=street)
    assert list_users(store) == []


def test_old_staff_rows_read_as_the_union_they_name(store):
    """Accounts made before the four roles (``staff``) are read as editors of their area."""
    from stations import accounts
    from stations.settings import wall_now

    for name, district, street in (("s1", "西城区", "广安门外街道"), ("s2", "西城", ""),
                                   ("s3", "", "")):
        accounts.add_account(store, username=name, password_hash="x", role="staff",
                             district=district, street=street, created_at=wall_now())
    assert [get_user(store, username=n)["role"] for n in ("s1", "s2", "s3")] == [
        "street", "district", "admin"]
    from webmap.users import scope_of

    scope = scope_of(get_user(store, username="s2"))
    assert scope.area.district_code == "110102"  # an old name resolved through the gazetteer
    assert scope.covers(area_of_names("西城区", "陶然亭街道"))


def test_scope_rules():
    street = Scope("street", area_of_names("西城区", "广外"), "gw")
    district = Scope("district", area_of_names("西城区"), "xc")
    assert street.covers(area_at(*POINTS["in"])) and not street.covers(
        area_at(*POINTS["street_out"]))
    assert district.covers(area_at(*POINTS["street_out"]))
    assert not district.covers(area_at(*POINTS["out"]))
    assert not district.covers(Area())  # an unplaced thing is nobody's but the city's
    assert street.jurisdiction == ("西城区", "广安门外街道")
    assert district.jurisdiction == ("西城区", "")
    assert Scope("admin").jurisdiction == ("", "")
    assert account_role("staff", district="西城区") == "district"


# -- nuanxin users add -----------------------------------------------------------------------
@pytest.mark.parametrize("args, words", [
    (["--role", "street", "--district", "西城区", "--street", "火星街道"], "unknown street"),
    (["--role", "street", "--district", "东城区", "--street", "广外"], "not in 东城区"),
    (["--role", "district", "--district", "火星区"], "unknown district"),
    (["--role", "district"], "needs --district"),
    (["--role", "street", "--district", "西城区"], "needs --street"),
    (["--role", "street", "--street", "广外"], "needs --district and --street"),
    (["--role", "boss"], "--role"),
], ids=["unknown-street", "street-outside-district", "unknown-district", "district-no-area",
        "street-no-street", "street-no-district", "bad-role"])
def test_users_add_refuses_bad_places_with_one_line(store, args, words):
    from click.testing import CliRunner

    from webmap.cli import main

    result = CliRunner().invoke(main, ["users", "add", "someone", *args, "--password-stdin"],
                                input=PASSWORD + "\n")
    assert result.exit_code == 2, result.output
    assert words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert list_users(store) == []


def test_users_add_stores_the_area_by_name_and_code(store):
    import json

    from click.testing import CliRunner

    from webmap.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["users", "add", "gw", "--role", "street", "--district", "西城",
                                  "--street", "广外", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "street: 西城区 广安门外街道" in result.stdout
    (row,) = json.loads(runner.invoke(main, ["users", "list", "--json"]).stdout)
    assert (row["role"], row["district_code"], row["street_code"]) == (
        "street", "110102", "110102020")


def test_cli_visit_pin_moves_the_candidate_to_its_area(store):
    from click.testing import CliRunner

    from webmap.cli import main

    (cid,) = add_candidates(store, [Candidate(name="挪位置", lon=POINTS["in"][0],
                                              lat=POINTS["in"][1], geocode_precision="input",
                                              district="西城区", street="广安门外街道")])
    screen_result(store, cid, actor="test", result="pass")
    lon, lat = POINTS["street_out"]
    result = CliRunner().invoke(main, ["candidates", "visit", str(cid), "--notes", "实地",
                                       "--lon", str(lon), "--lat", str(lat)])
    assert result.exit_code == 0, result.output
    moved = get_candidate(store, cid)
    assert (moved.district, moved.street) == AREAS["street_out"]
    assert moved.extra["visits"][-1]["pin"]["previous_area"] == list(AREAS["in"])
