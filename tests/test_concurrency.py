"""Nothing lost under concurrency (issue 15 item 3): 8 writers × 200 read-modify-write
``PATCH /api/stations/<id>`` with ``version`` on overlapping stations, through two real
``nuanxin serve`` processes (waitress), retrying on 409 — on SQLite (WAL, busy timeout,
``BEGIN IMMEDIATE``) and PostGIS. Every update lands exactly once (each station's ``capacity``
counter equals the updates it took, its version moves once per update, one audit row each),
and no answer is a 5xx. Concurrent creations get distinct ids from the database."""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from stations import accounts, audit, settings
from stations.records import Station
from stations.store import Store
from tests.servers import served
from webmap.auth import issue_token

WRITERS = 8
UPDATES = 200
STATIONS = 3  # few, so the writers overlap all the time


def _world(store):
    ids = store.add_stations([
        Station(name=f"并发驿站{i}", lon=116.33 + i / 100, lat=39.88, capacity=0,
                district="西城区", district_code="110102", street="广安门外街道",
                street_code="110102020") for i in range(STATIONS)])
    accounts.add_account(store, username="city", password_hash="-", role="admin",
                         district="", street="", created_at=settings.wall_now())
    return ids, issue_token(store, "city")


def _writer(bases: list[str], token: str, ids: list[int], seed: int) -> dict:
    """One writer: ``UPDATES`` successful +1s on random stations, re-reading on 409."""
    rng = random.Random(seed)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    done, conflicts, statuses = Counter(), 0, Counter()
    while sum(done.values()) < UPDATES:
        sid = rng.choice(ids)
        base = rng.choice(bases)
        got = session.get(f"{base}/api/stations/{sid}", timeout=60)
        statuses[got.status_code] += 1
        if got.status_code != 200:
            continue
        # ETag: "<version>" (a compressed answer may add ":<encoding>")
        version = int(got.headers["ETag"].removeprefix("W/").strip('"').split(":")[0])
        capacity = got.json()["properties"]["capacity"]
        put = session.patch(f"{base}/api/stations/{sid}", timeout=60,
                            json={"capacity": capacity + 1, "version": version})
        statuses[put.status_code] += 1
        if put.status_code == 200:
            done[sid] += 1
        elif put.status_code == 409:
            conflicts += 1
    return {"done": done, "conflicts": conflicts, "statuses": statuses}


def test_eight_writers_two_servers_every_update_lands_once(backend_store, tmp_path):
    store = backend_store
    ids, token = _world(store)
    before = {s.id: s.version for s in store.list_stations()}
    events_before = len(audit.list_events(store))
    with served(store.url, tmp_path / "instance", count=2, threads=8) as bases, \
            ThreadPoolExecutor(WRITERS) as pool:
        results = list(pool.map(lambda i: _writer(bases, token, ids, seed=i), range(WRITERS)))
    statuses = sum((r["statuses"] for r in results), Counter())
    assert not [s for s in statuses if s >= 500], statuses
    assert set(statuses) <= {200, 409}, statuses
    per_station = sum((r["done"] for r in results), Counter())
    assert sum(per_station.values()) == WRITERS * UPDATES
    for station in store.list_stations():
        assert station.capacity == per_station[station.id], station.id
        assert station.version == before[station.id] + per_station[station.id]
    assert len(audit.list_events(store)) - events_before == WRITERS * UPDATES
    conflicts = sum(r["conflicts"] for r in results)
    print(f"\n{store.engine.dialect.name}: {WRITERS}×{UPDATES} updates, {conflicts} conflicts "
          f"(409, retried), statuses {dict(statuses)}")
    assert conflicts > 0  # the writers really did overlap


def test_concurrent_openings_get_distinct_ids(backend_store, tmp_path):
    """Stations created at once in two server processes: distinct ids, none lost, no 5xx."""
    store = backend_store
    _ids, token = _world(store)
    lock = threading.Lock()
    answers: list[tuple[int, int | None]] = []

    def create(args):
        base, i = args
        r = requests.post(f"{base}/api/stations", timeout=60,
                          headers={"Authorization": f"Bearer {token}"},
                          json={"name": f"新开驿站{i}", "lon": 116.34, "lat": 39.88,
                                "district": "西城区", "street": "广安门外街道"})
        with lock:
            answers.append((r.status_code, r.json().get("id") if r.status_code == 201 else None))

    with served(store.url, tmp_path / "instance", count=2, threads=8) as bases, \
            ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(create, [(bases[i % 2], i) for i in range(80)]))
    assert {code for code, _ in answers} == {201}, Counter(c for c, _ in answers)
    new_ids = [i for _, i in answers]
    assert len(set(new_ids)) == 80
    assert store.count_stations() == STATIONS + 80


def test_deferred_read_then_write_is_refused_at_once_and_store_transaction_waits(tmp_path):
    """Why every product write on SQLite goes through ``Store.transaction()`` (``BEGIN
    IMMEDIATE``; conftest's ``sqlite_writes_are_immediate`` fails a test that writes otherwise):
    a deferred transaction that read, then writes after another connection committed, gets
    "database is locked" at once despite the busy timeout; ``Store.transaction()`` queues."""
    import sqlalchemy as sa

    from stations.schema import meta_table

    s = Store(f"sqlite:///{tmp_path / 'n.db'}")
    s.init()
    other = Store(s.url)
    try:
        with s.engine.connect() as conn:
            conn.begin()  # deferred
            conn.execute(sa.select(meta_table)).all()  # a read: the snapshot is taken
            with other.transaction() as w:  # another process commits a write meanwhile
                other.bump_version("stations_version", conn=w)
            with pytest.raises(sa.exc.OperationalError, match="locked"):
                conn.execute(meta_table.insert().values(key="late", value="1"))
            conn.rollback()
        with s.transaction() as conn:  # immediate: the write lock first, then the read
            conn.execute(sa.select(meta_table)).all()
            conn.execute(meta_table.insert().values(key="late", value="1"))
        assert s.get_meta("late") == "1"
    finally:
        s.dispose()
        other.dispose()


def test_the_deferred_write_guard_names_product_code(tmp_path):
    """conftest's guard records a product write outside BEGIN IMMEDIATE (and only those)."""
    import os

    import stations
    from tests import conftest

    s = Store(f"sqlite:///{tmp_path / 'n.db'}")
    s.init()
    start = len(conftest._DEFERRED_WRITES)
    probe = os.path.join(os.path.dirname(stations.__file__), "_guard_probe.py")
    code = compile("with store.engine.begin() as c:\n"
                   "    c.exec_driver_sql(\"INSERT INTO meta (key, value) VALUES ('p', '1')\")\n",
                   probe, "exec")
    try:
        with s.transaction() as c:  # the right way: not recorded
            c.exec_driver_sql("INSERT INTO meta (key, value) VALUES ('q', '1')")
        assert len(conftest._DEFERRED_WRITES) == start
        exec(code, {"store": s})  # noqa: S102 - a write "from" stations/ in a plain BEGIN
        found = conftest._DEFERRED_WRITES[start:]
        assert len(found) == 1 and "_guard_probe.py:2" in found[0], found
    finally:
        del conftest._DEFERRED_WRITES[start:]
        s.dispose()
