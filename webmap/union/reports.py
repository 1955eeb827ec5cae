"""Workers' reports on the dashboard: the list, and marking one handled.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from stations.errors import ValidationError
from webmap import feedback
from webmap.extensions import get_store
from webmap.union.common import bp

__all__ = ["reports", "report_status"]


# -- reports ---------------------------------------------------------------------------------
@bp.get("/reports")
def reports():
    """Workers' reports, newest first."""
    status = request.args.get("status", "new")
    if status not in feedback.REPORT_STATUSES + ("all",):
        raise ValidationError(f"status 无效 {status!r}")
    rows = feedback.list_reports(get_store(), status=None if status == "all" else status)
    return render_template("union/reports.html", rows=rows, status=status,
                           statuses=feedback.REPORT_STATUSES,
                           status_labels=feedback.REPORT_STATUS_LABELS_ZH)


@bp.post("/reports/<int:report_id>")
def report_status(report_id: int):
    """Mark a report handled / dismissed / new."""
    feedback.set_report_status(get_store(), report_id, request.form.get("status", ""))
    flash("已更新。", "ok")
    return redirect(url_for("union.reports", status=request.form.get("back", "new")))
