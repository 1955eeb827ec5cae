"""The nearest index of a store: built from the station snapshot, rebuilt when stations change."""

from __future__ import annotations

from collections.abc import Sequence

from geodata.nearest.index import StationIndex
from geodata.nearest.snapshot import DEFAULT_CACHE, SnapshotCache
from geodata.network.loaders import CONFIGURED, resolve_network
from stations.errors import ValidationError
from stations.records import STATUSES
from stations.settings import DETOUR_FACTOR

__all__ = ["get_index", "clear_index_cache"]


def get_index(store, *, statuses: Sequence[str] | None = ("open",), network=CONFIGURED,
              detour_factor: float = DETOUR_FACTOR, cache: SnapshotCache | None = None
              ) -> StationIndex:
    """The index over ``store``'s stations with the given statuses, rebuilt on change.

    Built from the station snapshot (:mod:`geodata.nearest.snapshot`; ``cache`` or the shared
    :data:`~geodata.nearest.snapshot.DEFAULT_CACHE`), once per ``stations_version``, status
    set, network and detour factor. ``statuses=None`` means every status. ``network``: see
    :data:`geodata.network.loaders.CONFIGURED` (the default: ``NUANXIN_NETWORK`` when set;
    ``None``: straight line × detour). A broken or uninitialised store raises
    :class:`~stations.errors.StoreError` — it never answers "no stations nearby".
    """
    network = resolve_network(network)
    if statuses is None:
        wanted = STATUSES
    else:
        wanted = tuple(sorted({statuses} if isinstance(statuses, str) else set(statuses)))
        bad = [s for s in wanted if s not in STATUSES]
        if bad:
            raise ValidationError(f"未知状态 (unknown status) {bad}; use {', '.join(STATUSES)}")
    key = ("index", wanted, id(network) if network is not None else None, float(detour_factor))
    return (cache or DEFAULT_CACHE).derived(
        store, key, lambda snap: StationIndex(snap.with_status(wanted), network=network,
                                              detour_factor=detour_factor))


def clear_index_cache() -> None:
    """Forget every cached snapshot and index (tests, or after writing behind the store)."""
    DEFAULT_CACHE.clear()
