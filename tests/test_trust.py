"""Trust that follows evidence (issue 13 item 2): the rule of :mod:`stations.trust` on its own,
then a scripted week of worker reports through the real API with a fixed clock (SQLite and
PostGIS), then what nearest answers make of a flagged station.

The scripted week's figures are printed (``pytest -s``) for the closing note; the expected
figures below are worked out by hand from the documented rule and are the test's oracle.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from stations import settings, trust
from stations.records import Station
from stations.trust import Report, Rule, evaluate, trust_of
from webmap import feedback
from webmap.app import create_app

RULE = Rule(reports=3, window_days=7, unverified_days=180)
T0 = datetime(2026, 3, 2, 8, 0)  # a Monday, Shanghai wall time


def _r(kind: str, client: str, day: float, status: str = "new") -> Report:
    return Report(kind=kind, client=client, created_at=T0 + timedelta(days=day), status=status)


# -- the rule on its own ---------------------------------------------------------------------
@pytest.mark.parametrize(("reports", "flagged", "problem"), [
    ([_r("locked", "a", 0), _r("locked", "b", 1), _r("locked", "c", 2)], True, "locked"),
    ([_r("locked", "a", 0), _r("locked", "a", 1), _r("locked", "a", 2)], False, None),
    ([_r("locked", "a", 0), _r("locked", "b", 4), _r("locked", "c", 7.5)], False, None),
    ([_r("locked", "a", 0), _r("locked", "b", 4), _r("locked", "c", 6.9)], True, "locked"),
    ([_r("locked", "a", 0), _r("gone", "b", 1), _r("no_toilet", "c", 2)], False, None),
    ([_r("locked", "a", 0), _r("locked", "b", 1), _r("locked", "c", 2, "dismissed")], False,
     None),
    ([_r("gone", "a", 0), _r("gone", "b", 0.1), _r("gone", "c", 0.2), _r("locked", "d", 0.3),
      _r("locked", "e", 0.4), _r("locked", "f", 0.5), _r("locked", "g", 0.6)], True, "locked"),
], ids=["three-clients", "one-client-thrice", "spread-past-window", "just-within-window",
        "different-kinds", "dismissed-does-not-count", "most-clients-wins"])
def test_the_same_problem_from_distinct_clients_within_the_window_flags(reports, flagged,
                                                                       problem):
    state = evaluate(reports, rule=RULE, now=T0 + timedelta(days=10))
    assert (state.trust == "flagged", state.problem) == (flagged, problem)
    assert bool(state.reason) == flagged


def test_still_correct_from_as_many_clients_clears_and_fewer_do_not():
    problems = [_r("locked", c, i * 0.1) for i, c in enumerate("abc")]
    two = [_r("ok", c, 1) for c in "xy"]
    assert evaluate(problems + two, rule=RULE, now=T0 + timedelta(days=2)).trust == "flagged"
    three = two + [_r("ok", "z", 1.5)]
    state = evaluate(problems + three, rule=RULE, now=T0 + timedelta(days=2))
    assert state.trust == "ok" and state.confirmed_on == (T0 + timedelta(days=1.5)).date()
    # "still correct" before the problems clears nothing
    early = [_r("ok", c, -1) for c in "xyz"]
    assert evaluate(problems + early, rule=RULE, now=T0 + timedelta(days=2)).trust == "flagged"


def test_a_union_inspection_clears_what_it_saw():
    problems = [_r("locked", c, i * 0.1) for i, c in enumerate("abc")]
    assert evaluate(problems, verified_on=T0.date(), rule=RULE,
                    now=T0 + timedelta(days=1)).trust == "ok"
    assert evaluate(problems, verified_on=T0.date() - timedelta(days=1), rule=RULE,
                    now=T0 + timedelta(days=1)).trust == "flagged"


def test_a_flag_stays_until_cleared_however_old():
    problems = [_r("locked", c, i * 0.1) for i, c in enumerate("abc")]
    assert evaluate(problems, rule=RULE, now=T0 + timedelta(days=90)).trust == "flagged"


def test_amenity_problems_put_only_recorded_yes_amenities_in_doubt():
    reports = [_r("no_charging", c, 0) for c in "abc"]
    state = evaluate(reports, amenities={"phone_charging": "yes", "ebike_charging": "no"},
                     rule=RULE, now=T0 + timedelta(days=1))
    assert set(state.amenity_notes) == {"phone_charging"}
    assert "3 位师傅" in state.amenity_notes["phone_charging"]
    assert evaluate(reports[:2], amenities={"phone_charging": "yes"}, rule=RULE,
                    now=T0 + timedelta(days=1)).amenity_notes == {}


def test_the_numbers_are_configurable(monkeypatch):
    monkeypatch.setenv("NUANXIN_TRUST_REPORTS", "2")
    monkeypatch.setenv("NUANXIN_TRUST_WINDOW_DAYS", "1")
    monkeypatch.setenv("NUANXIN_UNVERIFIED_DAYS", "30")
    assert Rule.from_settings() == Rule(reports=2, window_days=1, unverified_days=30)
    two = [_r("locked", "a", 0), _r("locked", "b", 0.5)]
    assert evaluate(two, now=T0 + timedelta(days=1)).trust == "flagged"
    apart = [_r("locked", "a", 0), _r("locked", "b", 1.5)]
    assert evaluate(apart, now=T0 + timedelta(days=2)).trust == "ok"


def test_unverified_after_the_configured_days_from_the_last_verification():
    today = date(2026, 6, 1)
    station = Station(name="站", lon=116.3, lat=39.9, verified_on=today - timedelta(days=180))
    assert trust_of(station, today=today, rule=RULE) == ("ok", "")
    station.verified_on = today - timedelta(days=181)
    state, reason = trust_of(station, today=today, rule=RULE)
    assert state == "unverified" and "180" in reason
    station.confirmed_on = today - timedelta(days=3)  # a worker said "still correct"
    assert trust_of(station, today=today, rule=RULE)[0] == "ok"
    assert station.last_verified == today - timedelta(days=3)
    never = Station(name="新站", lon=116.3, lat=39.9, created_at=datetime(2025, 1, 1))
    assert trust_of(never, today=today, rule=RULE)[0] == "unverified"
    flagged = Station(name="站", lon=116.3, lat=39.9, trust="flagged", trust_reason="原因",
                      verified_on=today)
    assert trust_of(flagged, today=today, rule=RULE) == ("flagged", "原因")


# -- a scripted week through the API ---------------------------------------------------------
#: name → (lon, lat, opening hours, amenities, verified_on offset from day 1 in days or None)
WEEK_STATIONS = {
    "甲站": (116.3400, 39.8800, "Mo-Su 06:00-22:00", {"hot_water": "yes"}, -10),
    "乙站": (116.3450, 39.8800, "Mo-Su 06:00-22:00", {"hot_water": "yes"}, -10),
    "丙站": (116.3500, 39.8800, "Mo-Su 06:00-22:00", {"hot_water": "yes"}, -10),
    "丁站": (116.3550, 39.8800, "Mo-Su 06:00-22:00", {"hot_water": "yes"}, -10),
    "戊站": (116.3600, 39.8800, "Mo-Su 06:00-22:00", {"hot_water": "yes"}, -200),
}
#: day → [(station, kind, client address)]; day 1 is Monday 2026-03-02.
WEEK = {
    1: [("甲站", "locked", "10.0.0.1"), ("乙站", "ok", "10.0.0.1"),
        ("丁站", "locked", "10.0.0.1")],
    2: [("甲站", "locked", "10.0.0.2"), ("甲站", "locked", "10.0.0.2"),
        ("丙站", "no_hot_water", "10.0.0.1"), ("丙站", "no_hot_water", "10.0.0.2")],
    3: [("甲站", "locked", "10.0.0.3"), ("丙站", "no_hot_water", "10.0.0.3")],
    4: [("丁站", "locked", "10.0.0.2")],
    5: [("甲站", "ok", "10.0.0.4"), ("甲站", "ok", "10.0.0.5"), ("甲站", "ok", "10.0.0.6"),
        ("戊站", "ok", "10.0.0.7")],
    6: [("乙站", "gone", "10.0.0.1"), ("乙站", "gone", "10.0.0.2")],
    7: [("乙站", "gone", "10.0.0.3"), ("丁站", "wrong_location", "10.0.0.9")],
}
#: After each day: (ok, unverified, flagged) over the five stations, and which are flagged.
#: 戊 was last inspected 200 days before day 1 (unverified). A client key rotates daily, so
#: one address on two days counts as two clients.
EXPECTED = {
    1: ((4, 1, 0), set()),
    2: ((4, 1, 0), set()),                   # 甲: the same phone twice counts once (2 clients)
    3: ((2, 1, 2), {"甲站", "丙站"}),        # 甲 locked, 丙 no hot water: 3 clients each
    4: ((2, 1, 2), {"甲站", "丙站"}),        # 丁: a second client only
    5: ((4, 0, 1), {"丙站"}),                # 3 "still correct" clear 甲; a worker verifies 戊
    6: ((4, 0, 1), {"丙站"}),                # 乙 gone: 2 clients
    7: ((3, 0, 2), {"丙站", "乙站"}),        # 乙 gone: 3 clients; 丁 wrong location: 1
}


@pytest.fixture
def week(backend_store, monkeypatch):
    """The five stations in a store, an app on it and a clock that the test moves."""
    store = backend_store
    day1 = T0.date()
    store.add_stations([
        Station(name=name, lon=lon, lat=lat, code=f"W-{i}", opening_hours=hours,
                amenities=amen, verified_on=None if v is None else day1 + timedelta(days=v),
                created_at=datetime(2025, 1, 1, tzinfo=settings.TZ))
        for i, (name, (lon, lat, hours, amen, v)) in enumerate(WEEK_STATIONS.items())])
    ids = {s.name: s.id for s in store.list_stations()}
    clock = {"now": T0.replace(tzinfo=settings.TZ)}
    monkeypatch.setattr(settings, "now", lambda: clock["now"])
    app = create_app({"TESTING": True, "TILES": "none", "DATABASE_URL": store.url})
    yield {"store": store, "app": app, "ids": ids, "clock": clock}
    app.extensions["nuanxin.store"].dispose()


def _post(app, sid: int, kind: str, address: str, **extra) -> dict:
    client = app.test_client()
    response = client.post(f"/api/stations/{sid}/reports", json={"kind": kind, **extra},
                           environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _features(app) -> dict[str, dict]:
    body = app.test_client().get("/api/stations?status=all").get_json()
    return {f["properties"]["name"]: f["properties"] for f in body["features"]}


def test_a_scripted_week_of_reports_moves_trust_by_the_rule(week, capsys):
    app, ids, clock = week["app"], week["ids"], week["clock"]
    figures = []
    for day in range(1, 8):
        clock["now"] = (T0 + timedelta(days=day - 1, hours=2)).replace(tzinfo=settings.TZ)
        for minute, (name, kind, address) in enumerate(WEEK[day]):
            clock["now"] += timedelta(minutes=minute + 1)
            _post(app, ids[name], kind, address)
        props = _features(app)
        counts = tuple(sum(p["trust"] == t for p in props.values()) for t in trust.TRUST_STATES)
        flagged = {n for n, p in props.items() if p["trust"] == "flagged"}
        figures.append((day, counts, sorted(flagged),
                        {n: p["problem"] for n, p in props.items() if p["problem"]}))
        assert (counts, flagged) == EXPECTED[day], f"day {day}"
    props = _features(app)
    assert props["丙站"]["amenities"]["hot_water"] == "unknown"
    assert "热水" in props["丙站"]["amenity_notes"]["hot_water"]
    assert props["甲站"]["last_verified"] == (T0 + timedelta(days=4)).date().isoformat()
    assert props["乙站"]["problem"] == "gone" and "3 位师傅" in props["乙站"]["trust_reason"]
    assert props["丁站"]["trust"] == "ok"  # locked on day 1 and 4 by two clients only
    with capsys.disabled():
        print("\nscripted week (day, (ok, unverified, flagged), flagged, problems):")
        for row in figures:
            print("  ", json.dumps(row, ensure_ascii=False))


def test_the_report_answer_carries_the_new_trust_and_a_pin(week):
    app, ids = week["app"], week["ids"]
    sid = ids["丁站"]
    for i in range(1, 3):
        assert _post(app, sid, "wrong_location", f"10.1.0.{i}", lon=116.3556,
                     lat=39.8804)["trust"] == "ok"
    last = _post(app, sid, "wrong_location", "10.1.0.3", lon=116.3556, lat=39.8804,
                 note="在路口东边")
    assert (last["trust"], last["problem"], last["lon"], last["lat"]) == (
        "flagged", "wrong_location", 116.3556, 39.8804)


@pytest.mark.parametrize("body", [
    {"kind": "nonsense"}, {"kind": "wrong_location", "lon": 116.35},
    {"kind": "wrong_location", "lon": "东", "lat": 39.88},
], ids=["unknown-kind", "lon-without-lat", "pin-not-a-number"])
def test_bad_reports_are_400(week, body):
    response = week["app"].test_client().post(
        f"/api/stations/{week['ids']['甲站']}/reports", json=body)
    assert response.status_code == 400
    assert set(response.get_json()) == {"error", "detail"}


def test_a_pin_far_away_is_dropped_and_the_report_kept(week):
    """Issue 15: a pin more than 5 km from the station (was 400) is a slip: the report is
    stored without it and the answer says so (``pin_ignored``)."""
    response = week["app"].test_client().post(
        f"/api/stations/{week['ids']['甲站']}/reports",
        json={"kind": "wrong_location", "lon": 117.5, "lat": 39.88})
    assert response.status_code == 201
    body = response.get_json()
    assert body["lon"] is None and body["lat"] is None and body["pin_ignored"]
    stored = feedback.list_reports(week["store"], station_id=week["ids"]["甲站"])
    assert stored[0]["id"] == body["id"] and stored[0]["lon"] is None


def test_legacy_kinds_still_work(week):
    row = _post(week["app"], week["ids"]["甲站"], "confirmed", "10.2.0.1")
    assert (row["kind"], row["status"]) == ("ok", "handled")


def test_a_closed_station_stays_on_the_map_marked_closed_for_the_configured_days(week):
    from stations import lifecycle

    app, store, clock = week["app"], week["store"], week["clock"]
    sid = week["ids"]["乙站"]
    lifecycle.close(store, station_id=sid, actor="测试", reason="已搬走")
    default = app.test_client().get("/api/stations").get_json()
    shown = {f["id"]: f["properties"] for f in default["features"]}
    assert shown[sid]["status"] == "closed" and shown[sid]["status_reason"] == "已搬走"
    only_open = app.test_client().get("/api/stations?status=open").get_json()
    assert sid not in {f["id"] for f in only_open["features"]}
    for usable in ("amenity=hot_water", "always_open=false", "access=unknown",
                   "open_at=2026-03-02T12:00"):  # filters for a usable station leave it out
        body = app.test_client().get(f"/api/stations?{usable}").get_json()
        assert sid not in {f["id"] for f in body["features"]}, usable
    clock["now"] = clock["now"] + timedelta(days=31)  # closed "today" in wall time: +31 days
    later = app.test_client().get("/api/stations").get_json()
    assert sid not in {f["id"] for f in later["features"]}


# -- ranking ---------------------------------------------------------------------------------
def test_a_flagged_near_station_ranks_below_an_unflagged_one_up_to_500_m_farther(week):
    app, ids = week["app"], week["ids"]
    for i in range(1, 4):
        _post(app, ids["甲站"], "locked", f"10.3.0.{i}")
    # from just west of 甲站 (116.3400): 甲 ≈ 85 m, 乙 ≈ 510 m (within +500 m), 丙 ≈ 940 m
    body = app.test_client().get("/api/nearest?lon=116.3390&lat=39.8800&k=5").get_json()
    order = [r["name"] for r in body["results"]]
    by_name = {r["name"]: r for r in body["results"]}
    assert by_name["甲站"]["trust"] == "flagged" and by_name["甲站"]["problem"] == "locked"
    assert by_name["甲站"]["distance_m"] < by_name["乙站"]["distance_m"] < \
        by_name["甲站"]["distance_m"] + 500
    assert order.index("乙站") < order.index("甲站") < order.index("丙站")
    assert "甲站" in order  # never disappears
    assert {"trust", "trust_reason", "last_verified", "problem"} <= set(by_name["乙站"])


def test_the_station_page_says_what_the_rule_says(week):
    """The worker's station page follows the rule too: flagged with its reason, an amenity in
    doubt listed under 未知 with why, and unverified for a station nobody checked in 180 days."""
    app, ids, clock = week["app"], week["ids"], week["clock"]
    for minute, address in enumerate(("10.1.0.1", "10.1.0.2", "10.1.0.3")):
        clock["now"] = (T0 + timedelta(hours=2, minutes=minute)).replace(tzinfo=settings.TZ)
        _post(app, ids["丙站"], "no_hot_water", address)
    page = app.test_client().get(f"/stations/{ids['丙站']}").get_data(as_text=True)
    assert 'id="flagged"' in page
    unknown = page.split('id="amenities-unknown"')[1].split("</ul>")[0]
    assert "热水" in unknown and "amenity-note" in unknown
    assert "热水" not in page.split('id="amenities-yes"')[1].split("</ul>")[0]
    stale = app.test_client().get(f"/stations/{ids['戊站']}").get_data(as_text=True)
    assert 'id="unverified"' in stale and "180 天" in stale
    fresh = app.test_client().get(f"/stations/{ids['甲站']}").get_data(as_text=True)
    assert 'id="unverified"' not in fresh and 'id="flagged"' not in fresh
