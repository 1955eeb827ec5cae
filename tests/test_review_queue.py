"""The union's review queue (issue 13 item 3) on SQLite and PostGIS, through the dashboard:
open problems per station in the account's scope only, most-reported or newest first, with the
evidence; every answer through the lifecycle or the store, audited, the trust worked out
again; refused outside the scope (403, nothing written); figures per street; stations that
no longer meet a hard rule after the union confirmed the evidence."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from stations import audit, settings
from stations.records import Station
from webmap import feedback
from webmap.app import create_app
from webmap.testing import csrf_token_from, login
from webmap.users import add_user

PASSWORD = "correct horse battery"
T0 = datetime(2026, 5, 4, 7, 0, tzinfo=settings.TZ)  # a Monday morning in Beijing
KIT = {"drinking_water": "yes", "hot_water": "yes", "seats": "yes", "microwave": "yes",
       "phone_charging": "yes", "first_aid": "yes", "heating": "yes", "toilet": "yes"}
#: code → (name, lon, lat, district, street)
PLACES = {
    "IN-1": ("鸭子桥驿站", 116.3384227, 39.8728584, "西城区", "广安门外街道"),
    "IN-2": ("湾子驿站", 116.3420, 39.8760, "西城区", "广安门外街道"),
    "IN-3": ("手帕口驿站", 116.3300, 39.8700, "西城区", "广安门外街道"),
    "STREET-OUT": ("陶然亭驿站", 116.3764526, 39.8789534, "西城区", "陶然亭街道"),
    "OUT": ("东华门驿站", 116.4009943, 39.9146897, "东城区", "东华门街道"),
}
ACCOUNTS = {"admin": {}, "district": {"district": "西城"}, "street": {"street": "广外"},
            "viewer": {}}


@pytest.fixture
def world(backend_store, monkeypatch):
    store = backend_store
    clock = {"now": T0}
    monkeypatch.setattr(settings, "now", lambda: clock["now"])
    store.add_stations([
        Station(name=name, lon=lon, lat=lat, code=code, district=d, street=s,
                opening_hours="Mo-Su 06:00-22:00", access="open", amenities=dict(KIT),
                verified_on=date(2026, 4, 1))
        for code, (name, lon, lat, d, s) in PLACES.items()])
    ids = {s.code: s.id for s in store.list_stations()}

    def report(code: str, kind: str, client: str, hours: float, **extra) -> dict:
        clock["now"] = T0 + timedelta(hours=hours)
        return feedback.add_report(store, ids[code], kind=kind, client=client, **extra)

    # IN-1: three clients say locked (flagged), one adds a note; IN-2: one no_hot_water, later;
    # STREET-OUT and OUT: three clients each say gone
    for i, c in enumerate("abc"):
        report("IN-1", "locked", c, i, note="早上六点没开门" if c == "b" else "")
    report("IN-2", "no_hot_water", "d", 10)
    report("IN-3", "wrong_location", "e", 11, lon=116.3305, lat=39.8702)
    for start, code in ((2, "STREET-OUT"), (5, "OUT")):
        for i, c in enumerate("fgh"):
            report(code, "gone", c, start + i)
    clock["now"] = T0 + timedelta(hours=12)
    for role, area in ACCOUNTS.items():
        add_user(store, role, PASSWORD, role=role, **area)
    app = create_app({"TESTING": True, "TILES": "none", "DATABASE_URL": store.url})
    yield {"store": store, "app": app, "ids": ids, "clock": clock}
    app.extensions["nuanxin.store"].dispose()


def _client(world, role: str):
    client = world["app"].test_client()
    assert login(client, role, PASSWORD).status_code == 302
    return client


def _ordered(html: str) -> list[str]:
    """Station names in the order the queue shows them."""
    section = html[html.index('id="queue"'):html.index('id="all-reports"')]
    found = [(section.find(f">{v[0]}</a>"), v[0]) for v in PLACES.values()]
    return [name for pos, name in sorted(found) if pos >= 0]


@pytest.mark.parametrize(("role", "shown"), [
    ("admin", ["东华门驿站", "陶然亭驿站", "鸭子桥驿站", "手帕口驿站", "湾子驿站"]),
    ("district", ["陶然亭驿站", "鸭子桥驿站", "手帕口驿站", "湾子驿站"]),
    ("street", ["鸭子桥驿站", "手帕口驿站", "湾子驿站"]),
])
def test_the_queue_lists_open_problems_in_scope_most_reported_first(world, role, shown):
    # three clients each for 东华门 (newest), 陶然亭, 鸭子桥; then one each, newest first
    html = _client(world, role).get("/union/reports").get_data(as_text=True)
    assert _ordered(html) == shown
    assert "早上六点没开门" in html and "116.330500, 39.870200" in html  # the evidence


def test_newest_first_on_request(world):
    html = _client(world, "street").get("/union/reports?order=newest").get_data(as_text=True)
    assert _ordered(html) == ["手帕口驿站", "湾子驿站", "鸭子桥驿站"]


def _settle(world, role: str, code: str, **form):
    client = _client(world, role)
    token = csrf_token_from(client.get("/union/reports").get_data(as_text=True))
    return client.post(f"/union/review/{world['ids'][code]}",
                       data={"csrf_token": token, **form})


def _reports(world, code: str) -> list[dict]:
    return feedback.list_reports(world["store"], station_id=world["ids"][code])


@pytest.mark.parametrize(("role", "code"), [
    ("street", "STREET-OUT"), ("street", "OUT"), ("district", "OUT"), ("viewer", "IN-1")])
def test_answers_outside_the_scope_are_403_and_change_nothing(world, role, code):
    store = world["store"]
    before = (store.get_station(world["ids"][code]), _reports(world, code))
    response = _settle(world, role, code, action="close", reason="已搬走")
    assert response.status_code == 403
    assert (store.get_station(world["ids"][code]), _reports(world, code)) == before


def test_confirm_and_change_hours_goes_through_the_store_audited(world):
    store, sid = world["store"], world["ids"]["IN-1"]
    assert store.get_station(sid).trust == "flagged"
    response = _settle(world, "street", "IN-1", action="hours",
                       opening_hours="周一至周日 08:00-20:00", reason="早上八点才开门")
    assert response.status_code == 302
    station = store.get_station(sid)
    assert station.opening_hours == "Mo-Su 08:00-20:00"
    assert (station.trust, station.verified_on) == ("ok", (T0 + timedelta(hours=12)).date())
    rows = _reports(world, "IN-1")
    assert {(r["status"], r["resolution"], r["settled_by"]) for r in rows} == {
        ("handled", "hours", "street")}
    event = audit.list_events(store, station_id=sid)[-1]
    assert (event["actor"], event["action"]) == ("street", "review")
    assert set(event["changes"]) >= {"opening_hours", "verified_on"}
    assert "早上八点才开门" in event["note"]


def test_confirm_and_suspend_or_close_goes_through_the_lifecycle(world):
    store = world["store"]
    assert _settle(world, "district", "STREET-OUT", action="close",
                   reason="站点已搬走").status_code == 302
    closed = store.get_station(world["ids"]["STREET-OUT"])
    assert (closed.status, closed.status_reason) == ("closed", "站点已搬走")
    steps = [e["action"] for e in audit.list_events(store, station_id=closed.id)]
    assert steps[-1] == "close"
    assert _settle(world, "street", "IN-1", action="suspend", reason="装修").status_code == 302
    assert store.get_station(world["ids"]["IN-1"]).status == "suspended"
    # a closed station stays on the worker map, marked closed, with the reason
    body = world["app"].test_client().get("/api/stations").get_json()
    props = {f["id"]: f["properties"] for f in body["features"]}
    assert props[closed.id]["status"] == "closed"
    assert props[closed.id]["status_reason"] == "站点已搬走"


def test_confirm_amenities_makes_them_known_again_and_recheck_lists_a_broken_rule(world):
    store = world["store"]
    for c in "xyz":  # hot water reported missing by three clients: unknown for workers
        feedback.add_report(store, world["ids"]["IN-2"], kind="no_hot_water", client=c)
    feature = world["app"].test_client().get(f"/api/stations/{world['ids']['IN-2']}").get_json()
    assert feature["properties"]["amenities"]["hot_water"] == "unknown"
    assert feature["properties"]["trust"] == "flagged"
    html = _client(world, "street").get("/union/reports").get_data(as_text=True)
    failing = html[html.index('id="failing"'):html.index('id="plaques"')]
    assert "湾子驿站" not in failing  # unknown is not a fail
    assert _settle(world, "street", "IN-2", action="amenities", amenity_hot_water="no",
                   amenity_drinking_water="no").status_code == 302
    station = store.get_station(world["ids"]["IN-2"])
    assert (station.amenities["hot_water"], station.trust, station.amenity_notes) == (
        "no", "ok", {})
    html = _client(world, "street").get("/union/reports").get_data(as_text=True)
    failing = html[html.index('id="failing"'):html.index('id="plaques"')]
    assert "湾子驿站" in failing and "核心设施" in failing


def test_dismiss_needs_a_reason_and_is_audited(world):
    store, sid = world["store"], world["ids"]["IN-1"]
    response = _settle(world, "street", "IN-1", action="dismiss", reason="")
    assert response.status_code == 302
    assert {r["status"] for r in _reports(world, "IN-1")} == {"new"}  # nothing settled
    _settle(world, "street", "IN-1", action="dismiss", reason="现场核实：正常开放")
    assert {r["status"] for r in _reports(world, "IN-1")} == {"dismissed"}
    assert store.get_station(sid).trust == "ok"
    event = audit.list_events(store, station_id=sid)[-1]
    assert (event["action"], event["actor"]) == ("dismiss_reports", "street")
    assert "正常开放" in event["note"]


def test_move_to_the_workers_pin(world):
    store, sid = world["store"], world["ids"]["IN-3"]
    for bad in ({"lon": "1000", "lat": "39.87"}, {"lon": "nan", "lat": "39.87"},
                {"lon": "东", "lat": "39.87"}, {"lon": "", "lat": ""}):
        before = store.get_station(sid)
        assert _settle(world, "street", "IN-3", action="move", **bad).status_code == 302
        assert store.get_station(sid) == before, bad
    assert _settle(world, "street", "IN-3", action="move", lon="116.3305",
                   lat="39.8702").status_code == 302
    station = world["store"].get_station(world["ids"]["IN-3"])
    assert (station.lon, station.lat) == (116.3305, 39.8702)
    assert audit.list_events(world["store"], station_id=station.id)[-1]["action"] == "move"


def test_figures_per_street(world):
    clock = world["clock"]
    clock["now"] = T0 + timedelta(hours=14)  # IN-1's reports are 14, 13 and 12 hours old
    _settle(world, "street", "IN-1", action="verify")
    clock["now"] = T0 + timedelta(hours=16)  # IN-2's report is 6 hours old
    _settle(world, "street", "IN-2", action="verify")
    html = _client(world, "district").get("/union/reports").get_data(as_text=True)
    figures = html[html.index('id="figures"'):html.index('id="failing"')]
    # 广外: 3 open stations, 1 open problem (IN-3), none flagged, median of 14, 13, 12, 6 h
    assert "<td>广安门外街道</td><td>3</td><td>1</td><td>0</td><td>12.5</td><td>0</td>" in figures
    assert "<td>陶然亭街道</td><td>1</td><td>3</td><td>1</td><td>—</td><td>0</td>" in figures
    assert "东华门街道" not in figures  # out of the district account's scope
    clock["now"] = T0 + timedelta(days=200)  # nothing verified since: unverified
    html = _client(world, "district").get("/union/reports").get_data(as_text=True)
    figures = html[html.index('id="figures"'):html.index('id="failing"')]
    assert "<td>广安门外街道</td><td>3</td><td>1</td><td>0</td><td>12.5</td><td>3</td>" in figures


def test_the_legacy_report_status_form_still_moves_trust(world):
    store = world["store"]
    client = _client(world, "street")
    token = csrf_token_from(client.get("/union/reports").get_data(as_text=True))
    for row in _reports(world, "IN-1"):
        client.post(f"/union/reports/{row['id']}", data={"csrf_token": token,
                                                         "status": "dismissed"})
    assert store.get_station(world["ids"]["IN-1"]).trust == "ok"
