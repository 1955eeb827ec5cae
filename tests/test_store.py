"""The station store, run against SQLite and against a real PostgreSQL/PostGIS server."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from stations.errors import NotFoundError, ValidationError
from stations.lifecycle import set_status
from stations.records import Station
from stations.store import Store


@pytest.fixture
def backend(backend_store) -> Store:
    """An initialised, empty store on each backend (conftest.backend_store)."""
    return backend_store


#: who the status changes are by (statuses change through stations.lifecycle, audited)
ACTOR = "test_store"


def _station(name="鸭子桥社区暖心驿站", lon=116.3384227, lat=39.8728584, **kw) -> Station:
    values = dict(district="西城区", district_code="110102", street="广安门外街道",
                  street_code="110102020", address="北京市西城区广安门外街道鸭子桥社区")
    values.update(kw)
    return Station(name=name, lon=lon, lat=lat, **values)


def test_backend_kind(backend):
    assert backend.is_postgis == backend.url.startswith("postgresql")


def test_init_is_idempotent_and_keeps_data(backend):
    [sid] = backend.add_stations([_station()])
    backend.init()
    backend.init()
    assert backend.count_stations() == 1
    assert backend.get_station(sid).name == "鸭子桥社区暖心驿站"


def test_init_reset_empties_the_store(backend):
    backend.add_stations([_station()])
    backend.init(reset=True)
    assert backend.count_stations() == 0


def test_add_then_get_returns_every_field(backend):
    original = _station(
        host_type="community", amenities={**Station("x", 0, 0).amenities, "hot_water": "yes",
                                          "toilet": "no"},
        access="ask_staff", area_m2=12.5, capacity=6,
        opening_hours="Mo-Fr 08:30-11:00,13:30-17:00", sample=True,
        verified_on=date(2025, 3, 14), contact_name="社区工会", contact_phone="010-63450000",
        notes="示例", status="suspended", status_reason="装修")
    [sid] = backend.add_stations([original])
    got = backend.get_station(sid)
    expected = original.as_dict()
    actual = got.as_dict()
    for key in ("id", "code", "created_at", "updated_at"):
        expected.pop(key), actual.pop(key)
    assert actual == expected
    assert got.amenities["hot_water"] == "yes" and got.amenities["toilet"] == "no"
    assert got.amenities["aed"] == "unknown"
    assert got.verified_on == date(2025, 3, 14) and got.sample is True
    assert got.code == f"NX-110102020-{sid:05d}"
    assert got.created_at is not None and got.updated_at is not None


def test_add_upserts_by_code(backend):
    [first] = backend.add_stations([_station(code="GW-1", capacity=3)])
    [again] = backend.add_stations([_station(code="GW-1", capacity=9, name="改名驿站")])
    assert again == first
    assert backend.count_stations() == 1
    got = backend.get_station(first)
    assert (got.name, got.capacity) == ("改名驿站", 9)


def test_add_keeps_a_free_id_and_replaces_a_taken_one(backend):
    [kept] = backend.add_stations([_station(id=40, code="A")])
    assert kept == 40
    [other] = backend.add_stations([_station(id=40, code="B")])
    assert other != 40
    [later] = backend.add_stations([_station(code="C")])  # the sequence moved past 40
    assert later not in (40, other)


def test_one_batch_with_repeated_codes_and_ids_behaves_like_one_row_at_a_time(backend):
    backend.add_stations([_station(id=7, code="OLD", capacity=1)])
    ids = backend.add_stations([
        _station(code="NEW", capacity=1),             # fresh id
        _station(id=7, code="X"),                      # id taken: a fresh one
        _station(id=50, code="Y"),                     # id free: kept
        _station(id=50, code="Z"),                     # same id again in the batch: fresh
        _station(code="NEW", capacity=2, name="后来者"),  # same code again: the later row wins
        _station(code="OLD", capacity=5),              # existing code: updated in place
        _station(name="无编码驿站", street_code="110102020"),  # generated code
    ])
    assert ids[0] == ids[4] and ids[5] == 7 and ids[2] == 50
    assert len(set(ids)) == 6 and 7 not in ids[1:5] and ids[3] != 50
    assert backend.count_stations() == 6
    assert (backend.get_station(ids[0]).name, backend.get_station(ids[0]).capacity) == (
        "后来者", 2)
    assert backend.get_station(7).capacity == 5
    assert backend.get_station(ids[6]).code == f"NX-110102020-{ids[6]:05d}"
    [after] = backend.add_stations([_station(code="LATER")])
    assert after not in ids


def test_get_unknown_id_raises_not_found(backend):
    with pytest.raises(NotFoundError, match="999"):
        backend.get_station(999)


def test_update_station_writes_fields(backend):
    [sid] = backend.add_stations([_station()])
    station = backend.get_station(sid)
    station.opening_hours = "24/7"
    station.amenities["microwave"] = "yes"
    backend.update_station(station)
    got = backend.get_station(sid)
    assert got.opening_hours == "24/7" and got.amenities["microwave"] == "yes"


def test_update_needs_an_existing_id(backend):
    with pytest.raises(ValidationError):
        backend.update_station(_station())
    with pytest.raises(NotFoundError):
        backend.update_station(_station(id=12345))


def test_list_filters(backend):
    backend.add_stations([
        _station("A", 116.30, 39.80, code="A"),
        _station("B", 116.35, 39.88, code="B", status="suspended", status_reason="检修"),
        _station("C", 116.40, 39.95, code="C", district="东城区", street="东华门街道"),
    ])
    names = lambda stations: [s.name for s in stations]  # noqa: E731
    assert names(backend.list_stations()) == ["A", "B", "C"]
    assert names(backend.list_stations(status="open")) == ["A", "C"]
    assert names(backend.list_stations(status=["open", "suspended"])) == ["A", "B", "C"]
    assert names(backend.list_stations(district="东城区")) == ["C"]
    assert names(backend.list_stations(street="广安门外街道")) == ["A", "B"]
    assert names(backend.list_stations(bbox=(116.32, 39.85, 116.45, 39.90))) == ["B"]
    assert names(backend.list_stations(bbox=(116.0, 39.0, 117.0, 41.0))) == ["A", "B", "C"]
    ids = [s.id for s in backend.list_stations()]
    assert names(backend.list_stations(ids=[ids[2], ids[0]])) == ["A", "C"]
    assert backend.list_stations(district="海淀区") == []


def test_set_status_records_reason(backend):
    [sid] = backend.add_stations([_station()])
    station = set_status(backend, sid, "closed", reason="承建单位搬迁", actor=ACTOR)
    assert station.status == "closed"
    got = backend.get_station(sid)
    assert (got.status, got.status_reason) == ("closed", "承建单位搬迁")
    assert backend.count_stations() == 1  # closing is not deleting


def test_set_status_rejects_unknown_status(backend):
    [sid] = backend.add_stations([_station()])
    with pytest.raises(ValidationError, match="status"):
        set_status(backend, sid, "demolished", actor=ACTOR)
    assert backend.get_station(sid).status == "open"


def test_version_counter_moves_on_writes_only(backend):
    v0 = backend.version()
    [sid] = backend.add_stations([_station()])
    v1 = backend.version()
    assert v1 > v0
    backend.list_stations()
    backend.get_station(sid)
    assert backend.version() == v1
    set_status(backend, sid, "suspended", reason="检修", actor=ACTOR)
    v2 = backend.version()
    assert v2 > v1
    station = backend.get_station(sid)
    backend.update_station(station)
    assert backend.version() > v2


def test_transaction_rolls_back_on_error(backend):
    before = backend.version()
    with pytest.raises(RuntimeError, match="boom"):
        with backend.transaction() as conn:
            backend.add_stations([_station(code="X1"), _station(code="X2")], conn=conn)
            assert backend.count_stations(conn=conn) == 2  # visible inside the transaction
            raise RuntimeError("boom")
    assert backend.count_stations() == 0
    assert backend.version() == before


def test_failing_row_mid_write_leaves_nothing(backend):
    backend.add_stations([_station(code="KEEP")])
    before = backend.version()
    rows = [_station(code="N1"), _station(code="N2"), _station(name=None, code="BAD"),
            _station(code="N3")]
    with pytest.raises(sa.exc.IntegrityError):
        backend.add_stations(rows)
    assert [s.code for s in backend.list_stations()] == ["KEEP"]
    assert backend.version() == before


# -- PostGIS specifics -----------------------------------------------------------------------


@pytest.fixture
def pg_store(pg_fresh_url) -> Store:
    store = Store(pg_fresh_url)
    store.init()
    yield store
    store.dispose()


@pytest.mark.postgis
def test_postgis_geom_column_follows_lon_lat(pg_store):
    [sid] = pg_store.add_stations([_station(lon=116.3384227, lat=39.8728584)])
    query = sa.text("SELECT ST_AsText(geom), ST_SRID(geom) FROM stations WHERE id = :id")
    with pg_store.engine.connect() as conn:
        text, srid = conn.execute(query, {"id": sid}).one()
    assert (text, srid) == ("POINT(116.3384227 39.8728584)", 4326)
    station = pg_store.get_station(sid)
    station.lon, station.lat = 116.40, 39.91
    pg_store.update_station(station)
    with pg_store.engine.connect() as conn:
        assert conn.execute(query, {"id": sid}).one()[0] == "POINT(116.4 39.91)"


@pytest.mark.postgis
def test_postgis_dwithin_agrees_with_lon_lat(pg_store):
    from pyproj import Geod

    points = [("甲", 116.3384227, 39.8728584), ("乙", 116.3353571, 39.8773942),
              ("丙", 116.3200000, 39.8900000), ("丁", 116.4000000, 39.9100000)]
    pg_store.add_stations([_station(n, x, y, code=n) for n, x, y in points])
    origin = (116.3400, 39.8800)
    geod = Geod(ellps="WGS84")
    expected = {n: geod.inv(origin[0], origin[1], x, y)[2] for n, x, y in points}
    radius = sorted(expected.values())[1] + 1.0  # exactly the two nearest
    sql = sa.text(
        "SELECT name, ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:x, :y), 4326)"
        "::geography) AS d FROM stations WHERE ST_DWithin(geom::geography, "
        "ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography, :r) ORDER BY d")
    with pg_store.engine.connect() as conn:
        rows = conn.execute(sql, {"x": origin[0], "y": origin[1], "r": radius}).all()
    wanted = sorted((d, n) for n, d in expected.items() if d <= radius)
    assert [r.name for r in rows] == [n for _, n in wanted] and len(rows) == 2
    for row in rows:
        assert row.d == pytest.approx(expected[row.name], abs=0.5)


def test_geocode_cache_keeps_the_first_answer_per_key(backend):
    from datetime import datetime

    from stations import settings
    from stations.geocode_cache import cache_answers, cached_answers

    now = datetime(2024, 3, 12, 8, 0, tzinfo=settings.TZ)
    assert cached_answers(backend, ["sig|广安门外大街1号"]) == {}
    first = {"lon": 116.34, "lat": 39.88, "precision": "exact"}
    assert cache_answers(backend, {"sig|广安门外大街1号": first}, now=now) == 1
    assert cache_answers(backend, {"sig|广安门外大街1号": {"precision": "none"},
                                   "sig|红莲南里": {"precision": "community"}}, now=now) == 1
    assert cached_answers(backend, ["sig|广安门外大街1号", "sig|红莲南里", "sig|无"]) == {
        "sig|广安门外大街1号": first, "sig|红莲南里": {"precision": "community"}}
