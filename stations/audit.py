"""The audit log of the union's workflow: rows of ``lifecycle_events``.

Who did what, when, from which stage to which, and why. The rules (which step is allowed,
what it changes) live in :mod:`stations.lifecycle`; this module only writes and reads the
rows, always inside the caller's transaction for writes so a change and its event land
together or not at all.

Station statuses map onto workflow stages with :func:`stage_of_status` (``open`` is the
``opened`` stage), so a station without a candidate has the same kind of history.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from stations import settings
from stations.schema import lifecycle_events_table

__all__ = ["record_event", "list_events", "stage_of_status"]


def stage_of_status(status: str) -> str:
    """The workflow stage of a station status (``open`` → ``opened``; others unchanged)."""
    return "opened" if status == "open" else status


def record_event(conn: Connection, *, candidate_id: int | None, station_id: int | None,
                 actor: str, frm: str, to: str, note: str = "",
                 at: datetime | None = None) -> None:
    """Write one event inside the caller's transaction (``at`` defaults to
    :func:`stations.settings.wall_now`, Shanghai wall time)."""
    conn.execute(lifecycle_events_table.insert().values(
        candidate_id=candidate_id, station_id=station_id, actor=actor,
        at=at or settings.wall_now(), from_state=frm, to_state=to, note=note))


def list_events(store, *, candidate_id: int | None = None, station_id: int | None = None,
                or_candidate_id: int | None = None) -> list[dict]:
    """Events oldest first: of a candidate, or of a station (plus ``or_candidate_id``'s).

    Returns the raw rows as dicts (``from_state``, ``to_state``, ``at`` a datetime...).
    """
    t = lifecycle_events_table
    query = sa.select(t).order_by(t.c.id)
    if candidate_id is not None:
        query = query.where(t.c.candidate_id == int(candidate_id))
    elif station_id is not None:
        wanted = t.c.station_id == int(station_id)
        if or_candidate_id is not None:
            wanted = sa.or_(wanted, t.c.candidate_id == int(or_candidate_id))
        query = query.where(wanted)
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
