"""The parts under the dashboard sessions: the login throttle, the store's session rows, the
settings."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from stations.store import Store
from webmap.app import create_app
from webmap.config import ConfigError
from webmap.sessions import Attempt, LoginThrottle, Rule

T0 = datetime(2026, 1, 5, 0, 30, tzinfo=UTC)


class Ticks:
    """A settable monotonic clock for the throttle."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _throttle(pair=(3, 60), account=(10, 600), client=(10, 600), **kw) -> LoginThrottle:
    kw.setdefault("clock", Ticks())
    return LoginThrottle(Rule(*pair), Rule(*account), Rule(*client), **kw)


# -- the throttle --------------------------------------------------------------------------
def test_the_pair_window_slides_and_says_when_to_retry():
    ticks = Ticks()
    t = _throttle(clock=ticks)
    for at in (1000, 1010, 1020):
        ticks.now = at
        assert t.reserve("guangwai", "10.0.0.1").allowed
    ticks.now = 1030
    refused = t.reserve("guangwai", "10.0.0.1")
    assert not refused.allowed and refused.retry_after == pytest.approx(30)
    assert refused.retry_seconds == 30
    ticks.now = 1060  # the first failure slides out
    assert t.reserve("guangwai", "10.0.0.1").allowed
    refused = t.reserve("guangwai", "10.0.0.1")
    assert not refused.allowed and refused.retry_seconds == 10


def test_refused_attempts_are_not_counted():
    ticks = Ticks()
    t = _throttle(pair=(2, 60), clock=ticks)
    t.reserve("a", "x"), t.reserve("a", "x")
    for _ in range(50):
        assert not t.reserve("a", "x").allowed
    assert t.count("a", "x") == (2, 2, 2)


def test_other_clients_keep_their_own_budget_under_the_account_ceiling():
    t = _throttle(pair=(2, 60), account=(5, 600))
    for _ in range(2):
        assert t.reserve("guangwai", "203.0.113.9").allowed
    assert not t.reserve("guangwai", "203.0.113.9").allowed
    assert t.reserve("guangwai", "198.51.100.7").allowed
    assert t.count("guangwai", "198.51.100.7") == (1, 3, 1)


def test_success_clears_the_pair_but_not_other_clients_failures():
    t = _throttle(pair=(3, 60), account=(4, 600))
    for _ in range(2):
        t.reserve("guangwai", "203.0.113.9")
    t.reserve("guangwai", "10.0.0.1")
    ok = t.reserve("guangwai", "10.0.0.1")
    t.succeeded(ok)
    # the pair starts afresh; its earlier failure still counts for the account and the
    # address (else logging in to one's own account would reset a password sprayer's budget)
    assert t.count("guangwai", "10.0.0.1") == (0, 3, 1)
    assert t.count("guangwai", "203.0.113.9") == (2, 3, 2)


def test_release_gives_the_attempt_back_everywhere():
    t = _throttle()
    t.reserve("guangwai", "10.0.0.1")
    attempt = t.reserve("guangwai", "10.0.0.1")
    t.release(attempt)
    assert t.count("guangwai", "10.0.0.1") == (1, 1, 1)
    t.release(Attempt(False))  # a refused attempt: nothing to give back
    assert t.count("guangwai", "10.0.0.1") == (1, 1, 1)


def test_concurrent_reservations_never_pass_the_limit():
    t = LoginThrottle(Rule(5, 300), Rule(50, 3600), Rule(30, 3600))
    barrier = threading.Barrier(64)
    allowed: list[bool] = []

    def go():
        barrier.wait(timeout=10)
        allowed.append(t.reserve("guangwai", "203.0.113.9").allowed)

    threads = [threading.Thread(target=go) for _ in range(64)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    assert sum(allowed) == 5 and len(allowed) == 64


def test_memory_is_bounded():
    t = _throttle(pair=(3, 60), max_keys=100)
    for n in range(5000):
        t.reserve(f"user{n}", f"10.0.{n // 256}.{n % 256}")
        t.reserve("x" * 10_000, "y" * 10_000)  # long names are hashed, addresses cut
    assert all(len(window) <= 100 for window in t._windows)
    assert all(len(key) < 200 for window in t._windows for key in window)
    assert all(len(events) <= rule.limit
               for window, rule in zip(t._windows, t.rules, strict=True)
               for events in window.values())


def test_rules_refuse_nonsense():
    with pytest.raises(ValueError, match="limit"):
        Rule(0, 60)
    with pytest.raises(ValueError, match="window"):
        Rule(5, 0)


# -- the store's session rows --------------------------------------------------------------
@pytest.fixture
def backend(backend_store) -> Store:
    """An initialised, empty store on each backend (conftest.backend_store)."""
    return backend_store


def test_session_rows_round_trip_as_aware_utc(backend):
    from webmap.users import add_user

    uid = add_user(backend, "guangwai", "correct horse battery")["id"]
    beijing = T0.astimezone(ZoneInfo("Asia/Shanghai"))
    sid = backend.add_session("ab" * 32, uid, now=beijing)
    row = backend.get_session("ab" * 32)
    assert row["id"] == sid and row["user_id"] == uid and row["revoked"] is False
    assert row["created_at"] == T0 and row["created_at"].tzinfo is not None
    backend.touch_session(sid, now=T0 + timedelta(minutes=5))
    backend.touch_session(sid, now=T0 + timedelta(minutes=1))  # never backwards
    assert backend.get_session("ab" * 32)["last_seen_at"] == T0 + timedelta(minutes=5)
    assert backend.revoke_session(sid, now=T0 + timedelta(minutes=6))
    assert not backend.revoke_session(sid, now=T0 + timedelta(minutes=7))
    backend.touch_session(sid, now=T0 + timedelta(minutes=8))  # a revoked session stays put
    row = backend.get_session("ab" * 32)
    assert row["revoked"] and row["revoked_at"] == T0 + timedelta(minutes=6)
    assert row["last_seen_at"] == T0 + timedelta(minutes=5)


def test_naive_session_times_are_refused(backend):
    with pytest.raises(ValueError, match="timezone-aware"):
        backend.add_session("cd" * 32, 1, now=datetime(2026, 1, 5, 8, 30))


def test_revoke_all_of_a_user_and_purge_old_rows(backend):
    from webmap.users import add_user

    a = add_user(backend, "alice", "correct horse battery")["id"]
    b = add_user(backend, "bobby", "correct horse battery")["id"]
    backend.add_session("01" * 32, a, now=T0)
    backend.add_session("02" * 32, a, now=T0 + timedelta(hours=1))
    backend.add_session("03" * 32, b, now=T0)
    assert backend.revoke_user_sessions(a, now=T0 + timedelta(hours=2)) == 2
    assert backend.get_session("03" * 32)["revoked"] is False
    assert backend.purge_sessions(created_before=T0 + timedelta(minutes=30)) == 2
    assert backend.get_session("01" * 32) is None and backend.get_session("03" * 32) is None
    assert backend.get_session("02" * 32) is not None
    assert backend.delete_user_sessions(a) == 1


# -- settings ------------------------------------------------------------------------------
def test_session_and_throttle_settings_come_from_the_environment(store, monkeypatch):
    monkeypatch.setenv("NUANXIN_SESSION_IDLE_SECONDS", "900")
    monkeypatch.setenv("NUANXIN_SESSION_LIFETIME_SECONDS", "3600")
    monkeypatch.setenv("NUANXIN_LOGIN_ACCOUNT_MAX_FAILURES", "20")
    app = create_app({"TESTING": True, "TILES": "none"})
    assert app.config["SESSION_IDLE_SECONDS"] == 900
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=1)
    assert app.config["LOGIN_ACCOUNT_MAX_FAILURES"] == 20


@pytest.mark.parametrize("name, value", [
    ("SESSION_IDLE_SECONDS", 0), ("SESSION_LIFETIME_SECONDS", -5),
    ("SESSION_IDLE_SECONDS", "two hours"), ("LOGIN_MAX_FAILURES", 0),
    ("LOGIN_CLIENT_WINDOW_SECONDS", None), ("LOGIN_ACCOUNT_MAX_FAILURES", True),
    ("SESSION_LIFETIME_SECONDS", float("inf")),
], ids=["zero-idle", "negative-lifetime", "words", "zero-failures", "missing", "bool", "inf"])
def test_bad_settings_are_refused_by_name(store, name, value):
    with pytest.raises(ConfigError, match=f"NUANXIN_{name}"):
        create_app({"TESTING": True, "TILES": "none", name: value})
