"""Workers' reports about a station ("this is wrong" / "still correct"), in the ``reports``
table.

The rows are read and written by :mod:`stations.worker_reports`; the vocabulary (kinds and
their one-tap labels) and the rule that turns reports into a station's trust live in
:mod:`stations.trust`. This module checks what a worker sends (kind, note, an optional
dragged pin) and holds :func:`submit_report`, the one way a worker's report comes in (the
JSON API and the station page's form both call it).

A report is anonymous: a kind from :data:`REPORT_KINDS`, an optional short note and, for
"wrong location", the pin the worker dragged. With it the store keeps the day's salted client
key (:func:`webmap.security.client_fingerprint`) so the trust rule can count *distinct*
clients; the address itself is never stored and the key changes every day. Every report
re-applies the rule at once (:func:`stations.trust.refresh`): the next worker sees the result.
The kinds of the first release (``confirmed``, ``hours``, ``registration``, ``location``,
``closed``, ``amenities``) are still accepted and stored as the kind they became
(:data:`stations.trust.LEGACY_KINDS`).
"""

from __future__ import annotations

import math

from stations import settings, trust, worker_reports
from stations.errors import NotFoundError, ValidationError
from stations.limits import check_text
from stations.store import Store
from stations.trust import LEGACY_KINDS, REPORT_KIND_LABELS_ZH, REPORT_KINDS
from webmap.extensions import get_store, report_limit
from webmap.security import client_fingerprint

__all__ = [
    "REPORT_KINDS",
    "ACCEPTED_KINDS",
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
    "count_plaque_visit",
]

#: How the report limit reads in the API description (``POST /api/stations/<id>/reports``).
REPORT_LIMIT_DOC = (
    "Store an anonymous worker report; 201 with the stored report and the station's trust "
    "after it (`trust`, `trust_reason`, `problem`). At most `NUANXIN_REPORTS_PER_HOUR` "
    "reports (default 30) per client per hour, counted together with the station page's "
    "report form. The client is its address as our trusted reverse proxies saw it "
    "(`NUANXIN_TRUSTED_PROXIES`; without it `X-Forwarded-For` is ignored), kept with the "
    "report only as a salted hash that changes daily (the trust rule counts distinct "
    "clients: `NUANXIN_TRUST_REPORTS` of them reporting one problem within "
    "`NUANXIN_TRUST_WINDOW_DAYS` flag the station). Over the limit: 429 with the error "
    "shape and `Retry-After` (seconds). `lon`/`lat` (WGS84, both or neither): where a "
    "\"wrong location\" report says the station really is; a pin more than 5 km from the "
    "station is a slip: the report is stored without it and the answer says so in "
    "`pin_ignored`.")

#: Every kind the API and the form accept: the current ones, then the first release's.
ACCEPTED_KINDS = REPORT_KINDS + tuple(LEGACY_KINDS)
REPORT_STATUSES = ("new", "handled", "dismissed")
REPORT_STATUS_LABELS_ZH = {"new": "待处理", "handled": "已处理", "dismissed": "不予处理"}
NOTE_MAX_LENGTH = 500
#: A dragged pin farther than this from the station is a slip, not a correction: the report
#: is kept without it (``pin_ignored`` in the answer says so).
PIN_MAX_DISTANCE_M = 5000.0
PIN_IGNORED = (f"标注的位置离站点超过 {PIN_MAX_DISTANCE_M / 1000:g} 公里，已忽略 (the pin was more "
               f"than {PIN_MAX_DISTANCE_M / 1000:g} km from the station; the report is kept "
               "without it)")
_LEGACY_LABELS_ZH = {"去了没开门": "locked", "开放时间不对": "locked",
                     "要扫码/注册才能进": "needs_registration", "设施不对或坏了": "other",
                     "驿站已撤销": "gone", "其他问题": "other"}


def normalise_kind(kind: str) -> str:
    """A report kind from its key, its Chinese label, or a first-release kind."""
    text = str(kind or "").strip()
    if text in REPORT_KIND_LABELS_ZH:
        return text
    if text in LEGACY_KINDS:
        return LEGACY_KINDS[text]
    for key, label in REPORT_KIND_LABELS_ZH.items():
        if text == label:
            return key
    if text in _LEGACY_LABELS_ZH:
        return _LEGACY_LABELS_ZH[text]
    raise ValidationError(
        f"未知问题类型 {kind!r} (unknown report kind); use one of: "
        + ", ".join(f"{k} ({v})" for k, v in REPORT_KIND_LABELS_ZH.items()),
        detail={"param": "kind", "value": kind, "expected": list(REPORT_KINDS)})


def _pin(store: Store, station_id: int, lon, lat) -> tuple[float | None, float | None]:
    """A dragged pin (WGS84), checked: both or neither, numbers; ``(None, None)`` when it is
    farther than :data:`PIN_MAX_DISTANCE_M` from the station (dropped)."""
    if lon is None and lat is None:
        return None, None
    if lon is None or lat is None:
        raise ValidationError("lon 和 lat 需要同时给出 (give both lon and lat, or neither)",
                              detail={"param": "lat" if lat is None else "lon"})
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise ValidationError("lon/lat 必须是数字 (lon and lat must be numbers)",
                              detail={"param": "lon"}) from None
    if not (math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90):
        raise ValidationError("lon/lat 超出范围 (need -180 ≤ lon ≤ 180, -90 ≤ lat ≤ 90)",
                              detail={"param": "lon"})
    station = store.get_station(station_id)
    # metres on a small patch of the sphere: enough to refuse a pin in another district
    dx = math.radians(x - station.lon) * math.cos(math.radians(station.lat)) * 6_371_000
    dy = math.radians(y - station.lat) * 6_371_000
    if math.hypot(dx, dy) > PIN_MAX_DISTANCE_M:
        return None, None  # a slip of the finger: the report stands without the pin
    return x, y


def add_report(store: Store, station_id: int, *, kind: str, note: str = "",
               lon: float | None = None, lat: float | None = None,
               client: str | None = None) -> dict:
    """Store a report and re-apply the trust rule to its station; :class:`NotFoundError` for
    an unknown station. Returns the row with the station's trust after it."""
    kind = normalise_kind(kind)
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError(f"备注太长 (note longer than {NOTE_MAX_LENGTH} characters)",
                              detail={"param": "note", "max_length": NOTE_MAX_LENGTH})
    check_text(note, "note")
    given = lon is not None
    lon, lat = _pin(store, station_id, lon, lat)
    # Answered with its offset, as the OpenAPI ``date-time`` format requires. "Still
    # correct" needs no handling: it is stored handled.
    created = settings.wall_now()
    status = "handled" if kind == "ok" else "new"
    new_id = worker_reports.add_report(store, station_id, kind=kind, note=note,
                                       created_at=created, client=client, lon=lon, lat=lat,
                                       status=status)
    state = trust.refresh(store, station_id, now=created)
    return {"id": int(new_id), "station_id": station_id, "kind": kind,
            "kind_zh": REPORT_KIND_LABELS_ZH[kind], "note": note, "status": status,
            "lon": lon, "lat": lat,
            "created_at": settings.iso_time(created),
            "trust": state.trust, "problem": state.problem, "trust_reason": state.reason,
            **({"pin_ignored": PIN_IGNORED} if given and lon is None else {})}


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
    """Mark a report handled / dismissed / new; the station's trust follows."""
    if status not in REPORT_STATUSES:
        raise ValidationError(f"status must be one of {', '.join(REPORT_STATUSES)}, got {status!r}")
    if not worker_reports.set_report_status(store, report_id, status):
        raise NotFoundError(f"反馈 {report_id} 不存在 (no report with id {report_id})")
    trust.refresh(store, worker_reports.report_station_id(store, report_id))


def submit_report(station_id: int, kind: str, note: str, *, lon: float | None = None,
                  lat: float | None = None) -> dict:
    """A worker's report from this request's client: rate-limited, then :func:`add_report`.

    The one entry point of both faces (``POST /api/stations/<id>/reports`` and the station
    page's form), so both count against one budget per client
    (:func:`webmap.extensions.report_limit`); over it raises
    :class:`flask_limiter.RateLimitExceeded` (429 with ``Retry-After``). The report keeps the
    day's salted client key only (:func:`webmap.security.client_fingerprint`).
    """
    with report_limit():
        return add_report(get_store(), station_id, kind=kind, note=note or "", lon=lon,
                          lat=lat, client=client_fingerprint())


def count_plaque_visit(store: Store, station_id: int) -> None:
    """Count one opening of a station's page from its plaque's QR code (``?src=qr``) today
    (Shanghai): only the number per station and day is kept, nothing about the visitor."""
    worker_reports.add_plaque_visit(store, station_id, settings.now().date())
