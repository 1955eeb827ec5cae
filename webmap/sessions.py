"""Dashboard sessions held by the server, and the login throttle.

Sessions
--------
A login creates a row in the store's ``sessions`` table and puts a random session id
(:func:`secrets.token_urlsafe`, 256 bits) in the signed session cookie; the store keeps only
its SHA-256, so a copy of the database hands out no live session. Each request resumes the
session (:func:`resume_session`) only while it is not revoked, has been idle less than
``SESSION_IDLE_SECONDS`` and is younger than ``SESSION_LIFETIME_SECONDS``. Logout
(:func:`end_session`), a password change and removing the user revoke it in the store, so a
cookie captured earlier stops working at once. Times are aware UTC (:func:`utcnow`).

Login throttle
--------------
:class:`LoginThrottle` counts failed logins in three sliding windows: per (account, client)
pair (``LOGIN_MAX_FAILURES`` per ``LOGIN_LOCK_SECONDS``), per account from every client (a
slower ceiling, ``LOGIN_ACCOUNT_MAX_FAILURES`` per ``LOGIN_ACCOUNT_WINDOW_SECONDS``) and per
client across accounts (``LOGIN_CLIENT_*``). Someone guessing from elsewhere therefore uses up
their own pair budget, not the real user's. An attempt is *reserved* — checked and counted
under one lock — before the password is evaluated, so concurrent guesses cannot exceed a
limit; a successful login gives its reservation back and clears its pair. Memory is bounded:
at most ``limit`` timestamps per key and ``max_keys`` keys per window (least recently used
keys are forgotten first). The counts live in this process; several processes each count
their own.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from stations import settings
from stations.store import Store

__all__ = [
    "utcnow",
    "hash_session_id",
    "start_session",
    "resume_session",
    "end_session",
    "Rule",
    "Attempt",
    "LoginThrottle",
]

_MAX_SID_LENGTH = 128
_TOUCH_AT_MOST_EVERY = 60.0  # seconds between writes of last_seen_at (or idle/10 if shorter)


def utcnow() -> datetime:
    """The current time, aware UTC (tests replace this to move the clock).

    The product's one "now" (:func:`stations.settings.now`) seen in UTC: session rows are
    compared with it across requests and servers, so they are stored as UTC, not wall time.
    """
    return settings.now().astimezone(UTC)


def hash_session_id(sid: str) -> str:
    """The stored form of a session id: hex SHA-256."""
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


def start_session(store: Store, user_id: int, *, lifetime: float) -> str:
    """Open a session for ``user_id``; the random id to put in the cookie.

    Sessions older than ``lifetime`` seconds are dead anyway and purged here, which keeps the
    table at about one row per login per lifetime.
    """
    now = utcnow()
    store.purge_sessions(created_before=now - timedelta(seconds=float(lifetime)))
    sid = secrets.token_urlsafe(32)
    store.add_session(hash_session_id(sid), int(user_id), now=now)
    return sid


def resume_session(store: Store, sid: object, *, idle: float, lifetime: float) -> dict | None:
    """The live session row for the cookie's ``sid``, or ``None``.

    ``None`` when the id is unknown or revoked, when the session has been idle ``idle``
    seconds or more, or when it is ``lifetime`` seconds old or more; an expired session is
    revoked on the way. A live one has ``last_seen_at`` moved forward (at most one write a
    minute, so the idle timeout may end a session up to that much early, never late).
    """
    if not isinstance(sid, str) or not sid or len(sid) > _MAX_SID_LENGTH:
        return None
    row = store.get_session(hash_session_id(sid))
    if row is None or row["revoked"]:
        return None
    now = utcnow()
    age = (now - row["created_at"]).total_seconds()
    quiet = (now - row["last_seen_at"]).total_seconds()
    if age >= float(lifetime) or quiet >= float(idle):
        store.revoke_session(row["id"], now=now)
        return None
    if quiet >= min(_TOUCH_AT_MOST_EVERY, float(idle) / 10):
        store.touch_session(row["id"], now=now)
        row["last_seen_at"] = now
    return row


def end_session(store: Store, sid: object) -> bool:
    """Revoke the session with id ``sid`` (logout); ``False`` when there was none live."""
    if not isinstance(sid, str) or not sid or len(sid) > _MAX_SID_LENGTH:
        return False
    row = store.get_session(hash_session_id(sid))
    if row is None:
        return False
    return store.revoke_session(row["id"], now=utcnow())


# -- login throttle ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """At most ``limit`` failures per ``window`` seconds."""

    limit: int
    window: float

    def __post_init__(self):
        if self.limit < 1 or self.window <= 0:
            raise ValueError(f"a throttle rule needs limit ≥ 1 and window > 0, got {self}")


@dataclass(frozen=True)
class Attempt:
    """The answer of :meth:`LoginThrottle.reserve`.

    ``allowed`` says whether the password may be checked; when not, ``retry_after`` is the
    number of seconds until the fullest window has room again.
    """

    allowed: bool
    retry_after: float = 0.0
    keys: tuple = field(default=(), repr=False)
    at: float = 0.0

    @property
    def retry_seconds(self) -> int:
        """``retry_after`` rounded up to whole seconds (for ``Retry-After``)."""
        return max(1, math.ceil(self.retry_after))


class LoginThrottle:
    """Failed-login budgets per (account, client), per account and per client.

    Parameters
    ----------
    pair, account, client : Rule
        The windows; every attempt counts in all three and is refused when any is full.
    max_keys : int
        Keys remembered per window; beyond it the least recently used are forgotten.
    clock : callable
        Seconds, monotonic (tests pass a fake).
    """

    def __init__(self, pair: Rule, account: Rule, client: Rule, *, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic):
        self.rules = (pair, account, client)
        self.max_keys = int(max_keys)
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: tuple[OrderedDict[str, deque], ...] = (
            OrderedDict(), OrderedDict(), OrderedDict())

    @staticmethod
    def _keys(account: str, client: str) -> tuple[str, str, str]:
        account = account if len(account) <= 64 else "#" + hash_session_id(account)
        client = client[:64]
        return (f"{account}\x00{client}", account, client)

    def reserve(self, account: str, client: str) -> Attempt:
        """Check and count one attempt atomically, before the password is evaluated."""
        keys = self._keys(account or "", client or "")
        with self._lock:
            now = self._clock()
            retry = 0.0
            for window, rule, key in zip(self._windows, self.rules, keys, strict=True):
                events = window.get(key)
                if events is None:
                    continue
                while events and events[0] <= now - rule.window:
                    events.popleft()
                if len(events) >= rule.limit:
                    retry = max(retry, events[0] + rule.window - now)
            if retry > 0:
                return Attempt(False, retry_after=retry)
            for window, key in zip(self._windows, keys, strict=True):
                window.setdefault(key, deque()).append(now)
                window.move_to_end(key)
                while len(window) > self.max_keys:
                    window.popitem(last=False)
            return Attempt(True, keys=keys, at=now)

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: give the attempt back and clear its (account, client)."""
        if not attempt.allowed:
            return
        with self._lock:
            self._windows[0].pop(attempt.keys[0], None)
            for window, key in zip(self._windows[1:], attempt.keys[1:], strict=True):
                self._forget(window, key, attempt.at)

    def release(self, attempt: Attempt) -> None:
        """The attempt was never evaluated (an error on our side): give it back."""
        if not attempt.allowed:
            return
        with self._lock:
            for window, key in zip(self._windows, attempt.keys, strict=True):
                self._forget(window, key, attempt.at)

    @staticmethod
    def _forget(window: OrderedDict, key: str, at: float) -> None:
        events = window.get(key)
        if events is None:
            return
        try:
            events.remove(at)
        except ValueError:
            pass  # already slid out of the window
        if not events:
            del window[key]

    def count(self, account: str, client: str) -> tuple[int, int, int]:
        """Failures now counted for the pair, the account and the client (for tests/ops)."""
        keys = self._keys(account or "", client or "")
        with self._lock:
            now = self._clock()
            return tuple(
                sum(1 for t in window.get(key, ()) if t > now - rule.window)
                for window, rule, key in zip(self._windows, self.rules, keys, strict=True))
