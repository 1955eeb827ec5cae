"""The union dashboard's blueprint and what every screen shares.

Every page needs a logged-in account (``nuanxin users add NAME``); every form carries a CSRF
token (Flask-WTF ``CSRFProtect`` checks every POST). The session cookie holds a random session
id that the store tracks (:mod:`webmap.sessions`: idle timeout, absolute lifetime, revoked by
logout, a password change or removing the user) and a token derived from the password hash.
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

from webmap import feedback, users
from webmap.extensions import get_store
from webmap.sessions import end_session, resume_session

__all__ = ["bp", "current_user", "send_temp", "XLSX"]

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
