"""Demand points (where outdoor workers gather): rows of the ``demand_points`` table.

Only reading and writing. What a demand point is (weights, groups, shifts), how a file
becomes rows and how rows become arrays live in :mod:`geodata.planning.demand` and
:mod:`geodata.io.demand`. Every write moves the ``demand_version`` counter.

A row whose ``lon``/``lat`` are null was geocoded only to its district or city: it waits for
a pin (待定位) and never counts as demand until it has one.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from stations.errors import NotFoundError
from stations.schema import demand_table

__all__ = ["write_demand", "count_demand", "demand_rows", "pending_pins", "set_pin",
           "demand_summary"]


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
    """How many demand points the store holds (placed or waiting for a pin)."""
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(demand_table)).scalar())


def demand_rows(store, *, bbox: tuple[float, float, float, float] | None = None,
                sources: Sequence[str] | None = None,
                exclude_sources: Sequence[str] | None = None) -> list[dict]:
    """Placed demand rows ordered by id, optionally in ``bbox`` (minlon, minlat, maxlon,
    maxlat), of the given ``sources`` and not of ``exclude_sources``. Rows waiting for a pin
    are never returned (see :func:`pending_pins`)."""
    c = demand_table.c
    query = sa.select(demand_table).where(c.lon.is_not(None), c.lat.is_not(None)).order_by(c.id)
    if bbox is not None:
        minx, miny, maxx, maxy = bbox
        query = query.where(c.lon.between(minx, maxx), c.lat.between(miny, maxy))
    if sources is not None:
        query = query.where(c.source.in_(list(sources)))
    if exclude_sources:
        query = query.where(c.source.not_in(list(exclude_sources)))
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def pending_pins(store, *, district: str | None = None, street: str | None = None) -> list[dict]:
    """Demand rows waiting for a pin (no coordinates), optionally of one district/street."""
    c = demand_table.c
    query = sa.select(demand_table).where(sa.or_(c.lon.is_(None), c.lat.is_(None))).order_by(c.id)
    if district:
        query = query.where(c.district == district)
    if street:
        query = query.where(c.street == street)
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def set_pin(store, point_id: int, *, lon: float, lat: float, district: str, street: str,
            precision: str = "field") -> dict:
    """Place demand point ``point_id`` (WGS84) with its area; the updated row.

    Raises
    ------
    NotFoundError
        When there is no such demand point.
    """
    c = demand_table.c
    with store.transaction() as conn:
        done = conn.execute(demand_table.update().where(c.id == int(point_id)).values(
            lon=float(lon), lat=float(lat), district=district, street=street,
            precision=precision))
        if not done.rowcount:
            raise NotFoundError(f"没有需求点 #{point_id} (no such demand point)")
        store.bump_version("demand_version", conn=conn)
        return dict(conn.execute(sa.select(demand_table).where(c.id == int(point_id)))
                    .mappings().one())


def demand_summary(store) -> list[dict]:
    """Per ``source``: points, people (sum of weights), points waiting for a pin, sample."""
    c = demand_table.c
    pending = sa.case((sa.or_(c.lon.is_(None), c.lat.is_(None)), 1), else_=0)
    query = (sa.select(c.source, sa.func.count().label("points"),
                       sa.func.coalesce(sa.func.sum(c.weight), 0.0).label("people"),
                       sa.func.coalesce(sa.func.sum(pending), 0).label("pending_pin"),
                       sa.func.max(sa.case((c.sample, 1), else_=0)).label("sample"))
             .group_by(c.source).order_by(c.source))
    with store.engine.connect() as conn:
        return [{"source": r.source, "points": int(r.points), "people": float(r.people),
                 "pending_pin": int(r.pending_pin), "sample": bool(r.sample)}
                for r in conn.execute(query)]
