"""Configuration of the web app: defaults → instance file → ``NUANXIN_*`` environment.

Every variable is declared once, with its type, default and meaning, in
:mod:`stations.settings` (and listed for operators in ``.env.example``). Values from the
environment go through :meth:`flask.Config.from_prefixed_env` (``NUANXIN_TILES=none`` →
``TILES = "none"``, ``NUANXIN_SESSION_COOKIE_SECURE=true`` → ``True``).

Secrets
-------
There is no default ``SECRET_KEY``. In development/demo mode (``NUANXIN_ENV`` unset or
``development``) one is generated once and kept in ``<instance>/secret_key`` (mode 0600), so
sessions survive restarts. In production mode (``NUANXIN_ENV=production``) the app refuses
to start unless ``NUANXIN_SECRET_KEY`` is set, at least 32 characters and not a placeholder,
``NUANXIN_SESSION_COOKIE_SECURE=true`` (cookies over HTTPS only), and debug/testing are off.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from stations.errors import NuanxinError
from stations.settings import web_defaults

__all__ = [
    "DEFAULTS",
    "TILE_CHOICES",
    "ENVIRONMENTS",
    "ConfigError",
    "load_config",
    "check_config",
    "secret_key_for",
]

TILE_CHOICES = ("amap", "tianditu", "osm", "none")
ENVIRONMENTS = ("development", "production")

#: Defaults, from the one settings module (:mod:`stations.settings`: each ``web`` setting is
#: named, typed and documented there); each can be overridden by the instance file
#: ``<instance>/nuanxin.cfg`` (Python syntax) and then by ``NUANXIN_<NAME>`` in the environment.
DEFAULTS: dict[str, object] = {
    **web_defaults(),
    # The cookie's own expiry; check_config sets it to SESSION_LIFETIME_SECONDS.
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
}

#: Settings that must be positive numbers (seconds or counts).
_POSITIVE_NUMBERS = (
    "LOGIN_MAX_FAILURES", "LOGIN_LOCK_SECONDS", "LOGIN_ACCOUNT_MAX_FAILURES",
    "LOGIN_ACCOUNT_WINDOW_SECONDS", "LOGIN_CLIENT_MAX_FAILURES", "LOGIN_CLIENT_WINDOW_SECONDS",
    "SESSION_IDLE_SECONDS", "SESSION_LIFETIME_SECONDS",
)

_PLACEHOLDER_SECRETS = {
    "dev", "secret", "changeme", "change-me", "change_me", "please-change-me", "password",
    "nuanxin", "test", "default", "secret-key", "secret_key", "insecure", "development",
}


class ConfigError(NuanxinError, ValueError):
    """The configuration cannot run (unknown tile provider, insecure production set-up...)."""


def secret_key_for(instance: Path) -> str:
    """The development secret in ``instance/secret_key``, created (0600) on first use."""
    path = Path(instance) / "secret_key"
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if len(key) >= 32:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    return key


def _weak_secret(key: str) -> str | None:
    if len(key) < 32:
        return f"太短 (only {len(key)} characters; need ≥ 32)"
    if key.strip().lower() in _PLACEHOLDER_SECRETS or len(set(key)) < 8:
        return "是占位符或过于简单 (a placeholder or trivially guessable value)"
    return None


def check_config(config) -> None:
    """Normalise and validate a loaded config in place; raise :class:`ConfigError`.

    Parameters
    ----------
    config : flask.Config
        The app's config after defaults, instance file, environment and test overrides.
    """
    env = str(config.get("ENV") or "development").strip().lower()
    if env not in ENVIRONMENTS:
        raise ConfigError(f"NUANXIN_ENV={env!r} 无效 (invalid); use one of: "
                          + ", ".join(ENVIRONMENTS))
    config["ENV"] = env
    tiles = str(config.get("TILES") or "none").strip().lower()
    if tiles not in TILE_CHOICES:
        raise ConfigError(f"NUANXIN_TILES={tiles!r} 不是可用的底图 (unknown tile provider); "
                          f"use one of: {', '.join(TILE_CHOICES)}")
    config["TILES"] = tiles
    key = config.get("TIANDITU_KEY")
    config["TIANDITU_KEY"] = "" if key is None else str(key).strip()
    if tiles == "tianditu" and not config["TIANDITU_KEY"]:
        raise ConfigError("天地图底图需要密钥 (NUANXIN_TILES=tianditu needs NUANXIN_TIANDITU_KEY); "
                          "get one at console.tianditu.gov.cn, or set NUANXIN_TILES=amap|osm|none")
    samesite = config.get("SESSION_COOKIE_SAMESITE")
    if samesite not in ("Lax", "Strict"):
        raise ConfigError(f"SESSION_COOKIE_SAMESITE={samesite!r}: use Lax or Strict")
    config["SESSION_COOKIE_HTTPONLY"] = True
    _check_limits(config)
    if env == "production":
        _check_production(config)


def _check_limits(config) -> None:
    for name in _POSITIVE_NUMBERS:
        value = config.get(name)
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        count = name.endswith("FAILURES")
        if isinstance(value, bool) or not number >= (1 if count else 1e-3) \
                or number == float("inf"):
            raise ConfigError(f"NUANXIN_{name}={value!r} 无效 (must be a positive "
                              f"{'whole number' if count else 'number of seconds'})")
        config[name] = int(number) if count else number
    # the cookie lives as long as the session may; the store decides when it really ends
    config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=config["SESSION_LIFETIME_SECONDS"])


def _check_production(config) -> None:
    problems = []
    key = config.get("SECRET_KEY")
    if not key:
        problems.append("NUANXIN_SECRET_KEY 未设置 (not set; generate one with "
                        "`python -c 'import secrets; print(secrets.token_hex(32))'`)")
    else:
        weak = _weak_secret(str(key))
        if weak:
            problems.append(f"NUANXIN_SECRET_KEY {weak}")
    if not config.get("SESSION_COOKIE_SECURE"):
        problems.append("NUANXIN_SESSION_COOKIE_SECURE 必须为 true (serve over HTTPS; cookies "
                        "must not travel in clear text)")
    if config.get("DEBUG") or config.get("TESTING"):
        problems.append("生产模式不能开启 DEBUG/TESTING (debug/testing must be off in production)")
    if not config.get("WTF_CSRF_ENABLED", True):
        problems.append("生产模式不能关闭 CSRF 保护 (WTF_CSRF_ENABLED must stay on)")
    if problems:
        raise ConfigError("拒绝以不安全的配置启动 (refusing an insecure production set-up): "
                          + "; ".join(problems), detail=problems)


def load_config(app, test_config: dict | None = None) -> None:
    """Fill ``app.config``: defaults → instance file → ``NUANXIN_*`` env → ``test_config``.

    Then validate (:func:`check_config`) and, outside production, provide the persisted
    development secret when none was configured.
    """
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("nuanxin.cfg", silent=True)
    app.config.from_prefixed_env("NUANXIN")
    if test_config:
        app.config.from_mapping(test_config)
    check_config(app.config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key_for(Path(app.instance_path))
    center = app.config.get("MAP_CENTER")
    if isinstance(center, str):
        center = tuple(float(v) for v in center.split(","))
    app.config["MAP_CENTER"] = (float(center[0]), float(center[1]))
