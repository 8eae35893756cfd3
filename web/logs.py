"""Logging: one line per record (JSON or text, `LOG_FORMAT`), each with the request id of the request it served.

The request id is the caller's `X-Request-ID` when it is a short token of safe characters, otherwise a new
random one; it is returned in the response's `X-Request-ID` header and stamped on every log line written
while the request runs (an audit event's log line names the event's id, which ties the two together).
The scheduler stamps each tick's lines with `tick-…` the same way.
"""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import Flask, Response, g, request

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
_request_id: ContextVar[str | None] = ContextVar("lvyue_request_id", default=None)
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "request_id"}
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
access_logger = logging.getLogger("lvyue.request")
SPIFF_LOGGERS = ("spiff", "spiff.task", "spiff.workflow", "spiff.data", "spiff.dmn")
QUIET_ENDPOINTS = frozenset({"ops.healthz", "ops.readyz", "metrics.metrics"})  # probes: a line only when they fail


def current_request_id() -> str | None:
    return _request_id.get()


@contextmanager
def request_id_context(request_id: str) -> Iterator[str]:
    """Stamp the log lines written inside the block with `request_id` (the scheduler uses it per tick)."""
    token = _request_id.set(request_id)
    try:
        yield request_id
    finally:
        _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` ('-' outside a request) to every record passing the handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request_id, any `extra=` fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or _request_id.get() or "-",
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", fmt: str = "text", workflow_level: str = "WARNING") -> logging.Handler:
    """Give the root logger one stderr handler of ours (replacing an earlier one), JSON or text.

    SpiffWorkflow's own loggers (`spiff.*`) get `workflow_level` (LOG_WORKFLOW_LEVEL, never below INFO): at INFO
    they write a line for every task state change, about 14 per completed step; below INFO they would attach each
    task's data (form values, personal data) to the record, which JSON lines print. Our own lines say what a step
    did."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "lvyue", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler()
    handler.lvyue = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    for chatty in ("alembic.runtime.plugins",):  # lines at every app start
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
    quiet = logging.getLevelName(workflow_level.upper())
    if not isinstance(quiet, int):
        raise RuntimeError(f"LOG_WORKFLOW_LEVEL 不是日志级别（现为 {workflow_level!r}）")
    for name in SPIFF_LOGGERS:  # each checks its own level (not the effective one) before attaching task data
        logging.getLogger(name).setLevel(max(quiet, logging.INFO))
    return handler


def init_app(app: Flask) -> None:
    fmt = str(app.config.get("LOG_FORMAT") or "text").lower()
    if fmt not in ("json", "text"):
        raise RuntimeError(f"LOG_FORMAT 只能是 json 或 text（现为 {fmt!r}）")
    configure_logging(app.config.get("LOG_LEVEL", "INFO"), fmt, str(app.config.get("LOG_WORKFLOW_LEVEL") or "WARNING"))
    app.before_request(_begin)
    app.after_request(_finish)
    app.teardown_request(_forget)


def _begin() -> None:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = offered if _SAFE_ID.match(offered) else uuid.uuid4().hex
    g.request_id_token = _request_id.set(g.request_id)
    g.request_started = time.perf_counter()


def _finish(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
        if request.endpoint in QUIET_ENDPOINTS and response.status_code < 400:
            return response
        started = g.get("request_started")
        access_logger.info("%s %s %s", request.method, request.path, response.status_code, extra={
            "method": request.method, "path": request.path, "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
            "endpoint": request.endpoint, "remote_addr": request.remote_addr})
    return response


def _forget(_exc: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        _request_id.reset(token)
