"""Workers' reports about a station ("this is wrong"), kept in the ``reports`` table.

The rows are read and written by :mod:`stations.worker_reports`; this module holds what a
report may say (kinds, labels, the note's length), the labels the dashboard shows, and
:func:`submit_report`, the one way a worker's report comes in (the JSON API and the station
page's form both call it).

A report is anonymous: a kind from :data:`REPORT_KINDS` and an optional short note. The union
dashboard lists them and marks them handled. ``confirmed`` is the one-tap "still correct"
verification finders abroad found useful.
"""

from __future__ import annotations

from stations import settings, worker_reports
from stations.errors import NotFoundError, ValidationError
from stations.limits import check_text
from stations.store import Store
from webmap.extensions import get_store, report_limit

__all__ = [
    "REPORT_KINDS",
    "REPORT_KIND_LABELS_ZH",
    "REPORT_STATUSES",
    "NOTE_MAX_LENGTH",
    "normalise_kind",
    "add_report",
    "list_reports",
    "count_reports",
    "set_report_status",
    "submit_report",
    "REPORT_LIMIT_DOC",
]

#: How the report limit reads in the API description (``POST /api/stations/<id>/reports``).
REPORT_LIMIT_DOC = (
    "Store an anonymous worker report; 201 with the stored report. At most "
    "`NUANXIN_REPORTS_PER_HOUR` reports (default 30) per client per hour, counted together "
    "with the station page's report form. The client is its address as our trusted reverse "
    "proxies saw it (`NUANXIN_TRUSTED_PROXIES`; without it `X-Forwarded-For` is ignored), "
    "kept only as a salted hash that changes daily and never stored with the report. Over "
    "the limit: 429 with the error shape and `Retry-After` (seconds).")

REPORT_KIND_LABELS_ZH = {
    "locked": "去了没开门",
    "hours": "开放时间不对",
    "registration": "要扫码/注册才能进",
    "location": "位置不对",
    "amenities": "设施不对或坏了",
    "closed": "驿站已撤销",
    "confirmed": "信息无误",
    "other": "其他问题",
}
REPORT_KINDS = tuple(REPORT_KIND_LABELS_ZH)
REPORT_STATUSES = ("new", "handled", "dismissed")
REPORT_STATUS_LABELS_ZH = {"new": "待处理", "handled": "已处理", "dismissed": "不予处理"}
NOTE_MAX_LENGTH = 500


def normalise_kind(kind: str) -> str:
    """A report kind from its key or Chinese label."""
    text = str(kind or "").strip()
    if text in REPORT_KIND_LABELS_ZH:
        return text
    for key, label in REPORT_KIND_LABELS_ZH.items():
        if text == label:
            return key
    raise ValidationError(
        f"未知问题类型 {kind!r} (unknown report kind); use one of: "
        + ", ".join(f"{k} ({v})" for k, v in REPORT_KIND_LABELS_ZH.items()),
        detail={"param": "kind", "value": kind, "expected": list(REPORT_KINDS)})


def add_report(store: Store, station_id: int, *, kind: str, note: str = "") -> dict:
    """Store a report; :class:`NotFoundError` for an unknown station. Returns the row."""
    kind = normalise_kind(kind)
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError(f"备注太长 (note longer than {NOTE_MAX_LENGTH} characters)",
                              detail={"param": "note", "max_length": NOTE_MAX_LENGTH})
    check_text(note, "note")
    # Stored as Shanghai wall time (the column is naive); answered with its offset, as the
    # OpenAPI ``date-time`` format requires.
    created = settings.wall_now()
    new_id = worker_reports.add_report(store, station_id, kind=kind, note=note,
                                       created_at=created)
    return {"id": int(new_id), "station_id": station_id, "kind": kind,
            "kind_zh": REPORT_KIND_LABELS_ZH[kind], "note": note, "status": "new",
            "created_at": created.replace(tzinfo=settings.TZ).isoformat()}


def list_reports(store: Store, *, status: str | None = None, station_id: int | None = None,
                 limit: int = 200, area=None) -> list[dict]:
    """Reports, newest first, with the station's name (only on stations in ``area``, a
    :class:`stations.scope.Area`, when given)."""
    rows = worker_reports.list_reports(store, status=status, station_id=station_id, limit=limit,
                                       area=area)
    for row in rows:
        row["kind_zh"] = REPORT_KIND_LABELS_ZH.get(row["kind"], row["kind"])
        row["status_zh"] = REPORT_STATUS_LABELS_ZH.get(row["status"], row["status"])
    return rows


def count_reports(store: Store, *, status: str | None = "new", area=None) -> int:
    """How many reports (of a status; on stations in ``area`` when given)."""
    return worker_reports.count_reports(store, status=status, area=area)


def set_report_status(store: Store, report_id: int, status: str) -> None:
    """Mark a report handled / dismissed / new."""
    if status not in REPORT_STATUSES:
        raise ValidationError(f"status must be one of {', '.join(REPORT_STATUSES)}, got {status!r}")
    if not worker_reports.set_report_status(store, report_id, status):
        raise NotFoundError(f"反馈 {report_id} 不存在 (no report with id {report_id})")


def submit_report(station_id: int, kind: str, note: str) -> dict:
    """A worker's report from this request's client: rate-limited, then :func:`add_report`.

    The one entry point of both faces (``POST /api/stations/<id>/reports`` and the station
    page's form), so both count against one budget per client
    (:func:`webmap.extensions.report_limit`); over it raises
    :class:`flask_limiter.RateLimitExceeded` (429 with ``Retry-After``). Nothing about the
    client is stored with the report.
    """
    with report_limit():
        return add_report(get_store(), station_id, kind=kind, note=note or "")
