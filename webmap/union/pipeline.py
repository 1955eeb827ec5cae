"""The candidate pipeline: the list, one candidate, lifecycle steps, screening, sheet import.

Thin views over :mod:`geodata.io.candidates` (import, screening) and :mod:`stations.lifecycle`
(the audited steps).

Scope (issue 10): the list shows the account's candidates unless ``?all=1``; a step checks the
candidate's area (and a visit's corrected pin: no move out of the area), an import rejects the
rows outside the area (row, column, reason), screening screens only the account's candidates
with the account's area as the ``in_area`` jurisdiction. A viewer writes nothing; a refusal is
a 403 and changes nothing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import current_app, flash, redirect, render_template, request, url_for

from geodata.crs.datums import convert, normalise_datum
from stations.errors import ForbiddenError, NotFoundError, NuanxinError, ValidationError
from webmap.extensions import get_store
from webmap.union.common import (
    bp,
    check_write,
    current_scope,
    current_user,
    in_listed_scope,
    record_area,
)

__all__ = ["STEP_FIELDS", "OVERRIDE_ROLES"]

#: What each lifecycle step asks for on the form (besides the actor, who is the logged-in user).
STEP_FIELDS = {
    "screen": (), "visit": ("notes", "lon", "lat", "crs"), "agree": ("note",),
    "open": ("note", "code"), "decline": ("reason",), "suspend": ("reason",),
    "reopen": ("reason",), "close": ("reason",),
}
#: Roles that may open a candidate whose screening is not ``pass`` (with a written reason).
OVERRIDE_ROLES = ("admin", "district")
_UPLOAD_TYPES = (".csv", ".xlsx")


@bp.get("/candidates")
def candidates():
    """The candidate pipeline: every candidate with its stage, screening result and reasons."""
    from stations.candidates import STAGE_LABELS_ZH, STAGES, list_candidates
    from stations.lifecycle import ACTION_LABELS_ZH, allowed_actions

    stage = request.args.get("stage", "")
    if stage and stage not in STAGES:
        raise ValidationError(f"stage 无效 {stage!r}; use one of {', '.join(STAGES)}")
    everywhere = request.args.get("all") == "1"
    pins = request.args.get("pin") == "1"  # the queue waiting for a pin (待定位)
    mine = (lambda c: True) if everywhere else in_listed_scope
    rows = [c for c in list_candidates(get_store(), stage=stage or None) if mine(c)
            and (not pins or (c.needs_pin and c.stage not in _ENDED))]
    order = {"pass": 0, "unknown": 1, "fail": 2, None: 3}
    rows.sort(key=lambda c: (order.get(c.screening_result, 3), -(c.screening_score or 0), c.id))
    counts: dict[str, int] = {}
    for c in list_candidates(get_store()):
        if mine(c):
            counts[c.stage] = counts.get(c.stage, 0) + 1
    waiting = sum(1 for c in list_candidates(get_store())
                  if mine(c) and c.needs_pin and c.stage not in _ENDED)
    return render_template("union/candidates.html", rows=rows, stage=stage, stages=STAGES,
                           stage_labels=STAGE_LABELS_ZH, counts=counts, everywhere=everywhere,
                           pins=pins, waiting=waiting,
                           action_labels=ACTION_LABELS_ZH,
                           allowed=lambda c: allowed_actions(c.stage, result=c.screening_result))


@bp.get("/candidates/<int:candidate_id>")
def candidate(candidate_id: int):
    """One candidate: data, screening reasons, audit log and the allowed steps."""
    from stations.amenities import AMENITIES
    from stations.candidates import (
        LOCATION_SOURCE_LABELS_ZH,
        STAGE_LABELS_ZH,
        VISIT_FACT_LABELS_ZH,
        get_candidate,
    )
    from stations.lifecycle import ACTION_LABELS_ZH, allowed_actions, history
    from webmap import maps
    from webmap.pinmap import candidate_pin_map
    from webmap.security import csp_nonce

    store = get_store()
    c = get_candidate(store, candidate_id)
    actions = allowed_actions(c.stage, result=c.screening_result)
    if "screen" not in actions:
        actions = ["screen"] + actions  # re-screening is always possible (recorded in place)
    if c.stage == "agreed" and "open" not in actions:
        actions.append("open")  # a failed screening opens only with an override
    tiles = current_app.config["TILES"]
    m, pin = candidate_pin_map(c, tiles=tiles, tianditu_key=current_app.config["TIANDITU_KEY"],
                               fallback=current_scope().area)
    return render_template(
        "union/candidate.html", c=c, actions=actions, action_labels=ACTION_LABELS_ZH,
        stage_labels=STAGE_LABELS_ZH, step_fields=STEP_FIELDS,
        location_labels=LOCATION_SOURCE_LABELS_ZH, history=history(store, candidate_id),
        map=maps.map_parts(m, nonce=csp_nonce()), pin=pin, can_pin=c.stage in _PIN_STAGES,
        can_override=current_scope().role in OVERRIDE_ROLES, amenities=AMENITIES,
        fact_labels=VISIT_FACT_LABELS_ZH, visits=(c.extra or {}).get("visits", []))


def _float_or_none(text: str, what: str) -> float | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValidationError(f"{what} 不是数字 (not a number): {text!r}") from None


_ENDED = ("opened", "suspended", "closed", "declined")
_PIN_STAGES = ("candidate", "screened", "visited", "agreed")
_RESULT_ZH = {"pass": "符合", "fail": "不符合", "unknown": "待确认"}


def _pin_from(form) -> tuple[float | None, float | None]:
    """The form's ``lon``/``lat`` (in its ``crs``) as WGS84, or ``(None, None)``."""
    lon = _float_or_none(form.get("lon"), "经度 lon")
    lat = _float_or_none(form.get("lat"), "纬度 lat")
    if (lon is None) != (lat is None):
        raise ValidationError("位置需同时给出经度和纬度 (give both lon and lat)")
    if lon is None:
        return None, None
    datum = normalise_datum(form.get("crs") or "wgs84")
    lon, lat = (float(v) for v in convert(lon, lat, src=datum, dst="wgs84"))
    return lon, lat


def _visit(store, c, form, actor: str) -> str:
    from geodata.io.candidates import record_visit
    from stations.candidates import parse_visit_facts

    lon, lat = _pin_from(form)
    facts = parse_visit_facts(form)
    district, street = current_scope().jurisdiction
    result = record_visit(
        store, c.id, actor=actor, notes=form.get("notes", ""), lon=lon, lat=lat,
        photos=[p.strip() for p in (form.get("photos") or "").splitlines() if p.strip()],
        facts=facts, union_district=district, union_street=street,
        check=lambda area: check_write(area, what="候选单位的新位置"))
    seen = f"，记录 {len(facts)} 项实地情况" if facts else ""
    return f"已记录走访{seen}；重新筛选：{_RESULT_ZH[result['result']]}。"


def _open(store, c, form, actor: str) -> str:
    from geodata.io.candidates import open_candidate

    override = (form.get("override") or "").strip()
    if override and current_scope().role not in OVERRIDE_ROLES:
        raise ForbiddenError("只有管理员或区级账号可以强制建站 (only an admin or district "
                             "account may open against the screening result)")
    station = open_candidate(store, c.id, actor=actor, note=form.get("note", ""),
                             code=(form.get("code") or "").strip() or None, override=override)
    return f"已建站：{station.name}（编码 {station.code}，{station.district} {station.street}）。"


def _run_step(store, c, action: str, form, actor: str) -> str:
    from geodata.io.candidates import screen_candidates
    from stations import lifecycle

    if action == "screen":
        district, street = current_scope().jurisdiction
        result = screen_candidates(store, ids=[c.id], actor=actor, union_district=district,
                                   union_street=street)[0]["result"]
        return f"筛选结果：{_RESULT_ZH[result]}"
    if action == "visit":
        return _visit(store, c, form, actor)
    if action == "agree":
        lifecycle.agree(store, c.id, actor=actor, note=form.get("note", ""))
        return "已记录：单位同意建站。"
    if action == "open":
        return _open(store, c, form, actor)
    if action == "decline":
        lifecycle.decline(store, c.id, actor=actor, reason=form.get("reason", ""))
        return "已放弃。"
    steps = {"suspend": lifecycle.suspend, "reopen": lifecycle.reopen, "close": lifecycle.close}
    if action in steps:
        steps[action](store, c.id, actor=actor, reason=form.get("reason", ""))
        return f"已{lifecycle.ACTION_LABELS_ZH[action]}。"
    raise ValidationError(f"未知操作 {action!r} (unknown step); use one of "
                          + ", ".join(STEP_FIELDS))


@bp.post("/candidates/<int:candidate_id>/step")
def candidate_step(candidate_id: int):
    """Run one lifecycle step on a candidate (refused steps come back as a message)."""
    from stations.candidates import get_candidate

    store = get_store()
    c = get_candidate(store, candidate_id)
    check_write(record_area(c), what="候选单位")  # 403 before any step
    try:
        message = _run_step(store, c, request.form.get("action", ""), request.form,
                            current_user()["username"])
    except (NotFoundError, ForbiddenError):
        raise
    except NuanxinError as exc:
        flash(exc.message, "error")
    else:
        flash(message, "ok")
    return redirect(url_for("union.candidate", candidate_id=candidate_id))


@bp.post("/candidates/<int:candidate_id>/pin")
def candidate_pin(candidate_id: int):
    """Save the pin dragged on the candidate's map (or typed): district and street from the
    gazetteer at the new point, then a new screening."""
    from geodata.io.candidates import place_pin
    from stations.candidates import get_candidate

    store = get_store()
    c = get_candidate(store, candidate_id)
    check_write(record_area(c), what="候选单位")
    try:
        lon, lat = _pin_from(request.form)
        if lon is None:
            raise ValidationError("请先在地图上拖动标记，或填写经纬度 (drag the pin first)")
        district, street = current_scope().jurisdiction
        result = place_pin(store, candidate_id, lon, lat, actor=current_user()["username"],
                           union_district=district, union_street=street,
                           check=lambda area: check_write(area, what="候选单位的新位置"))
    except (NotFoundError, ForbiddenError):
        raise
    except NuanxinError as exc:
        flash(exc.message, "error")
    else:
        moved = get_candidate(store, candidate_id)
        outcome = _RESULT_ZH[result["result"]]
        flash(f"位置已保存：{moved.district} {moved.street}；重新筛选：{outcome}。", "ok")
    return redirect(url_for("union.candidate", candidate_id=candidate_id))


@bp.post("/candidates/screen")
def candidates_screen():
    """Screen the account's candidates against the standard, in its jurisdiction."""
    from geodata.io.candidates import screen_candidates
    from stations.candidates import list_candidates

    scope = current_scope()
    scope.check_write(scope.area, what="筛选")  # a viewer screens nothing
    store = get_store()
    ids = None if scope.role == "admin" else [
        c.id for c in list_candidates(store) if scope.covers(record_area(c))]
    district, street = scope.jurisdiction
    try:
        results = screen_candidates(store, ids=ids, actor=current_user()["username"],
                                    union_district=district, union_street=street)
    except NuanxinError as exc:
        flash(exc.message, "error")
    else:
        tally = {r: sum(1 for x in results if x["result"] == r) for r in ("pass", "unknown",
                                                                           "fail")}
        flash(f"已筛选 {len(results)} 个候选单位：符合 {tally['pass']}，待确认 {tally['unknown']}，"
              f"不符合 {tally['fail']}。", "ok")
    return redirect(url_for("union.candidates"))


@bp.post("/candidates/import")
def candidates_import():
    """Import the union's candidate sheet (CSV/XLSX); shows every rejected row."""
    from geodata.io.candidates import import_candidates

    scope = current_scope()
    scope.check_write(scope.area, what="导入")  # a viewer imports nothing
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationError("请选择要导入的表格文件 (choose a .csv or .xlsx file)")
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in _UPLOAD_TYPES:
        raise ValidationError(f"只支持 .csv 和 .xlsx (unsupported file type {suffix or '-'})")
    crs = normalise_datum(request.form.get("crs") or "wgs84")
    with tempfile.TemporaryDirectory(prefix="nuanxin-upload-") as folder:
        path = Path(folder) / f"candidates{suffix}"
        upload.save(path)
        try:
            report = import_candidates(get_store(), path, crs=crs, progress=False, scope=scope)
        except NuanxinError as exc:
            flash(f"导入失败：{exc.message}", "error")
            return redirect(url_for("union.candidates"))
    flash(report.summary_zh(), "ok" if report.imported else "error")
    return render_template("union/import_report.html", report=report.as_dict(),
                           summary=report.summary_zh(), groups=report.location_groups_zh(),
                           filename=upload.filename)
