"""One "now": Asia/Shanghai from :mod:`stations.settings`, whatever the server's zone.

Naive store columns hold Shanghai wall time made by :func:`stations.settings.wall_now`;
session rows hold the same instant in UTC (:func:`webmap.sessions.utcnow`).
"""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from stations import lifecycle, settings
from stations.candidates import Candidate, add_candidates, get_candidate
from stations.records import Station
from webmap import sessions

ROOT = Path(__file__).resolve().parents[1]
#: 17:30:45 UTC on the 4th is 01:30:45 on the 5th in Beijing (a UTC server's naive
#: ``datetime.now()`` would have stored the 4th).
INSTANT = datetime(2026, 1, 4, 17, 30, 45, 123456, tzinfo=UTC)
SHANGHAI_WALL = datetime(2026, 1, 5, 1, 30, 45)


@pytest.fixture
def frozen(monkeypatch):
    """``settings.now`` pinned to :data:`INSTANT` (seen in Shanghai, as the real one is)."""
    monkeypatch.setattr(settings, "now", lambda: INSTANT.astimezone(settings.TZ))
    return INSTANT


def test_now_is_aware_shanghai():
    current = settings.now()
    assert current.tzinfo is not None and current.utcoffset().total_seconds() == 8 * 3600


def test_wall_now_is_naive_shanghai_wall_time_to_the_second(frozen):
    assert settings.wall_now() == SHANGHAI_WALL
    assert settings.wall_now().tzinfo is None


def test_session_clock_is_the_same_instant_in_utc(frozen):
    assert sessions.utcnow() == INSTANT
    assert sessions.utcnow().tzinfo is UTC


def test_stored_timestamps_are_shanghai_wall_time(store, frozen):
    (cid,) = add_candidates(store, [Candidate(name="红莲南里社区党群服务中心", lon=116.3292,
                                              lat=39.8787, geocode_precision="input")])
    candidate = get_candidate(store, cid)
    assert candidate.created_at == candidate.updated_at == SHANGHAI_WALL
    (sid,) = store.add_stations([Station(name="广外驿站", lon=116.34, lat=39.88)])
    assert store.get_station(sid).created_at == SHANGHAI_WALL
    lifecycle.screen_result(store, cid, actor="t", result="pass", score=70)
    lifecycle.visit(store, cid, actor="t", notes="一层临街")
    events = lifecycle.history(store, cid)
    assert {e["at"] for e in events} == {SHANGHAI_WALL.isoformat()}
    assert get_candidate(store, cid).extra["visits"][-1]["at"] == SHANGHAI_WALL.isoformat()


def test_an_opened_station_is_verified_on_the_shanghai_date(store, frozen):
    (cid,) = add_candidates(store, [Candidate(
        name="红莲南里社区党群服务中心", lon=116.3292, lat=39.8787, geocode_precision="input",
        district="西城区", street="广安门外街道")])
    lifecycle.screen_result(store, cid, actor="t", result="pass", score=70)
    lifecycle.visit(store, cid, actor="t", notes="一层临街")
    lifecycle.agree(store, cid, actor="t")
    station = lifecycle.open_station(store, cid, actor="t")
    assert station.verified_on == date(2026, 1, 5)  # the UTC date is still the 4th


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
