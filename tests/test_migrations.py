"""Alembic owns the schema (issue 15 item 2): a migrated empty database equals
``stations.schema`` on SQLite and PostGIS, and a store of the previous release (schema of commit
daf0fe0, kept in ``tests/data/schema_daf0fe0.py``) upgrades in place keeping every row."""

from __future__ import annotations

import importlib.util
import warnings
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

from stations import migrations
from stations.schema import metadata
from stations.settings import TZ
from stations.store import Store

DATA = Path(__file__).parent / "data"


def _old_schema():
    spec = importlib.util.spec_from_file_location("schema_daf0fe0", DATA / "schema_daf0fe0.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def url(request, tmp_path, monkeypatch):
    found = (f"sqlite:///{tmp_path / 'old.db'}" if request.param == "sqlite"
             else request.getfixturevalue("pg_fresh_url"))
    monkeypatch.setenv("NUANXIN_DATABASE_URL", found)
    monkeypatch.setenv("NUANXIN_INSTANCE", str(tmp_path / "instance"))
    return found


def _diff(engine: sa.engine.Engine) -> list:
    """What differs between the database and ``stations.schema`` (PostGIS's ``geom``, which
    SQLAlchemy reflects as an unknown type, is left out by ``include_object``)."""
    with engine.connect() as conn, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Did not recognize type 'geometry'", sa.exc.SAWarning)
        context = MigrationContext.configure(conn, opts={
            "include_object": migrations.include_object, "compare_type": True})
        return compare_metadata(context, metadata)


def test_one_head_and_a_chain_from_the_baseline():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrations.config())
    revisions = list(script.walk_revisions())
    assert len(script.get_heads()) == 1
    assert revisions[-1].revision == "0001" and revisions[-1].down_revision is None


def test_a_migrated_empty_database_is_the_schema(url):
    engine = sa.create_engine(url)
    try:
        assert migrations.current(engine) is None
        migrations.upgrade(engine)
        assert migrations.current(engine) == migrations.head()
        assert _diff(engine) == []
    finally:
        engine.dispose()


def test_the_diff_sees_a_column_without_a_migration(url):
    """The comparison above can fail: a column only in the database is reported."""
    engine = sa.create_engine(url)
    try:
        migrations.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE stations ADD COLUMN stray TEXT"))
        assert any(d[0] == "remove_column" and d[3].name == "stray" for d in _diff(engine))
    finally:
        engine.dispose()


#: 09:15:30 Beijing time, as the previous release wrote it (naive Shanghai wall time)
OLD_WALL = datetime(2026, 3, 2, 9, 15, 30)


def _old_rows() -> dict[str, list[dict]]:
    """One or more rows in every table of the previous release."""
    amen = {"hot_water": "yes", "toilet": "no"}
    return {
        "meta": [{"key": "stations_version", "value": "7"}],
        "stations": [
            {"id": 3, "code": "GW-3", "name": "鸭子桥社区暖心驿站", "host_type": "community",
             "address": "广安门外", "district": "西城区", "district_code": "110102",
             "street": "广安门外街道", "street_code": "110102020", "lon": 116.3384, "lat": 39.8728,
             "amenities": amen, "access": "open", "area_m2": 20.5, "capacity": 6,
             "opening_hours": "Mo-Fr 08:00-18:00", "status": "open", "status_reason": "",
             "sample": True, "verified_on": date(2026, 2, 1), "contact_name": "王",
             "contact_phone": "010-1", "notes": "<b>备注</b>", "candidate_id": None,
             "created_at": OLD_WALL, "updated_at": OLD_WALL, "public_phone": "010-2",
             "version": 4},
            {"id": 9, "code": "GW-9", "name": "白纸坊驿站", "lon": 116.35, "lat": 39.87,
             "amenities": {}, "created_at": None, "updated_at": None, "version": 1},
        ],
        "candidates": [{"id": 1, "name": "红莲南里", "lon": 116.329, "lat": 39.878,
                        "amenities": amen, "station_id": 3, "extra": {"visits": [{"at": "x"}]},
                        "screening": [{"rule": "area", "outcome": "pass"}],
                        "created_at": OLD_WALL, "updated_at": OLD_WALL}],
        "lifecycle_events": [{"id": 1, "candidate_id": 1, "station_id": 3, "actor": "张三",
                              "at": OLD_WALL, "from_state": "agreed", "to_state": "open",
                              "note": "开放", "action": "open",
                              "changes": {"status": {"before": None, "after": "open"}}}],
        "demand_points": [{"id": 1, "name": "环卫班组", "lon": 116.34, "lat": 39.88,
                           "weight": 12.0, "group": "sanitation", "shift": "night"}],
        "reports": [{"id": 1, "station_id": 3, "kind": "closed", "note": "没开门",
                     "status": "new", "created_at": OLD_WALL}],
        "users": [{"id": 1, "username": "admin", "password_hash": "scrypt:x", "role": "admin",
                   "created_at": OLD_WALL}],
        "geocode_cache": [{"query": "广安门外", "result": {"lon": 1.0}, "created_at": OLD_WALL}],
        "sessions": [{"id": 1, "token_hash": "a" * 64, "user_id": 1, "revoked": False,
                      "created_at": datetime(2026, 3, 2, 1, 15, 30, tzinfo=UTC),
                      "last_seen_at": datetime(2026, 3, 2, 1, 15, 30, tzinfo=UTC)}],
        "api_tokens": [{"id": 1, "token_hash": "b" * 64, "user_id": 1,
                        "created_at": datetime(2026, 3, 2, 1, 15, 30, tzinfo=UTC)}],
    }


def _make_previous_release_store(url: str) -> None:
    """What ``nuanxin init`` of release daf0fe0 made, with data in every table."""
    old = _old_schema()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            old.metadata.create_all(conn)
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text(
                    "ALTER TABLE stations ADD COLUMN geom geometry(Point, 4326) GENERATED "
                    "ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED"))
            for name, rows in _old_rows().items():
                table = old.metadata.tables[name]
                for row in rows:
                    conn.execute(table.insert().values(**row))
            if conn.dialect.name == "postgresql":  # as the old release left them: past the rows
                for name, table in old.metadata.tables.items():
                    if "id" in table.c and table.c.id.autoincrement is True:
                        conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', "
                                             f"'id'), (SELECT COALESCE(MAX(id), 1) FROM {name}))"))
    finally:
        engine.dispose()


def _dump(engine: sa.engine.Engine, table: str, columns: list[str]) -> list[dict]:
    t = metadata.tables[table]
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(*[t.c[c] for c in columns]).order_by(*t.primary_key.columns)).mappings()]


def _comparable(value):
    """Aware times as Beijing wall time (what the previous release wrote, naive)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(TZ).replace(tzinfo=None)
    return value


def test_a_previous_release_store_upgrades_and_keeps_every_row(url):
    _make_previous_release_store(url)
    store = Store(url)
    try:
        store.init()
        assert migrations.current(store.engine) == migrations.head()
        assert _diff(store.engine) == []
        for name, rows in _old_rows().items():
            got = _dump(store.engine, name, sorted(set().union(*rows)))
            for want, row in zip(rows, got, strict=True):
                assert ({c: _comparable(row[c]) for c in want}
                        == {c: _comparable(v) for c, v in want.items()}), name
        station = store.get_station(3)
        assert (station.name, station.version, station.capacity) == ("鸭子桥社区暖心驿站", 4, 6)
        # naive Beijing wall time became the same instant, aware UTC
        assert station.created_at == datetime(2026, 3, 2, 1, 15, 30, tzinfo=UTC)
        assert store.version() == 7
        # the store works on: a new station gets an id above the old ones
        [new] = store.add_stations([type(station)(name="新驿站", lon=116.3, lat=39.9)])
        assert new > 9
    finally:
        store.dispose()


def test_a_store_older_than_the_baseline_gets_the_missing_columns(url):
    """Before ``public_phone``/``version`` (the round before daf0fe0): added, rows kept."""
    old = _old_schema()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            old.metadata.create_all(conn)
            conn.execute(sa.text("DROP TABLE lifecycle_events"))
            conn.execute(sa.text("ALTER TABLE stations DROP COLUMN public_phone"))
            conn.execute(sa.text("ALTER TABLE stations DROP COLUMN version"))
            conn.execute(sa.text("INSERT INTO stations (id, code, name, host_type, address, "
                                 "district, district_code, street, street_code, lon, lat, "
                                 "amenities, access, opening_hours, status, status_reason, "
                                 "sample, contact_name, contact_phone, notes) VALUES (1, 'A', "
                                 "'甲', 'other', '', '', '', '', '', 116.3, 39.9, '{}', "
                                 "'unknown', '', 'open', '', false, '', '', '')"))
    finally:
        engine.dispose()
    store = Store(url)
    try:
        store.init()
        got = store.get_station(1)
        assert (got.code, got.name, got.public_phone, got.version) == ("A", "甲", "", 1)
        assert _diff(store.engine) == []
    finally:
        store.dispose()


def test_db_commands_upgrade_and_name_the_revision(url):
    from webmap.cli import main

    runner = CliRunner()
    before = runner.invoke(main, ["db", "current"])
    assert before.exit_code == 0, before.output
    assert "none" in before.output.lower()
    done = runner.invoke(main, ["db", "upgrade"])
    assert done.exit_code == 0, done.output
    after = runner.invoke(main, ["db", "current"])
    assert after.exit_code == 0 and migrations.head() in after.output
    assert "(head)" in after.output


def test_downgrade_refuses_and_says_how_to_go_back(tmp_path):
    """Migrations go forward only, by design: an Alembic downgrade of a real store is refused
    with the way back (restore the backup), and the store stays at the head."""
    from alembic import command

    from stations.engines import write_connection
    from stations.errors import StoreError

    store = Store(f"sqlite:///{tmp_path / 'n.db'}")
    store.init()
    try:
        with write_connection(store.engine) as conn, conn.begin():
            with pytest.raises(StoreError, match="nuanxin restore"):
                command.downgrade(migrations.config(conn), "-1")
        assert migrations.current(store.engine) == migrations.head()
    finally:
        store.dispose()
