"""The web's thin face on the planning engine (``geodata.planning.coverage`` and
``geodata.planning.siting``): the same calls as ``nuanxin coverage`` / ``nuanxin site``, cached
briefly.

Coverage over a district takes a fraction of a second to a few seconds; a dashboard reloads
the same question often, so results are kept for :data:`TTL_SECONDS` per store version. One
computation runs at a time; a request that cannot start one within :data:`WAIT_SECONDS`
answers 503 (:class:`webmap.errors.BusyError`) instead of queueing without bound.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import datetime

from flask import current_app

from stations.settings import DEFAULT_RADIUS_M
from stations.store import Store
from webmap.errors import BusyError

__all__ = ["coverage_result", "coverage_payload", "site_payload", "TTL_SECONDS"]

TTL_SECONDS = 120.0
#: Where the app keeps its :class:`PlanningCache` (initialised by :mod:`webmap.extensions`).
EXTENSION_KEY = "nuanxin.planning"
#: Longest a request waits for the one computation slot before it answers 503 (busy).
WAIT_SECONDS = 15.0


class PlanningCache:
    """Recent planning answers of one app (bounded), and its one computation slot.

    One heavy computation at a time (the others wait at most :data:`WAIT_SECONDS`, then
    answer 503): a burst of requests must not starve the worker page on a small server.
    Kept in ``app.extensions`` by :mod:`webmap.extensions`.
    """

    size = 12

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple, tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()
        self._compute = threading.BoundedSemaphore(1)

    def _fresh(self, key: tuple):
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and time.monotonic() - hit[0] < TTL_SECONDS:
                self._entries.move_to_end(key)
                return hit
        return None

    def get(self, key: tuple, compute):
        """The cached answer for ``key``, else ``compute()`` (once at a time) and keep it."""
        hit = self._fresh(key)
        if hit is not None:
            return hit[1]
        started = time.monotonic()
        if not self._compute.acquire(timeout=WAIT_SECONDS):
            raise BusyError(f"正在计算其他请求，请 {int(WAIT_SECONDS)} 秒后再试 (the planning "
                            "engine is busy; try again shortly)",
                            detail={"retry_after": int(WAIT_SECONDS)})
        try:
            hit = self._fresh(key)  # computed by the request we waited for?
            if hit is not None:
                return hit[1]
            value = compute()
        finally:
            self._compute.release()
        with self._lock:
            self._entries[key] = (started, value)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value


def _key(store: Store, *parts) -> tuple:
    return (store.url, store.version("stations_version"), store.version("demand_version"),
            store.version("candidates_version")) + parts


def _cached(key: tuple, compute):
    return current_app.extensions[EXTENSION_KEY].get(key, compute)


def coverage_result(store: Store, *, district: str | None = None, street: str | None = None,
                    radius: float | None = None, minutes: float | None = None,
                    min_stations: int = 2, at: datetime | None = None, demand: str = "auto",
                    strip: bool = False):
    """:func:`geodata.planning.coverage.area_coverage` for an area (a ``CoverageResult``), called as
    ``nuanxin coverage`` calls it (no radius and no minutes = the default 1,000 m; ``demand``
    and ``strip`` as its ``--demand`` and ``--strip``)."""
    from geodata.planning.coverage import area_coverage

    key = _key(store, "coverage", district, street, radius, minutes, min_stations,
               at.isoformat() if at else None, demand, strip)
    return _cached(key, lambda: area_coverage(
        store, district=district or None, street=street or None, radius_m=radius,
        minutes=minutes, min_stations=min_stations, at=at, demand=demand, strip=strip))


def coverage_payload(store: Store, *, district: str | None = None, street: str | None = None,
                     radius: float | None = None, minutes: float | None = None,
                     min_stations: int = 2, at: datetime | None = None, demand: str = "auto",
                     strip: bool = False) -> dict:
    """The body of ``nuanxin coverage --json`` (``CoverageResult.as_dict()``)."""
    return coverage_result(store, district=district, street=street, radius=radius,
                           minutes=minutes, min_stations=min_stations, at=at, demand=demand,
                           strip=strip).as_dict()


def site_payload(store: Store, *, district: str | None = None, street: str | None = None,
                 radius: float = DEFAULT_RADIUS_M, add: int = 3, exact: bool | None = None
                 ) -> dict:
    """The body of ``nuanxin site --json`` (:func:`geodata.planning.siting.site`)."""
    from geodata.planning.siting import site

    key = _key(store, "site", district, street, radius, add, exact)
    return _cached(key, lambda: site(store, district=district or None, street=street or None,
                                     radius_m=radius, add=add, exact=exact))
