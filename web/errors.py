"""One place that maps engine errors to HTTP: JSON under /api, the answer a page declares (`@refused`: a Chinese
flash and a redirect, or the form again) or the error page elsewhere — and the database going away: 503 with
Retry-After, and a request's teardown that never raises. The request's transaction is web/transaction.py's."""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, Response, current_app, flash, jsonify, redirect, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa
from werkzeug.exceptions import HTTPException

from engine.errors import EngineError, FormInvalid, NotFound, PermissionDenied
from web.transaction import close_session_quietly, rollback_quietly

logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
HTTP_MESSAGES = {
    400: "请求格式不正确", 401: "请先登录或提供有效的访问令牌", 403: "无权执行此操作", 404: "未找到请求的内容",
    405: "不支持的请求方法", 409: "操作冲突，请刷新后重试", 413: "提交的内容过大", 415: "不支持的内容类型",
    422: "提交的内容有误", 429: "请求过于频繁，请稍后再试", 500: "服务器内部错误，请稍后再试",
    503: "服务暂时不可用",
}
DATABASE_UNAVAILABLE = "数据库暂时不可用，请稍后重试"
RETRY_AFTER_SECONDS = 5
# SQLite's OperationalError also means a wrong statement ("no such table"): only these say the file is unreachable
SQLITE_UNAVAILABLE = ("unable to open database", "database is locked", "disk i/o error")
CSRF_MESSAGE = "页面已过期或缺少安全校验信息（CSRF 令牌），请刷新页面后重试。"
# webargs' own texts (marshmallow's are Chinese already: engine/validation_messages.py)
WEBARGS_MESSAGES = {"Invalid JSON body.": "请求体不是有效的 JSON", "Invalid value.": "填写的值无效"}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_payload(status: int, message: str, errors: dict | None = None) -> dict:
    payload: dict = {"code": status, "status": HTTP_MESSAGES.get(status, ""), "message": message}
    if errors:
        payload["errors"] = errors
    return payload


def init_app(app: Flask) -> None:
    @app.errorhandler(EngineError)
    def _engine_error(exc: EngineError) -> object:
        rollback_quietly()  # web/transaction.py has rolled the request back already; a handler's own reads end too
        answer = page_answer(exc)
        if answer is not None:
            return answer
        errors = exc.details.get("errors") or (
            {"_diagram": exc.details["problems"]} if "problems" in exc.details else None)
        if wants_json():
            return jsonify(error_payload(exc.http_status, exc.message, errors)), exc.http_status
        return render_template("error.html", status=exc.http_status, message=exc.message), exc.http_status

    @app.errorhandler(sa.SQLAlchemyError)
    def _database_error(exc: sa.SQLAlchemyError) -> object:
        if not database_unavailable(exc):
            raise exc  # a fault of ours, not of the database's availability: the 500 path
        return unavailable_response(exc)

    @app.teardown_appcontext  # registered after Flask-SQLAlchemy's, so it runs first and leaves it nothing to do
    def _close_session(_exc: BaseException | None) -> None:
        close_session_quietly()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> object:
        if database_unavailable(getattr(exc, "original_exception", None)):  # e.g. raised while opening the session
            return unavailable_response(exc.original_exception)  # type: ignore[attr-defined]
        status = exc.code or 500
        message = HTTP_MESSAGES.get(status, exc.description or "")
        if isinstance(exc, CSRFError):
            message = CSRF_MESSAGE
        data = getattr(exc, "data", None) or {}
        errors = data.get("messages") if isinstance(data, dict) else None
        if status == 422 and errors:
            errors = _flatten_marshmallow(errors)
        if errors:
            errors = _chinese(errors)
        if wants_json():
            return jsonify(error_payload(status, message, errors)), status
        return render_template("error.html", status=status, message=message), status


@dataclass(frozen=True)
class Refusal:
    """How a page answers an engine error raised by its view: `answer(exc, **view_args)` after the rollback.
    `passes`: errors that keep their error page (a refused permission, a missing object)."""

    answer: Callable[..., Any]
    errors: tuple[type[BaseException], ...] = (EngineError,)
    passes: tuple[type[BaseException], ...] = (PermissionDenied, NotFound)

    def handles(self, exc: BaseException) -> bool:
        return isinstance(exc, self.errors) and not isinstance(exc, self.passes)


def refused(answer: Callable[..., Any] | None = None, *, back: Callable[..., str] | None = None,
            errors: tuple[type[BaseException], ...] = (EngineError,),
            passes: tuple[type[BaseException], ...] = (PermissionDenied, NotFound)) -> Callable[[F], F]:
    """Declare the page's answer to a refused engine call: `back(**view_args)` → flash the Chinese reason and
    redirect there (303); or `answer(exc, **view_args)` → any response (e.g. the form again with its errors)."""
    if (answer is None) == (back is None):
        raise ValueError("give either answer or back")

    def flash_and_go_back(exc: EngineError, **view_args: Any) -> Any:
        flash(refusal_message(exc), "error")
        return redirect(back(**view_args), 303)  # type: ignore[misc]

    def mark(view: F) -> F:
        view.refusal = Refusal(answer or flash_and_go_back, errors, passes)  # type: ignore[attr-defined]
        return view

    return mark


def refusal_message(exc: EngineError) -> str:
    """The Chinese reason of a refusal, for a flash: a form's field messages, else the error's message."""
    if isinstance(exc, FormInvalid) and exc.errors:
        return "；".join(str(v) for v in exc.errors.values())
    return exc.message


def page_answer(exc: BaseException) -> Any | None:
    """The answer the current endpoint declared for `exc` (`@refused`), or None."""
    refusal = getattr(current_app.view_functions.get(request.endpoint or ""), "refusal", None)
    if refusal is None or not refusal.handles(exc):
        return None
    return refusal.answer(exc, **(request.view_args or {}))



def _flatten_marshmallow(messages: dict) -> dict:
    """flask-smorest nests messages by location (json/query); keep the field level."""
    flat: dict = {}
    for location in messages.values():
        if isinstance(location, dict):
            for field, value in location.items():
                flat[field] = value[0] if isinstance(value, list) and value and isinstance(value[0], str) else value
    return flat or messages


def _chinese(messages: object) -> object:
    """`messages` with webargs' English texts replaced."""
    if isinstance(messages, dict):
        return {k: _chinese(v) for k, v in messages.items()}
    if isinstance(messages, list):
        return [_chinese(v) for v in messages]
    return WEBARGS_MESSAGES.get(messages, messages) if isinstance(messages, str) else messages


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` (or an error it was raised from) says the database cannot be reached or used right now:
    connection refused or lost, server shutting down or starting up, pool exhausted, SQLite file unreachable or
    locked. A client may simply try again later."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, sa.TimeoutError):  # no connection free in the pool
            return True
        if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
            return True
        if isinstance(exc, sa.OperationalError | sa.InterfaceError):
            if not isinstance(exc.orig, sqlite3.Error):
                return True  # PostgreSQL: connection failures, admin shutdown, cannot connect now, deadlock …
            if any(text in str(exc.orig).lower() for text in SQLITE_UNAVAILABLE):
                return True
        exc = exc.__cause__ or exc.__context__
    return False


def unavailable_response(exc: BaseException | None) -> Response:
    """503 with Retry-After, JSON under /api/, a page elsewhere that needs nothing from the database."""
    logger.warning("database unavailable: %s", exc)
    close_session_quietly()
    if wants_json():
        response = jsonify(error_payload(503, DATABASE_UNAVAILABLE))
    else:
        # no context processors: Flask-Login's would load the signed-in official from the database
        page = current_app.jinja_env.get_template("unavailable.html").render(
            request=request, message=DATABASE_UNAVAILABLE, retry_after=RETRY_AFTER_SECONDS)
        response = Response(page, mimetype="text/html")
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
