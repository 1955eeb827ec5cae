"""The union dashboard (``/union/``): login, station table and editing, reports, downloads.

Every page needs a logged-in account (``nuanxin users add NAME``); every form carries a CSRF
token (Flask-WTF ``CSRFProtect`` checks every POST). The session cookie is HttpOnly,
SameSite=Lax and Secure when configured; it holds a random session id that the store tracks
(:mod:`webmap.sessions`: idle timeout, absolute lifetime, revoked by logout, a password change
or removing the user) and a token derived from the password hash. Failed logins are throttled
per (account, client), per account and per client. The candidate pipeline and the coverage
map live in :mod:`webmap.union_pipeline` (same blueprint).
"""

from __future__ import annotations

import hmac
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    after_this_request,
    current_app,
    flash,
    g,
    make_response,
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
from webmap.sessions import LoginThrottle, Rule, end_session, resume_session, start_session

__all__ = ["bp", "current_user", "send_temp"]

bp = Blueprint("union", __name__)
PAGE_SIZE = 50
EXPORT_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "geojson": "application/geo+json", "csv": "text/csv",
                "gpkg": "application/geopackage+sqlite3"}
_THROTTLE_KEY = "nuanxin.login_throttle"  # one LoginThrottle per app, in app.extensions
_throttle_lock = threading.Lock()
_MAX_NEXT_LENGTH = 2048


def current_user() -> dict | None:
    """The logged-in account of this request (or ``None``).

    The cookie's session id must name a live session in the store (not logged out, not idle
    too long, not past its lifetime) and its password token must still match the account.
    """
    if "user" in g:
        return g.user
    user = None
    sid, token = session.get("sid"), session.get("token")
    if isinstance(sid, str) and isinstance(token, str) and token:
        config, store = current_app.config, get_store()
        row = resume_session(store, sid, idle=config["SESSION_IDLE_SECONDS"],
                             lifetime=config["SESSION_LIFETIME_SECONDS"])
        found = users.get_user(store, row["user_id"]) if row is not None else None
        if found is not None and hmac.compare_digest(found["token"].encode(), token.encode()):
            user = found
        elif row is not None:
            end_session(store, sid)  # the password changed behind this session's back
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


def _login_throttle() -> LoginThrottle:
    """This app's throttle, rebuilt when the LOGIN_* settings change."""
    config = current_app.config
    rules = (Rule(config["LOGIN_MAX_FAILURES"], config["LOGIN_LOCK_SECONDS"]),
             Rule(config["LOGIN_ACCOUNT_MAX_FAILURES"], config["LOGIN_ACCOUNT_WINDOW_SECONDS"]),
             Rule(config["LOGIN_CLIENT_MAX_FAILURES"], config["LOGIN_CLIENT_WINDOW_SECONDS"]))
    with _throttle_lock:
        throttle = current_app.extensions.get(_THROTTLE_KEY)
        if throttle is None or throttle.rules != rules:
            throttle = current_app.extensions[_THROTTLE_KEY] = LoginThrottle(*rules)
    return throttle


def _client_key() -> str:
    """Who is logging in, for throttling: the peer address (trusted proxies: not yet)."""
    return request.remote_addr or "unknown"


def _local_path(target: object) -> str:
    """``target`` when it is a path on this site (one leading ``/``), else ``""``.

    Refused: anything with a scheme or host, ``//host`` and ``/\\host`` (browsers read both
    as another site), control characters (CR/LF would break the ``Location`` header) and
    overlong values.
    """
    if not isinstance(target, str) or not target.startswith("/") or \
            len(target) > _MAX_NEXT_LENGTH:
        return ""
    if target.startswith("//") or "\\" in target or \
            any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in target):
        return ""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return ""
    return target


def _safe_next(target: object) -> str:
    """Where to go after login: a local path, else the dashboard."""
    return _local_path(target) or url_for("union.dashboard")


def _login_page(status: int, next_url: str, retry_after: int | None = None):
    response = make_response(render_template("union/login.html", next=next_url), status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


# -- login -----------------------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in (failures throttled per account and address, per account, per address)."""
    if request.method == "GET":
        return _login_page(200, _local_path(request.args.get("next")))
    name = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    next_url = _local_path(request.form.get("next"))
    throttle = _login_throttle()
    attempt = throttle.reserve(name, _client_key())  # counted before the password is checked
    if not attempt.allowed:
        minutes = -(-attempt.retry_seconds // 60)
        flash(f"登录失败次数过多，请 {minutes} 分钟后再试。", "error")
        return _login_page(429, next_url, attempt.retry_seconds)
    store = get_store()
    try:
        user = users.authenticate(store, name, password)
    except BaseException:
        throttle.release(attempt)  # our failure, not a wrong guess
        raise
    if user is None:
        flash("用户名或密码不对。", "error")
        return _login_page(401, next_url)
    throttle.succeeded(attempt)
    end_session(store, session.get("sid"))  # a previous login in this browser ends here
    sid = start_session(store, user["id"], lifetime=current_app.config["SESSION_LIFETIME_SECONDS"])
    session.clear()
    session.permanent = True
    session["sid"], session["token"] = sid, user["token"]
    flash(f"欢迎，{user['username']}。", "ok")
    return redirect(_safe_next(next_url))


@bp.post("/logout")
def logout():
    """Log out: the session ends in the store, so a copy of the cookie is worthless too."""
    end_session(get_store(), session.get("sid"))
    session.clear()
    g.user = None
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
    """Every station as Excel, GeoJSON, CSV or GeoPackage (``geodata.io.stations``)."""
    if ext not in EXPORT_TYPES:
        abort(404)
    from geodata.io.stations import export_stations

    return send_temp(lambda p: export_stations(get_store(), p), f"nuanxin-stations.{ext}",
                     EXPORT_TYPES[ext])


from webmap import union_pipeline  # noqa: E402,F401  (registers the pipeline/coverage views)
