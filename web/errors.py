"""One place that maps engine errors to HTTP: JSON under /api, a page elsewhere."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine.errors import EngineError
from web.extensions import db

HTTP_MESSAGES = {
    400: "请求格式不正确", 401: "请先登录或提供有效的访问令牌", 403: "无权执行此操作", 404: "未找到请求的内容",
    405: "不支持的请求方法", 409: "操作冲突，请刷新后重试", 413: "提交的内容过大", 415: "不支持的内容类型",
    422: "提交的内容有误", 429: "请求过于频繁，请稍后再试", 500: "服务器内部错误，请稍后再试",
}
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
        db.session.rollback()
        errors = exc.details.get("errors") or (
            {"_diagram": exc.details["problems"]} if "problems" in exc.details else None)
        if wants_json():
            return jsonify(error_payload(exc.http_status, exc.message, errors)), exc.http_status
        return render_template("error.html", status=exc.http_status, message=exc.message), exc.http_status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> object:
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
