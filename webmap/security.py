"""Response hardening: a per-request CSP nonce, security headers, who the client is.

The Content-Security-Policy allows scripts only from this origin or inline ``<script>`` tags
carrying the request's nonce, so even text that slipped past escaping could not run an inline
handler such as ``onerror=``. Styles may be inline (Leaflet positions everything that way);
images may also come from the configured tile provider; the browser talks to no one else.
Every answer also carries ``frame-ancestors 'none'`` (and ``X-Frame-Options: DENY``),
``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin`` and, when cookies are
HTTPS-only (``NUANXIN_SESSION_COOKIE_SECURE``), ``Strict-Transport-Security``.

The client
----------
Behind ``NUANXIN_TRUSTED_PROXIES=N`` reverse proxies, :func:`trust_proxies` wraps the app in
Werkzeug's ``ProxyFix(x_for=N)``, so ``request.remote_addr`` is the N-th address from the
right of ``X-Forwarded-For`` (the one our own outermost proxy saw). With ``0`` (the default)
that header is ignored: anyone can write it. Rate limits and the login throttle key on
:func:`client_fingerprint`: an HMAC of that address (an IPv6 address by its /64 network) with
the secret key and today's date (Asia/Shanghai), so the key rotates daily and no raw address
is kept, in memory or in a shared limit store.

Rate-limit memory
-----------------
Flask-Limiter keeps its counts in ``NUANXIN_RATELIMIT_STORAGE_URI``. ``memory://`` (the default)
is :class:`BoundedMemoryStorage`: limits' in-process memory storage, whose counters expire with
their window, holding at most :data:`MAX_LIMIT_KEYS` counters (the oldest are dropped first,
which can only make a limit more lenient, never lock anyone out). The sliding-window-counter
strategy keeps two counters per client and limit. Several processes need a shared store
(``redis://...``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
import threading
import time

from flask import Flask, current_app, g, request
from limits.storage import MemoryStorage
from werkzeug.middleware.proxy_fix import ProxyFix

from stations import settings
from webmap.config import ConfigError

__all__ = ["csp_nonce", "register_security", "trust_proxies", "trusted_proxies",
           "waitress_options", "gunicorn_options", "client_address",
           "client_fingerprint", "storage_uri", "BoundedMemoryStorage", "MAX_LIMIT_KEYS",
           "MAX_TRUSTED_PROXIES", "retry_seconds"]

#: Counters the in-process rate-limit storage holds at most (about 20 MB).
MAX_LIMIT_KEYS = 50_000
#: More reverse proxies than this in front of one app is a configuration mistake.
MAX_TRUSTED_PROXIES = 10


def csp_nonce() -> str:
    """This request's nonce for inline ``<script nonce=...>`` tags."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def _policy(nonce: str, image_hosts: tuple[str, ...]) -> str:
    images = " ".join(("'self'", "data:", "blob:") + tuple(image_hosts))
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self' 'unsafe-inline'",
        f"img-src {images}",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def register_security(app: Flask) -> None:
    """Add the headers to every response and ``csp_nonce()`` to templates."""
    from webmap.maps import TILE_PROVIDERS

    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def _headers(response):
        hosts = TILE_PROVIDERS[current_app.config["TILES"]].image_hosts
        response.headers.setdefault("Content-Security-Policy", _policy(csp_nonce(), hosts))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(), "
                                    "microphone=()")
        if current_app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


# -- the client ------------------------------------------------------------------------------
def trusted_proxies(config) -> int:
    """``TRUSTED_PROXIES`` of a config, checked: a whole number from 0 to the maximum.

    Raises
    ------
    webmap.config.ConfigError
        For anything else.
    """
    value = config.get("TRUSTED_PROXIES", 0)
    try:
        count = int(value) if not isinstance(value, bool) and float(value) == int(value) else -1
    except (TypeError, ValueError, OverflowError):
        count = -1
    if not 0 <= count <= MAX_TRUSTED_PROXIES:
        raise ConfigError(
            f"NUANXIN_TRUSTED_PROXIES={value!r} 无效 (invalid): the number of reverse proxies in "
            f"front of the app, a whole number from 0 to {MAX_TRUSTED_PROXIES}")
    return count


def trust_proxies(app: Flask) -> None:
    """Apply ``NUANXIN_TRUSTED_PROXIES=N``: ``ProxyFix(x_for=N)`` around the app (N > 0)."""
    count = trusted_proxies(app.config)
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count)


#: Serving settings (README.md, "Serving"): open connections one process holds at most (more
#: wait in the listen backlog), the backlog itself, and seconds an idle keep-alive connection
#: is kept.
CONNECTION_LIMIT = 1000
BACKLOG = 2048
IDLE_TIMEOUT_S = 60


def waitress_options(app: Flask) -> dict:
    """waitress options matching :func:`trust_proxies`, plus the serving settings.

    waitress drops ``X-Forwarded-*`` headers itself (``clear_untrusted_proxy_headers``); with
    trusted proxies they must reach ProxyFix, without any they are dropped at the door.
    ``poll()`` instead of ``select()`` so more than 1,024 sockets never crash the loop.
    """
    return {"clear_untrusted_proxy_headers": not trusted_proxies(app.config),
            "connection_limit": CONNECTION_LIMIT, "backlog": BACKLOG,
            "channel_timeout": IDLE_TIMEOUT_S, "asyncore_use_poll": True}


def gunicorn_options(app: Flask, *, host: str, port: int, workers: int, threads: int) -> dict:
    """gunicorn settings for ``nuanxin serve --workers N`` (pre-fork, threaded workers).

    gunicorn never rewrites ``REMOTE_ADDR`` from ``X-Forwarded-For``: the app's ProxyFix
    (:func:`trust_proxies`) alone decides, exactly as under waitress. Only TLS-scheme headers
    are trusted, and only from loopback (gunicorn's default), when proxies are trusted at all.
    """
    proxied = trusted_proxies(app.config) > 0
    return {"bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            "workers": workers, "worker_class": "gthread", "threads": threads,
            "worker_connections": CONNECTION_LIMIT, "backlog": BACKLOG,
            "keepalive": IDLE_TIMEOUT_S, "timeout": 120, "graceful_timeout": 30,
            "reuse_port": True,
            "forwarded_allow_ips": "127.0.0.1,::1" if proxied else "",
            "proc_name": "nuanxin", "accesslog": None, "errorlog": "-", "loglevel": "warning"}


def client_address() -> str:
    """The client's address: the peer, or what our trusted proxies saw (:func:`trust_proxies`)."""
    return request.remote_addr or "unknown"


def _network(address: str) -> str:
    """An IPv6 client by its /64 (one subscriber's network); IPv4 (and others) as given."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address[:100]
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def client_fingerprint(address: str | None = None, *, day=None) -> str:
    """The client as limits see it: HMAC-SHA256(secret key, date + address), 32 hex digits.

    Salted with the app's secret key and today's date in Asia/Shanghai, so it rotates at
    midnight and cannot be reversed by trying every IPv4 address without the key. ``address``
    defaults to :func:`client_address`; ``day`` (a date) to today.
    """
    address = _network(client_address() if address is None else address)
    day = (day or settings.now().date()).isoformat()
    key = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    message = f"nuanxin-client\x00{day}\x00{address}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


# -- rate-limit storage ----------------------------------------------------------------------
class BoundedMemoryStorage(MemoryStorage):
    """limits' in-process storage with at most ``max_keys`` counters (oldest dropped first).

    Counters expire with their window as in :class:`limits.storage.MemoryStorage`; the cap
    bounds memory even when very many clients arrive within one window.
    """

    STORAGE_SCHEME = ["nuanxin-memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, *,
                 max_keys: int = MAX_LIMIT_KEYS, **options):
        self.max_keys = max(1, int(max_keys))
        self._size_lock = threading.Lock()
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    def _make_room(self, key: str, table: dict) -> None:
        if key in table:
            return
        with self._size_lock:
            while len(self.storage) + len(self.events) >= self.max_keys:
                victim_table = self.storage if self.storage else self.events
                victim = next(iter(victim_table))
                victim_table.pop(victim, None)
                self.expirations.pop(victim, None)
                self.locks.pop(victim, None)

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        self.get(key)  # drops the key when it has expired
        self._make_room(key, self.storage)
        return super().incr(key, expiry, amount)

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        self._make_room(key, self.events)
        return super().acquire_entry(key, limit, expiry, amount)

    def size(self) -> int:
        """Counters (and moving-window keys) held now."""
        return len(self.storage) + len(self.events)


def storage_uri(configured: object) -> str:
    """The Flask-Limiter storage URI for ``NUANXIN_RATELIMIT_STORAGE_URI``.

    ``memory://`` (or empty) is this process's memory, bounded: :class:`BoundedMemoryStorage`.
    """
    text = str(configured or "").strip() or "memory://"
    if text == "memory://" or text.startswith("memory://?"):
        return "nuanxin-memory://" + text[len("memory://"):]
    return text


def retry_seconds(reset_at: float | None) -> int:
    """Whole seconds until ``reset_at`` (epoch seconds), at least 1 (for ``Retry-After``)."""
    if reset_at is None:
        return 60
    return max(1, math.ceil(float(reset_at) - time.time()))
