"""Every setting of Nuanxin in one place: its environment variable, type, default and meaning.

Modelled on osmnx's ``settings`` module: one documented home, read by every other module
(no module reads ``os.environ`` itself). Two kinds live here:

* **Product constants** (module-level names below): the walking model, default radii. They are
  assumptions stated once; code and pages take them from here (the worker page too, through
  the web config), so a change shows everywhere at once.
* **Environment settings** (:data:`SETTINGS`): each is ``NUANXIN_<NAME>`` in the environment.
  :func:`get` reads the current environment every time (tests and the CLI may change it).
  Those marked ``web`` are also Flask configuration keys: the web app takes its defaults from
  here, then ``<instance>/nuanxin.cfg``, then the environment (:mod:`webmap.config`).

``.env.example`` lists the same variables for operators; ``tests/test_settings.py`` checks that
it names every one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

__all__ = [
    "TZ",
    "now",
    "wall_now",
    "local_time",
    "shown_time",
    "iso_time",
    "WALK_SPEED_KMH",
    "DETOUR_FACTOR",
    "DEFAULT_RADIUS_M",
    "DEFAULT_MIN_STATIONS",
    "Setting",
    "SETTINGS",
    "get",
    "web_defaults",
    "PREFIX",
]

# -- time -------------------------------------------------------------------------------------
#: The product's one time zone: stations, hours and "now" are Beijing time (no DST).
TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """The one aware "now" of the product (Asia/Shanghai)."""
    return datetime.now(TZ)


# -- the walking model ------------------------------------------------------------------------
#: Walking speed of a worker on foot, km/h (a common planning value for adults; slower
#: walkers take longer, so minutes shown are a lower bound for them).
WALK_SPEED_KMH = 4.5
#: Without a street network, walking distance = straight line × this factor (streets are not
#: straight). An assumption, erring towards "further": 1 km straight ≈ 1.3 km ≈ 17 minutes.
DETOUR_FACTOR = 1.3

# -- planning defaults ------------------------------------------------------------------------
#: Service radius of a station when none is given (metres, straight line): the standard's
#: "1 km, 15 minutes on foot" reach.
DEFAULT_RADIUS_M = 1000.0
#: 交叉覆盖: demand counts as multiply covered within reach of at least this many stations.
DEFAULT_MIN_STATIONS = 2

PREFIX = "NUANXIN_"


def _text(value: str) -> str:
    return value.strip()


def _json_or_text(value: str):
    """Flask's ``from_prefixed_env`` rule: JSON when it parses (true, 12, "x"), else text."""
    try:
        return json.loads(value)
    except ValueError:
        return value


@dataclass(frozen=True)
class Setting:
    """One environment setting (``NUANXIN_<name>``)."""

    name: str
    default: object
    doc: str
    parse: Callable[[str], object] = _text
    web: bool = False  # also a key of the Flask config

    @property
    def env(self) -> str:
        return PREFIX + self.name


def _settings(*items: Setting) -> dict[str, Setting]:
    return {s.name: s for s in items}


SETTINGS: dict[str, Setting] = _settings(
    # -- where things live
    Setting("DATABASE_URL", "", "The store: a SQLAlchemy URL, sqlite:///PATH or "
            "postgresql+psycopg://... (PostGIS). Empty: nuanxin.db in the instance folder."),
    Setting("INSTANCE", "", "The instance folder (secret key, nuanxin.cfg, default database). "
            "Empty: ./instance."),
    Setting("STANDARD", "", "A screening standard TOML file instead of the shipped one."),
    Setting("NETWORK", "", "A walking network (.osm, .osm.pbf, .gpkg) that nearest, coverage "
            "and siting walk on. Empty: straight line × DETOUR_FACTOR."),
    Setting("ACTOR", "", "Who the CLI acts as in the audit log (default: the login name)."),
    Setting("FLAGGED_RANK_PENALTY_M", 500.0, "Nearest ranks a station flagged by worker "
            "reports as if it were this many metres (straight line) farther; results still "
            "give true distances and a flagged station is never left out.", float),
    # -- geocoding
    Setting("GEOCODER", "", "Online geocoders tried before the offline one, comma-separated: "
            "amap, tianditu, baidu, nominatim. Empty: offline only."),
    Setting("AMAP_KEY", "", "Amap (高德) web-service key for NUANXIN_GEOCODER=amap."),
    Setting("TIANDITU_KEY", "", "Tianditu (天地图) key: geocoding, and browser key for "
            "NUANXIN_TILES=tianditu (visible in the page; restrict it by domain).", web=True),
    Setting("BAIDU_AK", "", "Baidu (百度) AK for NUANXIN_GEOCODER=baidu."),
    Setting("NOMINATIM_URL", "", "Base URL of a Nominatim server for NUANXIN_GEOCODER=nominatim."),
    # -- the web app: mode and secrets
    Setting("ENV", "development", "development (a secret key is generated once into the "
            "instance folder) or production (refuses insecure set-ups).", web=True),
    Setting("SECRET_KEY", None, "Signs session cookies; required in production (≥ 32 "
            "characters, not a placeholder).", web=True),
    Setting("SESSION_COOKIE_NAME", "nuanxin_session", "Name of the session cookie.", web=True),
    Setting("SESSION_COOKIE_HTTPONLY", True, "Session cookie hidden from scripts (always on).",
            _json_or_text, web=True),
    Setting("SESSION_COOKIE_SAMESITE", "Lax", "Lax or Strict.", web=True),
    Setting("SESSION_COOKIE_SECURE", False, "Send the session cookie over HTTPS only "
            "(required in production).", _json_or_text, web=True),
    Setting("WTF_CSRF_ENABLED", True, "CSRF protection of every form (must stay on in "
            "production).", _json_or_text, web=True),
    Setting("WTF_CSRF_TIME_LIMIT", 8 * 3600, "Seconds a form's CSRF token stays valid.",
            _json_or_text, web=True),
    Setting("MAX_CONTENT_LENGTH", 2 * 1024 * 1024, "Largest request body in bytes (uploads of "
            "candidate sheets).", _json_or_text, web=True),
    # -- the web app: maps
    Setting("TILES", "amap", "Basemap: amap (高德, GCJ-02), tianditu (WGS84, needs a key), osm, "
            "or none (the shipped outlines only, e.g. on an intranet).", web=True),
    Setting("MAP_CENTER", (116.3400, 39.8793), "Where the worker map opens, WGS84 lon,lat "
            "(default 广安门外街道, 西城区).", _text, web=True),
    Setting("MAP_ZOOM", 15, "Zoom the worker map opens at.", _json_or_text, web=True),
    Setting("MAP_MAX_FEATURES", 400, "Stations per map view before /api/stations groups them "
            "into counted cells.", _json_or_text, web=True),
    # -- the web app: limits
    Setting("REPORTS_PER_HOUR", 30, "Anonymous worker reports per client address per hour.",
            _json_or_text, web=True),
    Setting("LOGIN_MAX_FAILURES", 5, "Failed logins per (account, client address) before a "
            "lock of LOGIN_LOCK_SECONDS.", _json_or_text, web=True),
    Setting("LOGIN_LOCK_SECONDS", 300, "How long that lock lasts.", _json_or_text, web=True),
    Setting("LOGIN_ACCOUNT_MAX_FAILURES", 50, "Failed logins per account from every address "
            "within LOGIN_ACCOUNT_WINDOW_SECONDS (a slower ceiling against distributed "
            "guessing).", _json_or_text, web=True),
    Setting("LOGIN_ACCOUNT_WINDOW_SECONDS", 3600, "Window of that ceiling.", _json_or_text,
            web=True),
    Setting("LOGIN_CLIENT_MAX_FAILURES", 30, "Failed logins per client address across accounts "
            "(against password spraying).", _json_or_text, web=True),
    Setting("LOGIN_CLIENT_WINDOW_SECONDS", 3600, "Window of that ceiling.", _json_or_text,
            web=True),
    Setting("SESSION_IDLE_SECONDS", 2 * 3600, "A dashboard session ends after this long "
            "without a request.", _json_or_text, web=True),
    Setting("SESSION_LIFETIME_SECONDS", 12 * 3600, "...and this long after login, whatever "
            "happens.", _json_or_text, web=True),
    # -- the web app: clients behind proxies, rate-limit storage
    Setting("TRUSTED_PROXIES", 0, "How many reverse proxies stand in front of the app: the "
            "client address is then the N-th from the right of X-Forwarded-For (Werkzeug's "
            "ProxyFix). 0: X-Forwarded-For is ignored (the peer address is the client).",
            _json_or_text, web=True),
    Setting("REACH_LIMIT_M", 3000, "The worker page's reach on foot (metres of walking "
            "distance): when no station open at arrival is this close, the page says so "
            "plainly, offers the nearest anyway and the union's hotline (NUANXIN_HOTLINE).",
            _json_or_text, web=True),
    Setting("HOTLINE", "", "The union's hotline shown to a worker with no station in reach "
            "(e.g. 12351); blank: none shown.", web=True),
    Setting("OFFLINE_RADIUS_M", 5000, "Stations within this many metres of the worker are "
            "kept in full on the phone for offline use (the rest of the city coarsely, "
            "name, place and hours only).", _json_or_text, web=True),
    Setting("COVERAGE_M", 20000, "A point farther than this (metres, straight line) from "
            "every station in the store is outside its coverage area: nearest answers say "
            "so (outside_coverage) instead of naming a station that far away.",
            _json_or_text),
    # -- keeping the map true (issue 13; the rule is documented in stations/trust.py)
    Setting("TRUST_REPORTS", 3, "A station is flagged when this many distinct clients report "
            "the same problem within NUANXIN_TRUST_WINDOW_DAYS.", _json_or_text),
    Setting("TRUST_WINDOW_DAYS", 7, "Days within which those reports must fall.",
            _json_or_text),
    Setting("UNVERIFIED_DAYS", 180, "A station neither inspected by the union nor confirmed "
            "\"still correct\" by workers for this many days is shown as unverified.",
            _json_or_text),
    Setting("GONE_VISIBLE_DAYS", 30, "A closed station stays on the worker map, marked closed "
            "with its reason, for this many days after it closed.", _json_or_text),
    Setting("PUBLIC_URL", "http://127.0.0.1:5000", "The public base URL of the worker pages: "
            "QR plaques link to <PUBLIC_URL>/stations/<id>. Set it before printing plaques."),
    Setting("RATELIMIT_STORAGE_URI", "memory://", "Where Flask-Limiter keeps its counts: "
            "memory:// (this process; bounded, see webmap/security.py) or a shared store such "
            "as redis://HOST:6379 when several processes serve the app.", web=True),
)


def get(name: str, env: Mapping[str, str] | None = None):
    """The current value of setting ``name``: ``NUANXIN_<name>`` parsed, else its default.

    ``env`` replaces ``os.environ`` (tests, or a mapping a caller was given).
    """
    setting = SETTINGS[name]
    raw = (os.environ if env is None else env).get(setting.env)
    if raw is None or not str(raw).strip():
        return setting.default
    return setting.parse(str(raw))


def instance_dir() -> Path:
    """The instance folder (``NUANXIN_INSTANCE`` or ``./instance``), created on demand."""
    path = Path(get("INSTANCE") or Path.cwd() / "instance")
    path.mkdir(parents=True, exist_ok=True)
    return path


def web_defaults() -> dict[str, object]:
    """The Flask config defaults: every ``web`` setting's default, plus derived ones."""
    out = {s.name: s.default for s in SETTINGS.values() if s.web}
    out["DATABASE_URL"] = None  # None → stations.config.database_url()
    out["JSON_AS_ASCII"] = False
    return out


def wall_now() -> datetime:
    """Now, aware (Asia/Shanghai), to the second: what every timestamp the product writes is
    made from (``created_at``, ``updated_at``, audit ``at``, visit notes' ``at``...).

    The store keeps such values as UTC (:class:`stations.schema.UTCDateTime`, which refuses a
    naive time) and gives them back aware; :func:`shown_time` and :func:`iso_time` show them
    in Beijing time whatever the server's own zone. (The name stays from when this was a
    naive wall time; it is aware since issue 11.)
    """
    return now().replace(microsecond=0)


def local_time(value: datetime | str | None) -> datetime | None:
    """A timestamp as an aware Asia/Shanghai time (``None`` stays ``None``).

    ``value`` may be aware (any zone), ISO text with or without an offset, or naive: a time
    without an offset is Beijing wall time (what the product wrote before issue 11, and what
    ``open_at`` without an offset means).
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=TZ)
    return value.astimezone(TZ)


def shown_time(value: datetime | str | None, *, seconds: bool = True) -> str:
    """The one way a timestamp is shown to people — screens, exports, Excel reports:
    ``2026-11-30 12:48:55`` in Beijing time (``""`` for none)."""
    when = local_time(value)
    if when is None:
        return ""
    return when.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def iso_time(value: datetime | str | None) -> str | None:
    """A timestamp for the API and JSON: ISO 8601 in Beijing time with its offset,
    ``2026-11-30T12:48:55+08:00`` (``None`` for none)."""
    when = local_time(value)
    return None if when is None else when.isoformat(timespec="seconds")
