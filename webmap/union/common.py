"""The union dashboard's blueprint and what every screen shares.

Every page needs a logged-in account (``nuanxin users add NAME``); every form carries a CSRF
token (Flask-WTF ``CSRFProtect`` checks every POST). The session cookie holds a random session
id that the store tracks (:mod:`webmap.sessions`: idle timeout, absolute lifetime, revoked by
logout, a password change or removing the user) and a token derived from the password hash.

Every write checks the account's scope on the server (:func:`current_scope`, issue 10): a
``district`` account writes only its district, a ``street`` account only its street, a
``viewer`` nothing; a refused write is a 403 and changes nothing. Lists show the account's
area by default (:func:`listed_area`).
"""

from __future__ import annotations

import hmac
import io
import logging
import tempfile
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    after_this_request,
    current_app,
    g,
    redirect,
    request,
    send_file,
    session,
    url_for,
)

from geodata.places.assign import area_of_record
from stations.scope import Area, Scope
from webmap import feedback, users
from webmap.extensions import get_store
from webmap.sessions import end_session, resume_session

__all__ = ["bp", "current_user", "current_scope", "check_write", "listed_area",
           "listed_scope_area", "in_listed_scope", "record_area", "send_temp", "XLSX"]

log = logging.getLogger(__name__)
bp = Blueprint("union", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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


def current_scope() -> Scope:
    """The scope of the logged-in account (role and area; :mod:`stations.scope`)."""
    if "scope" not in g:
        g.scope = users.scope_of(current_user())
    return g.scope


def check_write(area: Area, *, what: str = "站点") -> None:
    """Refuse (:class:`~stations.errors.ForbiddenError`, HTTP 403) a write outside the
    account's area, or any write by a viewer."""
    current_scope().check_write(area, what=what)


def listed_area(args) -> tuple[str, str]:
    """``(district, street)`` a list shows: the query's when it names them (``district=`` with
    an empty value means the whole city), else the account's own area."""
    if "district" in args or "street" in args:
        return (args.get("district") or "").strip(), (args.get("street") or "").strip()
    area = current_scope().area
    return area.district, area.street


def listed_scope_area() -> Area | None:
    """The account's area for lists that have no area filter (reports, candidates), or
    ``None`` for the whole city (``admin``, a viewer without an area)."""
    scope = current_scope()
    if scope.role == "admin":
        return None
    area = scope.area
    return area if (area.district or area.district_code or area.street or area.street_code) \
        else None


def record_area(record) -> Area:
    """The area a record is judged by. A candidate waiting for a pin (待定位: only its
    district, or nothing, is known) whose known parts do not contradict the account's area
    belongs to the account until its pin says otherwise (the pin is checked when set)."""
    area = area_of_record(record)
    if not getattr(record, "needs_pin", False) or area.street or area.street_code:
        return area
    own = current_scope().area
    if not area.district or not own.district or (area.district_code or area.district) == (
            own.district_code or own.district):
        return own
    return area


def in_listed_scope(record) -> bool:
    """Whether a candidate (or any record with an area) belongs in the account's lists."""
    return listed_scope_area() is None or current_scope().covers(record_area(record))


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
        return feedback.count_reports(get_store(), status="new", area=listed_scope_area()) \
            if current_user() else 0
    except Exception:  # noqa: BLE001 - a badge must never break a page, but it is logged
        log.exception("the new-reports badge could not be counted")
        return 0


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

    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True,
                     download_name=filename)
