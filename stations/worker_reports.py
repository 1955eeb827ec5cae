"""Workers' reports about a station: rows of the ``reports`` table.

Only reading and writing. The vocabulary (report kinds, labels, the note's length) and the
checks on what a worker sends live in :mod:`webmap.feedback`, which calls these.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import sqlalchemy as sa

from stations.errors import NotFoundError
from stations.schema import plaque_visits_table, reports_table, stations_table
from stations.scope import Area

__all__ = ["add_report", "list_reports", "count_reports", "set_report_status",
           "report_station_id", "trust_evidence", "write_trust", "settle_reports",
           "open_problem_reports", "settled_reports", "add_plaque_visit", "plaque_visits",
           "confirmed_station_ids"]


def _in_area(area: Area | None):
    """SQL condition: the report's station lies in ``area`` (by code where the area has one,
    else by name); ``None`` for no area (every report)."""
    if area is None or not (area.district or area.district_code or area.street
                            or area.street_code):
        return None
    s = stations_table.c

    def same(name_col, code_col, name: str, code: str):
        # by code; a station row written without codes by its name
        by_name = sa.and_(sa.func.coalesce(code_col, "") == "", name_col == name) if name \
            else None
        if code:
            return sa.or_(code_col == code, by_name) if by_name is not None else code_col == code
        return by_name

    parts = [p for p in (same(s.district, s.district_code, area.district, area.district_code),
                         same(s.street, s.street_code, area.street, area.street_code))
             if p is not None]
    return sa.and_(*parts)


def add_report(store, station_id: int, *, kind: str, note: str, created_at: datetime,
               client: str | None = None, lon: float | None = None,
               lat: float | None = None, status: str = "new") -> int:
    """Insert a ``new`` report (``client``: the day's salted client key; ``lon``/``lat``: a
    dragged pin, WGS84); its id. :class:`NotFoundError` for an unknown station."""
    with store.transaction() as conn:
        exists = conn.execute(sa.select(stations_table.c.id).where(
            stations_table.c.id == station_id)).scalar_one_or_none()
        if exists is None:
            raise NotFoundError(f"站点 {station_id} 不存在 (no station with id {station_id})",
                                detail={"id": station_id})
        return int(conn.execute(reports_table.insert().values(
            station_id=station_id, kind=kind, note=note, status=status, created_at=created_at,
            client_key=client, lon=lon, lat=lat)).inserted_primary_key[0])


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


# -- trust (stations.trust) ------------------------------------------------------------------
def trust_evidence(store, station_id: int) -> list[dict]:
    """The reports the trust rule reads for one station: every open report, and the "still
    correct" ones (any status but dismissed) from the earliest open report on, plus the
    latest of them (its day is ``confirmed_on``)."""
    r = reports_table.c
    with store.engine.connect() as conn:
        open_rows = [dict(x) for x in conn.execute(
            sa.select(reports_table).where(r.station_id == station_id, r.status == "new",
                                           r.kind != "ok")).mappings()]
        oks = sa.select(reports_table).where(r.station_id == station_id, r.kind == "ok",
                                             r.status != "dismissed")
        latest = conn.execute(oks.order_by(r.created_at.desc(), r.id.desc()).limit(1)
                              ).mappings().first()
        since = min((x["created_at"] for x in open_rows), default=None)
        ok_rows = [] if since is None else [dict(x) for x in conn.execute(
            oks.where(r.created_at >= since)).mappings()]
    seen = {x["id"] for x in ok_rows}
    if latest is not None and latest["id"] not in seen:
        ok_rows.append(dict(latest))
    return open_rows + ok_rows


def write_trust(store, station_id: int, *, trust: str, problem: str | None, reason: str,
                confirmed_on: date | None, amenity_notes: dict[str, str]) -> bool:
    """Store a station's trust state; ``True`` when it changed (then ``stations_version``
    moves so snapshots rebuild). The station's own ``version`` does not move: a worker's
    report never makes the union's pending edit stale."""
    values = {"trust": trust, "problem": problem, "trust_reason": reason or "",
              "confirmed_on": confirmed_on, "amenity_notes": dict(amenity_notes or {})}
    s = stations_table.c
    with store.transaction() as conn:
        row = conn.execute(sa.select(s.trust, s.problem, s.trust_reason, s.confirmed_on,
                                     s.amenity_notes).where(s.id == station_id)
                           ).mappings().first()
        if row is None:
            raise NotFoundError(f"站点 {station_id} 不存在 (no station with id {station_id})")
        current = {**dict(row), "amenity_notes": dict(row["amenity_notes"] or {}),
                   "trust_reason": row["trust_reason"] or ""}
        if current == values:
            return False
        conn.execute(stations_table.update().where(s.id == station_id).values(**values))
        store.bump_version("stations_version", conn=conn)
    return True


# -- the union's review queue ----------------------------------------------------------------
def settle_reports(store, station_id: int, *, kinds: Sequence[str] | None, status: str,
                   resolution: str, reason: str, by: str, at: datetime,
                   conn=None) -> list[int]:
    """Mark a station's open reports (of ``kinds``, or every kind) ``status`` (handled /
    dismissed) with how, why, by whom and when; the ids settled."""
    if conn is None:
        with store.transaction() as c:
            return settle_reports(store, station_id, kinds=kinds, status=status,
                                  resolution=resolution, reason=reason, by=by, at=at, conn=c)
    r = reports_table.c
    where = [r.station_id == station_id, r.status == "new"]
    if kinds is not None:
        where.append(r.kind.in_(list(kinds)))
    ids = [int(i) for i in conn.execute(sa.select(r.id).where(*where)).scalars()]
    if ids:
        conn.execute(reports_table.update().where(r.id.in_(ids)).values(
            status=status, resolution=resolution, settle_reason=reason, settled_by=by,
            settled_at=at))
    return ids


def open_problem_reports(store, *, area: Area | None = None,
                         station_id: int | None = None) -> list[dict]:
    """Open problem reports (status ``new``, any kind but ``ok``) on stations in ``area``,
    newest first, each with its station's name, code, street, district, status and pin."""
    s = stations_table.c
    query = (sa.select(reports_table, s.name.label("station_name"), s.code.label("station_code"),
                       s.street.label("station_street"), s.district.label("station_district"),
                       s.status.label("station_status"), s.lon.label("station_lon"),
                       s.lat.label("station_lat"))
             .join(stations_table, s.id == reports_table.c.station_id)
             .where(reports_table.c.status == "new", reports_table.c.kind != "ok")
             .order_by(reports_table.c.created_at.desc(), reports_table.c.id.desc()))
    if station_id is not None:
        query = query.where(reports_table.c.station_id == station_id)
    if _in_area(area) is not None:
        query = query.where(_in_area(area))
    with store.engine.connect() as conn:
        return [dict(x) for x in conn.execute(query).mappings()]


def settled_reports(store, *, area: Area | None = None) -> list[dict]:
    """Settled problem reports on stations in ``area``: ``station_street``, ``created_at``,
    ``settled_at`` (for the time to settle)."""
    s = stations_table.c
    r = reports_table.c
    query = (sa.select(r.id, r.created_at, r.settled_at, s.street.label("station_street"),
                       s.district.label("station_district"))
             .join(stations_table, s.id == r.station_id)
             .where(r.settled_at.is_not(None), r.kind != "ok"))
    if _in_area(area) is not None:
        query = query.where(_in_area(area))
    with store.engine.connect() as conn:
        return [dict(x) for x in conn.execute(query).mappings()]


def confirmed_station_ids(store, resolutions: Sequence[str], *,
                          area: Area | None = None) -> set[int]:
    """Stations in ``area`` with reports the union settled by one of ``resolutions``."""
    r = reports_table.c
    query = (sa.select(r.station_id).distinct()
             .join(stations_table, stations_table.c.id == r.station_id)
             .where(r.status == "handled", r.resolution.in_(list(resolutions))))
    if _in_area(area) is not None:
        query = query.where(_in_area(area))
    with store.engine.connect() as conn:
        return {int(i) for i in conn.execute(query).scalars()}


# -- plaque visits ---------------------------------------------------------------------------
def add_plaque_visit(store, station_id: int, day: date) -> None:
    """Count one station page opened from its plaque's QR code on ``day`` (nothing about the
    visitor is kept). An unknown station is ignored (the page answers 404 anyway)."""
    v = plaque_visits_table.c
    bump = plaque_visits_table.update().where(v.station_id == station_id, v.day == day).values(
        visits=v.visits + 1)
    try:
        with store.transaction() as conn:
            if conn.execute(bump).rowcount:
                return
            exists = conn.execute(sa.select(stations_table.c.id).where(
                stations_table.c.id == station_id)).scalar_one_or_none()
            if exists is not None:
                conn.execute(plaque_visits_table.insert().values(
                    station_id=station_id, day=day, visits=1))
    except sa.exc.IntegrityError:  # the day's first visit was counted at the same moment
        with store.transaction() as conn:
            conn.execute(bump)


def plaque_visits(store, *, since: date, area: Area | None = None) -> list[dict]:
    """``{station_id, station_name, station_street, day, visits}`` rows from ``since`` on,
    on stations in ``area``."""
    s = stations_table.c
    v = plaque_visits_table.c
    query = (sa.select(v.station_id, v.day, v.visits, s.name.label("station_name"),
                       s.street.label("station_street"))
             .join(stations_table, s.id == v.station_id).where(v.day >= since)
             .order_by(v.station_id, v.day))
    if _in_area(area) is not None:
        query = query.where(_in_area(area))
    with store.engine.connect() as conn:
        return [dict(x) for x in conn.execute(query).mappings()]
