"""The web app's extensions, each created here and initialised by the factory.

The cookiecutter-flask layout: this module creates every extension object; ``create_app``
calls each ``init_app(app)``; blueprints import what they need from here, never from
:mod:`webmap.app` (so the app module can import its blueprints at the top without a cycle).
Per-app state lives in ``app.extensions`` — no blueprint module keeps ``global`` state:

``nuanxin.store``
    The :class:`stations.store.Store` (``DATABASE_URL``): :func:`get_store`.
``csrf``
    Flask-WTF's ``CSRFProtect`` (every form POST; the JSON API is exempt).
``nuanxin.limits``
    This app's Flask-Limiter (:func:`rate_limiter`; storage ``RATELIMIT_STORAGE_URI``, clients
    by :func:`webmap.security.client_fingerprint`) with the per-route limit of anonymous
    worker reports (:func:`report_limit`, ``REPORTS_PER_HOUR`` per client, shared by the API
    and the station page's form; over it: 429 with ``Retry-After``), and the login throttle
    (:func:`login_throttle`), rebuilt when its settings change.
``nuanxin.planning``
    Recent coverage/siting answers and the one computation slot (:mod:`webmap.planning`).
``nuanxin.snapshots``
    The station snapshot (:class:`geodata.nearest.snapshot.SnapshotCache`): every station of
    the current store version, read once and shared by the nearest index, the map catalogue
    and planning (:func:`snapshots`).
"""

from __future__ import annotations

import threading

from flask import Flask, current_app
from flask_limiter import Limiter, RateLimitExceeded
from flask_wtf.csrf import CSRFProtect

from geodata.nearest.snapshot import SnapshotCache
from stations.store import Store
from webmap.config import ConfigError
from webmap.errors import error_response
from webmap.planning import EXTENSION_KEY as PLANNING_KEY
from webmap.planning import PlanningCache
from webmap.security import client_fingerprint, retry_seconds, storage_uri
from webmap.sessions import LoginThrottle, Rule

__all__ = ["csrf", "store", "limits", "snapshot_cache", "get_store", "rate_limiter",
           "report_limit", "retry_after", "login_throttle", "snapshots", "planning_cache",
           "init_app"]

csrf = CSRFProtect()


class StoreExtension:
    """Opens (and initialises) the store named by ``DATABASE_URL`` for an app."""

    key = "nuanxin.store"

    def init_app(self, app: Flask) -> None:
        handle = Store(app.config.get("DATABASE_URL") or None)
        handle.init()
        app.extensions[self.key] = handle


class Limits:
    """This app's Flask-Limiter and login throttle.

    One :class:`flask_limiter.Limiter` per app (Flask-Limiter keeps its storage on the
    instance, so apps built by tests never share counts). Limits live where they are
    enforced: :func:`report_limit` is entered by :func:`webmap.feedback.submit_report`, the
    one way a worker's report comes in, so the API and the page share one budget per client.
    """

    key = "nuanxin.limits"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def init_app(self, app: Flask) -> None:
        per_hour = app.config.get("REPORTS_PER_HOUR")
        if isinstance(per_hour, bool) or not isinstance(per_hour, int) or per_hour < 1:
            raise ConfigError(f"NUANXIN_REPORTS_PER_HOUR={per_hour!r} 无效 (invalid): a whole "
                              "number of reports per client per hour, at least 1")
        limiter = Limiter(client_fingerprint, storage_uri=storage_uri(
                              app.config.get("RATELIMIT_STORAGE_URI")),
                          strategy="sliding-window-counter", key_prefix="nuanxin",
                          headers_enabled=False)
        limiter.init_app(app)
        app.extensions[self.key] = {"limiter": limiter}
        app.register_error_handler(RateLimitExceeded, _rate_limited)

    def _state(self) -> dict:
        return current_app.extensions[self.key]

    def limiter(self) -> Limiter:
        return self._state()["limiter"]

    def reports(self):
        """The per-client limit of anonymous worker reports (a context manager)."""
        return self.limiter().shared_limit(_reports_per_hour, scope="reports",
                                           error_message=_reports_message)

    def login(self) -> LoginThrottle:
        config = current_app.config
        rules = (Rule(config["LOGIN_MAX_FAILURES"], config["LOGIN_LOCK_SECONDS"]),
                 Rule(config["LOGIN_ACCOUNT_MAX_FAILURES"],
                      config["LOGIN_ACCOUNT_WINDOW_SECONDS"]),
                 Rule(config["LOGIN_CLIENT_MAX_FAILURES"], config["LOGIN_CLIENT_WINDOW_SECONDS"]))
        with self._lock:
            state = self._state()
            throttle = state.get("login")
            if throttle is None or throttle.rules != rules:
                throttle = state["login"] = LoginThrottle(*rules)
        return throttle


class Planning:
    """The app's planning answers cache and computation slot (:mod:`webmap.planning`)."""

    key = PLANNING_KEY

    def init_app(self, app: Flask) -> None:
        app.extensions[self.key] = PlanningCache()


class Snapshots:
    """The app's station snapshot cache (bounded; keyed on the store's stations version)."""

    key = "nuanxin.snapshots"

    def init_app(self, app: Flask) -> None:
        app.extensions[self.key] = SnapshotCache()


store = StoreExtension()
limits = Limits()
snapshot_cache = Snapshots()
planning = Planning()


def init_app(app: Flask) -> None:
    """Initialise every extension on ``app`` (called once by the factory)."""
    store.init_app(app)
    csrf.init_app(app)
    limits.init_app(app)
    snapshot_cache.init_app(app)
    planning.init_app(app)


def get_store() -> Store:
    """The store of the running app."""
    return current_app.extensions[StoreExtension.key]


def rate_limiter() -> Limiter:
    """The running app's Flask-Limiter."""
    return limits.limiter()


def report_limit():
    """``with report_limit(): ...`` counts one anonymous worker report of this client.

    Raises :class:`flask_limiter.RateLimitExceeded` (answered 429) over ``REPORTS_PER_HOUR``.
    """
    return limits.reports()


def _reports_per_hour() -> str:
    return f"{int(current_app.config['REPORTS_PER_HOUR'])} per hour"


def _reports_message() -> str:
    per_hour = int(current_app.config["REPORTS_PER_HOUR"])
    return (f"提交太频繁，每小时最多 {per_hour} 条反馈，请稍后再试 (too many reports from this "
            f"client: at most {per_hour} per hour; try again later)")


def retry_after() -> int:
    """Seconds until this request's breached limit has room again (for ``Retry-After``)."""
    current = limits.limiter().current_limit
    return retry_seconds(current.reset_at if current is not None else None)


def _rate_limited(exc: RateLimitExceeded):
    """429 in the error shape, with ``Retry-After`` (seconds until the window has room)."""
    retry = retry_after()
    response = error_response(429, exc.description, {
        "limit": str(exc.limit.limit), "retry_after": retry})
    body, status = response if isinstance(response, tuple) else (response, 429)
    return body, status, {"Retry-After": str(retry)}


def login_throttle() -> LoginThrottle:
    """The running app's login throttle."""
    return limits.login()


def planning_cache():
    """The running app's :class:`webmap.planning.PlanningCache`."""
    return current_app.extensions[Planning.key]


def snapshots() -> SnapshotCache:
    """The running app's station snapshot cache."""
    return current_app.extensions[Snapshots.key]
