"""One place that maps errors to HTTP answers.

``NuanxinError`` (a user error) → 400, ``NotFoundError`` → 404, each as JSON
``{"error": ..., "detail": ...}`` for the API (and for clients asking for JSON), or as a
small zh-CN page for people. HTTP errors (unknown route, wrong method, body too large, bad
CSRF token) take the same shape. Anything else is a bug: logged with its traceback, answered
500 without one. Bad input never reaches that branch.
"""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from stations.errors import NotFoundError, NuanxinError

__all__ = ["register_error_handlers", "wants_json", "error_response", "RateLimitError"]


class RateLimitError(NuanxinError):
    """Too many requests from one client (answered 429)."""

_TITLES_ZH = {
    400: "请求有误", 401: "需要登录", 403: "没有权限", 404: "没有找到", 405: "不支持的请求方法",
    413: "内容太大", 429: "请求太频繁", 500: "服务器出错了",
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
        return jsonify({"error": message, "detail": detail}), status
    title = _TITLES_ZH.get(status, "出错了")
    return render_template("error.html", status=status, title=title, message=message,
                           detail=detail), status


def _detail_of(exc: NuanxinError) -> object:
    detail = getattr(exc, "detail", None)
    if detail is None and hasattr(exc, "as_dict"):
        detail = exc.as_dict()
    return detail


def register_error_handlers(app: Flask) -> None:
    """Install the handlers on ``app``."""

    @app.errorhandler(NotFoundError)
    def _not_found(exc: NotFoundError):
        return error_response(404, exc.message, _detail_of(exc))

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

    if app.testing:
        return  # under test a bug propagates with its traceback

    @app.errorhandler(Exception)
    def _bug(exc: Exception):  # pragma: no cover - exercised only by real bugs
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "服务器内部错误 (internal error; it has been logged)", None)
