"""One place that maps errors to HTTP answers.

``NuanxinError`` (a user error) → 400, ``AuthError`` → 401, ``ForbiddenError`` → 403,
``NotFoundError`` → 404, ``ConflictError`` → 409, ``StoreError`` (the store is
down or uninitialised) → 503, each as JSON ``{"error": ..., "detail": ...}`` for the API (and
for clients asking for JSON), or as a small zh-CN page for people. HTTP errors (unknown route,
wrong method, body too large, bad CSRF token) take the same shape. Anything else is a bug:
logged with its traceback, answered 500 in the same shape without one, and announced on
:data:`bug_answered` (the test suite fails a test whose request got one). Bad input never
reaches that branch. JSON answers never contain a bare ``NaN`` (:class:`StrictJSONProvider`).
"""

from __future__ import annotations

import math

from blinker import Namespace
from flask import Flask, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from stations.errors import (
    AuthError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    NuanxinError,
    StoreError,
)
from stations.store import UNAVAILABLE

__all__ = ["register_error_handlers", "wants_json", "error_response", "RateLimitError", "BusyError",
           "StrictJSONProvider", "bug_answered", "finite"]

_signals = Namespace()
#: Sent (with ``exc``) each time an unexpected exception is answered with a 500: the test suite
#: subscribes and fails any test whose request got one.
bug_answered = _signals.signal("nuanxin-bug-answered")


def finite(value: object) -> object:
    """``value`` with every non-finite float (NaN, ±inf) turned into its text, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, but never a bare ``NaN``/``Infinity`` (invalid JSON) in an answer."""

    ensure_ascii = False
    sort_keys = False

    def dumps(self, obj, **kwargs):
        kwargs.setdefault("allow_nan", False)
        try:
            return super().dumps(obj, **kwargs)
        except ValueError:  # a non-finite float somewhere: spell it as text
            return super().dumps(finite(obj), **kwargs)


class RateLimitError(NuanxinError):
    """Too many requests from one client (answered 429)."""


class BusyError(NuanxinError):
    """A heavy computation could not start in time (answered 503 with ``Retry-After``)."""

_TITLES_ZH = {
    400: "请求有误", 401: "需要登录", 403: "没有权限", 404: "没有找到", 405: "不支持的请求方法",
    409: "数据已被修改", 413: "内容太大", 429: "请求太频繁", 500: "服务器出错了",
    503: "服务暂时不可用",
}


def wants_json() -> bool:
    """True for API paths and clients that prefer JSON over HTML."""
    path = request.path
    if path.startswith("/api/") or path == "/api" or path == "/healthz":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > \
        request.accept_mimetypes["text/html"]


def error_response(status: int, message: str, detail: object = None):
    """A JSON or HTML error answer with ``status``."""
    if wants_json():
        return jsonify({"error": message, "detail": finite(detail)}), status
    title = _TITLES_ZH.get(status, "出错了")
    return render_template("error.html", status=status, title=title, message=message,
                           detail=detail), status


def _detail_of(exc: NuanxinError) -> object:
    detail = getattr(exc, "detail", None)
    if detail is None and hasattr(exc, "as_dict"):
        detail = exc.as_dict()
    return detail


def _store_unreachable(exc: Exception):
    from flask import current_app

    current_app.logger.error("store unavailable on %s %s: %s", request.method, request.path,
                             type(exc).__name__, exc_info=exc)
    return error_response(503, "数据库暂时不可用，请稍后再试 (store unavailable)",
                          {"reason": "store"})


def register_error_handlers(app: Flask) -> None:
    """Install the handlers on ``app``."""

    @app.errorhandler(NotFoundError)
    def _not_found(exc: NotFoundError):
        return error_response(404, exc.message, _detail_of(exc))

    @app.errorhandler(AuthError)
    def _unauthenticated(exc: AuthError):
        body, status = error_response(401, exc.message, _detail_of(exc))
        return body, status, {"WWW-Authenticate": 'Bearer realm="nuanxin"'}

    @app.errorhandler(ForbiddenError)
    def _forbidden(exc: ForbiddenError):
        return error_response(403, exc.message, _detail_of(exc))

    @app.errorhandler(ConflictError)
    def _conflict(exc: ConflictError):
        return error_response(409, exc.message, _detail_of(exc))

    @app.errorhandler(RateLimitError)
    def _too_many(exc: RateLimitError):
        return error_response(429, exc.message, _detail_of(exc))

    @app.errorhandler(NuanxinError)
    def _user_error(exc: NuanxinError):
        if isinstance(exc, NotFoundError):
            return _not_found(exc)
        return error_response(400, exc.message, _detail_of(exc))

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return error_response(400, f"表单已过期或无效，请刷新页面后重试 (CSRF: {exc.description})",
                              {"reason": "csrf"})

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        message = {
            404: f"没有这个地址 (no such route: {request.path})",
            405: f"不支持 {request.method} (method not allowed on {request.path})",
            413: "提交的内容太大 (request body too large)",
        }.get(status, exc.description or exc.name)
        response = error_response(status, message, {"status": status, "name": exc.name})
        if status == 405 and isinstance(response, tuple):
            body, code = response
            headers = dict(exc.get_response().headers)
            allow = headers.get("Allow")
            return (body, code, {"Allow": allow}) if allow else (body, code)
        return response

    @app.errorhandler(BusyError)
    def _busy(exc: BusyError):
        body, status = error_response(503, exc.message, _detail_of(exc))
        return body, status, {"Retry-After": str((exc.detail or {}).get("retry_after", 15))}

    for unavailable in UNAVAILABLE:
        app.register_error_handler(unavailable, _store_unreachable)

    @app.errorhandler(StoreError)
    def _store_down(exc: StoreError):
        app.logger.error("store failure on %s %s: %s", request.method, request.path, exc)
        return error_response(503, "数据库暂时不可用，请稍后再试 (store unavailable)",
                              {"reason": "store"})

    @app.errorhandler(Exception)
    def _bug(exc: Exception):
        """Anything else is a bug: logged with its traceback, answered 500 without one."""
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        bug_answered.send(app, exc=exc)
        return error_response(500, "服务器内部错误 (internal error; it has been logged)", None)
