"""Audit you can read (issue 10, item 4): every write records who, when, what and the
before/after of each changed field — API, dashboard and command line — readable at
``GET /api/audit?station=ID`` (token or session, scoped) and on the station's dashboard page.
The log is append-only. Also: a database made by an earlier version gains the new columns.
"""

from __future__ import annotations

import ast
import csv
import gc
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from werkzeug.security import generate_password_hash

from stations import accounts, audit, settings
from stations.records import Station
from stations.store import Store
from webmap.app import create_app
from webmap.auth import issue_token
from webmap.cli import main as cli
from webmap.testing import csrf_token_from, login

ROOT = Path(__file__).resolve().parents[1]
GUANGWAI = (116.3384227, 39.8728584)  # 西城区 广安门外街道
CHAOYANG = (116.48, 39.92)  # 朝阳区 六里屯街道
PASSWORD = "a long password 123"


@pytest.fixture
def store(backend_store) -> Store:
    """Every test here runs on SQLite and on PostGIS (conftest.backend_store)."""
    return backend_store


def _account(store, name, role, district="", street=""):
    accounts.add_account(store, username=name, password_hash=generate_password_hash(PASSWORD),
                         role=role, district=district, street=street,
                         created_at=settings.wall_now())
    return issue_token(store, name)


@pytest.fixture
def world(store):
    ids = store.add_stations([
        Station(name="广外驿站", lon=GUANGWAI[0], lat=GUANGWAI[1], code="GW-1", district="西城区",
                district_code="110102", street="广安门外街道", street_code="110102020",
                opening_hours="24/7"),
        Station(name="朝阳驿站", lon=CHAOYANG[0], lat=CHAOYANG[1], code="CY-1", district="朝阳区",
                district_code="110105", street="六里屯街道", street_code="110105014"),
    ])
    tokens = {"guangwai": _account(store, "guangwai", "street", "西城区", "广安门外街道"),
              "chaoyang": _account(store, "chaoyang", "district", "朝阳区"),
              "reader": _account(store, "reader", "viewer"),
              "chaoyang-reader": _account(store, "chaoyang-reader", "viewer", "朝阳区")}
    app = create_app({"TESTING": True, "TILES": "none", "DATABASE_URL": store.url})
    yield {"store": store, "gw": ids[0], "cy": ids[1], "tokens": tokens, "app": app}
    app.extensions["nuanxin.store"].dispose()


def _bearer(world, name):
    return {"Authorization": f"Bearer {world['tokens'][name]}"}


def _events(world, sid, name="guangwai") -> list[dict]:
    response = world["app"].test_client().get(f"/api/audit?station={sid}",
                                              headers=_bearer(world, name))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["events"]


def _edit_form(client, sid, station, **changes) -> dict:
    page = client.get(f"/union/stations/{sid}").get_data(as_text=True)
    form = {"csrf_token": csrf_token_from(page), "name": station.name,
            "address": station.address, "host_type": station.host_type,
            "district": station.district, "street": station.street, "lon": repr(station.lon),
            "lat": repr(station.lat), "access": station.access,
            "opening_hours": station.opening_hours, "area_m2": "", "capacity": "",
            "contact_name": "", "contact_phone": "", "notes": "", "verified_on": "",
            "public_phone": "", "version": str(station.version)}
    form.update(changes)
    return form


# -- every write path ------------------------------------------------------------------------
def test_api_writes_record_who_when_what_and_before_after(world):
    client, sid = world["app"].test_client(), world["gw"]
    headers = _bearer(world, "guangwai")
    assert client.patch(f"/api/stations/{sid}", json={"name": "广外驿站（新）", "capacity": 6},
                        headers=headers).status_code == 200
    assert client.post(f"/api/stations/{sid}/status", json={
        "status": "suspended", "reason": "装修"}, headers=headers).status_code == 200
    made = client.post("/api/stations", json={"name": "新站", "lon": 116.3353571,
                                              "lat": 39.8773942}, headers=headers)
    assert made.status_code == 201
    *_, edit, status = _events(world, sid)
    assert (edit["user"], edit["action"]) == ("guangwai", "edit")
    assert edit["changes"] == {"name": {"before": "广外驿站", "after": "广外驿站（新）"},
                               "capacity": {"before": None, "after": 6}}
    assert (status["action"], status["changes"]) == ("suspend", {
        "status": {"before": "open", "after": "suspended"},
        "status_reason": {"before": "", "after": "装修"}})
    (created,) = _events(world, made.get_json()["id"])
    assert created["action"] == "create" and created["user"] == "guangwai"
    assert created["changes"]["name"] == {"before": None, "after": "新站"}
    assert created["changes"]["street"] == {"before": None, "after": "广安门外街道"}
    for event in (edit, status, created):
        at = datetime.fromisoformat(event["at"])
        assert at.utcoffset() == timedelta(hours=8)  # aware, Asia/Shanghai


def test_dashboard_edits_and_status_changes_are_audited(world):
    client = world["app"].test_client()
    assert login(client, "guangwai", PASSWORD).status_code == 302
    sid, store = world["gw"], world["store"]
    station = store.get_station(sid)
    saved = client.post(f"/union/stations/{sid}", data=_edit_form(
        client, sid, station, notes="门口有台阶", public_phone="010-63450000"))
    assert saved.status_code == 302, saved.get_data(as_text=True)[:500]
    assert store.get_station(sid).version == 2
    token = csrf_token_from(client.get(f"/union/stations/{sid}").get_data(as_text=True))
    assert client.post(f"/union/stations/{sid}/status", data={
        "csrf_token": token, "action": "suspend", "reason": "停水"}).status_code == 302
    *_, edit, status = _events(world, sid)
    assert (edit["user"], edit["action"]) == ("guangwai", "edit")
    assert edit["changes"] == {"notes": {"before": "", "after": "门口有台阶"},
                               "public_phone": {"before": "", "after": "010-63450000"}}
    assert (status["user"], status["action"]) == ("guangwai", "suspend")
    page = client.get(f"/union/stations/{sid}").get_data(as_text=True)
    assert "门口有台阶" in page and "<code>notes</code>" in page and "（空）" in page
    assert "<code>status</code>" in page and "暂停" in page


def test_a_stale_dashboard_form_is_409_and_saves_nothing(world):
    client = world["app"].test_client()
    assert login(client, "guangwai", PASSWORD).status_code == 302
    sid, store = world["gw"], world["store"]
    station = store.get_station(sid)
    form = _edit_form(client, sid, station, notes="我先读的")
    station.notes = "别人先存了"
    store.update_station(station, actor="someone")
    before = len(audit.list_events(store))
    response = client.post(f"/union/stations/{sid}", data=form)
    assert response.status_code == 409
    assert store.get_station(sid).notes == "别人先存了"
    assert len(audit.list_events(store)) == before


def test_command_line_writes_are_audited(world, tmp_path):
    sid, store = world["gw"], world["store"]
    sheet = tmp_path / "update.csv"
    with sheet.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "lon", "lat", "opening_hours", "district", "street"])
        writer.writerow(["GW-1", "广外驿站", GUANGWAI[0], GUANGWAI[1], "Mo-Fr 08:00-18:00",
                         "西城区", "广安门外街道"])
    runner = CliRunner()
    with warnings.catch_warnings():
        # these commands leave their store's pool to the garbage collector (psycopg warns)
        warnings.simplefilter("ignore", ResourceWarning)
        result = runner.invoke(cli, ["stations", "import", str(sheet), "--update", "--json"])
        assert result.exit_code == 0, result.output
        result = runner.invoke(cli, ["candidates", "close", str(sid), "--station", "--reason",
                                     "拆迁", "--actor", "张三"])
        assert result.exit_code == 0, result.output
        gc.collect()
    *_, imported, closed = _events(world, sid)
    assert imported["action"] == "import" and imported["user"]
    assert imported["changes"]["opening_hours"] == {"before": "24/7",
                                                    "after": "Mo-Fr 08:00-18:00"}
    assert (closed["user"], closed["action"], closed["changes"]["status"]) == (
        "张三", "close", {"before": "open", "after": "closed"})
    assert store.get_station(sid).version == 3


# -- reading it ------------------------------------------------------------------------------
@pytest.mark.parametrize("reader, station, status", [
    ("guangwai", "gw", 200), ("guangwai", "cy", 403), ("chaoyang", "cy", 200),
    ("chaoyang", "gw", 403), ("reader", "gw", 200), ("reader", "cy", 200),
    ("chaoyang-reader", "cy", 200), ("chaoyang-reader", "gw", 403),
])
def test_the_audit_api_is_scoped(world, reader, station, status):
    response = world["app"].test_client().get(f"/api/audit?station={world[station]}",
                                              headers=_bearer(world, reader))
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    if status == 200:
        assert [e["action"] for e in body["events"]] == ["create"]
        assert set(body["events"][0]) >= {"at", "user", "action", "changes"}
    else:
        assert set(body) == {"error", "detail"}


def test_the_audit_api_takes_a_dashboard_session(world):
    client = world["app"].test_client()
    assert client.get(f"/api/audit?station={world['gw']}").status_code == 401
    assert login(client, "guangwai", PASSWORD).status_code == 302
    assert client.get(f"/api/audit?station={world['gw']}").status_code == 200
    assert client.get(f"/api/audit?station={world['cy']}").status_code == 403
    for bad in ("", "x", "0", "99999999999"):
        assert client.get(f"/api/audit?station={bad}").status_code == 400


# -- append-only -----------------------------------------------------------------------------
def test_the_audit_log_is_append_only():
    """No function changes or deletes an event: the audit module offers none and no module
    builds an UPDATE or DELETE of the events table."""
    names = [n for n in dir(audit) if not n.startswith("__")]
    assert not [n for n in names if any(w in n.lower() for w in ("update", "delete", "remove",
                                                                 "purge", "edit"))]
    offenders = []
    for path in sorted((ROOT / "stations").rglob("*.py")) + sorted((ROOT / "webmap").rglob(
            "*.py")) + sorted((ROOT / "geodata").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("update", "delete") and \
                    isinstance(node.value, ast.Name) and node.value.id == \
                    "lifecycle_events_table":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_a_refused_write_leaves_no_event(world):
    client = world["app"].test_client()
    before = audit.list_events(world["store"])
    response = client.patch(f"/api/stations/{world['cy']}", json={"name": "越权"},
                            headers=_bearer(world, "guangwai"))
    assert response.status_code == 403
    assert audit.list_events(world["store"]) == before


# -- databases made by an earlier version ------------------------------------------------------
def test_init_adds_the_columns_an_older_database_lacks(store):
    """A store created before ``version``, ``public_phone``, the audit ``action``/``changes``
    and the token table gets them from :meth:`Store.init`, keeping its rows.

    Such a store has no ``alembic_version`` either (migrations came after it, issue 15): it is
    made here from the schema of release daf0fe0 (``tests/data/schema_daf0fe0.py``), then
    made older still."""
    import importlib.util

    from stations.schema import metadata

    path = Path(__file__).parent / "data" / "schema_daf0fe0.py"
    spec = importlib.util.spec_from_file_location("schema_daf0fe0", path)
    old_schema = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(old_schema)
    with store.engine.begin() as conn:
        metadata.drop_all(conn)
        conn.execute(sa.text("DROP TABLE alembic_version"))
        old_schema.metadata.create_all(conn)
        conn.execute(old_schema.stations_table.insert().values(
            id=1, code="OLD-1", name="老站", lon=GUANGWAI[0], lat=GUANGWAI[1], amenities={},
            created_at=datetime(2026, 1, 5, 9, 0)))  # naive Beijing wall time, as it was
    sid = 1
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE api_tokens"))
        conn.execute(sa.text("DROP INDEX ix_lifecycle_events_station_id"))
        for table, column in (("stations", "version"), ("stations", "public_phone"),
                              ("lifecycle_events", "action"), ("lifecycle_events", "changes")):
            conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    with store.engine.connect() as conn:
        old = set(conn.execute(sa.text("SELECT * FROM stations WHERE 1 = 0")).keys())
    assert "version" not in old
    store.dispose()
    store.init()
    store.init()  # idempotent
    station = store.get_station(sid)
    assert (station.name, station.version, station.public_phone) == ("老站", 1, "")
    assert sa.inspect(store.engine).has_table("api_tokens")
    indexes = {i["name"] for i in sa.inspect(store.engine).get_indexes("lifecycle_events")}
    assert "ix_lifecycle_events_station_id" in indexes
    station.notes = "升级后"
    store.update_station(station, actor="t")
    assert store.get_station(sid).version == 2
    assert audit.list_events(store)[-1]["changes"] == {"notes": {"before": "", "after": "升级后"}}
