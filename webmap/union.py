"""The union dashboard (``/union/``): login, station table and editing, reports, downloads.

Every page needs a logged-in account (``nuanxin users add NAME``); every form carries a CSRF
token (Flask-WTF ``CSRFProtect`` checks every POST). The session cookie is HttpOnly,
SameSite=Lax and Secure when configured; it holds the user id and a token derived from the
password hash, so a password change logs out other sessions. The candidate pipeline and the
coverage map live in :mod:`webmap.union_pipeline` (same blueprint).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    after_this_request,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)

from stations.amenities import AMENITIES
from stations.errors import NotFoundError, NuanxinError, ValidationError
from stations.records import ACCESS_MODES, HOST_TYPES, STATUSES, station_from_row
from webmap import feedback, users
from webmap.app import get_store
from webmap.catalogue import get_catalogue, hours_of
from webmap.security import RateLimiter

__all__ = ["bp", "current_user", "send_temp"]

bp = Blueprint("union", __name__)
PAGE_SIZE = 50
EXPORT_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "geojson": "application/geo+json", "csv": "text/csv",
                "gpkg": "application/geopackage+sqlite3"}
_failures: RateLimiter | None = None


def current_user() -> dict | None:
    """The logged-in account of this request (or ``None``)."""
    if "user" in g:
        return g.user
    user = None
    uid, token = session.get("uid"), session.get("token")
    if uid is not None and token:
        found = users.get_user(get_store(), uid)
        if found is not None and found["token"] == token:
            user = found
    g.user = user
    return user


@bp.before_request
def _require_login():
    if request.endpoint in ("union.login",):
        return None
    if current_user() is None:
        session.clear()
        if request.method != "GET":
            abort(401)
        return redirect(url_for("union.login", next=request.full_path.rstrip("?")))
    return None


@bp.context_processor
def _inject():
    return {"user": current_user(), "new_reports": _new_reports()}


def _new_reports() -> int:
    try:
        return feedback.count_reports(get_store(), status="new") if current_user() else 0
    except Exception:  # noqa: BLE001 - a badge must never break a page
        return 0


def _failure_limiter() -> RateLimiter:
    global _failures
    limit = int(current_app.config["LOGIN_MAX_FAILURES"])
    window = float(current_app.config["LOGIN_LOCK_SECONDS"])
    if _failures is None or (_failures.limit, _failures.window) != (limit, window):
        _failures = RateLimiter(limit, window)
    return _failures


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/union") and not target.startswith("//"):
        return target
    return url_for("union.dashboard")


# -- login -----------------------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in (rate-limited per name and per address after repeated failures)."""
    if request.method == "GET":
        return render_template("union/login.html", next=request.args.get("next", ""))
    name = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    limiter = _failure_limiter()
    keys = (f"user:{name}", f"addr:{request.remote_addr}")
    if any(limiter.count(k) >= limiter.limit for k in keys):
        flash("登录失败次数过多，请几分钟后再试。", "error")
        return render_template("union/login.html", next=request.form.get("next", "")), 429
    user = users.authenticate(get_store(), name, password)
    if user is None:
        for k in keys:
            limiter.hit(k)
        flash("用户名或密码不对。", "error")
        return render_template("union/login.html", next=request.form.get("next", "")), 401
    for k in keys:
        limiter.reset(k)
    session.clear()
    session.permanent = True
    session["uid"], session["token"] = user["id"], user["token"]
    flash(f"欢迎，{user['username']}。", "ok")
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout():
    """Log out."""
    session.clear()
    flash("已退出登录。", "ok")
    return redirect(url_for("union.login"))


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
        hours=hours_of(s))


def _area_codes(district: str, street: str, old) -> tuple[str, str]:
    if district == old.district and street == old.street:
        return old.district_code, old.street_code
    try:
        from geodata.candidates import area_codes

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


# -- downloads -------------------------------------------------------------------------------
def send_temp(write, filename: str, mimetype: str):
    """Write a file with ``write(path)`` in a temp folder and send it as a download."""
    folder = tempfile.TemporaryDirectory(prefix="nuanxin-")
    path = Path(folder.name) / filename
    write(path)
    data = path.read_bytes()
    folder.cleanup()

    @after_this_request
    def _no_store(response):
        response.headers["Cache-Control"] = "no-store"
        return response

    import io

    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True,
                     download_name=filename)


@bp.get("/download/stations.<ext>")
def download_stations(ext: str):
    """Every station as Excel, GeoJSON, CSV or GeoPackage (``geodata.io.export_stations``)."""
    if ext not in EXPORT_TYPES:
        abort(404)
    from geodata.io import export_stations

    return send_temp(lambda p: export_stations(get_store(), p), f"nuanxin-stations.{ext}",
                     EXPORT_TYPES[ext])


from webmap import union_pipeline  # noqa: E402,F401  (registers the pipeline/coverage views)
