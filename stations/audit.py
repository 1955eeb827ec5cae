"""The audit log: rows of ``lifecycle_events``, append-only.

Who did what, when, and the before/after of each changed field: the union's workflow steps
(from which stage to which, and why) and every write to a station — created (API, import),
edited (dashboard, API), moved, updated by an import, suspended, reopened, closed. The rules
(which step is allowed, what it changes) live in :mod:`stations.lifecycle` and
:mod:`stations.store`; this module only writes and reads the rows, always inside the caller's
transaction for writes so a change and its event land together or not at all. There is no
function to change or delete a row.

A row's ``action`` names the step (``create``, ``edit``, ``import``, ``suspend``...; rows
written before it existed have none) and ``changes`` is ``{field: {"before", "after"}}``.
Station statuses map onto workflow stages with :func:`stage_of_status` (``open`` is the
``opened`` stage), so a station without a candidate has the same kind of history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from stations import settings
from stations.schema import lifecycle_events_table

__all__ = ["record_event", "record_events", "event_row", "field_changes", "list_events",
           "stage_of_status", "status_of_stage", "station_events", "event_answer",
           "ACTION_LABELS_ZH", "STATE_LABELS_ZH", "state_label"]

#: Chinese labels of the store's own actions (the workflow steps' are
#: :data:`stations.lifecycle.ACTION_LABELS_ZH`).
ACTION_LABELS_ZH = {"create": "新建", "edit": "修改资料", "move": "移动位置",
                    "import": "导入更新", "step": "流程"}
#: Chinese names of every state an event moves between: the workflow stages and the
#: station statuses (``candidate → screened`` is shown 待筛选 → 已筛选).
STATE_LABELS_ZH = {
    "candidate": "待筛选", "screened": "已筛选", "visited": "已走访", "agreed": "已同意",
    "opened": "已建站", "suspended": "已暂停", "closed": "已关闭", "declined": "已放弃",
    "open": "开放", "": "（新建）",
}


def state_label(state: str | None) -> str:
    """The Chinese name of a stage or status (unknown values as written)."""
    return STATE_LABELS_ZH.get(state or "", state or "")


def stage_of_status(status: str) -> str:
    """The workflow stage of a station status (``open`` → ``opened``; others unchanged)."""
    return "opened" if status == "open" else status


def status_of_stage(stage: str) -> str:
    """The station status of a workflow stage (``opened`` → ``open``; others unchanged)."""
    return "open" if stage == "opened" else stage


def field_changes(before: Mapping[str, object], after: Mapping[str, object]) -> dict:
    """``{field: {"before": old, "after": new}}`` for each field whose value differs.

    Fields missing on one side count as ``None`` there. Values must be JSON values (dates
    as ISO text).
    """
    return {key: {"before": before.get(key), "after": after.get(key)}
            for key in dict.fromkeys([*before, *after])
            if before.get(key) != after.get(key)}


def event_row(*, station_id: int | None, actor: str, frm: str, to: str,
              candidate_id: int | None = None, note: str = "", at: datetime | None = None,
              action: str | None = None, changes: Mapping | None = None) -> dict:
    """The values of one event (for :func:`record_events`)."""
    return {"candidate_id": candidate_id, "station_id": station_id, "actor": actor,
            "at": at or settings.wall_now(), "from_state": frm, "to_state": to, "note": note,
            "action": action, "changes": dict(changes) if changes else None}


def record_event(conn: Connection, *, candidate_id: int | None, station_id: int | None,
                 actor: str, frm: str, to: str, note: str = "",
                 at: datetime | None = None, action: str | None = None,
                 changes: Mapping | None = None) -> None:
    """Write one event inside the caller's transaction (``at`` defaults to
    :func:`stations.settings.wall_now`, Shanghai wall time)."""
    record_events(conn, [event_row(candidate_id=candidate_id, station_id=station_id,
                                   actor=actor, frm=frm, to=to, note=note, at=at,
                                   action=action, changes=changes)])


def record_events(conn: Connection, rows: Iterable[dict]) -> None:
    """Write many events (:func:`event_row` values) inside the caller's transaction."""
    rows = list(rows)
    for start in range(0, len(rows), 1000):
        conn.execute(lifecycle_events_table.insert(), rows[start:start + 1000])


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


def event_answer(row: Mapping) -> dict:
    """One raw event as the API and the dashboard show it.

    ``{at, user, action, changes, note, from, to}``: ``at`` aware ISO 8601 with the
    Asia/Shanghai offset; ``changes`` the recorded fields, or for a workflow step written
    without them the stage (``status`` for a station step) before and after.
    """
    frm, to = row["from_state"], row["to_state"]
    changes = row.get("changes")
    if not changes and frm != to:
        changes = {"stage": {"before": frm or None, "after": to}}
    return {"at": settings.iso_time(row["at"]), "user": row["actor"],
            "action": row.get("action") or "step", "changes": changes or {},
            "note": row["note"], "from": frm, "to": to, "from_zh": state_label(frm),
            "to_zh": state_label(to)}


def station_events(store, station_id: int, *, candidate_id: int | None = None) -> list[dict]:
    """The answer form (:func:`event_answer`) of a station's events, oldest first, with its
    candidate's workflow steps when ``candidate_id`` is given."""
    return [event_answer(r) for r in list_events(store, station_id=station_id,
                                                 or_candidate_id=candidate_id)]
