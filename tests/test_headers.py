"""Issue 10 item 8: headers and sessions.

A Content-Security-Policy that allows only our own scripts (this origin, or inline tags with
the request's nonce) and the configured tile hosts for images; ``frame-ancestors 'none'``;
``X-Content-Type-Options: nosniff``; a ``Referrer-Policy``; session cookies ``HttpOnly``,
``SameSite=Lax`` and ``Secure`` when served over HTTPS; sessions that expire; CSRF on every
form (every POST route of the union dashboard and the public report form refuses a request
without a token with 400).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from stations.records import Station
from webmap import sessions
from webmap.app import create_app
from webmap.maps import TILE_PROVIDERS
from webmap.testing import csrf_token_from, login
from webmap.users import add_user

PASSWORD = "correct horse battery"


@pytest.fixture
def account(store):
    add_user(store, "guangwai", PASSWORD)
    store.add_stations([Station(name="头部驿站", lon=116.34, lat=39.879, code="H-1",
                                opening_hours="24/7")])
    return store


def _app(**config):
    return create_app({"TESTING": True, "TILES": "none", **config})


def _directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


# -- Content-Security-Policy -------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/", "/stations/1", "/union/login", "/api/stations",
                                 "/healthz", "/nothing-here", "/api/nothing-here"])
def test_every_answer_carries_the_security_headers(account, url):
    response = _app().test_client().get(url)
    policy = _directives(response.headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    script = policy["script-src"]
    assert script[0] == "'self'" and len(script) == 2 and script[1].startswith("'nonce-")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("url", ["/", "/stations/1", "/union/login"])
def test_every_inline_script_carries_this_requests_nonce(account, url):
    client = _app().test_client()
    first, second = client.get(url), client.get(url)
    nonces = []
    for response in (first, second):
        script = _directives(response.headers["Content-Security-Policy"])["script-src"]
        nonce = script[1].removeprefix("'nonce-").removesuffix("'")
        html = response.get_data(as_text=True)
        for attrs in re.findall(r"<script\b([^>]*)>", html):
            if "src=" in attrs or 'type="application/json"' in attrs:
                continue
            assert f'nonce="{nonce}"' in attrs, attrs
        assert not re.search(r"<script[^>]+src=\"(https?:)?//", html)  # no foreign scripts
        nonces.append(nonce)
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 16  # fresh per request


@pytest.mark.parametrize("tiles", ["none", "amap", "osm", "tianditu"])
def test_images_come_only_from_us_and_the_configured_tile_hosts(account, tiles):
    config = {"TILES": tiles, "TIANDITU_KEY": "browser-key-for-tests"} if tiles == "tianditu" \
        else {"TILES": tiles}
    app = _app(**config)
    policy = _directives(app.test_client().get("/").headers["Content-Security-Policy"])
    hosts = list(TILE_PROVIDERS[tiles].image_hosts)
    assert policy["img-src"] == ["'self'", "data:", "blob:", *hosts]
    others = {h for name, p in TILE_PROVIDERS.items() if name != tiles
              for h in p.image_hosts} - set(hosts)
    csp = app.test_client().get("/").headers["Content-Security-Policy"]
    assert not any(h in csp for h in others)
    # the tile hosts are for images only: never scripts, styles or connections
    for directive in ("script-src", "style-src", "connect-src", "default-src"):
        assert not set(hosts) & set(policy[directive])


def test_https_adds_strict_transport_security(account):
    plain = _app().test_client().get("/healthz")
    assert "Strict-Transport-Security" not in plain.headers
    secure = _app(SESSION_COOKIE_SECURE=True).test_client().get("/healthz")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


# -- session cookies ---------------------------------------------------------------------------
def _session_cookie(response) -> str:
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie")
                 if c.startswith("nuanxin_session=")]
    return cookie


def test_the_session_cookie_is_httponly_and_samesite_lax(account):
    cookie = _session_cookie(login(_app().test_client(), "guangwai", PASSWORD))
    attrs = [a.strip().lower() for a in cookie.split(";")]
    assert "httponly" in attrs and "samesite=lax" in attrs
    assert "secure" not in attrs  # plain HTTP in development


def test_the_session_cookie_is_secure_over_https(account, monkeypatch):
    monkeypatch.setenv("NUANXIN_SESSION_COOKIE_SECURE", "true")
    app = _app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    client = app.test_client()
    page = client.get("/union/login", base_url="https://localhost")
    response = client.post("/union/login", base_url="https://localhost", data={
        "username": "guangwai", "password": PASSWORD, "next": "",
        "csrf_token": csrf_token_from(page.get_data(as_text=True))},
        headers={"Referer": "https://localhost/union/login"})
    assert response.status_code == 302
    attrs = [a.strip().lower() for a in _session_cookie(response).split(";")]
    assert "secure" in attrs and "httponly" in attrs and "samesite=lax" in attrs


def test_httponly_cannot_be_switched_off(account):
    app = _app(SESSION_COOKIE_HTTPONLY=False)
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_production_refuses_cookies_over_plain_http(account):
    from webmap.config import ConfigError

    with pytest.raises(ConfigError, match="SESSION_COOKIE_SECURE"):
        create_app({"ENV": "production", "TILES": "none",
                    "SECRET_KEY": "k3y-for-tests-7f1c9a0b2e4d6f8a1c3e5b7d9f0a2c4e"})


# -- sessions expire ---------------------------------------------------------------------------
class _Clock:
    def __init__(self):
        self.now = datetime(2026, 1, 5, 0, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_sessions_expire_when_idle_and_after_their_lifetime(account, monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(sessions, "utcnow", clock)
    app = _app(SESSION_IDLE_SECONDS=600, SESSION_LIFETIME_SECONDS=3600)
    client = app.test_client()
    response = login(client, "guangwai", PASSWORD)
    expires = parsedate_to_datetime(
        next(a.split("=", 1)[1] for a in _session_cookie(response).split("; ")
             if a.lower().startswith("expires=")))
    assert timedelta(0) < expires - datetime.now(UTC) <= timedelta(seconds=3601)
    clock.now += timedelta(seconds=599)
    assert client.get("/union/").status_code == 200
    clock.now += timedelta(seconds=601)  # idle too long
    assert client.get("/union/").status_code == 302
    assert login(client, "guangwai", PASSWORD).status_code == 302
    for _ in range(6):  # busy, never idle: the lifetime still ends it
        clock.now += timedelta(seconds=590)
        assert client.get("/union/").status_code == 200
    clock.now += timedelta(seconds=590)
    assert client.get("/union/").status_code == 302


# -- CSRF on every form --------------------------------------------------------------------------
def _sample_url(app, rule) -> str:
    from flask import url_for
    from werkzeug.routing.converters import NumberConverter

    values = {name: 1 if isinstance(rule._converters[name], NumberConverter) else "csv"
              for name in rule.arguments}
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def _post_routes(app, prefix: str) -> list:
    return sorted((r for r in app.url_map.iter_rules()
                   if r.endpoint.startswith(prefix) and "POST" in r.methods),
                  key=lambda r: r.rule)


def test_every_union_post_route_refuses_a_request_without_a_csrf_token(account):
    app = _app()
    client = app.test_client()
    assert login(client, "guangwai", PASSWORD).status_code == 302
    routes = _post_routes(app, "union.")
    assert len(routes) >= 8  # login, logout, station edit/status, reports, candidates...
    refused = {}
    for rule in routes:
        url = _sample_url(app, rule)
        response = client.post(url, data={"status": "handled", "action": "close"})
        refused[rule.rule] = response.status_code
        assert "csrf" in response.get_data(as_text=True).lower(), rule.rule
    assert set(refused.values()) == {400}, refused
    assert client.get("/union/").status_code == 200  # still logged in: nothing happened


def test_every_union_post_route_refuses_a_wrong_csrf_token(account):
    app = _app()
    client = app.test_client()
    assert login(client, "guangwai", PASSWORD).status_code == 302
    for rule in _post_routes(app, "union."):
        response = client.post(_sample_url(app, rule), data={"csrf_token": "forged"})
        assert response.status_code == 400, rule.rule


def test_the_public_report_form_needs_its_csrf_token(account):
    from webmap.feedback import count_reports

    client = _app().test_client()
    response = client.post("/stations/1/report", data={"kind": "confirmed"})
    assert response.status_code == 400
    assert count_reports(account, status=None) == 0


def test_every_post_form_in_the_templates_carries_a_csrf_token():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "webmap" / "templates"
    missing = []
    for path in folder.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        for form in re.findall(r"<form\b[^>]*>.*?</form>", html, flags=re.S | re.I):
            if re.search(r"method=\"post\"", form, flags=re.I) and "csrf_token" not in form:
                missing.append(f"{path.relative_to(folder)}: {form[:80]}")
    assert missing == []
