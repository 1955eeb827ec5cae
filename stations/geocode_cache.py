"""Cached geocoder answers: rows of the ``geocode_cache`` table.

Only reading and writing, keyed by whatever text the geocoder chooses (it prefixes the
normalised address with its own signature, so another gazetteer never reuses an answer);
what an answer means lives in :mod:`geodata.places.geocoding`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import sqlalchemy as sa

from stations.schema import geocode_cache_table

__all__ = ["cached_answers", "cache_answers"]

_CHUNK = 500


def cached_answers(store, keys: Iterable[str]) -> dict[str, dict]:
    """``{key: stored answer}`` for the keys the cache holds."""
    wanted = sorted(set(keys))
    found: dict[str, dict] = {}
    t = geocode_cache_table
    with store.engine.connect() as conn:
        for start in range(0, len(wanted), _CHUNK):
            rows = conn.execute(sa.select(t.c.query, t.c.result).where(
                t.c.query.in_(wanted[start:start + _CHUNK])))
            found.update({query: result for query, result in rows})
    return found


def cache_answers(store, answers: Mapping[str, dict], *, now: datetime) -> int:
    """Store answers whose key is not cached yet (a cached key keeps its first answer);
    how many were written."""
    t = geocode_cache_table
    keys = sorted(answers)
    with store.transaction() as conn:
        existing: set[str] = set()
        for start in range(0, len(keys), _CHUNK):
            existing.update(conn.execute(sa.select(t.c.query).where(
                t.c.query.in_(keys[start:start + _CHUNK]))).scalars())
        rows = [{"query": k, "result": answers[k], "created_at": now}
                for k in keys if k not in existing]
        if rows:
            conn.execute(t.insert(), rows)
    return len(rows)
