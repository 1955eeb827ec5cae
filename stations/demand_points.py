"""Demand points (where outdoor workers gather): rows of the ``demand_points`` table.

Only reading and writing. What a demand point is (weights, groups, shifts), how a file
becomes rows and how rows become arrays live in :mod:`geodata.planning.demand`.
Every write moves the ``demand_version`` counter.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from stations.schema import demand_table

__all__ = ["write_demand", "count_demand", "demand_rows"]


def write_demand(store, rows: Sequence[dict], *, replace_all: bool = False,
                 replace_source: str | None = None) -> int:
    """Insert demand rows in one transaction; how many.

    ``replace_all`` deletes every existing point first; ``replace_source`` only those of
    that ``source`` (re-loading a file). Either way the deletion and the insert are one
    transaction.
    """
    with store.transaction() as conn:
        if replace_all:
            conn.execute(demand_table.delete())
        elif replace_source is not None:
            conn.execute(demand_table.delete().where(demand_table.c.source == replace_source))
        if rows:
            conn.execute(demand_table.insert(), list(rows))
        store.bump_version("demand_version", conn=conn)
    return len(rows)


def count_demand(store) -> int:
    """How many demand points the store holds."""
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(demand_table)).scalar())


def demand_rows(store, *, bbox: tuple[float, float, float, float] | None = None,
                sources: Sequence[str] | None = None) -> list[dict]:
    """Demand rows ordered by id, optionally in ``bbox`` (minlon, minlat, maxlon, maxlat) and
    of the given ``sources``."""
    query = sa.select(demand_table).order_by(demand_table.c.id)
    if bbox is not None:
        minx, miny, maxx, maxy = bbox
        query = query.where(demand_table.c.lon.between(minx, maxx),
                            demand_table.c.lat.between(miny, maxy))
    if sources is not None:
        query = query.where(demand_table.c.source.in_(list(sources)))
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
