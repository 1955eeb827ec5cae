"""Privacy (issue 10, item 6): a host's contact person and phone from the union's sheet are
internal. The public page, the public API and the map never show them; union pages and API
answers to a token in scope do. A station shows a phone to workers only when the union sets
one as public (``public_phone``, 电话 on the page).

Changed by this issue: the public station page and ``/api/stations(/<id>)`` used to show
``contact_phone`` as 电话 (tests/test_hostile_text.py now reads ``public_phone`` there).
"""

from __future__ import annotations

import json

import pytest
from werkzeug.security import generate_password_hash

from stations import accounts, settings
from stations.records import Station, validate_station_row
from stations.store import Store
from webmap.app import create_app
from webmap.auth import issue_token
from webmap.testing import csrf_token_from, login

CONTACT_NAME, CONTACT_PHONE = "王秘书", "13912345678"
PUBLIC_PHONE = "010-63450000"
PASSWORD = "a long password 123"


@pytest.fixture
def store(backend_store) -> Store:
    """Every test here runs on SQLite and on PostGIS (conftest.backend_store)."""
    return backend_store


@pytest.fixture
def world(store):
    area = dict(district="西城区", district_code="110102", street="广安门外街道",
                street_code="110102020")
    with_public, without = store.add_stations([
        Station(name="有公开电话", lon=116.3384227, lat=39.8728584, contact_name=CONTACT_NAME,
                contact_phone=CONTACT_PHONE, public_phone=PUBLIC_PHONE, opening_hours="24/7",
                **area),
        Station(name="没有公开电话", lon=116.3353571, lat=39.8773942, contact_name=CONTACT_NAME,
                contact_phone=CONTACT_PHONE, **area),
    ])
    tokens = {}
    for name, role, district in (("xicheng", "district", "西城区"),
                                 ("chaoyang", "district", "朝阳区")):
        accounts.add_account(store, username=name,
                             password_hash=generate_password_hash(PASSWORD), role=role,
                             district=district, street="", created_at=settings.wall_now())
        tokens[name] = issue_token(store, name)
    app = create_app({"TESTING": True, "TILES": "none", "DATABASE_URL": store.url})
    yield {"public": with_public, "plain": without, "app": app, "tokens": tokens,
           "store": store}
    app.extensions["nuanxin.store"].dispose()


def _no_contact(text: str) -> None:
    assert CONTACT_PHONE not in text and CONTACT_NAME not in text
    assert "contact_phone" not in text and "contact_name" not in text


def test_the_public_page_shows_only_the_public_phone(world):
    client = world["app"].test_client()
    page = client.get(f"/stations/{world['public']}").get_data(as_text=True)
    _no_contact(page)
    assert f'<dd id="public-phone"><a href="tel:{PUBLIC_PHONE}">{PUBLIC_PHONE}</a></dd>' in page
    assert "<dt>电话</dt>" in page
    plain = client.get(f"/stations/{world['plain']}").get_data(as_text=True)
    _no_contact(plain)
    assert "<dt>电话</dt>" not in plain


@pytest.mark.parametrize("url", [
    "/api/stations", "/api/stations?status=all&fields=contact_phone,contact_name,name",
    "/api/stations?fields=map", "/api/stations/{public}", "/api/stations/{plain}",
    "/api/nearest?lon=116.338&lat=39.873&k=5",
])
def test_the_public_api_never_shows_the_contact(world, url):
    response = world["app"].test_client().get(url.format(**world))
    assert response.status_code == 200
    _no_contact(response.get_data(as_text=True))


def test_features_carry_the_public_phone(world):
    client = world["app"].test_client()
    listing = client.get("/api/stations").get_json()
    phones = {f["id"]: f["properties"]["public_phone"] for f in listing["features"]}
    assert phones == {world["public"]: PUBLIC_PHONE, world["plain"]: ""}


def test_a_token_in_scope_sees_the_contact_others_do_not(world):
    client, sid = world["app"].test_client(), world["public"]

    def props(token: str | None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = client.get(f"/api/stations/{sid}", headers=headers)
        assert response.status_code == 200
        return response.get_json()["properties"]

    inside = props(world["tokens"]["xicheng"])
    assert (inside["contact_name"], inside["contact_phone"]) == (CONTACT_NAME, CONTACT_PHONE)
    for outsider in (world["tokens"]["chaoyang"], None):
        assert "contact_phone" not in props(outsider) and "contact_name" not in props(outsider)
    bad = client.get(f"/api/stations/{sid}", headers={"Authorization": "Bearer nx_" + "0" * 40})
    assert bad.status_code == 401
    written = client.patch(f"/api/stations/{sid}", json={"notes": "x"},
                           headers={"Authorization": f"Bearer {world['tokens']['xicheng']}"})
    assert written.get_json()["properties"]["contact_phone"] == CONTACT_PHONE


def test_the_dashboard_shows_and_edits_the_contact_and_the_public_phone(world):
    client = world["app"].test_client()
    assert login(client, "xicheng", PASSWORD).status_code == 302
    sid = world["plain"]
    page = client.get(f"/union/stations/{sid}").get_data(as_text=True)
    assert CONTACT_PHONE in page and CONTACT_NAME in page and 'name="public_phone"' in page
    station = world["store"].get_station(sid)
    form = {"csrf_token": csrf_token_from(page), "name": station.name, "address": "",
            "host_type": "other", "district": "", "street": "", "lon": repr(station.lon),
            "lat": repr(station.lat), "access": "unknown", "opening_hours": "", "area_m2": "",
            "capacity": "", "contact_name": CONTACT_NAME, "contact_phone": CONTACT_PHONE,
            "notes": "", "verified_on": "", "version": str(station.version)}
    refused = client.post(f"/union/stations/{sid}", data={**form, "public_phone": "请打电话"})
    assert refused.status_code == 400 and "public_phone" in refused.get_data(as_text=True)
    assert world["store"].get_station(sid).public_phone == ""
    wide = "０１０-１２３４５"  # full-width digits
    saved = client.post(f"/union/stations/{sid}", data={**form, "public_phone": wide})
    assert saved.status_code == 302
    assert world["store"].get_station(sid).public_phone == "010-12345"  # half-width digits
    public = world["app"].test_client().get(f"/stations/{sid}").get_data(as_text=True)
    assert "010-12345" in public
    _no_contact(public)


@pytest.mark.parametrize("value, ok", [
    ("010-63450000", True), ("(010) 6345 0000", True), ("+86 10 6345 0000", True),
    ("12351", True), ("010-63450000转8001", True), ("", True),
    ("call me", False), ("12", False), ("=HYPERLINK(1)", False), ("1" * 40, False),
])
def test_a_public_phone_is_a_phone_number(value, ok):
    _, problems = validate_station_row({"name": "x", "lon": 116.3, "lat": 39.9,
                                        "public_phone": value})
    assert (not problems) is ok, problems
    if not ok:
        assert problems[0].column == "public_phone"


def test_the_import_reads_a_public_phone_column_and_keeps_the_contact_internal(store, tmp_path):
    from geodata.io.stations import import_stations

    sheet = tmp_path / "stations.csv"
    sheet.write_text("名称,经度,纬度,联系人,电话,公开电话\n"
                     f"导入站,116.3384227,39.8728584,{CONTACT_NAME},{CONTACT_PHONE},"
                     f"{PUBLIC_PHONE}\n", encoding="utf-8")
    report = import_stations(store, sheet)
    assert report.rejected == []
    (station,) = store.list_stations()
    assert (station.contact_phone, station.public_phone) == (CONTACT_PHONE, PUBLIC_PHONE)
    app = create_app({"TESTING": True, "TILES": "none", "DATABASE_URL": store.url})
    try:
        body = app.test_client().get(f"/api/stations/{station.id}").get_json()
    finally:
        app.extensions["nuanxin.store"].dispose()
    assert body["properties"]["public_phone"] == PUBLIC_PHONE
    _no_contact(json.dumps(body, ensure_ascii=False))
