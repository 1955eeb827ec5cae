"""Nothing lost under a crash (issue 15 item 3): ``nuanxin stations import`` of a 50,000-row
file killed with SIGKILL while it writes leaves the store with none of it — the import is one
transaction (geodata/io/stations.py; README "Operations") — the stations that were there
before are intact, and ``nuanxin nearest`` answers afterwards; on SQLite and PostGIS."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from stations.records import Station
from tests.servers import ROOT, nuanxin, nuanxin_env

ROWS = 50_000


@pytest.fixture(scope="module")
def big_sheet(tmp_path_factory) -> Path:
    from geodata.io.stations import export_stations
    from webmap.testing import synthetic_stations

    path = tmp_path_factory.mktemp("crash") / "stations-50k.csv"
    assert export_stations(None, path, stations=synthetic_stations(ROWS)) == ROWS
    return path


def _writing(store, proc: subprocess.Popen, wal: Path | None) -> bool:
    """The import's transaction has written rows and not committed."""
    if wal is not None:
        return wal.exists() and wal.stat().st_size > 4 * 1024 * 1024
    with store.engine.connect() as conn:
        return bool(conn.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL "
            "AND pid <> pg_backend_pid() AND datname = current_database()")).scalar())


def test_kill_9_midway_through_a_50000_row_import_leaves_none_of_it(backend_store, tmp_path,
                                                                   big_sheet):
    store = backend_store
    before = store.add_stations([Station(name="广外驿站", lon=116.3384, lat=39.8728,
                                         district="西城区", street="广安门外街道")])
    version = store.version()
    wal = (Path(store.engine.url.database + "-wal") if store.engine.dialect.name == "sqlite"
           else None)
    env = nuanxin_env(store.url, tmp_path / "instance")
    proc = subprocess.Popen(nuanxin("stations", "import", str(big_sheet)), env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not _writing(store, proc, wal):
            assert proc.poll() is None, "the import ended before it was killed"
            assert time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.05)
        assert proc.poll() is None  # midway: writing, not committed
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    if wal is None:  # the server notices the dead client and rolls its transaction back
        deadline = time.monotonic() + 30
        while _writing(store, proc, None) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert store.count_stations() == 1
    assert [s.id for s in store.list_stations()] == before
    assert store.version() == version
    done = subprocess.run(nuanxin("nearest", "--lon", "116.34", "--lat", "39.88", "--json"),
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert [r["name"] for r in answer["results"]] == ["广外驿站"]
    # and the store takes writes again
    assert len(store.add_stations([Station(name="又一驿站", lon=116.35, lat=39.88)])) == 1
