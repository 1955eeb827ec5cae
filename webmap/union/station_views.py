"""The dashboard at a glance, the station table, editing a station and its status.

Edits and status changes check the account's scope first (403, nothing written); an edited
station takes its district and street from its location (:mod:`geodata.places.assign`), so a
move out of the account's area is refused as well. The table shows the account's area unless
the query names another.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from geodata.places.assign import area_of_record, assign_areas
from stations.amenities import AMENITIES
from stations.errors import NotFoundError, NuanxinError, ValidationError
from stations.records import ACCESS_MODES, HOST_TYPES, STATUSES, station_from_row
from webmap import feedback
from webmap.catalogue import get_catalogue, hours_of
from webmap.extensions import get_store
from webmap.union.common import (
    bp,
    check_write,
    current_user,
    in_listed_scope,
    listed_area,
    listed_scope_area,
)

__all__ = ["dashboard", "stations", "station_edit", "station_status", "PAGE_SIZE"]

PAGE_SIZE = 50


# -- dashboard -------------------------------------------------------------------------------
@bp.get("/")
def dashboard():
    """The union's first screen (issue 12): coverage and 交叉覆盖 at the default radius with a
    small gap map for the account's area, the candidate funnel per street, the worker
    problems waiting; then counts at a glance and the way to each tool."""
    store = get_store()
    cat = get_catalogue(store)
    district, street = listed_area({})
    idx, _ = cat.select(statuses=None, district=district or None, street=street or None)
    by_status = {s: int((cat.status[idx] == s).sum()) for s in STATUSES}
    from stations.candidates import STAGE_LABELS_ZH, list_candidates

    stages: dict[str, int] = {}
    mine = [c for c in list_candidates(store) if in_listed_scope(c)]
    for c in mine:
        stages[c.stage] = stages.get(c.stage, 0) + 1
    return render_template("union/dashboard.html", total=len(idx), by_status=by_status,
                           stages=stages, stage_labels=STAGE_LABELS_ZH,
                           reports_new=feedback.count_reports(store, status="new",
                                                              area=listed_scope_area()),
                           sample=int(sum(1 for i in idx if cat.stations[i].sample)),
                           funnel=candidate_funnel(mine), funnel_steps=FUNNEL_STEPS,
                           overview=_overview(store))


#: The pipeline as the union counts it: (key, label); a candidate counts in every step it
#: has reached (待定位 is a queue beside the steps: candidates not yet placed).
FUNNEL_STEPS = (("candidates", "候选"), ("passed", "筛选通过"), ("needs_pin", "待定位"),
                ("visited", "走访"), ("agreed", "同意"), ("opened", "建站"))
_REACHED = {"visited": ("visited", "agreed", "opened", "suspended", "closed"),
            "agreed": ("agreed", "opened", "suspended", "closed"),
            "opened": ("opened", "suspended", "closed")}


def candidate_funnel(candidates) -> dict:
    """``{"total": {step: n}, "streets": [(street, {step: n})]}`` for :data:`FUNNEL_STEPS`
    (declined candidates are left out; a candidate without a street is 未定位街道)."""
    def empty():
        return {key: 0 for key, _ in FUNNEL_STEPS}

    total, streets = empty(), {}
    for c in candidates:
        if c.stage == "declined":
            continue
        row = streets.setdefault(c.street or "未定位街道", empty())
        steps = ["candidates"]
        if c.screening_result == "pass":
            steps.append("passed")
        if c.needs_pin and c.stage not in _REACHED["opened"]:
            steps.append("needs_pin")
        steps += [k for k, reached in _REACHED.items() if c.stage in reached]
        for key in steps:
            row[key] += 1
            total[key] += 1
    return {"total": total, "streets": sorted(streets.items())}


def _overview(store) -> dict | None:
    """Coverage at the default radius for the account's area — the one place the overview
    asks for it (:func:`webmap.planning.coverage_result`, cached per store version), with its
    gap map. ``None`` for an account without an area (admin: pick an area on 覆盖分析)."""
    from flask import current_app

    from webmap import maps, planning
    from webmap.pinmap import overview_map
    from webmap.security import csp_nonce
    from webmap.union.common import current_scope

    area = current_scope().area
    if current_scope().role == "admin" or not (area.district or area.street):
        return None
    result = planning.coverage_result(store, district=area.district or None,
                                      street=area.street or None)
    body = result.as_dict()
    m = overview_map(result, tiles=current_app.config["TILES"],
                     tianditu_key=current_app.config["TIANDITU_KEY"])
    return {"area": area.street or area.district, "level": "street" if area.street
            else "district", "body": body, "words": result.demand_words(),
            "map": maps.map_parts(m, nonce=csp_nonce())}


# -- stations --------------------------------------------------------------------------------
@bp.get("/stations")
def stations():
    """The station table with filters and paging."""
    args = request.args
    status = args.get("status", "")
    amenity = args.get("amenity", "")
    if status and status not in STATUSES:
        raise ValidationError(f"status 无效 {status!r}")
    if amenity and amenity not in AMENITIES:
        raise ValidationError(f"amenity 无效 {amenity!r}")
    cat = get_catalogue(get_store())
    district, street = listed_area(args)
    idx, _ = cat.select(statuses=[status] if status else None,
                        district=district or None, street=street or None,
                        amenities=[amenity] if amenity else ())
    rows = [cat.stations[i] for i in idx]
    q = args.get("q", "").strip()
    if q:
        rows = [s for s in rows if q in s.name or q in s.address or q == (s.code or "")]
    sample = args.get("sample", "")
    if sample in ("1", "0"):
        rows = [s for s in rows if bool(s.sample) == (sample == "1")]
    try:
        page = max(1, int(args.get("page", "1")))
    except ValueError:
        page = 1
    pages = max(1, (len(rows) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(page, pages)
    shown = rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    districts = sorted({d for d in cat.district.tolist() if d})
    query = {k: v for k, v in args.items() if k != "page" and v}
    query.update(district=district, street=street)  # "" (the whole city) stays chosen
    shown_args = {**args.to_dict(), "district": district, "street": street}
    return render_template("union/stations.html", rows=shown, total=len(rows), page=page,
                           pages=pages, districts=districts, args=shown_args, query=query,
                           hours_of=hours_of, statuses=STATUSES)


def _form_row(form) -> dict:
    row = {k: form.get(k, "") for k in (
        "name", "address", "host_type", "district", "street", "lon", "lat", "access",
        "opening_hours", "area_m2", "capacity", "contact_name", "contact_phone", "notes",
        "verified_on", "public_phone")}
    row["sample"] = "1" if form.get("sample") else "0"
    for a in AMENITIES:
        value = form.get(f"amenity_{a}", "unknown")
        if value not in ("yes", "no", "unknown"):
            raise ValidationError(f"设施 {a} 的取值无效 {value!r}")
        row[f"amenity_{a}"] = "" if value == "unknown" else value
    return row


@bp.route("/stations/<int:station_id>", methods=["GET", "POST"])
def station_edit(station_id: int):
    """Edit a station (validated exactly like an imported row)."""
    from stations.lifecycle import history

    store = get_store()
    s = store.get_station(station_id)
    errors = None
    if request.method == "POST":
        check_write(area_of_record(s))  # 403 before anything is read or written
        try:
            new = station_from_row(_form_row(request.form))
        except NuanxinError as exc:
            errors = exc.message
        else:
            for keep in ("id", "code", "status", "status_reason", "candidate_id", "created_at"):
                setattr(new, keep, getattr(s, keep))
            # it belongs where it is: district and street from its location (the form's
            # values only where the shipped data cannot place the point)
            assign_areas([new])
            check_write(area_of_record(new), what="站点的新位置")  # no move out of scope
            store.update_station(new, actor=current_user()["username"],  # audited, version + 1
                                 expected_version=_form_version(request.form))
            flash("已保存。", "ok")
            return redirect(url_for("union.station_edit", station_id=station_id))
    return render_template(
        "union/station_edit.html", s=s, errors=errors, form=request.form if errors else None,
        host_types=HOST_TYPES, access_modes=ACCESS_MODES, amenities=AMENITIES,
        history=history(store, station_id=station_id),
        reports=feedback.list_reports(store, station_id=station_id, limit=50),
        hours=hours_of(s)), 400 if errors else 200  # bad input: the form again, as a 400


def _form_version(form) -> int | None:
    """The version the form was read at: a stale one is a 409 (someone saved in between)."""
    text = form.get("version", "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None


@bp.post("/stations/<int:station_id>/status")
def station_status(station_id: int):
    """Suspend, reopen or close a station with a reason (recorded in the audit log)."""
    from stations import lifecycle

    action = request.form.get("action", "")
    reason = request.form.get("reason", "").strip()
    steps = {"suspend": lifecycle.suspend, "reopen": lifecycle.reopen,
             "close": lifecycle.close}
    if action not in steps:
        raise ValidationError(f"未知操作 {action!r} (use suspend, reopen or close)")
    check_write(area_of_record(get_store().get_station(station_id)))
    try:
        steps[action](get_store(), station_id=station_id, actor=current_user()["username"],
                      reason=reason)
    except NotFoundError:
        raise
    except NuanxinError as exc:
        flash(exc.message, "error")
    else:
        flash(f"状态已更新：{lifecycle.ACTION_LABELS_ZH[action]}。", "ok")
    return redirect(url_for("union.station_edit", station_id=station_id))
