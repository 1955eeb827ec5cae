"""Dashboard sessions end when they should, and login guesses are throttled per client.

Real app, real SQLite store, the real login form. Time moves through ``webmap.sessions.utcnow``
(no sleeping); concurrency is real threads against the test client and against werkzeug's
threaded server.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.serving import make_server

from stations.errors import StoreError
from webmap import sessions, users
from webmap.app import create_app
from webmap.sessions import hash_session_id
from webmap.testing import csrf_token_from, login
from webmap.users import add_user, remove_user, set_password

PASSWORD = "correct horse battery"
COOKIE = "nuanxin_session"


class Clock:
    """A settable aware-UTC clock standing in for :func:`webmap.sessions.utcnow`."""

    def __init__(self):
        self.now = datetime(2026, 1, 5, 0, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def account(store):
    add_user(store, "guangwai", PASSWORD)
    return store


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(sessions, "utcnow", fake)
    return fake


def _app(**config):
    return create_app({"TESTING": True, "TILES": "none", **config})


def _client(app, addr: str = "127.0.0.1"):
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = addr
    return c


def _logout(c) -> None:
    token = csrf_token_from(c.get("/union/").get_data(as_text=True))
    assert c.post("/union/logout", data={"csrf_token": token}).status_code == 302


def _sid_of(c) -> str:
    """The session id inside the (signed) cookie of a test client."""
    with c.session_transaction() as s:
        return s["sid"]


def _locked_out(response) -> bool:
    return response.status_code == 429 and int(response.headers["Retry-After"]) >= 1


# -- logout, password change, removal ------------------------------------------------------
def test_a_cookie_captured_before_logout_is_refused_after_it(account):
    app = _app()
    c = _client(app)
    assert login(c, "guangwai", PASSWORD).status_code == 302
    captured = c.get_cookie(COOKIE).value
    _logout(c)
    thief = app.test_client()
    thief.set_cookie(COOKIE, captured)
    response = thief.get("/union/")
    assert response.status_code == 302 and "/union/login" in response.headers["Location"]
    assert thief.post("/union/stations/1/status", data={"action": "close"}).status_code in (
        400, 401)


def test_logout_revokes_the_row_in_the_store(account):
    c = _client(_app())
    login(c, "guangwai", PASSWORD)
    row = account.get_session(hash_session_id(_sid_of(c)))
    assert row["revoked"] is False and row["created_at"].tzinfo is not None
    _logout(c)
    after = account.get_session(row["token_hash"])
    assert after["revoked"] is True and after["revoked_at"] >= row["created_at"]


def test_the_store_never_holds_the_session_id_itself(account):
    c = _client(_app())
    login(c, "guangwai", PASSWORD)
    sid = _sid_of(c)
    assert len(sid) >= 40 and account.get_session(sid) is None
    assert account.get_session(hash_session_id(sid)) is not None


def test_logging_in_again_ends_the_browsers_previous_session(account):
    app = _app()
    c = _client(app)
    login(c, "guangwai", PASSWORD)
    first = _sid_of(c)
    login(c, "guangwai", PASSWORD)
    assert _sid_of(c) != first
    assert account.get_session(hash_session_id(first))["revoked"] is True
    assert c.get("/union/").status_code == 200


def test_two_browsers_have_separate_sessions(account):
    app = _app()
    phone, desk = _client(app), _client(app)
    login(phone, "guangwai", PASSWORD)
    login(desk, "guangwai", PASSWORD)
    _logout(phone)
    assert phone.get("/union/").status_code == 302
    assert desk.get("/union/").status_code == 200


def test_a_password_change_ends_every_session_even_a_captured_cookie(account):
    app = _app()
    c = _client(app)
    login(c, "guangwai", PASSWORD)
    sid = _sid_of(c)
    set_password(account, "guangwai", "another long password")
    assert account.get_session(hash_session_id(sid))["revoked"] is True
    assert c.get("/union/").status_code == 302
    assert login(c, "guangwai", "another long password").status_code == 302
    assert c.get("/union/").status_code == 200


def test_removing_the_user_ends_their_sessions(account):
    app = _app()
    c = _client(app)
    login(c, "guangwai", PASSWORD)
    sid = _sid_of(c)
    remove_user(account, "guangwai")
    assert account.get_session(hash_session_id(sid)) is None
    assert c.get("/union/").status_code == 302


def test_a_new_user_with_a_recycled_id_does_not_inherit_a_session(account):
    app = _app()
    c = _client(app)
    login(c, "guangwai", PASSWORD)
    captured = c.get_cookie(COOKIE).value
    remove_user(account, "guangwai")
    add_user(account, "guangwai", PASSWORD)
    thief = app.test_client()
    thief.set_cookie(COOKIE, captured)
    assert thief.get("/union/").status_code == 302


# -- idle timeout and absolute lifetime ----------------------------------------------------
def test_idle_sessions_end(account, clock):
    app = _app(SESSION_IDLE_SECONDS=600, SESSION_LIFETIME_SECONDS=3600)
    c = _client(app)
    login(c, "guangwai", PASSWORD)
    for _ in range(3):  # activity keeps it alive past the idle limit in total
        clock.advance(590)
        assert c.get("/union/").status_code == 200
    clock.advance(601)
    response = c.get("/union/")
    assert response.status_code == 302 and "/union/login" in response.headers["Location"]


def test_sessions_end_at_their_absolute_lifetime_however_busy(account, clock):
    app = _app(SESSION_IDLE_SECONDS=600, SESSION_LIFETIME_SECONDS=1800)
    c = _client(app)
    login(c, "guangwai", PASSWORD)
    sid = _sid_of(c)
    for _ in range(3):
        clock.advance(500)
        assert c.get("/union/").status_code == 200
    clock.advance(299)  # 1799 s after login
    assert c.get("/union/").status_code == 200
    clock.advance(2)
    assert c.get("/union/").status_code == 302
    assert account.get_session(hash_session_id(sid))["revoked"] is True


def test_default_limits_are_two_hours_idle_and_twelve_hours_in_all(account, clock):
    app = _app()
    assert app.config["SESSION_IDLE_SECONDS"] == 7200
    assert app.config["SESSION_LIFETIME_SECONDS"] == 43200
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)
    c = _client(app)
    login(c, "guangwai", PASSWORD)
    clock.advance(7199)
    assert c.get("/union/").status_code == 200
    clock.advance(7201)
    assert c.get("/union/").status_code == 302


def test_expired_sessions_are_purged_at_the_next_login(account, clock):
    app = _app(SESSION_LIFETIME_SECONDS=1800, SESSION_IDLE_SECONDS=600)
    old = _client(app)
    login(old, "guangwai", PASSWORD)
    sid = _sid_of(old)
    clock.advance(1801)
    login(_client(app), "guangwai", PASSWORD)
    assert account.get_session(hash_session_id(sid)) is None


# -- login throttling ----------------------------------------------------------------------
def test_guesses_from_elsewhere_do_not_lock_the_user_out_of_their_own_address(account):
    app = _app()
    attacker = _client(app, "203.0.113.9")
    for _ in range(5):
        assert login(attacker, "guangwai", "wrong password!!").status_code == 401
    refused = login(attacker, "guangwai", PASSWORD)
    assert _locked_out(refused) and "登录失败次数过多" in refused.get_data(as_text=True)
    assert attacker.get("/union/").status_code == 302
    user = _client(app, "198.51.100.7")
    assert login(user, "guangwai", PASSWORD).status_code == 302
    assert user.get("/union/").status_code == 200


def test_an_account_has_a_ceiling_across_every_address(account):
    app = _app(LOGIN_ACCOUNT_MAX_FAILURES=6)
    for n in range(3):
        c = _client(app, f"203.0.113.{n + 1}")
        for _ in range(2):
            assert login(c, "guangwai", "wrong password!!").status_code == 401
    assert _locked_out(login(_client(app, "198.51.100.7"), "guangwai", PASSWORD))
    add_user(account, "other", PASSWORD)  # other accounts are not affected
    assert login(_client(app, "198.51.100.7"), "other", PASSWORD).status_code == 302


def test_one_address_has_a_ceiling_across_accounts(account):
    app = _app(LOGIN_CLIENT_MAX_FAILURES=4)
    sprayer = _client(app, "203.0.113.9")
    for name in ("alice", "bob", "carol", "dave"):
        assert login(sprayer, name, "Winter2026!!").status_code == 401
    assert _locked_out(login(sprayer, "guangwai", PASSWORD))
    assert login(_client(app, "198.51.100.7"), "guangwai", PASSWORD).status_code == 302


def test_a_successful_login_clears_its_own_failures(account):
    app = _app(LOGIN_MAX_FAILURES=3)
    c = _client(app)
    for _ in range(3):
        for _ in range(2):
            assert login(c, "guangwai", "wrong password!!").status_code == 401
        assert login(c, "guangwai", PASSWORD).status_code == 302


def test_an_error_while_checking_is_not_counted_as_a_guess(account, monkeypatch):
    app = _app(LOGIN_MAX_FAILURES=1)
    c = _client(app)

    def broken(*_args, **_kwargs):
        raise StoreError("database went away")

    monkeypatch.setattr(users, "authenticate", broken)
    try:
        response = login(c, "guangwai", PASSWORD)
    except StoreError:
        pass  # propagated under test
    else:
        assert response.status_code == 503
    monkeypatch.undo()
    assert login(c, "guangwai", PASSWORD).status_code == 302


def _counting_authenticate(monkeypatch) -> list[str]:
    """Replace ``users.authenticate`` with a slow, counting wrapper; the list of calls."""
    calls: list[str] = []
    lock = threading.Lock()
    real = users.authenticate

    def counting(store, username, password):
        with lock:
            calls.append(password)
        time.sleep(0.05)  # widen the window between the check and the count
        return real(store, username, password)

    monkeypatch.setattr(users, "authenticate", counting)
    return calls


def _run_together(n: int, work) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return results


def test_32_concurrent_guesses_on_the_test_client_evaluate_at_most_five(account, monkeypatch):
    app = _app(WTF_CSRF_ENABLED=False)
    calls = _counting_authenticate(monkeypatch)

    def guess(i: int) -> int:
        return _client(app, "203.0.113.9").post("/union/login", data={
            "username": "guangwai", "password": f"guess number {i:03d}"}).status_code

    statuses = _run_together(32, guess)
    assert len(calls) == 5
    assert sorted(statuses) == [401] * 5 + [429] * 27


@contextmanager
def _threaded_server(app):
    """The app under werkzeug's threaded WSGI server on a free port; its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="werkzeug-test", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_32_concurrent_guesses_on_a_threaded_server_evaluate_at_most_five(account, monkeypatch):
    app = _app(WTF_CSRF_ENABLED=False)
    calls = _counting_authenticate(monkeypatch)
    with _threaded_server(app) as url:
        def guess(i: int) -> int:
            body = urllib.parse.urlencode({"username": "guangwai",
                                           "password": f"guess number {i:03d}"}).encode()
            try:
                with urllib.request.urlopen(url + "/union/login", data=body,
                                            timeout=30) as response:
                    return response.status
            except urllib.error.HTTPError as exc:
                exc.close()
                return exc.code

        statuses = _run_together(32, guess)
    assert len(calls) == 5
    assert sorted(statuses) == [401] * 5 + [429] * 27


# -- where login sends you -----------------------------------------------------------------
@pytest.mark.parametrize("target", [
    "/union/\r\nSet-Cookie: pwned=1", "/union\nLocation: https://evil.example/", "/union/\r",
    "\r\n", "/union/%0d%0a", "//evil.example/union", "/\\evil.example", "/\t/evil.example",
    "https://evil.example/union/", "javascript:alert(1)", "union/stations", "/union/\x00",
    "/union/\u0085", "/" + "a" * 5000,
], ids=["crlf-header", "lf-location", "cr", "only-crlf", "encoded-crlf", "scheme-relative",
        "backslash", "tab", "absolute", "javascript", "relative", "nul", "nel", "overlong"])
def test_login_next_is_never_a_500_and_never_leaves_the_site(account, target):
    c = _client(_app())
    page = c.get("/union/login", query_string={"next": target})
    assert page.status_code == 200
    token = csrf_token_from(page.get_data(as_text=True))
    response = c.post("/union/login", data={"username": "guangwai", "password": PASSWORD,
                                            "csrf_token": token, "next": target})
    assert response.status_code == 302
    location = response.headers["Location"]
    if target == "/union/%0d%0a":  # encoded: a harmless local path
        assert location == target
    else:
        assert location == "/union/"
    assert "\r" not in location and "\n" not in location and "pwned" not in response.headers.get(
        "Set-Cookie", "")


def test_login_next_keeps_a_local_path_with_its_query(account):
    c = _client(_app())
    target = "/union/stations?q=鸭子桥&status=open"
    page = c.get("/union/login", query_string={"next": target}).get_data(as_text=True)
    assert 'name="next" value="/union/stations?q=鸭子桥&amp;status=open"' in page
    response = c.post("/union/login", data={"username": "guangwai", "password": PASSWORD,
                                            "csrf_token": csrf_token_from(page), "next": target})
    assert response.status_code == 302
    assert urllib.parse.unquote(response.headers["Location"]) == target


def test_the_login_page_does_not_echo_a_bad_next(account):
    html = _client(_app()).get("/union/login?next=https://evil.example/").get_data(as_text=True)
    assert "evil.example" not in html
