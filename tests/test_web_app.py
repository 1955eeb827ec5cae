"""The app factory: configuration sources, secrets, production refusal, headers, errors."""

from __future__ import annotations

import os
import stat

import pytest

from webmap.app import create_app, get_store
from webmap.config import ConfigError

STRONG = "k3Y-" + "a1b2c3d4e5f6g7h8i9j0" * 2


@pytest.fixture
def app(store):
    return create_app({"TESTING": True, "TILES": "none", "DATABASE_URL": store.url})


def test_factory_uses_the_store_named_by_the_environment(store):
    app = create_app({"TESTING": True})
    with app.app_context():
        assert get_store().url == store.url


def test_environment_overrides_defaults(store, monkeypatch):
    monkeypatch.setenv("NUANXIN_TILES", "osm")
    monkeypatch.setenv("NUANXIN_MAP_ZOOM", "12")
    app = create_app()
    assert app.config["TILES"] == "osm"
    assert app.config["MAP_ZOOM"] == 12


def test_instance_file_sits_between_defaults_and_environment(store, monkeypatch, tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    (instance / "nuanxin.cfg").write_text('TILES = "osm"\nMAP_ZOOM = 11\n', encoding="utf-8")
    monkeypatch.setenv("NUANXIN_INSTANCE", str(instance))
    monkeypatch.setenv("NUANXIN_MAP_ZOOM", "13")
    app = create_app()
    assert app.config["TILES"] == "osm"  # from the instance file
    assert app.config["MAP_ZOOM"] == 13  # the environment wins


def test_development_secret_is_generated_once_and_kept_private(store, tmp_path):
    first = create_app({"TESTING": True})
    second = create_app({"TESTING": True})
    key_file = tmp_path / "instance" / "secret_key"
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 32
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


@pytest.mark.parametrize("overrides, match", [
    ({}, "NUANXIN_SECRET_KEY 未设置"),
    ({"SECRET_KEY": "short"}, "太短"),
    ({"SECRET_KEY": "changeme" * 5, "SESSION_COOKIE_SECURE": True}, "过于简单|占位符"),
    ({"SECRET_KEY": STRONG}, "SESSION_COOKIE_SECURE"),
    ({"SECRET_KEY": STRONG, "SESSION_COOKIE_SECURE": True, "WTF_CSRF_ENABLED": False}, "CSRF"),
], ids=["no-secret", "short-secret", "placeholder", "insecure-cookie", "csrf-off"])
def test_production_refuses_insecure_setups(store, overrides, match):
    with pytest.raises(ConfigError, match=match):
        create_app({"ENV": "production", **overrides})


def test_production_starts_when_secure(store, monkeypatch):
    monkeypatch.setenv("NUANXIN_ENV", "production")
    monkeypatch.setenv("NUANXIN_SECRET_KEY", STRONG)
    monkeypatch.setenv("NUANXIN_SESSION_COOKIE_SECURE", "true")
    app = create_app()
    assert app.config["SECRET_KEY"] == STRONG
    assert app.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("overrides, match", [
    ({"TILES": "google"}, "unknown tile provider"),
    ({"TILES": "tianditu"}, "NUANXIN_TIANDITU_KEY"),
    ({"ENV": "staging"}, "NUANXIN_ENV"),
    ({"SESSION_COOKIE_SAMESITE": "None"}, "Lax or Strict"),
], ids=["tiles", "tianditu-key", "env", "samesite"])
def test_bad_configuration_is_refused_with_the_fix(store, overrides, match):
    with pytest.raises(ConfigError, match=match):
        create_app({"TESTING": True, **overrides})


def test_session_cookie_flags(app):
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_healthz(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_security_headers_and_nonce_on_pages(app):
    response = app.test_client().get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp and "'unsafe-inline'" not in csp.split(";")[1]
    assert "connect-src 'self'" in csp
    nonce = csp.split("'nonce-")[1].split("'")[0]
    html = response.get_data(as_text=True)
    inline = [chunk for chunk in html.split("<script")[1:] if "src=" not in chunk.split(">")[0]
              and 'type="application/json"' not in chunk.split(">")[0]]
    assert inline and all(f'nonce="{nonce}"' in chunk.split(">")[0] for chunk in inline)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_tile_hosts_only_in_img_src(store):
    app = create_app({"TESTING": True, "TILES": "amap"})
    csp = app.test_client().get("/healthz").headers["Content-Security-Policy"]
    img = next(part for part in csp.split(";") if part.strip().startswith("img-src"))
    assert "https://*.is.autonavi.com" in img
    assert "autonavi" not in csp.replace(img, "")


def test_unknown_route_is_json_404_under_api_and_html_elsewhere(app):
    client = app.test_client()
    api = client.get("/api/nothing-here")
    assert api.status_code == 404 and set(api.get_json()) == {"error", "detail"}
    page = client.get("/nothing-here")
    assert page.status_code == 404 and "没有找到" in page.get_data(as_text=True)


def test_wrong_method_is_405_json(app):
    response = app.test_client().delete("/api/stations")
    assert response.status_code == 405
    assert set(response.get_json()) == {"error", "detail"}
