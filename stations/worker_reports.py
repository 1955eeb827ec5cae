"""Workers' reports about a station: rows of the ``reports`` table.

Only reading and writing. The vocabulary (report kinds, labels, the note's length) and the
checks on what a worker sends live in :mod:`webmap.feedback`, which calls these.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from stations.errors import NotFoundError
from stations.schema import reports_table, stations_table
from stations.scope import Area

__all__ = ["add_report", "list_reports", "count_reports", "set_report_status",
           "report_station_id"]


def _in_area(area: Area | None):
    """SQL condition: the report's station lies in ``area`` (by code where the area has one,
    else by name); ``None`` for no area (every report)."""
    if area is None or not (area.district or area.district_code or area.street
                            or area.street_code):
        return None
    s = stations_table.c
    parts = []
    if area.district_code:
        parts.append(s.district_code == area.district_code)
    elif area.district:
        parts.append(s.district == area.district)
    if area.street_code:
        parts.append(s.street_code == area.street_code)
    elif area.street:
        parts.append(s.street == area.street)
    return sa.and_(*parts)


def add_report(store, station_id: int, *, kind: str, note: str, created_at: datetime) -> int:
    """Insert a ``new`` report; its id. :class:`NotFoundError` for an unknown station."""
    with store.transaction() as conn:
        exists = conn.execute(sa.select(stations_table.c.id).where(
            stations_table.c.id == station_id)).scalar_one_or_none()
        if exists is None:
            raise NotFoundError(f"站点 {station_id} 不存在 (no station with id {station_id})",
                                detail={"id": station_id})
        return int(conn.execute(reports_table.insert().values(
            station_id=station_id, kind=kind, note=note, status="new", created_at=created_at)
        ).inserted_primary_key[0])


def list_reports(store, *, status: str | None = None, station_id: int | None = None,
                 limit: int = 200, area: Area | None = None) -> list[dict]:
    """Report rows, newest first, each with its station's name as ``station_name``; only
    reports on stations in ``area`` when given."""
    query = (sa.select(reports_table, stations_table.c.name.label("station_name"))
             .join(stations_table, stations_table.c.id == reports_table.c.station_id)
             .order_by(reports_table.c.created_at.desc(), reports_table.c.id.desc())
             .limit(limit))
    if status:
        query = query.where(reports_table.c.status == status)
    if station_id is not None:
        query = query.where(reports_table.c.station_id == station_id)
    if _in_area(area) is not None:
        query = query.where(_in_area(area))
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def count_reports(store, *, status: str | None = None, area: Area | None = None) -> int:
    """How many reports (of one status, on stations in ``area``, when given)."""
    query = (sa.select(sa.func.count()).select_from(reports_table)
             .join(stations_table, stations_table.c.id == reports_table.c.station_id))
    if status:
        query = query.where(reports_table.c.status == status)
    if _in_area(area) is not None:
        query = query.where(_in_area(area))
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar())


def set_report_status(store, report_id: int, status: str) -> bool:
    """Write a report's status; ``False`` when there is no such report."""
    with store.transaction() as conn:
        return bool(conn.execute(reports_table.update().where(reports_table.c.id == report_id)
                                 .values(status=status)).rowcount)


def report_station_id(store, report_id: int) -> int:
    """The station a report is about; :class:`NotFoundError` when there is no such report."""
    with store.engine.connect() as conn:
        found = conn.execute(sa.select(reports_table.c.station_id).where(
            reports_table.c.id == report_id)).scalar_one_or_none()
    if found is None:
        raise NotFoundError(f"反馈 {report_id} 不存在 (no report with id {report_id})")
    return int(found)
