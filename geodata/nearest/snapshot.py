"""The station snapshot: every station of one store version, read once and shared.

The nearest index, the web map's catalogue and planning all need "the stations as they are
now". Instead of each keeping its own cache, one :class:`SnapshotCache` reads the store once
per ``stations_version`` (every station write moves it) and hands out the
:class:`StationSnapshot` plus objects *derived* from it (an index per status set and network,
the catalogue...), which are dropped together when the version moves. Memory is bounded: at
most ``stores`` stores and ``derived`` derived objects per store are kept.

The web app keeps one cache per app (:mod:`webmap.extensions`); library and CLI callers share
:data:`DEFAULT_CACHE`. A store failure is raised, never turned into "no stations".
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from stations.records import STATUSES, Station

__all__ = ["StationSnapshot", "SnapshotCache", "DEFAULT_CACHE", "store_key"]

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StationSnapshot:
    """Every station of a store (any status, id order) at one ``stations_version``."""

    version: int
    stations: tuple[Station, ...]

    def with_status(self, statuses: Sequence[str] | None) -> list[Station]:
        """The stations whose status is in ``statuses`` (``None``: all)."""
        if statuses is None or set(statuses) >= set(STATUSES):
            return list(self.stations)
        wanted = set(statuses)
        return [s for s in self.stations if s.status in wanted]


def store_key(store) -> str:
    """A store's identity for caching (its URL; in-memory SQLite stores are each their own)."""
    url = store.url
    if url in ("sqlite://", "sqlite:///:memory:"):
        return f"{url}#{id(store)}"
    return url


class SnapshotCache:
    """The latest :class:`StationSnapshot` per store and what is derived from it (bounded)."""

    def __init__(self, *, stores: int = 8, derived: int = 32):
        self.max_stores = stores
        self.max_derived = derived
        self._lock = threading.RLock()
        # store key → (snapshot, OrderedDict of derived key → value)
        self._entries: OrderedDict[str, tuple[StationSnapshot, OrderedDict]] = OrderedDict()

    def get(self, store) -> StationSnapshot:
        """The snapshot of ``store`` at its current ``stations_version`` (read on change)."""
        return self._entry(store)[0]

    def derived(self, store, key: Hashable, build: Callable[[StationSnapshot], T]) -> T:
        """``build(snapshot)`` for the current snapshot, computed once per version and key."""
        snapshot, cache = self._entry(store)
        with self._lock:
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
        value = build(snapshot)
        with self._lock:
            current = self._entries.get(store_key(store))
            if current is not None and current[0] is snapshot:
                cache[key] = value
                while len(cache) > self.max_derived:
                    cache.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget everything (tests, or after writing to the database behind the store)."""
        with self._lock:
            self._entries.clear()

    def _entry(self, store) -> tuple[StationSnapshot, OrderedDict]:
        where = store_key(store)
        version = store.version("stations_version")
        with self._lock:
            hit = self._entries.get(where)
            if hit is not None and hit[0].version == version:
                self._entries.move_to_end(where)
                return hit
            store.check()  # an uninitialised store is an error, never "no stations"
            snapshot = StationSnapshot(version, tuple(store.list_stations()))
            log.debug("station snapshot of %s at version %d: %d stations", where, version,
                      len(snapshot.stations))
            entry = (snapshot, OrderedDict())
            self._entries[where] = entry
            self._entries.move_to_end(where)
            while len(self._entries) > self.max_stores:
                self._entries.popitem(last=False)
            return entry


#: The cache shared by library and CLI callers (the web app has one per app).
DEFAULT_CACHE = SnapshotCache()
