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
    The rate limiters: anonymous worker reports per client (:func:`report_limiter`) and the
    login throttle (:func:`login_throttle`), rebuilt when their settings change.
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
from flask_wtf.csrf import CSRFProtect

from geodata.nearest.snapshot import SnapshotCache
from stations.store import Store
from webmap.planning import EXTENSION_KEY as PLANNING_KEY
from webmap.planning import PlanningCache
from webmap.security import RateLimiter
from webmap.sessions import LoginThrottle, Rule

__all__ = ["csrf", "store", "limits", "snapshot_cache", "get_store", "report_limiter",
           "login_throttle", "snapshots", "planning_cache", "init_app"]

csrf = CSRFProtect()


class StoreExtension:
    """Opens (and initialises) the store named by ``DATABASE_URL`` for an app."""

    key = "nuanxin.store"

    def init_app(self, app: Flask) -> None:
        handle = Store(app.config.get("DATABASE_URL") or None)
        handle.init()
        app.extensions[self.key] = handle


class Limits:
    """Per-app rate limiters, rebuilt when the settings they read change."""

    key = "nuanxin.limits"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def init_app(self, app: Flask) -> None:
        app.extensions[self.key] = {}

    def _state(self) -> dict:
        return current_app.extensions[self.key]

    def reports(self) -> RateLimiter:
        per_hour = int(current_app.config["REPORTS_PER_HOUR"])
        with self._lock:
            state = self._state()
            limiter = state.get("reports")
            if limiter is None or limiter.limit != per_hour:
                limiter = state["reports"] = RateLimiter(per_hour, 3600)
        return limiter

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


def report_limiter() -> RateLimiter:
    """The running app's limiter of anonymous worker reports (per client, per hour)."""
    return limits.reports()


def login_throttle() -> LoginThrottle:
    """The running app's login throttle."""
    return limits.login()


def planning_cache():
    """The running app's :class:`webmap.planning.PlanningCache`."""
    return current_app.extensions[Planning.key]


def snapshots() -> SnapshotCache:
    """The running app's station snapshot cache."""
    return current_app.extensions[Snapshots.key]
