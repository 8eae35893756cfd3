"""The engine's exception tree; the web layer maps it to HTTP in one place."""
from __future__ import annotations


class EngineError(Exception):
    """Root of every error the engine raises on purpose. `message` is Chinese, for users."""

    http_status = 400

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(EngineError):
    http_status = 404


class PermissionDenied(EngineError):
    http_status = 403


class ConflictError(EngineError):
    """The request does not fit the case's current state."""

    http_status = 409


class TaskNotReady(EngineError):
    """The task was completed or withdrawn already."""

    http_status = 409


class ConcurrentUpdate(EngineError):
    """Someone else changed the same case first (optimistic version check)."""

    http_status = 409


class FormInvalid(EngineError):
    """Form data does not satisfy the task's JSON Schema; `errors` maps field → message."""

    http_status = 422

    def __init__(self, errors: dict[str, str], message: str = "提交的内容有误，请按提示修改。") -> None:
        super().__init__(message, errors=errors)
        self.errors = errors


class InvalidDiagram(EngineError):
    """A process model failed validation; `problems` lists each one in Chinese."""

    http_status = 422

    def __init__(self, problems: list[dict[str, str]], acknowledgeable: bool = False) -> None:
        """`acknowledgeable`: only warnings, which the administrator may acknowledge and deploy anyway."""
        prefix = "流程模型有需要确认的警告（确认后可部署）：" if acknowledgeable else "流程模型校验未通过："
        super().__init__(prefix + "；".join(p["message"] for p in problems), problems=problems)
        self.problems = problems
        self.acknowledgeable = acknowledgeable


class UnsafeExpression(EngineError):
    """An expression or script in a diagram uses something outside the restricted environment."""

    http_status = 422


class ExpressionFailed(EngineError):
    """An expression or script failed while it ran: a name not defined, a wrong type, or a run-time limit hit."""

    http_status = 422


class ExpressionLimit(ExpressionFailed):
    """An expression or script exceeded a limit on time, steps, number size or text/list length."""


class WorkflowFailed(EngineError):
    """A step of the diagram failed while running (expression, service operation)."""

    http_status = 500


class TooManyAttempts(EngineError):
    """Attempts for this key (a tracking code, a username) are refused for a while (engine/throttle.py)."""

    http_status = 429
