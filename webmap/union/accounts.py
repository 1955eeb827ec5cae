"""Dashboard accounts: log in and out.

Failed logins are throttled per (account, client), per account and per client
(:func:`webmap.extensions.login_throttle`); the attempt is counted before the password is
checked, so concurrent guesses cannot exceed the limit.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from webmap import users
from webmap.extensions import get_store, login_throttle
from webmap.security import client_fingerprint
from webmap.sessions import end_session, start_session
from webmap.union.common import bp

__all__ = ["login", "logout"]

_MAX_NEXT_LENGTH = 2048


def _client_key() -> str:
    """Who is logging in, for throttling: the same client the rate limits see.

    The real client's address (``NUANXIN_TRUSTED_PROXIES`` applied by ProxyFix), kept only
    as its salted daily hash (:func:`webmap.security.client_fingerprint`).
    """
    return client_fingerprint()


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
    throttle = login_throttle()
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
