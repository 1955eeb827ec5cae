"""The street union's workflow, as a state machine with an audit log.

::

    candidate ─screen→ screened ─visit→ visited ─agree→ agreed ─open→ opened ⇄ suspended
        │                 │  ↺ screen     │ ↺ visit      │               │        │
        └────────── decline (with a reason) at any step before opening    └─close─┴→ closed

* ``screen`` records the screening result (pass / fail / unknown) and moves a new candidate to
  ``screened``; a candidate that failed cannot be visited until its data is corrected and it
  is screened again. Re-screening a later stage records the new result without moving it.
* ``visit`` records field notes, what the officer saw (:data:`VISIT_FACTS`: area, floor,
  street-facing, each amenity, hours, access — each kept with the visit as evidence, the
  sheet's value beside it, and applied to the candidate), optionally a corrected pin (WGS84;
  location source ``visit_pin``) and photo references; it can be repeated.
* ``pin`` (:func:`set_location`) puts a dragged pin on a candidate before it opens (source
  ``dragged_pin``): the caller gives the district and street of the new point.
* ``open`` creates the :class:`~stations.records.Station` (with a station code) through the
  store, links ``candidate.station_id`` and ``station.candidate_id``; it needs a precise
  position (sheet coordinates, an exact/POI geocode or a pin) and a screening result ``pass``
  — a ``fail`` or ``unknown`` opens only with a written override reason (the caller checks
  that the account may override: admin or district), recorded in the audit.
* ``suspend`` / ``reopen`` / ``close`` act on the station and its candidate together; a
  station imported without a candidate can be suspended or closed by station id.
  :func:`set_status` picks the step from the wanted status (``open``, ``suspended``,
  ``closed``). These are the only way a station's status changes (the store's raw setter is
  private to this module; :meth:`~stations.store.Store.update_station` refuses a status).
* ``decline`` ends the workflow with a reason at any step before opening.

Every step writes a ``lifecycle_events`` row (who, when, from, to, note; see
:mod:`stations.audit`) in the same transaction as the change; a refused step raises
:class:`~stations.errors.TransitionError` naming the current stage, the step and the steps
allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from stations import audit, settings
from stations.candidates import STAGE_LABELS_ZH, STAGES, Candidate, get_candidate, update_candidate
from stations.errors import NotFoundError, TransitionError, ValidationError
from stations.records import STATUSES, Station
from stations.standard import OUTCOMES

__all__ = [
    "ACTIONS",
    "ACTION_LABELS_ZH",
    "TRANSITIONS",
    "allowed_actions",
    "screen_result",
    "visit",
    "agree",
    "open_station",
    "suspend",
    "reopen",
    "close",
    "set_status",
    "decline",
    "history",
    "set_location",
    "VISIT_FACTS",
    "OPENABLE_RESULT",
]

#: step → {from stage: to stage}
TRANSITIONS: dict[str, dict[str, str]] = {
    "screen": {"candidate": "screened", "screened": "screened"},
    "visit": {"screened": "visited", "visited": "visited"},
    "agree": {"visited": "agreed"},
    "open": {"agreed": "opened"},
    "suspend": {"opened": "suspended"},
    "reopen": {"suspended": "opened"},
    "close": {"opened": "closed", "suspended": "closed"},
    "decline": {s: "declined" for s in ("candidate", "screened", "visited", "agreed")},
}
ACTIONS: tuple[str, ...] = tuple(TRANSITIONS)
ACTION_LABELS_ZH = {
    "screen": "筛选", "visit": "实地走访", "agree": "同意建站", "open": "建站上图",
    "suspend": "暂停", "reopen": "恢复开放", "close": "关闭", "decline": "放弃",
    "pin": "放置位置标记",
}
#: Stages where a dragged pin may still move the candidate (before a station exists).
_PIN_STAGES = ("candidate", "screened", "visited", "agreed")
#: What a visit may record as seen, with the candidate field it corrects.
VISIT_FACTS = ("area_m2", "floor", "street_facing", "opening_hours", "access", "amenities",
               "toilet_nearby")
#: The screening result a candidate needs to open without an override.
OPENABLE_RESULT = "pass"
_RESULT_ZH = {"pass": "符合", "fail": "不符合", "unknown": "待确认", None: "尚未筛选"}
# Stages where a new screening result is recorded without moving the stage.
_RESCREEN_IN_PLACE = ("visited", "agreed", "opened", "suspended", "closed", "declined")


def allowed_actions(stage: str, *, result: str | None = None) -> list[str]:
    """The steps allowed from ``stage`` (``result``: the screening result, if known).

    ``screen`` is listed only where it moves the stage; a failed screening blocks ``visit``
    and ``open``.
    """
    if stage not in STAGES:
        raise ValidationError(
            f"未知阶段 {stage!r} (unknown stage); use one of: {', '.join(STAGES)}")
    actions = [a for a, moves in TRANSITIONS.items() if stage in moves]
    if result == "fail":
        actions = [a for a in actions if a not in ("visit", "open")]
    return actions


def _refuse(action: str, stage: str, *, result: str | None = None,
            why: str = "") -> TransitionError:
    allowed = allowed_actions(stage, result=result)
    allowed_text = "、".join(f"{ACTION_LABELS_ZH[a]}({a})" for a in allowed) or "无 (none)"
    target = TRANSITIONS.get(action, {}).get(stage) or next(iter(set(
        TRANSITIONS.get(action, {}).values())), "?")
    reason = f"：{why}" if why else ""
    stage_zh = STAGE_LABELS_ZH.get(stage, stage)
    action_zh = ACTION_LABELS_ZH.get(action, action)
    return TransitionError(
        f"不能从「{stage_zh}」执行「{action_zh}」"
        f"{reason} (cannot {action}: {stage} → {target} is not allowed); "
        f"当前允许的操作 (allowed from {stage}): {allowed_text}",
        detail={"from": stage, "action": action, "allowed": allowed})


def _require_text(value: str | None, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError(f"{what}不能为空 ({what} is required)")
    return text


def _record(conn, *, candidate_id: int | None, station_id: int | None, actor: str,
            frm: str, to: str, note: str = "", action: str, changes: dict | None = None
            ) -> None:
    audit.record_event(conn, candidate_id=candidate_id, station_id=station_id, actor=actor,
                       frm=frm, to=to, note=note, at=settings.wall_now(), action=action,
                       changes=changes)


def _step(store, candidate_id: int, action: str, conn) -> tuple[Candidate, str]:
    candidate = get_candidate(store, candidate_id, conn=conn)
    moves = TRANSITIONS[action]
    if candidate.stage not in moves:
        raise _refuse(action, candidate.stage, result=candidate.screening_result)
    return candidate, moves[candidate.stage]


# -- the steps ----------------------------------------------------------------------------------
def screen_result(store, candidate_id: int, *, actor: str, result: str,
                  score: float | None = None, reasons: Sequence[dict] = (), conn=None
                  ) -> Candidate:
    """Record a screening result (``pass``/``fail``/``unknown``) on a candidate.

    A ``candidate`` moves to ``screened``. A later stage keeps its stage and only records the
    result. An event is written when the stage or the result changes.
    """
    if result not in OUTCOMES:
        raise ValidationError(f"筛选结果 {result!r} 无效 (result must be one of {OUTCOMES})")
    actor = _require_text(actor, "操作人 actor")
    if conn is None:
        with store.transaction() as c:
            return screen_result(store, candidate_id, actor=actor, result=result, score=score,
                                 reasons=reasons, conn=c)
    candidate = get_candidate(store, candidate_id, conn=conn)
    before_stage, before_result = candidate.stage, candidate.screening_result
    if before_stage in TRANSITIONS["screen"]:
        candidate.stage = TRANSITIONS["screen"][before_stage]
    elif before_stage not in _RESCREEN_IN_PLACE:  # pragma: no cover - every stage is covered
        raise _refuse("screen", before_stage)
    candidate.screening_result = result
    candidate.screening_score = score
    candidate.screening = [dict(r) for r in reasons]
    update_candidate(store, candidate, conn=conn)
    if candidate.stage != before_stage or result != before_result:
        was = f"{before_result}→" if before_result and before_result != result else ""
        _record(conn, candidate_id=candidate.id, station_id=candidate.station_id, actor=actor,
                frm=before_stage, to=candidate.stage, note=f"筛选结果 {was}{result}"
                + (f"，得分 {score:.0f}" if score is not None else ""), action="screen")
    return candidate


def _apply_facts(candidate: Candidate, facts: dict) -> dict:
    """Put what the visit saw on the candidate; return ``{field: {"seen", "before"}}`` (the
    evidence) and keep the sheet's first value in ``extra["sheet_values"]``."""
    evidence: dict = {}
    extra = dict(candidate.extra or {})
    sheet = dict(extra.get("sheet_values") or {})
    for name, seen in facts.items():
        if name not in VISIT_FACTS:
            raise ValidationError(f"走访不能记录 {name!r} (a visit records: "
                                  + ", ".join(VISIT_FACTS) + ")")
        if name == "amenities":
            before = dict(candidate.amenities)
            merged = {**before, **seen}
            changed = {k: v for k, v in seen.items() if before.get(k) != v}
            if changed:
                evidence[name] = {"seen": changed, "before": {k: before.get(k) for k in changed}}
                sheet.setdefault(name, before)
            candidate.amenities = merged
            continue
        before = getattr(candidate, name)
        if before != seen:
            evidence[name] = {"seen": seen, "before": before}
            sheet.setdefault(name, before)
        setattr(candidate, name, seen)
    if sheet:
        extra["sheet_values"] = sheet
    candidate.extra = extra
    return evidence


def visit(store, candidate_id: int, *, actor: str, notes: str, lon: float | None = None,
          lat: float | None = None, photos: Iterable[str] = (), district: str | None = None,
          street: str | None = None, facts: dict | None = None, conn=None) -> Candidate:
    """Record a field visit: notes, what was seen, optionally a corrected pin (WGS84) and
    photo references.

    ``facts`` maps :data:`VISIT_FACTS` to the values seen (already parsed: ``area_m2`` float,
    ``floor`` int, ``street_facing``/``toilet_nearby`` bool, ``opening_hours`` text,
    ``access`` key, ``amenities`` ``{key: "yes"|"no"}``); each is applied to the candidate
    and kept with the visit as ``{seen, before}`` (the sheet's value stays in
    ``extra["sheet_values"]``). A corrected pin moves the candidate, and it belongs where it
    now is: the caller derives ``district``/``street`` from the new position
    (``geodata.places.assign.area_at``) and they replace the old ones (``None`` keeps them).
    """
    actor = _require_text(actor, "操作人 actor")
    notes = _require_text(notes, "走访记录 notes")
    if (lon is None) != (lat is None):
        raise ValidationError("校正位置需同时给出经度和纬度 (give both lon and lat, or neither)")
    if lon is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValidationError(f"坐标超出范围 (lon/lat out of range): {lon}, {lat}")
    if conn is None:
        with store.transaction() as c:
            return visit(store, candidate_id, actor=actor, notes=notes, lon=lon, lat=lat,
                         photos=photos, district=district, street=street, facts=facts,
                         conn=c)
    candidate, target = _step(store, candidate_id, "visit", conn)
    if candidate.screening_result == "fail":
        raise _refuse("visit", candidate.stage, result="fail",
                      why="筛选未通过，请更正资料并重新筛选 (screening failed: fix, re-screen)")
    entry = {"at": settings.wall_now().isoformat(), "actor": actor, "notes": notes,
             "photos": [str(p) for p in photos]}
    if lon is not None:
        entry["pin"] = {"lon": float(lon), "lat": float(lat),
                        "previous": [candidate.lon, candidate.lat],
                        "previous_precision": candidate.geocode_precision}
        candidate.lon, candidate.lat = float(lon), float(lat)
        candidate.geocode_precision, candidate.location_source = "exact", "visit_pin"
        candidate.geocode_confidence = 1.0
        candidate.geocode_matched = "实地走访校正"
        if district is not None or street is not None:
            entry["pin"]["previous_area"] = [candidate.district, candidate.street]
            candidate.district = district if district is not None else candidate.district
            candidate.street = street if street is not None else candidate.street
    evidence = _apply_facts(candidate, facts or {})
    if evidence:
        entry["facts"] = evidence
    extra = dict(candidate.extra or {})
    extra["visits"] = [*extra.get("visits", []), entry]
    candidate.extra = extra
    before = candidate.stage
    candidate.stage = target
    update_candidate(store, candidate, conn=conn)
    pin = f"；校正位置 {lon:.6f},{lat:.6f}" if lon is not None else ""
    seen = f"；记录 {len(evidence)} 项实地情况" if evidence else ""
    _record(conn, candidate_id=candidate.id, station_id=candidate.station_id, actor=actor,
            frm=before, to=target, note=notes + pin + seen, action="visit",
            changes={k: {"before": v["before"], "after": v["seen"]} for k, v in evidence.items()}
            or None)
    return candidate


def set_location(store, candidate_id: int, *, actor: str, lon: float, lat: float,
                 district: str, street: str, source: str = "dragged_pin", conn=None
                 ) -> Candidate:
    """Put a pin on a candidate (WGS84; precision ``exact``, ``source`` ``dragged_pin``) before
    it opens; ``district``/``street`` are those of the new point (the caller's gazetteer).
    Recorded as the step ``pin`` with the old and new position and area."""
    actor = _require_text(actor, "操作人 actor")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValidationError(f"坐标超出范围 (lon/lat out of range): {lon}, {lat}")
    if conn is None:
        with store.transaction() as c:
            return set_location(store, candidate_id, actor=actor, lon=lon, lat=lat,
                                district=district, street=street, source=source, conn=c)
    candidate = get_candidate(store, candidate_id, conn=conn)
    if candidate.stage not in _PIN_STAGES:
        raise _refuse("pin", candidate.stage, why="已建站或已放弃的候选单位不能再移动位置 "
                      "(move the station itself once it is open)")
    before = {"lon": candidate.lon, "lat": candidate.lat, "district": candidate.district,
              "street": candidate.street, "precision": candidate.geocode_precision,
              "source": candidate.location_source}
    candidate.lon, candidate.lat = float(lon), float(lat)
    candidate.geocode_precision, candidate.location_source = "exact", source
    candidate.geocode_confidence, candidate.geocode_matched = 1.0, "地图上放置的位置"
    candidate.district, candidate.street = district, street
    extra = dict(candidate.extra or {})
    extra.pop("area_source", None)  # the pin decides the area now
    candidate.extra = extra
    update_candidate(store, candidate, conn=conn)
    after = {"lon": candidate.lon, "lat": candidate.lat, "district": district,
             "street": street, "precision": "exact", "source": source}
    _record(conn, candidate_id=candidate.id, station_id=None, actor=actor,
            frm=candidate.stage, to=candidate.stage,
            note=f"位置标记 {lon:.6f},{lat:.6f}（{district} {street}）", action="pin",
            changes=audit.field_changes(before, after))
    return candidate


def agree(store, candidate_id: int, *, actor: str, note: str = "", conn=None) -> Candidate:
    """The host agrees to set up the station (同意建立)."""
    actor = _require_text(actor, "操作人 actor")
    if conn is None:
        with store.transaction() as c:
            return agree(store, candidate_id, actor=actor, note=note, conn=c)
    candidate, target = _step(store, candidate_id, "agree", conn)
    before, candidate.stage = candidate.stage, target
    update_candidate(store, candidate, conn=conn)
    _record(conn, candidate_id=candidate.id, station_id=None, actor=actor, frm=before,
            to=target, note=note.strip() or "承建单位同意建站", action="agree")
    return candidate


def open_station(store, candidate_id: int, *, actor: str, note: str = "",
                 code: str | None = None, district_code: str = "", street_code: str = "",
                 verified_on: date | None = None, override: str = "",
                 district: str | None = None, street: str | None = None, conn=None) -> Station:
    """Open the station: create it in the store (with a station code) and link both records.

    Parameters
    ----------
    code : str, optional
        The station code printed on the plaque; by default the store assigns
        ``NX-<street or district code>-<id>``.
    district_code, street_code : str
        Administrative codes (the geodata layer looks them up from the names).
    override : str
        A written reason to open although the screening result is not ``pass`` (the caller
        checks that the account may override); recorded in the audit.
    district, street : str, optional
        The area of the candidate's point (the geodata layer's gazetteer), written on the
        candidate and the station; ``None`` keeps the candidate's.

    Raises
    ------
    TransitionError
        When the candidate is not ``agreed``, its screening result is not ``pass`` and no
        override reason is given, or it has no precise position (record a pin).
    """
    actor = _require_text(actor, "操作人 actor")
    if conn is None:
        with store.transaction() as c:
            return open_station(store, candidate_id, actor=actor, note=note, code=code,
                                district_code=district_code, street_code=street_code,
                                verified_on=verified_on, override=override,
                                district=district, street=street, conn=c)
    candidate, target = _step(store, candidate_id, "open", conn)
    override = (override or "").strip()
    if candidate.screening_result != OPENABLE_RESULT and not override:
        shown = _RESULT_ZH.get(candidate.screening_result, candidate.screening_result)
        raise _refuse("open", candidate.stage, result=candidate.screening_result, why=(
            f"筛选结果为「{shown}」，只有「符合」才能建站；确需建站请由管理员或区级账号填写理由"
            f"强制建站 (screening result is {candidate.screening_result or 'none'}, not pass: "
            "an admin or district account may override with a written reason)"))
    if not candidate.precisely_located:
        raise _refuse("open", candidate.stage, why=(
            f"没有准确位置（当前定位：{candidate.geocode_precision}），请在走访时记录校正位置 "
            "(no precise position; record a corrected pin with the visit)"))
    candidate.district = candidate.district if district is None else district
    candidate.street = candidate.street if street is None else street
    if code and store.find_station_id(code, conn=conn) is not None:
        raise ValidationError(f"站点编码 {code} 已被使用 (station code already in use)")
    station = Station(
        name=candidate.name, lon=float(candidate.lon), lat=float(candidate.lat), code=code,
        host_type=candidate.host_type, address=candidate.address,
        district=candidate.district, district_code=district_code, street=candidate.street,
        street_code=street_code, amenities=dict(candidate.amenities), access=candidate.access,
        area_m2=candidate.area_m2, opening_hours=candidate.opening_hours, status="open",
        sample=candidate.sample, verified_on=verified_on or settings.now().date(),
        contact_name=candidate.contact_name, contact_phone=candidate.contact_phone,
        notes=candidate.notes, candidate_id=candidate.id,
        location_precision=candidate.geocode_precision,
        location_source=candidate.location_source)
    (station_id,) = store.add_stations([station], conn=conn, upsert_by_code=False,
                                       actor=actor, record_creates=False)  # "open" below
    station = store.get_station(station_id, conn=conn)
    before = candidate.stage
    candidate.stage, candidate.station_id = target, station_id
    update_candidate(store, candidate, conn=conn)
    forced = (f"强制建站（筛选结果「{_RESULT_ZH.get(candidate.screening_result)}」）：{override}；"
              if candidate.screening_result != OPENABLE_RESULT else "")
    _record(conn, candidate_id=candidate.id, station_id=station_id, actor=actor, frm=before,
            to=target, note=forced + (note.strip() + "；" if note.strip() else "")
            + f"站点编码 {station.code}", action="open",
            changes={"override": {"before": candidate.screening_result, "after": override}}
            if forced else None)
    return station


def _station_step(store, action: str, status: str, *, candidate_id: int | None,
                  station_id: int | None, actor: str, reason: str, conn) -> Station:
    if conn is None:
        with store.transaction() as c:
            return _station_step(store, action, status, candidate_id=candidate_id,
                                 station_id=station_id, actor=actor, reason=reason, conn=c)
    actor = _require_text(actor, "操作人 actor")
    reason = _require_text(reason, "原因 reason") if action != "reopen" else (reason or "").strip()
    if (candidate_id is None) == (station_id is None):
        raise ValidationError("请给出候选单位编号或站点编号之一 (give candidate_id or station_id)")
    candidate = None
    if candidate_id is not None:
        candidate, target = _step(store, candidate_id, action, conn)
        station_id = candidate.station_id
        if station_id is None:  # pragma: no cover - opened candidates always have a station
            raise NotFoundError(f"候选单位 {candidate_id} 没有对应站点 (no station linked)")
    station = store.get_station(station_id, conn=conn)
    if candidate is None and station.candidate_id is not None:
        candidate = get_candidate(store, station.candidate_id, conn=conn)
    before = (candidate.stage if candidate is not None
              else audit.stage_of_status(station.status))
    moves = TRANSITIONS[action]
    if before not in moves:
        raise _refuse(action, before)
    target = moves[before]
    store._set_status(station.id, status, reason=reason, conn=conn)  # audited just below
    if candidate is not None:
        candidate.stage = target
        update_candidate(store, candidate, conn=conn)
    _record(conn, candidate_id=candidate.id if candidate is not None else None,
            station_id=station.id, actor=actor, frm=before, to=target,
            note=reason or ACTION_LABELS_ZH[action], action=action,
            changes=audit.field_changes(
                {"status": station.status, "status_reason": station.status_reason},
                {"status": status, "status_reason": reason}))
    return store.get_station(station.id, conn=conn)


def suspend(store, candidate_id: int | None = None, *, actor: str, reason: str,
            station_id: int | None = None, conn=None) -> Station:
    """Suspend an opened station (by candidate id, or ``station_id=``) with a reason."""
    return _station_step(store, "suspend", "suspended", candidate_id=candidate_id,
                         station_id=station_id, actor=actor, reason=reason, conn=conn)


def reopen(store, candidate_id: int | None = None, *, actor: str, reason: str = "",
           station_id: int | None = None, conn=None) -> Station:
    """Open a suspended station again."""
    return _station_step(store, "reopen", "open", candidate_id=candidate_id,
                         station_id=station_id, actor=actor, reason=reason, conn=conn)


def close(store, candidate_id: int | None = None, *, actor: str, reason: str,
          station_id: int | None = None, conn=None) -> Station:
    """Close a station for good, with a reason (it stays in the store, status ``closed``)."""
    return _station_step(store, "close", "closed", candidate_id=candidate_id,
                         station_id=station_id, actor=actor, reason=reason, conn=conn)


#: wanted station status → the step that reaches it
_STATUS_STEPS = {"suspended": "suspend", "open": "reopen", "closed": "close"}


def set_status(store, station_id: int, status: str, *, actor: str, reason: str = "",
               conn=None) -> Station:
    """Move a station to ``status`` (``open``, ``suspended``, ``closed``) by the matching step.

    ``suspended`` is :func:`suspend`, ``closed`` :func:`close`, ``open`` :func:`reopen`:
    the same rules (a reason is required to suspend or close; a closed station stays
    closed) and the same audit row.
    """
    if status not in STATUSES:
        raise ValidationError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    return _station_step(store, _STATUS_STEPS[status], status, candidate_id=None,
                         station_id=station_id, actor=actor, reason=reason, conn=conn)


def decline(store, candidate_id: int, *, actor: str, reason: str, conn=None) -> Candidate:
    """End the workflow for a candidate with a reason (before opening)."""
    actor = _require_text(actor, "操作人 actor")
    reason = _require_text(reason, "原因 reason")
    if conn is None:
        with store.transaction() as c:
            return decline(store, candidate_id, actor=actor, reason=reason, conn=c)
    candidate, target = _step(store, candidate_id, "decline", conn)
    before, candidate.stage = candidate.stage, target
    extra = dict(candidate.extra or {})
    extra["declined_reason"] = reason
    candidate.extra = extra
    update_candidate(store, candidate, conn=conn)
    _record(conn, candidate_id=candidate.id, station_id=None, actor=actor, frm=before,
            to=target, note=reason, action="decline")
    return candidate


def history(store, candidate_id: int | None = None, *, station_id: int | None = None
            ) -> list[dict]:
    """The audit log of a candidate (or of a station, with its candidate's steps), oldest first.

    Returns
    -------
    list of dict
        ``{id, candidate_id, station_id, actor, at, from, to, from_zh, to_zh, note, action,
        action_zh, changes}`` (``*_zh``: the states in Chinese; ``at`` ISO text; ``action``
        and ``changes`` as :func:`stations.audit.event_answer` gives them).
    """
    if candidate_id is not None:
        get_candidate(store, candidate_id)  # NotFoundError for unknown ids
        rows = audit.list_events(store, candidate_id=candidate_id)
    elif station_id is not None:
        station = store.get_station(station_id)
        # with its candidate: the workflow that led to the station, too
        rows = audit.list_events(store, station_id=station_id,
                                 or_candidate_id=station.candidate_id)
    else:
        rows = audit.list_events(store)
    out = []
    for r in rows:
        shown = audit.event_answer(r)
        out.append({"id": r["id"], "candidate_id": r["candidate_id"],
                    "station_id": r["station_id"], "actor": r["actor"],
                    "at": settings.iso_time(r["at"]), "from": r["from_state"],
                    "to": r["to_state"], "from_zh": shown["from_zh"], "to_zh": shown["to_zh"],
                    "note": r["note"], "action": shown["action"],
                    "action_zh": ACTION_LABELS_ZH.get(shown["action"]) or
                    audit.ACTION_LABELS_ZH.get(shown["action"], shown["action"]),
                    "changes": shown["changes"]})
    return out
