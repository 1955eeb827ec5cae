"""The union's workflow: every legal path, illegal steps refused, the audit log, opening."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from stations import lifecycle
from stations.amenities import parse_amenity_list
from stations.candidates import Candidate, add_candidates, get_candidate
from stations.errors import NotFoundError, TransitionError, ValidationError
from stations.records import Station
from stations.schema import lifecycle_events_table, stations_table

ACTOR = "广外街道工会 王"


def new_candidate(store, **changes) -> int:
    values = dict(name="红莲南里社区党群服务中心", address="北京市西城区广安门外街道红莲南里社区",
                  lon=116.3292, lat=39.8787, geocode_precision="input", area_m2=20, floor=1,
                  street_facing=True, amenities=parse_amenity_list("热水,座椅,微波炉"),
                  opening_hours="Mo-Fr 09:00-17:00", access="open", district="西城区",
                  street="广安门外街道")
    values.update(changes)
    (cid,) = add_candidates(store, [Candidate(**values)])
    return cid


def to_agreed(store, cid, *, result="pass"):
    lifecycle.screen_result(store, cid, actor=ACTOR, result=result, score=70)
    lifecycle.visit(store, cid, actor=ACTOR, notes="一层临街，可放 3 把椅子")
    lifecycle.agree(store, cid, actor=ACTOR)


def events(store):
    with store.engine.connect() as conn:
        return conn.execute(sa.select(lifecycle_events_table).order_by(
            lifecycle_events_table.c.id)).mappings().all()


# -- legal paths ------------------------------------------------------------------------------
def test_full_path_to_opening_then_suspend_reopen_close(store):
    cid = new_candidate(store)
    lifecycle.screen_result(store, cid, actor=ACTOR, result="pass", score=80,
                            reasons=[{"rule": "area", "outcome": "pass", "detail": "x"}])
    visited = lifecycle.visit(store, cid, actor=ACTOR, notes="现场核实", lon=116.33, lat=39.879,
                              photos=["photos/a.jpg"])
    assert (visited.lon, visited.lat, visited.geocode_precision) == (116.33, 39.879, "exact")
    assert visited.location_source == "visit_pin"
    assert visited.extra["visits"][0]["photos"] == ["photos/a.jpg"]
    lifecycle.agree(store, cid, actor=ACTOR, note="同意建站")
    station = lifecycle.open_station(store, cid, actor=ACTOR, street_code="110102020",
                                     district_code="110102")
    assert station.code == f"NX-110102020-{station.id:05d}"
    assert station.candidate_id == cid and station.status == "open"
    assert (station.lon, station.lat) == (116.33, 39.879)
    assert get_candidate(store, cid).station_id == station.id
    assert lifecycle.suspend(store, cid, actor=ACTOR, reason="装修").status == "suspended"
    assert get_candidate(store, cid).stage == "suspended"
    assert lifecycle.reopen(store, cid, actor=ACTOR).status == "open"
    closed = lifecycle.close(store, cid, actor=ACTOR, reason="承建单位搬迁")
    assert closed.status == "closed" and closed.status_reason == "承建单位搬迁"
    log = lifecycle.history(store, cid)
    assert [(e["from"], e["to"]) for e in log] == [
        ("candidate", "screened"), ("screened", "visited"), ("visited", "agreed"),
        ("agreed", "opened"), ("opened", "suspended"), ("suspended", "opened"),
        ("opened", "closed")]
    assert all(e["actor"] == ACTOR and e["at"] for e in log)
    assert "装修" in log[4]["note"] and station.code in log[3]["note"]
    assert log[3]["station_id"] == station.id
    assert lifecycle.history(store, station_id=station.id) == log  # the station's whole story


@pytest.mark.parametrize("steps", [
    [], ["screen"], ["screen", "visit"], ["screen", "visit", "agree"],
], ids=["from-candidate", "from-screened", "from-visited", "from-agreed"])
def test_decline_at_any_step_before_opening(store, steps):
    cid = new_candidate(store)
    for step in steps:
        {"screen": lambda: lifecycle.screen_result(store, cid, actor=ACTOR, result="pass"),
         "visit": lambda: lifecycle.visit(store, cid, actor=ACTOR, notes="走访"),
         "agree": lambda: lifecycle.agree(store, cid, actor=ACTOR)}[step]()
    declined = lifecycle.decline(store, cid, actor=ACTOR, reason="单位不同意")
    assert declined.stage == "declined"
    last = lifecycle.history(store, cid)[-1]
    assert (last["to"], last["note"]) == ("declined", "单位不同意")
    assert lifecycle.allowed_actions("declined") == []


def test_repeated_visits_and_rescreening_stay_in_place(store):
    cid = new_candidate(store)
    lifecycle.screen_result(store, cid, actor=ACTOR, result="unknown")
    lifecycle.screen_result(store, cid, actor=ACTOR, result="unknown")  # no change, no event
    lifecycle.screen_result(store, cid, actor=ACTOR, result="pass")
    lifecycle.visit(store, cid, actor=ACTOR, notes="第一次")
    lifecycle.visit(store, cid, actor=ACTOR, notes="第二次")
    lifecycle.screen_result(store, cid, actor=ACTOR, result="pass")  # visited stays visited
    c = get_candidate(store, cid)
    assert c.stage == "visited" and len(c.extra["visits"]) == 2
    assert [(e["from"], e["to"]) for e in lifecycle.history(store, cid)] == [
        ("candidate", "screened"), ("screened", "screened"), ("screened", "visited"),
        ("visited", "visited")]


# -- illegal steps -------------------------------------------------------------------------------
def _do(store, cid, action):
    calls = {
        "visit": lambda: lifecycle.visit(store, cid, actor=ACTOR, notes="n"),
        "agree": lambda: lifecycle.agree(store, cid, actor=ACTOR),
        "open": lambda: lifecycle.open_station(store, cid, actor=ACTOR),
        "suspend": lambda: lifecycle.suspend(store, cid, actor=ACTOR, reason="r"),
        "reopen": lambda: lifecycle.reopen(store, cid, actor=ACTOR),
        "close": lambda: lifecycle.close(store, cid, actor=ACTOR, reason="r"),
        "decline": lambda: lifecycle.decline(store, cid, actor=ACTOR, reason="r"),
    }
    return calls[action]()


def _reach(store, cid, stage):
    path = {"candidate": [], "screened": ["screen"], "visited": ["screen", "visit"],
            "agreed": ["screen", "visit", "agree"], "opened": ["screen", "visit", "agree", "open"],
            "suspended": ["screen", "visit", "agree", "open", "suspend"],
            "closed": ["screen", "visit", "agree", "open", "close"], "declined": ["decline"]}
    for step in path[stage]:
        if step == "screen":
            lifecycle.screen_result(store, cid, actor=ACTOR, result="pass")
        else:
            _do(store, cid, step)


ILLEGAL = [
    ("candidate", "visit"), ("candidate", "agree"), ("candidate", "open"),
    ("candidate", "suspend"), ("screened", "agree"), ("screened", "open"),
    ("visited", "open"), ("visited", "close"), ("agreed", "visit"), ("agreed", "suspend"),
    ("opened", "decline"), ("opened", "agree"), ("opened", "reopen"), ("suspended", "suspend"),
    ("closed", "reopen"), ("closed", "suspend"), ("closed", "decline"), ("declined", "visit"),
    ("declined", "agree"), ("declined", "decline"),
]


@pytest.mark.parametrize("stage, action", ILLEGAL, ids=[f"{s}-{a}" for s, a in ILLEGAL])
def test_illegal_transitions_are_refused_and_leave_no_trace(store, stage, action):
    cid = new_candidate(store)
    _reach(store, cid, stage)
    before = len(events(store))
    with store.engine.connect() as conn:
        stations_before = conn.execute(sa.select(sa.func.count()).select_from(
            stations_table)).scalar()
    with pytest.raises(TransitionError, match=rf"cannot {action}: {stage} → ") as info:
        _do(store, cid, action)
    assert "允许的操作" in info.value.message
    assert info.value.detail["from"] == stage
    assert info.value.detail["allowed"] == lifecycle.allowed_actions(stage, result="pass")
    assert get_candidate(store, cid).stage == stage
    assert len(events(store)) == before
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(
            stations_table)).scalar() == stations_before


def test_a_failed_screening_blocks_the_visit_until_rescreened(store):
    cid = new_candidate(store)
    lifecycle.screen_result(store, cid, actor=ACTOR, result="fail")
    assert lifecycle.allowed_actions("screened", result="fail") == ["screen", "decline"]
    with pytest.raises(TransitionError, match="筛选未通过"):
        lifecycle.visit(store, cid, actor=ACTOR, notes="n")
    lifecycle.screen_result(store, cid, actor=ACTOR, result="unknown")
    assert lifecycle.visit(store, cid, actor=ACTOR, notes="n").stage == "visited"


def test_opening_needs_a_precise_position(store):
    cid = new_candidate(store, lon=116.3339, lat=39.8780, geocode_precision="street")
    to_agreed(store, cid)
    with pytest.raises(TransitionError, match="没有准确位置"):
        lifecycle.open_station(store, cid, actor=ACTOR)
    # a pin corrected on a (second) visit is precise: but agreed cannot go back to visited,
    # so record the pin before agreeing
    cid2 = new_candidate(store, name="另一家", lon=None, lat=None, geocode_precision="none")
    lifecycle.screen_result(store, cid2, actor=ACTOR, result="pass")
    lifecycle.visit(store, cid2, actor=ACTOR, notes="定位", lon=116.331, lat=39.881)
    lifecycle.agree(store, cid2, actor=ACTOR)
    assert lifecycle.open_station(store, cid2, actor=ACTOR).lon == 116.331


def test_a_taken_station_code_is_refused_atomically(store):
    (sid,) = store.add_stations([Station(name="已有", lon=116.3, lat=39.9, code="GW-01")])
    cid = new_candidate(store)
    to_agreed(store, cid)
    before = len(events(store))
    with pytest.raises(ValidationError, match="GW-01"):
        lifecycle.open_station(store, cid, actor=ACTOR, code="GW-01")
    assert get_candidate(store, cid).stage == "agreed" and len(events(store)) == before
    assert store.count_stations() == 1
    station = lifecycle.open_station(store, cid, actor=ACTOR, code="GW-02")
    assert station.code == "GW-02"


def test_opening_rolls_back_when_the_event_cannot_be_written(store, monkeypatch):
    cid = new_candidate(store)
    to_agreed(store, cid)

    def broken(conn, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(lifecycle, "_record", broken)
    with pytest.raises(RuntimeError):
        lifecycle.open_station(store, cid, actor=ACTOR)
    assert store.count_stations() == 0
    assert get_candidate(store, cid).stage == "agreed"


def test_opened_station_is_found_by_the_nearest_index(store):
    from geodata.nearest.cache import get_index

    cid = new_candidate(store)
    to_agreed(store, cid)
    station = lifecycle.open_station(store, cid, actor=ACTOR)
    found = get_index(store).nearest(116.3292, 39.8787, k=1)
    assert found[0].station.id == station.id and found[0].station.code == station.code
    assert found[0].distance_m < 0.01
    lifecycle.suspend(store, cid, actor=ACTOR, reason="暂停")
    assert all(r.station.id != station.id for r in get_index(store).nearest(116.3292, 39.8787))


def test_station_without_candidate_can_be_suspended_and_closed_by_station_id(store):
    (sid,) = store.add_stations([Station(name="导入站点", lon=116.3, lat=39.9)])
    assert lifecycle.suspend(store, station_id=sid, actor=ACTOR, reason="检修").status == \
        "suspended"
    assert lifecycle.close(store, station_id=sid, actor=ACTOR, reason="撤除").status == "closed"
    log = lifecycle.history(store, station_id=sid)
    assert [(e["from"], e["to"], e["candidate_id"]) for e in log] == [
        ("", "opened", None),  # created (issue 10: every write is audited)
        ("opened", "suspended", None), ("suspended", "closed", None)]
    assert [e["action"] for e in log] == ["create", "suspend", "close"]
    with pytest.raises(TransitionError):
        lifecycle.reopen(store, station_id=sid, actor=ACTOR)


# -- every status change is audited ----------------------------------------------------------
def _status_trail(store, sid) -> list[tuple[str, str, str]]:
    return [(e["from"], e["to"], e["actor"]) for e in lifecycle.history(store, station_id=sid)]


def _since_creation(store, sid) -> list[dict]:
    """A station's history after the row that records its creation (issue 10)."""
    log = lifecycle.history(store, station_id=sid)
    assert log and log[0]["action"] == "create"
    return log[1:]


def test_every_status_change_leaves_an_audit_row(store):
    from stations.store import IMPORT_ACTOR

    cid = new_candidate(store)
    to_agreed(store, cid)
    sid = lifecycle.open_station(store, cid, actor=ACTOR).id
    (plain,) = store.add_stations([Station(name="导入站点", lon=116.3, lat=39.9, code="IMP-1")])
    changes = [  # (station, step, status afterwards, who)
        (sid, lambda: lifecycle.suspend(store, cid, actor=ACTOR, reason="装修"), "suspended",
         ACTOR),
        (sid, lambda: lifecycle.set_status(store, sid, "open", actor="王"), "open", "王"),
        (plain, lambda: lifecycle.set_status(store, plain, "suspended", actor="李",
                                             reason="检修"), "suspended", "李"),
        (plain, lambda: lifecycle.reopen(store, station_id=plain, actor=ACTOR), "open", ACTOR),
        # a re-imported sheet (update by code) that says the station is closed
        (plain, lambda: store.add_stations([Station(
            name="导入站点", lon=116.3, lat=39.9, code="IMP-1", status="closed",
            status_reason="撤除")]), "closed", IMPORT_ACTOR),
        (sid, lambda: lifecycle.close(store, station_id=sid, actor=ACTOR, reason="搬迁"),
         "closed", ACTOR),
    ]
    for station_id, change, status, who in changes:
        before = _status_trail(store, station_id)
        change()
        after = _status_trail(store, station_id)
        assert store.get_station(station_id).status == status
        assert after[:-1] == before and after[-1][1:] == (
            "opened" if status == "open" else status, who)
    assert get_candidate(store, cid).stage == "closed"  # the candidate moved along


def test_a_status_is_not_written_around_the_lifecycle(store):
    (sid,) = store.add_stations([Station(name="导入站点", lon=116.3, lat=39.9)])
    station = store.get_station(sid)
    station.status, station.status_reason = "closed", "偷偷关闭"
    with pytest.raises(ValidationError, match="lifecycle"):
        store.update_station(station)
    assert store.get_station(sid).status == "open" and _since_creation(store, sid) \
        == []
    assert not hasattr(store, "set_status")  # the raw setter is private to the lifecycle
    unchanged = store.add_stations([Station(name="导入站点", lon=116.3, lat=39.9,
                                            code=store.get_station(sid).code)])
    assert unchanged == [sid] and _since_creation(store, sid) == []


@pytest.mark.parametrize("status, match", [
    ("demolished", "status must be one of"),
    ("open", "cannot reopen"),  # already open: no step leads there
])
def test_set_status_refuses_what_no_step_does(store, status, match):
    (sid,) = store.add_stations([Station(name="导入站点", lon=116.3, lat=39.9)])
    with pytest.raises((ValidationError, TransitionError), match=match):
        lifecycle.set_status(store, sid, status, actor=ACTOR)
    assert _since_creation(store, sid) == []


@pytest.mark.parametrize("call, match", [
    (lambda s, c: lifecycle.decline(s, c, actor=ACTOR, reason="  "), "reason"),
    (lambda s, c: lifecycle.visit(s, c, actor=ACTOR, notes=""), "notes"),
    (lambda s, c: lifecycle.agree(s, c, actor=""), "actor"),
    (lambda s, c: lifecycle.screen_result(s, c, actor=ACTOR, result="maybe"), "result"),
    (lambda s, c: lifecycle.visit(s, c, actor=ACTOR, notes="n", lon=116.3), "lon and lat"),
    (lambda s, c: lifecycle.suspend(s, actor=ACTOR, reason="r"), "candidate_id or station_id"),
], ids=["no-reason", "no-notes", "no-actor", "bad-result", "half-pin", "no-id"])
def test_bad_arguments_are_user_errors(store, call, match):
    cid = new_candidate(store)
    lifecycle.screen_result(store, cid, actor=ACTOR, result="pass")
    with pytest.raises(ValidationError, match=match):
        call(store, cid)


def test_unknown_candidate_is_not_found(store):
    with pytest.raises(NotFoundError):
        lifecycle.agree(store, 999, actor=ACTOR)
    with pytest.raises(NotFoundError):
        lifecycle.history(store, 999)


def test_allowed_actions_follow_the_table():
    assert lifecycle.allowed_actions("candidate") == ["screen", "decline"]
    assert lifecycle.allowed_actions("screened") == ["screen", "visit", "decline"]
    assert lifecycle.allowed_actions("agreed") == ["open", "decline"]
    assert lifecycle.allowed_actions("opened") == ["suspend", "close"]
    assert lifecycle.allowed_actions("suspended") == ["reopen", "close"]
    assert lifecycle.allowed_actions("closed") == []
    with pytest.raises(ValidationError):
        lifecycle.allowed_actions("launched")


@pytest.mark.postgis
def test_import_screen_and_open_on_postgis(pg_fresh_url):
    from geodata.demo import DEMO_DIR
    from geodata.io.candidates import import_candidates, screen_candidates
    from stations.schema import geocode_cache_table
    from stations.store import Store

    store = Store(pg_fresh_url)
    store.init()
    try:
        report = import_candidates(store, DEMO_DIR / "demo_candidates.csv", crs="gcj02",
                                   progress=False)
        assert report.imported > 0 and report.rejected == []
        with store.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(
                geocode_cache_table)).scalar() == sum(report.geocoded.values())
        again = import_candidates(store, DEMO_DIR / "demo_candidates.csv", crs="gcj02",
                                  progress=False)
        assert again.imported == 0 and len(again.duplicates) == report.imported
        results = screen_candidates(store)
        assert len(results) == report.imported
        cid = new_candidate(store)
        to_agreed(store, cid)
        station = lifecycle.open_station(store, cid, actor=ACTOR)
        with store.engine.connect() as conn:
            sql = sa.text("SELECT ST_X(geom), ST_Y(geom) FROM stations WHERE id = :i")
            x, y = conn.execute(sql, {"i": station.id}).one()
        assert (x, y) == (116.3292, 39.8787)
        assert [e["to"] for e in lifecycle.history(store, cid)][-1] == "opened"
        assert lifecycle.history(store, station_id=station.id) == lifecycle.history(store, cid)
    finally:
        store.dispose()


# -- issue 12: opening needs a pass, visits record facts, dragged pins ---------------------------
@pytest.mark.parametrize("result", ["unknown", "fail"])
def test_opening_needs_a_pass_or_a_written_override(store, result):
    cid = new_candidate(store)
    to_agreed(store, cid)
    lifecycle.screen_result(store, cid, actor=ACTOR, result=result)  # re-screened in place
    with pytest.raises(TransitionError, match="只有「符合」才能建站"):
        lifecycle.open_station(store, cid, actor=ACTOR)
    with pytest.raises(TransitionError):
        lifecycle.open_station(store, cid, actor=ACTOR, override="   ")
    assert store.count_stations() == 0
    station = lifecycle.open_station(store, cid, actor="区总工会 李", override="社区急需，先开后改")
    assert station.status == "open"
    (opened,) = [e for e in events(store) if e["action"] == "open"]
    assert "强制建站" in opened["note"] and "社区急需，先开后改" in opened["note"]
    assert opened["actor"] == "区总工会 李"
    assert opened["changes"] == {"override": {"before": result, "after": "社区急需，先开后改"}}


def test_never_screened_candidate_does_not_open(store):
    cid = new_candidate(store)
    with store.transaction() as conn:  # straight to agreed without a screening result
        c = get_candidate(store, cid, conn=conn)
        c.stage = "agreed"
        from stations.candidates import update_candidate

        update_candidate(store, c, conn=conn)
    with pytest.raises(TransitionError, match="尚未筛选"):
        lifecycle.open_station(store, cid, actor=ACTOR)


def test_a_visit_records_facts_as_evidence_and_applies_them(store):
    cid = new_candidate(store, area_m2=None, opening_hours="")
    lifecycle.screen_result(store, cid, actor=ACTOR, result="unknown")
    visited = lifecycle.visit(store, cid, actor=ACTOR, notes="看过", facts={
        "area_m2": 18.0, "opening_hours": "Mo-Su 07:00-20:00",
        "amenities": {"seats": "yes", "toilet": "yes", "microwave": "no"}})
    assert visited.area_m2 == 18.0 and visited.opening_hours == "Mo-Su 07:00-20:00"
    assert visited.amenities["toilet"] == "yes" and visited.amenities["microwave"] == "no"
    assert visited.amenities["hot_water"] == "yes"  # not seen: the sheet's value stays
    facts = visited.extra["visits"][-1]["facts"]
    assert facts["area_m2"] == {"seen": 18.0, "before": None}
    assert facts["amenities"]["before"]["microwave"] == "yes"
    assert visited.extra["sheet_values"]["opening_hours"] == ""
    # a second visit keeps the sheet's first value, not the first visit's
    again = lifecycle.visit(store, cid, actor=ACTOR, notes="复查", facts={"area_m2": 20.0})
    assert again.extra["sheet_values"]["area_m2"] is None
    assert again.extra["visits"][-1]["facts"]["area_m2"] == {"seen": 20.0, "before": 18.0}
    (last,) = [e for e in events(store) if e["note"].startswith("复查")]
    assert last["changes"] == {"area_m2": {"before": 18.0, "after": 20.0}}
    with pytest.raises(ValidationError, match="走访不能记录"):
        lifecycle.visit(store, cid, actor=ACTOR, notes="x", facts={"name": "改名"})


def test_a_dragged_pin_moves_the_candidate_and_is_audited(store):
    cid = new_candidate(store, lon=None, lat=None, geocode_precision="district", street="")
    moved = lifecycle.set_location(store, cid, actor=ACTOR, lon=116.3301, lat=39.8801,
                                   district="西城区", street="广安门外街道")
    assert (moved.geocode_precision, moved.location_source) == ("exact", "dragged_pin")
    assert moved.street == "广安门外街道" and not moved.needs_pin
    (pin,) = [e for e in events(store) if e["action"] == "pin"]
    assert pin["changes"]["street"] == {"before": "", "after": "广安门外街道"}
    assert pin["changes"]["precision"] == {"before": "district", "after": "exact"}
    to_agreed(store, cid)
    station = lifecycle.open_station(store, cid, actor=ACTOR)
    assert (station.location_precision, station.location_source) == ("exact", "dragged_pin")
    with pytest.raises(TransitionError):  # an opened candidate moves with its station only
        lifecycle.set_location(store, cid, actor=ACTOR, lon=116.33, lat=39.88, district="西城区",
                               street="广安门外街道")


def test_pin_facts_override_and_station_location_on_both_backends(backend_store):
    store = backend_store
    cid = new_candidate(store, lon=None, lat=None, geocode_precision="district", street="",
                        host_type="other", host_type_text="物业")
    lifecycle.set_location(store, cid, actor=ACTOR, lon=116.3301, lat=39.8801,
                           district="西城区", street="广安门外街道")
    lifecycle.screen_result(store, cid, actor=ACTOR, result="unknown")
    lifecycle.visit(store, cid, actor=ACTOR, notes="看过", facts={
        "area_m2": 16.0, "amenities": {"toilet": "yes"}, "street_facing": True})
    lifecycle.agree(store, cid, actor=ACTOR)
    with pytest.raises(TransitionError):
        lifecycle.open_station(store, cid, actor=ACTOR)
    station = lifecycle.open_station(store, cid, actor=ACTOR, override="先开后补",
                                     street_code="110102020", district_code="110102")
    back = store.get_station(station.id)
    assert (back.location_precision, back.location_source) == ("exact", "dragged_pin")
    assert back.amenities["toilet"] == "yes" and back.area_m2 == 16.0
    c = get_candidate(store, cid)
    assert c.host_type_text == "物业" and c.location_source == "dragged_pin"
    assert c.extra["visits"][-1]["facts"]["area_m2"] == {"seen": 16.0, "before": 20}
