"""Aware time everywhere (issue 11 item 3): one "now" (Asia/Shanghai, from
:mod:`stations.settings`), every stored timestamp aware and UTC in the store, shown in Beijing
time on screens, exports and Excel reports, written with its offset in the API — whatever the
server's own time zone (checked under ``TZ=UTC`` and ``TZ=Asia/Shanghai`` in subprocesses)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from stations import lifecycle, settings
from stations.candidates import Candidate, add_candidates, get_candidate
from stations.records import Station
from stations.schema import UTCDateTime, metadata
from webmap import sessions

ROOT = Path(__file__).resolve().parents[1]
#: 17:30:45 UTC on the 4th is 01:30:45 on the 5th in Beijing (a UTC server's naive
#: ``datetime.now()`` would have said the 4th).
INSTANT = datetime(2026, 1, 4, 17, 30, 45, 123456, tzinfo=UTC)
SECOND = INSTANT.replace(microsecond=0)
SHOWN = "2026-01-05 01:30:45"
ISO = "2026-01-05T01:30:45+08:00"


@pytest.fixture
def frozen(monkeypatch):
    """``settings.now`` pinned to :data:`INSTANT` (seen in Shanghai, as the real one is)."""
    monkeypatch.setattr(settings, "now", lambda: INSTANT.astimezone(settings.TZ))
    return INSTANT


def test_now_is_aware_shanghai():
    current = settings.now()
    assert current.tzinfo is not None and current.utcoffset().total_seconds() == 8 * 3600


def test_wall_now_is_aware_to_the_second(frozen):
    assert settings.wall_now() == SECOND
    assert settings.wall_now().utcoffset().total_seconds() == 8 * 3600


def test_session_clock_is_the_same_instant_in_utc(frozen):
    assert sessions.utcnow() == INSTANT
    assert sessions.utcnow().tzinfo is UTC


def test_one_way_to_show_and_one_to_write():
    assert settings.shown_time(INSTANT) == SHOWN
    assert settings.shown_time(INSTANT, seconds=False) == "2026-01-05 01:30"
    assert settings.iso_time(INSTANT) == ISO
    assert settings.iso_time(ISO) == ISO and settings.shown_time(ISO) == SHOWN
    # without an offset: Beijing time (what the product wrote before, and what open_at means)
    assert settings.iso_time("2026-01-05T01:30:45") == ISO
    assert settings.shown_time(None) == "" and settings.iso_time(None) is None


def test_no_timestamp_column_is_naive():
    """The standing check: every timestamp column of the schema stores aware UTC."""
    naive = [f"{t.name}.{c.name}" for t in metadata.sorted_tables for c in t.columns
             if isinstance(c.type, sa.DateTime | UTCDateTime)
             and not isinstance(c.type, UTCDateTime)]
    assert naive == []


def test_the_store_refuses_a_naive_timestamp(backend_store):
    with pytest.raises(sa.exc.StatementError, match="naive timestamp"):
        backend_store.add_stations([Station(name="驿站", lon=116.34, lat=39.88,
                                            created_at=datetime(2026, 1, 5, 1, 30))])
    assert backend_store.count_stations() == 0


def test_stored_timestamps_come_back_aware_utc_on_both_backends(backend_store, frozen):
    store = backend_store
    (cid,) = add_candidates(store, [Candidate(name="红莲南里社区党群服务中心", lon=116.3292,
                                              lat=39.8787, geocode_precision="input")])
    candidate = get_candidate(store, cid)
    assert candidate.created_at == candidate.updated_at == SECOND
    assert candidate.created_at.tzinfo is UTC
    (sid,) = store.add_stations([Station(name="广外驿站", lon=116.34, lat=39.88)])
    station = store.get_station(sid)
    assert station.created_at == SECOND and station.created_at.tzinfo is UTC
    assert station.as_dict()["created_at"] == ISO
    lifecycle.screen_result(store, cid, actor="t", result="pass", score=70)
    lifecycle.visit(store, cid, actor="t", notes="一层临街")
    events = lifecycle.history(store, cid)
    assert {e["at"] for e in events} == {ISO}
    assert get_candidate(store, cid).extra["visits"][-1]["at"] == ISO


def test_an_opened_station_is_verified_on_the_shanghai_date(store, frozen):
    (cid,) = add_candidates(store, [Candidate(
        name="红莲南里社区党群服务中心", lon=116.3292, lat=39.8787, geocode_precision="input",
        district="西城区", street="广安门外街道")])
    lifecycle.screen_result(store, cid, actor="t", result="pass", score=70)
    lifecycle.visit(store, cid, actor="t", notes="一层临街")
    lifecycle.agree(store, cid, actor="t")
    station = lifecycle.open_station(store, cid, actor="t")
    assert station.verified_on == date(2026, 1, 5)  # the UTC date is still the 4th


def test_screens_show_beijing_time_and_the_api_writes_the_offset(store, frozen):
    """The dashboard's history, visits and reports, and the API's audit and report answers."""
    from stations.worker_reports import add_report
    from webmap.app import create_app
    from webmap.auth import issue_token
    from webmap.testing import login
    from webmap.users import add_user

    (cid,) = add_candidates(store, [Candidate(
        name="红莲南里社区党群服务中心", lon=116.3292, lat=39.8787, geocode_precision="input",
        district="西城区", street="广安门外街道")])
    lifecycle.screen_result(store, cid, actor="t", result="pass", score=70)
    lifecycle.visit(store, cid, actor="t", notes="一层临街")
    lifecycle.agree(store, cid, actor="t")
    station = lifecycle.open_station(store, cid, actor="t")
    add_report(store, station.id, kind="closed", note="没开门", created_at=settings.wall_now())
    add_user(store, "admin", "correct horse battery staple", role="admin")
    app = create_app({"TESTING": True, "TILES": "none", "DATABASE_URL": store.url})
    client = app.test_client()
    login(client, "admin", "correct horse battery staple")
    for page in (f"/union/candidates/{cid}", f"/union/stations/{station.id}"):
        html = client.get(page).get_data(as_text=True)
        assert SHOWN in html, page
        assert "17:30:45" not in html and "+08:00" not in html  # not UTC, not raw ISO
    token = issue_token(store, "admin")
    audit_log = client.get(f"/api/audit?station={station.id}",
                           headers={"Authorization": f"Bearer {token}"}).get_json()
    assert {e["at"] for e in audit_log["events"]} == {ISO}
    app.extensions["nuanxin.store"].dispose()


#: Run in a subprocess under a given TZ: write a station and an audit row at a real "now",
#: then print how the product shows and writes that instant.
_PROBE = r"""
import json, sys, time
from stations import lifecycle, settings
from stations.candidates import Candidate, add_candidates
from stations.store import Store
store = Store(sys.argv[1]); store.init()
(cid,) = add_candidates(store, [Candidate(name="甲", lon=116.33, lat=39.88,
                                          geocode_precision="input")])
lifecycle.screen_result(store, cid, actor="t", result="pass", score=70)
event = lifecycle.history(store, cid)[-1]
print(json.dumps({"tz": time.tzname[0], "iso": event["at"],
                  "shown": settings.shown_time(event["at"])}))
"""


def _probe(zone: str, url: str) -> dict:
    env = {**os.environ, "TZ": zone, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _PROBE, url], env=env, capture_output=True,
                          text=True, timeout=120, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_same_local_display_whatever_the_servers_zone(tmp_path):
    """Two processes, one with ``TZ=UTC``, one with ``TZ=Asia/Shanghai``, write and show an
    instant: both answer Beijing time with ``+08:00``; the second reads the first's row the
    same way."""
    url = f"sqlite:///{tmp_path / 'tz.db'}"
    in_utc = _probe("UTC", url)
    in_shanghai = _probe("Asia/Shanghai", url)
    assert in_utc["tz"] == "UTC" and in_shanghai["tz"] == "CST"
    for answer in (in_utc, in_shanghai):
        assert answer["iso"].endswith("+08:00")
        assert answer["shown"] == datetime.fromisoformat(answer["iso"]).strftime(
            "%Y-%m-%d %H:%M:%S")
    first = datetime.fromisoformat(in_utc["iso"])
    second = datetime.fromisoformat(in_shanghai["iso"])
    assert abs((second - first).total_seconds()) < 120
    # the row the UTC process wrote, read back by the Shanghai process's history: same text
    env = {**os.environ, "TZ": "Asia/Shanghai", "PYTHONPATH": str(ROOT)}
    shown = subprocess.run(
        [sys.executable, "-c", "import sys; from stations import lifecycle, settings; "
         "from stations.store import Store; s = Store(sys.argv[1]); "
         "print(settings.shown_time(lifecycle.history(s, 1)[-1]['at']))", url],
        env=env, capture_output=True, text=True, timeout=120, check=True, cwd=ROOT)
    assert shown.stdout.strip() == in_utc["shown"]


def _clock_calls(path: Path) -> list[str]:
    """``datetime.now(...)``, ``datetime.utcnow()``, ``date.today()`` calls in a source file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("now", "utcnow", "today")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("datetime", "date")):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_only_settings_reads_the_clock():
    """Every other module takes "now" from :mod:`stations.settings` (one zone, one place)."""
    calls = [c for package in ("stations", "geodata", "webmap")
             for p in sorted((ROOT / package).rglob("*.py")) for c in _clock_calls(p)]
    assert [c.split(":")[0] for c in calls] == ["stations/settings.py"], calls
