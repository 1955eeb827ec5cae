"""Issue 10 item 5 (and item 6's fingerprint): rate limits that see the real client.

Flask-Limiter replaces the hand-written limiter. Anonymous worker reports are limited per
client (``REPORTS_PER_HOUR``), the API and the station page's form sharing one budget; over it
the API answers 429 in the error shape with ``Retry-After`` and the page shows a Chinese
message with 429. The client is the peer address, or with ``NUANXIN_TRUSTED_PROXIES=N`` the
N-th from the right of ``X-Forwarded-For`` (Werkzeug's ProxyFix), kept only as a salted hash
that rotates daily. The limiter's memory is bounded.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

import pytest
from limits import RateLimitItemPerHour
from limits.strategies import SlidingWindowCounterRateLimiter

from stations.records import Station
from webmap.app import create_app
from webmap.config import ConfigError
from webmap.security import (
    MAX_LIMIT_KEYS,
    BoundedMemoryStorage,
    client_fingerprint,
    storage_uri,
)
from webmap.testing import csrf_token_from, login
from webmap.users import add_user

ROOT = Path(__file__).resolve().parents[1]
PROXY = "10.0.0.1"  # the reverse proxy every request arrives from
ALICE, BOB = "203.0.113.7", "198.51.100.23"
PASSWORD = "correct horse battery"


@pytest.fixture
def station_id(store) -> int:
    (sid,) = store.add_stations([Station(name="限流驿站", lon=116.34, lat=39.879, code="RL-1",
                                         opening_hours="24/7")])
    return sid


def _app(**config):
    return create_app({"TESTING": True, "TILES": "none", "REPORTS_PER_HOUR": 2, **config})


def _client(app, forwarded_for: str | None = None, peer: str = PROXY):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = peer
    if forwarded_for is not None:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


def _report(client, sid: int):
    return client.post(f"/api/stations/{sid}/reports", json={"kind": "confirmed"})


def _spend(client, sid: int, n: int) -> list[int]:
    return [_report(client, sid).status_code for _ in range(n)]


# -- whose budget ----------------------------------------------------------------------------
def test_two_clients_behind_one_trusted_proxy_get_separate_budgets(station_id):
    app = _app(TRUSTED_PROXIES=1)
    alice, bob = _client(app, ALICE), _client(app, BOB)
    assert _spend(alice, station_id, 3) == [201, 201, 429]
    assert _spend(bob, station_id, 3) == [201, 201, 429]


def test_without_trusted_proxies_x_forwarded_for_is_ignored(station_id):
    app = _app()  # NUANXIN_TRUSTED_PROXIES=0, the default
    assert app.config["TRUSTED_PROXIES"] == 0
    alice, bob = _client(app, ALICE), _client(app, BOB)
    assert _spend(alice, station_id, 2) == [201, 201]
    assert _report(bob, station_id).status_code == 429  # one budget: the proxy's address
    assert _report(_client(app, "192.0.2.1"), station_id).status_code == 429


def test_a_client_cannot_buy_a_budget_by_writing_x_forwarded_for(station_id):
    """Only the entry our proxy appended counts; what the client wrote before it does not."""
    app = _app(TRUSTED_PROXIES=1)
    assert _spend(_client(app, f"192.0.2.1, {ALICE}"), station_id, 2) == [201, 201]
    assert _report(_client(app, f"192.0.2.99, {ALICE}"), station_id).status_code == 429
    assert _report(_client(app, ALICE), station_id).status_code == 429


def test_two_trusted_proxies_take_the_second_address_from_the_right(station_id):
    app = _app(TRUSTED_PROXIES=2)
    assert _spend(_client(app, f"{ALICE}, 10.0.0.2"), station_id, 2) == [201, 201]
    assert _report(_client(app, f"{ALICE}, 10.0.0.3"), station_id).status_code == 429
    assert _report(_client(app, f"{BOB}, 10.0.0.2"), station_id).status_code == 201


@pytest.mark.parametrize("value", [-1, 11, "two", 1.5, True],
                         ids=["negative", "too-many", "text", "fraction", "bool"])
def test_a_bad_trusted_proxies_setting_refuses_to_start(store, value):
    with pytest.raises(ConfigError, match="NUANXIN_TRUSTED_PROXIES"):
        _app(TRUSTED_PROXIES=value)


@pytest.mark.parametrize("value", [0, -5, "many", 2.5], ids=["zero", "negative", "text", "float"])
def test_a_bad_report_limit_refuses_to_start(store, value):
    with pytest.raises(ConfigError, match="NUANXIN_REPORTS_PER_HOUR"):
        _app(REPORTS_PER_HOUR=value)


def test_trusted_proxies_come_from_the_environment(store, monkeypatch, station_id):
    monkeypatch.setenv("NUANXIN_TRUSTED_PROXIES", "1")
    app = _app()
    assert app.config["TRUSTED_PROXIES"] == 1
    assert _spend(_client(app, ALICE), station_id, 3) == [201, 201, 429]
    assert _report(_client(app, BOB), station_id).status_code == 201


# -- what a refused client sees ------------------------------------------------------------------
def test_over_the_limit_is_429_in_the_json_error_shape_with_retry_after(station_id):
    app = _app()
    client = _client(app)
    _spend(client, station_id, 2)
    response = _report(client, station_id)
    assert response.status_code == 429
    body = response.get_json()
    assert set(body) == {"error", "detail"}
    assert "提交太频繁" in body["error"] and "2 per hour" in body["error"]
    retry = int(response.headers["Retry-After"])
    assert 1 <= retry <= 3600
    assert body["detail"] == {"limit": "2 per 1 hour", "retry_after": retry}


def test_a_refused_report_is_not_stored(store, station_id):
    from webmap.feedback import count_reports

    app = _app()
    _spend(_client(app), station_id, 5)
    assert count_reports(store, status=None) == 2


def test_the_station_page_form_shares_the_budget_and_answers_in_chinese(station_id):
    app = _app(TRUSTED_PROXIES=1)
    alice = _client(app, ALICE)
    url = f"/stations/{station_id}"
    token = csrf_token_from(alice.get(url).get_data(as_text=True))
    form = {"csrf_token": token, "kind": "confirmed", "note": ""}
    assert alice.post(url + "/report", data=form).status_code == 302
    assert _report(alice, station_id).status_code == 201  # the API counts in the same budget
    refused = alice.post(url + "/report", data=form)
    assert refused.status_code == 429
    assert refused.mimetype == "text/html"
    page = refused.get_data(as_text=True)
    assert "提交太频繁了" in page and "限流驿站" in page  # the station's page, with the message
    assert int(refused.headers["Retry-After"]) >= 1
    bob = _client(app, BOB)  # another worker behind the same proxy is not affected
    token = csrf_token_from(bob.get(url).get_data(as_text=True))
    assert bob.post(url + "/report", data=dict(form, csrf_token=token)).status_code == 302


def test_the_limit_follows_the_setting_and_each_app_counts_its_own(station_id):
    first, second = _app(), _app(REPORTS_PER_HOUR=3)
    assert _spend(_client(first), station_id, 3) == [201, 201, 429]
    assert _spend(_client(second), station_id, 4) == [201, 201, 201, 429]


def test_the_openapi_description_documents_the_report_limit(station_id):
    doc = _app().test_client().get("/api/openapi.json").get_json()
    op = doc["paths"]["/api/stations/{station_id}/reports"]["post"]
    assert "NUANXIN_REPORTS_PER_HOUR" in op["description"]
    assert "429" in op["description"] and "Retry-After" in op["description"]
    assert "429" in op["responses"]


# -- the login throttle sees the same client ------------------------------------------------
def test_login_throttle_counts_per_real_client_behind_the_proxy(store):
    add_user(store, "guangwai", PASSWORD)
    app = _app(TRUSTED_PROXIES=1, LOGIN_MAX_FAILURES=2)
    attacker, user = _client(app, ALICE), _client(app, BOB)
    assert [login(attacker, "guangwai", "wrong password!").status_code
            for _ in range(3)] == [401, 401, 429]
    assert login(user, "guangwai", PASSWORD).status_code == 302  # not a city-wide lockout


def test_without_trusted_proxies_the_login_throttle_ignores_x_forwarded_for(store):
    add_user(store, "guangwai", PASSWORD)
    app = _app(LOGIN_MAX_FAILURES=2)
    for forwarded in ("192.0.2.1", "192.0.2.2"):
        assert login(_client(app, forwarded), "guangwai", "wrong password!").status_code == 401
    assert login(_client(app, "192.0.2.3"), "guangwai", PASSWORD).status_code == 429


# -- the fingerprint ---------------------------------------------------------------------------
def test_the_client_fingerprint_is_a_salted_hash_that_rotates_daily(store):
    app = _app()
    other = _app(SECRET_KEY="another secret key, long enough: 0123456789")
    with app.test_request_context(environ_base={"REMOTE_ADDR": ALICE}):
        today = client_fingerprint()
        assert re.fullmatch(r"[0-9a-f]{32}", today) and ALICE not in today
        assert client_fingerprint(day=date(2025, 1, 1)) != client_fingerprint(
            day=date(2025, 1, 2))
        assert client_fingerprint(BOB) != today
        # one IPv6 subscriber network (/64) is one client; another /64 is another
        a = client_fingerprint("2001:db8:1:2::1")
        assert a == client_fingerprint("2001:db8:1:2:ffff::9")
        assert a != client_fingerprint("2001:db8:1:3::1")
        assert client_fingerprint("::ffff:203.0.113.7") == today
    with other.test_request_context(environ_base={"REMOTE_ADDR": ALICE}):
        assert client_fingerprint() != today  # salted with the secret key


def test_limit_keys_hold_no_raw_address(station_id):
    app = _app(TRUSTED_PROXIES=1)
    _spend(_client(app, ALICE), station_id, 1)
    storage = app.extensions["nuanxin.limits"]["limiter"].storage
    keys = list(storage.storage) + list(storage.events)
    assert keys and not any(ALICE in k or PROXY in k for k in keys)


def test_reports_store_no_client_address():
    from stations.schema import reports_table

    columns = {c.name for c in reports_table.columns}
    assert not columns & {"ip", "ip_address", "remote_addr", "client", "client_ip", "address",
                          "user_agent", "fingerprint"}


# -- bounded memory ----------------------------------------------------------------------------
def test_the_default_storage_is_bounded_memory(station_id):
    app = _app()
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    storage = app.extensions["nuanxin.limits"]["limiter"].storage
    assert isinstance(storage, BoundedMemoryStorage)
    assert storage.max_keys == MAX_LIMIT_KEYS
    assert storage_uri("memory://") == "nuanxin-memory://"
    assert storage_uri("redis://cache:6379/2") == "redis://cache:6379/2"  # shared stores as given


def test_bounded_memory_forgets_the_oldest_counters_first():
    storage = BoundedMemoryStorage("nuanxin-memory://", max_keys=50)
    limiter = SlidingWindowCounterRateLimiter(storage)
    item = RateLimitItemPerHour(3)
    for i in range(1000):
        assert limiter.hit(item, f"client-{i}")
        assert storage.size() <= 50
    assert all(limiter.hit(item, "client-999") for _ in range(2))
    assert not limiter.hit(item, "client-999")  # a recent client is still counted exactly


def test_bounded_memory_caps_moving_windows_too():
    from limits.strategies import MovingWindowRateLimiter

    storage = BoundedMemoryStorage("nuanxin-memory://", max_keys=20)
    limiter = MovingWindowRateLimiter(storage)
    for i in range(200):
        assert limiter.hit(RateLimitItemPerHour(2), f"client-{i}")
    assert storage.size() <= 20


# -- the hand-written limiter is gone --------------------------------------------------------
def test_the_hand_written_limiter_is_gone():
    import webmap.extensions
    import webmap.security

    assert not hasattr(webmap.security, "RateLimiter")
    assert not hasattr(webmap.extensions, "report_limiter")
    offenders = [str(p.relative_to(ROOT)) for package in ("stations", "geodata", "webmap")
                 for p in (ROOT / package).rglob("*.py")
                 if re.search(r"\bRateLimiter\(|class RateLimiter\b|report_limiter\(",
                              p.read_text(encoding="utf-8"))]
    assert offenders == []


# -- a real server -----------------------------------------------------------------------------
def _live_post(url: str, forwarded_for: str) -> int:
    request = urllib.request.Request(url, data=json.dumps({"kind": "confirmed"}).encode(),
                                     headers={"Content-Type": "application/json",
                                              "X-Forwarded-For": forwarded_for})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code


@pytest.mark.parametrize("trusted, bob_status", [(1, 201), (0, 429)], ids=["trusted", "ignored"])
def test_behind_waitress_the_proxy_setting_decides(station_id, trusted, bob_status):
    """waitress passes X-Forwarded-For on only when proxies are trusted (waitress_options)."""
    import threading

    from waitress import wasyncore
    from waitress.server import create_server

    from webmap.security import waitress_options

    app = _app(TRUSTED_PROXIES=trusted)
    server = create_server(app, host="127.0.0.1", port=0, threads=2, ident="nuanxin",
                           **waitress_options(app))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.effective_port}/api/stations/{station_id}/reports"
        assert [_live_post(url, ALICE) for _ in range(3)] == [201, 201, 429]
        assert _live_post(url, BOB) == bob_status
    finally:  # handler threads first, then every socket closed by the loop's own thread
        server.task_dispatcher.shutdown()
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        thread.join(timeout=5)
