"""Workers' reports on the dashboard: the review queue, figures per street, stations that no
longer meet a hard rule, plaque visits and downloads, and the list of every report.

Everything listed is in the account's area (:func:`listed_scope_area`); every answer to a
report checks the scope of its station first (403, nothing written). Settling goes through
:func:`stations.review.settle` (lifecycle and store, audited).
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for

from geodata.places.assign import area_of_names, area_of_record
from stations import review, settings, trust, worker_reports
from stations.amenities import AMENITIES, AMENITY_LABELS_ZH
from stations.errors import ValidationError
from stations.records import ACCESS_LABELS_ZH, ACCESS_MODES
from stations.standard import load_standard
from webmap import feedback
from webmap.extensions import get_store
from webmap.union.common import (
    bp,
    check_write,
    current_scope,
    current_user,
    in_listed_scope,
    listed_scope_area,
    send_temp,
)

__all__ = ["reports", "report_status", "review_station", "plaque_png", "plaque_sheet"]

#: Weeks of plaque visits the dashboard shows.
VISIT_WEEKS = 4


def _visits_by_week(rows: list[dict], today) -> tuple[list, list[dict]]:
    """``(weeks, [{station_id, name, street, counts: [...]}])``: visits per station per ISO
    week (Monday first), the last :data:`VISIT_WEEKS` weeks, oldest first."""
    monday = today - timedelta(days=today.weekday())
    weeks = [monday - timedelta(weeks=i) for i in range(VISIT_WEEKS - 1, -1, -1)]
    table: dict[int, dict] = {}
    for row in rows:
        start = row["day"] - timedelta(days=row["day"].weekday())
        if start not in weeks:
            continue
        entry = table.setdefault(row["station_id"], {
            "station_id": row["station_id"], "name": row["station_name"],
            "street": row["station_street"], "counts": [0] * len(weeks)})
        entry["counts"][weeks.index(start)] += int(row["visits"])
    return weeks, sorted(table.values(), key=lambda e: -sum(e["counts"]))


@bp.get("/reports")
def reports():
    """The review queue (open problems per station in the account's area), figures per
    street, hard-rule re-check, plaque visits, and every report by status."""
    status = request.args.get("status", "new")
    if status not in feedback.REPORT_STATUSES + ("all",):
        raise ValidationError(f"status 无效 {status!r}")
    order = request.args.get("order", "most")
    if order not in ("most", "newest"):
        raise ValidationError(f"order 无效 {order!r} (most or newest)")
    store = get_store()
    area = listed_scope_area()
    today = settings.now().date()
    stations = [s for s in store.list_stations() if in_listed_scope(s)]
    rows = feedback.list_reports(store, status=None if status == "all" else status, area=area)
    weeks, visits = _visits_by_week(worker_reports.plaque_visits(
        store, since=today - timedelta(weeks=VISIT_WEEKS + 1), area=area), today)
    streets = sorted({s.street for s in stations if s.street and s.status == "open"})
    return render_template(
        "union/reports.html", rows=rows, status=status, statuses=feedback.REPORT_STATUSES,
        status_labels=feedback.REPORT_STATUS_LABELS_ZH, order=order,
        queue=review.queue(store, area=area, order=order),
        figures=review.street_figures(store, stations, area=area, today=today),
        failing=review.failing_hard_rules(store, stations, load_standard(), area=area),
        weeks=weeks, visits=visits, streets=streets,
        kind_labels=trust.REPORT_KIND_LABELS_ZH, actions=review.ACTION_LABELS_ZH,
        amenities=[(a, AMENITY_LABELS_ZH[a]) for a in AMENITIES],
        access_modes=[(a, ACCESS_LABELS_ZH[a]) for a in ACCESS_MODES],
        can_write=current_scope().can_write, rule=trust.Rule.from_settings())


@bp.post("/reports/<int:report_id>")
def report_status(report_id: int):
    """Mark a report handled / dismissed / new (on a station in the account's area)."""
    store = get_store()
    station = store.get_station(worker_reports.report_station_id(store, report_id))
    check_write(area_of_record(station), what="反馈所属站点")
    feedback.set_report_status(store, report_id, request.form.get("status", ""))
    flash("已更新。", "ok")
    return redirect(url_for("union.reports", status=request.form.get("back", "new")))


def _values(form) -> dict:
    """What an action changes, from the queue's form."""
    values: dict = {"opening_hours": form.get("opening_hours", ""),
                    "access": form.get("access", "")}
    values["amenities"] = {a: form[f"amenity_{a}"] for a in AMENITIES
                           if form.get(f"amenity_{a}") in ("yes", "no", "unknown")}
    for key in ("lon", "lat"):
        text = (form.get(key) or "").strip()
        if text:
            try:
                values[key] = float(text)
            except ValueError:
                raise ValidationError(f"{key} 必须是数字 ({key} must be a number)",
                                      detail={"param": key}) from None
    return values


@bp.post("/review/<int:station_id>")
def review_station(station_id: int):
    """The union's answer to a station's open problems: confirm and act, or dismiss."""
    store = get_store()
    station = store.get_station(station_id)
    check_write(area_of_record(station), what="反馈所属站点")
    action = request.form.get("action", "")
    try:
        done = review.settle(store, station_id, action, actor=current_user()["username"],
                             reason=request.form.get("reason", ""),
                             values=_values(request.form))
    except ValidationError as exc:
        flash(exc.message, "error")
        return redirect(url_for("union.reports", order=request.form.get("order", "most")))
    flash(f"已处理「{station.name}」的 {len(done['settled'])} 条反馈："
          f"{review.ACTION_LABELS_ZH[action]}。", "ok")
    return redirect(url_for("union.reports", order=request.form.get("order", "most")))


# -- plaques ---------------------------------------------------------------------------------
@bp.get("/plaques/<int:station_id>.png")
def plaque_png(station_id: int):
    """One station's plaque as a PNG (a station in the account's area)."""
    from webmap.plaques import plaque_stations, write_plaques

    store = get_store()
    if not in_listed_scope(store.get_station(station_id)):
        abort(403)
    stations = plaque_stations(store, station_id=station_id)
    return send_temp(lambda path: write_plaques(stations, path),
                     f"plaque-{station_id}.png", "image/png")


@bp.get("/plaques/street.pdf")
def plaque_sheet():
    """Every open station of a street (in the account's area) as a PDF sheet of plaques."""
    from webmap.plaques import plaque_stations, write_plaques

    street = (request.args.get("street") or "").strip()
    if not street:
        raise ValidationError("请选择街道 (street is required)", detail={"param": "street"})
    scope = current_scope()
    if scope.role != "admin" and not scope.covers(area_of_names(street=street)):
        abort(403)
    stations = [s for s in plaque_stations(get_store(), street=street) if in_listed_scope(s)]
    return send_temp(lambda path: write_plaques(stations, path), "plaques.pdf",
                     "application/pdf")
