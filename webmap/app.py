"""The Flask application factory.

``create_app()`` reads the configuration (:mod:`webmap.config`: defaults → instance file →
``NUANXIN_*``), opens the store (``NUANXIN_DATABASE_URL``), and registers the three
blueprints — the public worker pages (``/``, ``/stations/<id>``), the union dashboard
(``/union/``) and the JSON API (``/api``) — plus CSRF protection, security headers and the one
error handler. ``nuanxin serve`` runs it under waitress.
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_wtf.csrf import CSRFProtect

from stations.config import instance_path
from stations.store import Store

__all__ = ["create_app", "get_store"]

_STORE_KEY = "nuanxin.store"


def get_store() -> Store:
    """The store of the running app."""
    return current_app.extensions[_STORE_KEY]


def _register_template_helpers(app: Flask) -> None:
    from stations.amenities import AMENITY_LABELS_ZH
    from stations.records import ACCESS_LABELS_ZH, HOST_TYPE_LABELS_ZH, STATUS_LABELS_ZH

    app.jinja_env.globals.update(
        AMENITY_LABELS_ZH=AMENITY_LABELS_ZH, ACCESS_LABELS_ZH=ACCESS_LABELS_ZH,
        HOST_TYPE_LABELS_ZH=HOST_TYPE_LABELS_ZH, STATUS_LABELS_ZH=STATUS_LABELS_ZH)


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
    from webmap import api, public, union, vendor
    from webmap.config import load_config
    from webmap.errors import register_error_handlers
    from webmap.security import register_security

    app = Flask(__name__, instance_path=str(instance_path().resolve()),
                instance_relative_config=True)
    load_config(app, test_config)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    store = Store(app.config.get("DATABASE_URL") or None)
    store.init()
    app.extensions[_STORE_KEY] = store
    vendor.install()
    CSRFProtect(app)
    register_error_handlers(app)
    register_security(app)
    _register_template_helpers(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(api.bp, url_prefix="/api")
    app.register_blueprint(union.bp, url_prefix="/union")
    app.extensions["csrf"].exempt(api.bp)  # JSON only (see api.py); no cookies are read there
    return app
