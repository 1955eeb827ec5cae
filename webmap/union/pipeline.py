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

from flask import flash, redirect, render_template, request, url_for

from geodata.crs.datums import convert, normalise_datum
from geodata.places.assign import area_at, area_of_record
from stations.errors import ForbiddenError, NotFoundError, NuanxinError, ValidationError
from webmap.extensions import get_store
from webmap.union.common import bp, check_write, current_scope, current_user, in_listed_scope

__all__ = ["STEP_FIELDS"]

#: What each lifecycle step asks for on the form (besides the actor, who is the logged-in user).
STEP_FIELDS = {
    "screen": (), "visit": ("notes", "lon", "lat", "crs"), "agree": ("note",),
    "open": ("note", "code"), "decline": ("reason",), "suspend": ("reason",),
    "reopen": ("reason",), "close": ("reason",),
}
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
    mine = (lambda c: True) if everywhere else in_listed_scope
    rows = [c for c in list_candidates(get_store(), stage=stage or None) if mine(c)]
    order = {"pass": 0, "unknown": 1, "fail": 2, None: 3}
    rows.sort(key=lambda c: (order.get(c.screening_result, 3), -(c.screening_score or 0), c.id))
    counts: dict[str, int] = {}
    for c in list_candidates(get_store()):
        if mine(c):
            counts[c.stage] = counts.get(c.stage, 0) + 1
    return render_template("union/candidates.html", rows=rows, stage=stage, stages=STAGES,
                           stage_labels=STAGE_LABELS_ZH, counts=counts, everywhere=everywhere,
                           action_labels=ACTION_LABELS_ZH,
                           allowed=lambda c: allowed_actions(c.stage, result=c.screening_result))


@bp.get("/candidates/<int:candidate_id>")
def candidate(candidate_id: int):
    """One candidate: data, screening reasons, audit log and the allowed steps."""
    from stations.candidates import LOCATION_SOURCE_LABELS_ZH, STAGE_LABELS_ZH, get_candidate
    from stations.lifecycle import ACTION_LABELS_ZH, allowed_actions, history

    store = get_store()
    c = get_candidate(store, candidate_id)
    actions = allowed_actions(c.stage, result=c.screening_result)
    if "screen" not in actions:
        actions = ["screen"] + actions  # re-screening is always possible (recorded in place)
    return render_template(
        "union/candidate.html", c=c, actions=actions, action_labels=ACTION_LABELS_ZH,
        stage_labels=STAGE_LABELS_ZH, step_fields=STEP_FIELDS,
        location_labels=LOCATION_SOURCE_LABELS_ZH, history=history(store, candidate_id))


def _float_or_none(text: str, what: str) -> float | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValidationError(f"{what} 不是数字 (not a number): {text!r}") from None


def _run_step(store, c, action: str, form, actor: str) -> str:
    from geodata.io.candidates import area_codes, screen_candidates
    from stations import lifecycle

    if action == "screen":
        district, street = current_scope().jurisdiction
        result = screen_candidates(store, ids=[c.id], actor=actor, union_district=district,
                                   union_street=street)[0]["result"]
        label = {"pass": "符合", "fail": "不符合", "unknown": "待确认"}[result]
        return f"筛选结果：{label}"
    if action == "visit":
        lon = _float_or_none(form.get("lon"), "经度 lon")
        lat = _float_or_none(form.get("lat"), "纬度 lat")
        area = None
        if lon is not None and lat is not None:
            datum = normalise_datum(form.get("crs") or "wgs84")
            lon, lat = (float(v) for v in convert(lon, lat, src=datum, dst="wgs84"))
            area = area_at(lon, lat, district=c.district, street=c.street)
            check_write(area, what="候选单位的新位置")  # no move out of the account's area
        lifecycle.visit(store, c.id, actor=actor, notes=form.get("notes", ""), lon=lon, lat=lat,
                        district=area.district if area else None,
                        street=area.street if area else None)
        return "已记录走访。"
    if action == "agree":
        lifecycle.agree(store, c.id, actor=actor, note=form.get("note", ""))
        return "已记录：单位同意建站。"
    if action == "open":
        district_code, street_code = area_codes(c.district, c.street)
        station = lifecycle.open_station(store, c.id, actor=actor, note=form.get("note", ""),
                                         code=(form.get("code") or "").strip() or None,
                                         district_code=district_code, street_code=street_code)
        return f"已建站：{station.name}（编码 {station.code}）。"
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
    check_write(area_of_record(c), what="候选单位")  # 403 before any step
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


@bp.post("/candidates/screen")
def candidates_screen():
    """Screen the account's candidates against the standard, in its jurisdiction."""
    from geodata.io.candidates import screen_candidates
    from stations.candidates import list_candidates

    scope = current_scope()
    scope.check_write(scope.area, what="筛选")  # a viewer screens nothing
    store = get_store()
    ids = None if scope.role == "admin" else [
        c.id for c in list_candidates(store) if scope.covers(area_of_record(c))]
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
    flash(f"导入 {report.imported} 行，拒绝 {len(report.rejected)} 行。", "ok" if report.imported
          else "error")
    return render_template("union/import_report.html", report=report.as_dict(),
                           filename=upload.filename)
