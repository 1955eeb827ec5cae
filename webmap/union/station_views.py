"""The dashboard at a glance, the station table, editing a station and its status.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from stations.amenities import AMENITIES
from stations.errors import NotFoundError, NuanxinError, ValidationError
from stations.records import ACCESS_MODES, HOST_TYPES, STATUSES, station_from_row
from webmap import feedback
from webmap.catalogue import get_catalogue, hours_of
from webmap.extensions import get_store
from webmap.union.common import bp, current_user

__all__ = ["dashboard", "stations", "station_edit", "station_status", "PAGE_SIZE"]

PAGE_SIZE = 50


# -- dashboard -------------------------------------------------------------------------------
@bp.get("/")
def dashboard():
    """Counts at a glance and the way to each tool."""
    store = get_store()
    cat = get_catalogue(store)
    by_status = {s: int((cat.status == s).sum()) for s in STATUSES}
    from stations.candidates import STAGE_LABELS_ZH, list_candidates

    stages: dict[str, int] = {}
    for c in list_candidates(store):
        stages[c.stage] = stages.get(c.stage, 0) + 1
    return render_template("union/dashboard.html", total=len(cat), by_status=by_status,
                           stages=stages, stage_labels=STAGE_LABELS_ZH,
                           reports_new=feedback.count_reports(store, status="new"),
                           sample=int(sum(1 for s in cat.stations if s.sample)))


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
    idx, _ = cat.select(statuses=[status] if status else None,
                        district=args.get("district") or None, street=args.get("street") or None,
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
    return render_template("union/stations.html", rows=shown, total=len(rows), page=page,
                           pages=pages, districts=districts, args=args, query=query,
                           hours_of=hours_of, statuses=STATUSES)


def _form_row(form) -> dict:
    row = {k: form.get(k, "") for k in (
        "name", "address", "host_type", "district", "street", "lon", "lat", "access",
        "opening_hours", "area_m2", "capacity", "contact_name", "contact_phone", "notes",
        "verified_on")}
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
        try:
            new = station_from_row(_form_row(request.form))
        except NuanxinError as exc:
            errors = exc.message
        else:
            for keep in ("id", "code", "status", "status_reason", "candidate_id", "created_at"):
                setattr(new, keep, getattr(s, keep))
            new.district_code, new.street_code = _area_codes(new.district, new.street, s)
            store.update_station(new)
            flash("已保存。", "ok")
            return redirect(url_for("union.station_edit", station_id=station_id))
    return render_template(
        "union/station_edit.html", s=s, errors=errors, form=request.form if errors else None,
        host_types=HOST_TYPES, access_modes=ACCESS_MODES, amenities=AMENITIES,
        history=history(store, station_id=station_id),
        reports=feedback.list_reports(store, station_id=station_id, limit=50),
        hours=hours_of(s)), 400 if errors else 200  # bad input: the form again, as a 400


def _area_codes(district: str, street: str, old) -> tuple[str, str]:
    if district == old.district and street == old.street:
        return old.district_code, old.street_code
    try:
        from geodata.io.candidates import area_codes

        return area_codes(district, street)
    except NuanxinError:
        return "", ""


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
