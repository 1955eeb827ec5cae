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

from stations.store import Store
from webmap.errors import BusyError

__all__ = ["coverage_result", "coverage_payload", "site_payload", "TTL_SECONDS"]

TTL_SECONDS = 120.0
#: Longest a request waits for the one computation slot before it answers 503 (busy).
WAIT_SECONDS = 15.0
_cache: OrderedDict[tuple, tuple[float, object]] = OrderedDict()
_lock = threading.Lock()
#: One heavy computation at a time (the others wait): a burst of requests must not starve
#: the worker page on a small server.
_compute = threading.BoundedSemaphore(1)


def _key(store: Store, *parts) -> tuple:
    return (store.url, store.version("stations_version"), store.version("demand_version"),
            store.version("candidates_version")) + parts


def _cached(key: tuple, compute):
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < TTL_SECONDS:
            _cache.move_to_end(key)
            return hit[1]
    if not _compute.acquire(timeout=WAIT_SECONDS):
        raise BusyError(f"正在计算其他请求，请 {int(WAIT_SECONDS)} 秒后再试 (the planning engine "
                        "is busy; try again shortly)", detail={"retry_after": int(WAIT_SECONDS)})
    try:
        with _lock:
            hit = _cache.get(key)  # computed by the request we waited for?
            if hit is not None and time.monotonic() - hit[0] < TTL_SECONDS:
                return hit[1]
        value = compute()
    finally:
        _compute.release()
    with _lock:
        _cache[key] = (now, value)
        while len(_cache) > 12:
            _cache.popitem(last=False)
    return value


def coverage_result(store: Store, *, district: str | None = None, street: str | None = None,
                    radius: float | None = None, minutes: float | None = None,
                    min_stations: int = 2, at: datetime | None = None):
    """:func:`geodata.planning.coverage.area_coverage` for an area (a ``CoverageResult``), called as
    ``nuanxin coverage`` calls it (no radius and no minutes = the default 1,000 m)."""
    from geodata.planning.coverage import area_coverage

    key = _key(store, "coverage", district, street, radius, minutes, min_stations,
               at.isoformat() if at else None)
    return _cached(key, lambda: area_coverage(
        store, district=district or None, street=street or None, radius_m=radius,
        minutes=minutes, min_stations=min_stations, at=at))


def coverage_payload(store: Store, *, district: str | None = None, street: str | None = None,
                     radius: float | None = None, minutes: float | None = None,
                     min_stations: int = 2, at: datetime | None = None) -> dict:
    """The body of ``nuanxin coverage --json`` (``CoverageResult.as_dict()``)."""
    return coverage_result(store, district=district, street=street, radius=radius,
                           minutes=minutes, min_stations=min_stations, at=at).as_dict()


def site_payload(store: Store, *, district: str | None = None, street: str | None = None,
                 radius: float = 1000.0, add: int = 3, exact: bool = False) -> dict:
    """The body of ``nuanxin site --json`` (:func:`geodata.planning.siting.site`)."""
    from geodata.planning.siting import site

    key = _key(store, "site", district, street, radius, add, exact)
    return _cached(key, lambda: site(store, district=district or None, street=street or None,
                                     radius_m=radius, add=add, exact=exact))
