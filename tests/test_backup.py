"""``nuanxin backup FILE`` / ``nuanxin restore FILE`` (issue 15 item 3): the whole store —
stations, candidates, the audit log, worker reports, users, sessions, tokens, demand, the
geocoding cache, counters — restored into an empty store compares identical, table by table
and row by row, on SQLite, on PostGIS, and across (SQLite → PostGIS, PostGIS → SQLite)."""

from __future__ import annotations

import gzip
import uuid
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from geodata.places.stored_areas import store_areas
from stations import accounts, lifecycle, settings
from stations.backup import table_rows
from stations.candidates import Candidate, add_candidates
from stations.demand_points import write_demand
from stations.geocode_cache import cache_answers
from stations.records import Station
from stations.store import Store
from stations.worker_reports import add_plaque_visit, add_report
from webmap.auth import issue_token
from webmap.cli import main as cli
from webmap.testing import synthetic_stations


@contextmanager
def _database(kind: str, tmp_path: Path, name: str, request):
    """An empty database of ``kind`` (a new PostGIS database in the test cluster)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / f'{name}.db'}"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(request.getfixturevalue("pg_url"))
    admin = dict(host=url.query["host"], port=int(url.query["port"]), user="postgres",
                 dbname="postgres", autocommit=True)
    db = f"b_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(**admin) as conn:
        conn.execute(f"CREATE DATABASE {db} TEMPLATE {url.database}")
    try:
        yield url.set(database=db).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(**admin) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def _fill(store: Store) -> None:
    """Something in every table, through the product's own functions."""
    ids = store.add_stations(synthetic_stations(300))
    (cid,) = add_candidates(store, [Candidate(
        name="红莲南里社区党群服务中心", lon=116.3292, lat=39.8787, geocode_precision="input",
        district="西城区", street="广安门外街道", extra={"照片": "<img src=x onerror=alert(1)>"})])
    lifecycle.screen_result(store, cid, actor="张三", result="pass", score=70.5)
    lifecycle.visit(store, cid, actor="张三", notes="一层临街")
    lifecycle.agree(store, cid, actor="张三")
    opened = lifecycle.open_station(store, cid, actor="张三")
    lifecycle.set_status(store, ids[0], "suspended", actor="李四", reason="装修")
    accounts.add_account(store, username="admin", password_hash="scrypt:32768:8:1$salt$hash",
                         role="admin", district="", street="", created_at=settings.wall_now())
    issue_token(store, "admin")
    store.add_session("c" * 64, 1, now=datetime(2026, 11, 30, 4, 48, 55, 123456, tzinfo=UTC))
    add_report(store, opened.id, kind="closed", note="没开门 ' \" \\ 😀",
               created_at=settings.wall_now())
    add_plaque_visit(store, opened.id, date(2026, 11, 30))
    write_demand(store, [{"name": "环卫班组", "lon": 116.34, "lat": 39.88, "weight": 12.5,
                          "group": "sanitation", "shift": "night"},
                         {"name": "待定位", "lon": None, "lat": None, "weight": 1.0,
                          "group": "", "shift": ""}])
    cache_answers(store, {"sig|广安门外大街1号": {"lon": 116.34, "lat": 39.88}},
                  now=settings.wall_now())
    store_areas(store)


def _run(url: str, tmp_path: Path, monkeypatch, *args: str):
    monkeypatch.setenv("NUANXIN_DATABASE_URL", url)
    monkeypatch.setenv("NUANXIN_INSTANCE", str(tmp_path / "instance"))
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("source,target", [
    ("sqlite", "sqlite"),
    pytest.param("postgis", "postgis", marks=pytest.mark.postgis),
    pytest.param("sqlite", "postgis", marks=pytest.mark.postgis),
    pytest.param("postgis", "sqlite", marks=pytest.mark.postgis),
])
def test_backup_then_restore_into_an_empty_store_is_identical(source, target, tmp_path,
                                                             monkeypatch, request):
    with _database(source, tmp_path, "src", request) as src_url, \
            _database(target, tmp_path, "dst", request) as dst_url:
        src = Store(src_url)
        src.init()
        _fill(src)
        before = table_rows(src)
        assert all(before.values()), [t for t, rows in before.items() if not rows]
        file = tmp_path / "nuanxin.backup.gz"
        done = _run(src_url, tmp_path, monkeypatch, "backup", str(file))
        assert done.exit_code == 0, done.output
        done = _run(dst_url, tmp_path, monkeypatch, "restore", str(file))
        assert done.exit_code == 0, done.output
        dst = Store(dst_url)
        after = table_rows(dst)
        assert after.keys() == before.keys()
        for table in before:
            assert after[table] == before[table], table
        # the restored store works on: new rows get fresh ids, the version moves on
        assert dst.version() == src.version()
        [new] = dst.add_stations([Station(name="恢复后新站", lon=116.3, lat=39.9)])
        assert new > max(s.id for s in src.list_stations())
        assert dst.get_station(1).created_at.tzinfo is not None
        src.dispose()
        dst.dispose()


def test_restore_refuses_a_store_with_rows_and_a_damaged_file(tmp_path, monkeypatch):
    src_url = f"sqlite:///{tmp_path / 'src.db'}"
    src = Store(src_url)
    src.init()
    _fill(src)
    file = tmp_path / "b.gz"
    assert _run(src_url, tmp_path, monkeypatch, "backup", str(file)).exit_code == 0
    # into the same (full) store: refused, one line, exit 2, nothing changed
    before = table_rows(src)
    done = _run(src_url, tmp_path, monkeypatch, "restore", str(file))
    assert done.exit_code == 2 and "空数据库" in done.output and done.output.count("\n") == 1
    assert table_rows(src) == before
    # a truncated file: refused, nothing restored
    raw = gzip.decompress(file.read_bytes()).splitlines(keepends=True)
    cut = tmp_path / "cut.gz"
    cut.write_bytes(gzip.compress(b"".join(raw[: len(raw) // 2])))
    dst_url = f"sqlite:///{tmp_path / 'dst.db'}"
    done = _run(dst_url, tmp_path, monkeypatch, "restore", str(cut))
    assert done.exit_code == 2 and "不完整" in done.output
    assert not any(table_rows(Store(dst_url)).values())
    # not a backup at all
    junk = tmp_path / "junk.gz"
    junk.write_bytes(b"not gzip")
    done = _run(dst_url, tmp_path, monkeypatch, "restore", str(junk))
    assert done.exit_code == 2 and done.output.count("\n") == 1
    src.dispose()
