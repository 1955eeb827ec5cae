"""Response hardening: a per-request CSP nonce, security headers, small in-memory rate limits.

The Content-Security-Policy allows scripts only from this origin or inline ``<script>`` tags
carrying the request's nonce, so even text that slipped past escaping could not run an inline
handler such as ``onerror=``. Styles may be inline (Leaflet positions everything that way);
images may also come from the configured tile provider; the browser talks to no one else.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque

from flask import Flask, current_app, g

__all__ = ["csp_nonce", "register_security", "RateLimiter"]


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


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key (sliding window, in memory).

    Per process; enough to blunt a script hammering an anonymous form. Put a shared limiter
    (the reverse proxy) in front of several processes.
    """

    def __init__(self, limit: int, window: float):
        self.limit = int(limit)
        self.window = float(window)
        self._events: dict[str, deque] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, *, now: float | None = None) -> bool:
        """Record an event for ``key``; ``False`` when over the limit (not recorded then)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            if len(self._events) > 10_000:  # forget idle keys
                for k in [k for k, v in self._events.items() if not v]:
                    del self._events[k]
            return True

    def count(self, key: str, *, now: float | None = None) -> int:
        """Events of ``key`` inside the window."""
        now = time.monotonic() if now is None else now
        with self._lock:
            events = self._events.get(key, deque())
            return sum(1 for t in events if t > now - self.window)

    def reset(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)
