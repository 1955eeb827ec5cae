"""Workers' reports on the dashboard: the list, and marking one handled.

The list shows reports on stations in the account's area; marking one checks the scope of
its station (403, nothing written).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from geodata.places.assign import area_of_record
from stations import worker_reports
from stations.errors import ValidationError
from webmap import feedback
from webmap.extensions import get_store
from webmap.union.common import bp, check_write, listed_scope_area

__all__ = ["reports", "report_status"]


# -- reports ---------------------------------------------------------------------------------
@bp.get("/reports")
def reports():
    """Workers' reports on stations in the account's area, newest first."""
    status = request.args.get("status", "new")
    if status not in feedback.REPORT_STATUSES + ("all",):
        raise ValidationError(f"status 无效 {status!r}")
    rows = feedback.list_reports(get_store(), status=None if status == "all" else status,
                                 area=listed_scope_area())
    return render_template("union/reports.html", rows=rows, status=status,
                           statuses=feedback.REPORT_STATUSES,
                           status_labels=feedback.REPORT_STATUS_LABELS_ZH)


@bp.post("/reports/<int:report_id>")
def report_status(report_id: int):
    """Mark a report handled / dismissed / new (on a station in the account's area)."""
    store = get_store()
    station = store.get_station(worker_reports.report_station_id(store, report_id))
    check_write(area_of_record(station), what="反馈所属站点")
    feedback.set_report_status(store, report_id, request.form.get("status", ""))
    flash("已更新。", "ok")
    return redirect(url_for("union.reports", status=request.form.get("back", "new")))
