"""The Flask application factory.

``create_app()`` reads the configuration (:mod:`webmap.config`: defaults → instance file →
``NUANXIN_*``), opens the store (``NUANXIN_DATABASE_URL``), and registers the three
blueprints — the public worker pages (``/``, ``/stations/<id>``), the union dashboard
(``/union/``) and the JSON API (``/api``) — plus CSRF protection, security headers and the one
error handler. ``nuanxin serve`` runs it under waitress.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

from stations.config import instance_path
from stations.limits import ID_MAX, ID_MIN
from webmap import api, api_writes, extensions, public, union, vendor  # noqa: F401
from webmap.compression import register_compression
from webmap.config import load_config
from webmap.errors import StrictJSONProvider, register_error_handlers
from webmap.extensions import get_store
from webmap.security import register_security, trust_proxies

__all__ = ["create_app", "get_store"]


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: ASCII digits, an id the store can hold (1 … 2**31 − 1).

    Werkzeug's own converter takes any number of (Unicode) digits; a 20-digit id then
    overflows the database driver. Out of range, the route does not match: 404.
    """

    regex = r"[0-9]{1,10}"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = ID_MIN,  # noqa: A002
                 max: int | None = ID_MAX, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _register_template_helpers(app: Flask) -> None:
    from stations.amenities import AMENITY_LABELS_ZH
    from stations.records import ACCESS_LABELS_ZH, HOST_TYPE_LABELS_ZH, STATUS_LABELS_ZH

    app.jinja_env.globals.update(
        AMENITY_LABELS_ZH=AMENITY_LABELS_ZH, ACCESS_LABELS_ZH=ACCESS_LABELS_ZH,
        HOST_TYPE_LABELS_ZH=HOST_TYPE_LABELS_ZH, STATUS_LABELS_ZH=STATUS_LABELS_ZH)
    # every timestamp on a page: Beijing time, one format (stations.settings.shown_time)
    from stations.settings import shown_time

    app.jinja_env.filters["shown_time"] = shown_time


def create_app(test_config: dict | None = None) -> Flask:
    """Build the web app.

    Parameters
    ----------
    test_config : dict, optional
        Overrides applied after every other source (tests pass ``TESTING``, ``DATABASE_URL``,
        ``TILES``...).

    Raises
    ------
    webmap.config.ConfigError
        For an unusable or, in production mode, insecure configuration.
    """
    app = Flask(__name__, instance_path=str(instance_path().resolve()),
                instance_relative_config=True)
    app.json = StrictJSONProvider(app)
    app.url_map.converters["int"] = IdConverter  # before any route is registered
    load_config(app, test_config)
    trust_proxies(app)  # NUANXIN_TRUSTED_PROXIES=N: ProxyFix(x_for=N) → request.remote_addr
    extensions.init_app(app)  # store, CSRF, rate limits, station snapshot, planning cache
    vendor.install()
    register_error_handlers(app)
    register_security(app)
    register_compression(app)  # issue 14: a phone on slow 3G downloads a third
    _register_template_helpers(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(api.bp, url_prefix="/api")
    app.register_blueprint(union.bp, url_prefix="/union")
    extensions.csrf.exempt(api.bp)  # JSON only (see api.py); no cookies are read there
    return app
