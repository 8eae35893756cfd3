"""The restricted environment for expressions and scripts written in diagrams.

Diagrams are edited by administrators in the browser, so nothing they write may run arbitrary server
code: no imports, no names or attributes starting with an underscore, no I/O builtins, no
`str.format` (which reaches attributes without an AST node), no `while` loops and no `**` with a large or
computed exponent. Every expression is checked on its syntax tree before it runs, at deploy time and again
at run time. There is no CPU or memory limit beyond that: a `for` over a huge `range` still runs.
"""
from __future__ import annotations

import ast
import builtins
import datetime as _dt
import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from engine.errors import UnsafeExpression
from engine.workflow import calendar

SAFE_BUILTINS: dict[str, Any] = {
    name: getattr(builtins, name)
    for name in (
        "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "float", "int", "isinstance",
        "len", "list", "map", "max", "min", "range", "reversed", "round", "set", "sorted", "str", "sum",
        "tuple", "zip", "ValueError", "KeyError",
    )
}
FORBIDDEN_NAMES = frozenset({
    "open", "exec", "eval", "compile", "getattr", "setattr", "delattr", "globals", "locals", "vars", "input",
    "breakpoint", "help", "memoryview", "type", "object", "super", "classmethod", "staticmethod", "property",
    "dir", "id", "hash", "exit", "quit", "print", "bytearray", "bytes", "frozenset", "issubclass",
})
MAX_EXPONENT = 64  # `9**9**9` would keep a worker busy for hours
FORBIDDEN_ATTRIBUTES = frozenset({
    "format", "format_map", "mro", "func_globals",
    # frames, tracebacks and code objects lead back to the caller's real builtins and globals
    "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "tb_frame", "tb_next",
    "f_back", "f_builtins", "f_globals", "f_locals", "f_code",
})


def check_source(source: str, mode: str = "eval") -> None:
    """Raise UnsafeExpression unless `source` parses and stays inside the restricted environment."""
    problem = source_problem(source, mode)
    if problem:
        raise UnsafeExpression(problem, source=source)


@lru_cache(maxsize=4096)
def source_problem(source: str, mode: str = "eval") -> str | None:
    """A Chinese description of why `source` is not allowed, or None when it is."""
    try:
        tree = ast.parse(source.strip(), mode=mode)
    except SyntaxError as exc:
        return f"表达式语法错误（第{exc.lineno}行）：{exc.msg}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            return "表达式中不允许导入模块（import）"
        if isinstance(node, ast.Global | ast.Nonlocal | ast.ClassDef | ast.AsyncFunctionDef | ast.Await):
            return f"表达式中不允许使用 {type(node).__name__} 语句"
        if isinstance(node, ast.Name) and (node.id.startswith("_") or node.id in FORBIDDEN_NAMES):
            return f"表达式中不允许使用名称「{node.id}」"
        if isinstance(node, ast.Attribute) and (node.attr.startswith("_") or node.attr in FORBIDDEN_ATTRIBUTES):
            return f"表达式中不允许访问属性「{node.attr}」"
        if isinstance(node, ast.MatchClass):  # `case C(attr=x)` reads attributes without an Attribute node
            for attr in node.kwd_attrs:
                if attr.startswith("_") or attr in FORBIDDEN_ATTRIBUTES:
                    return f"表达式中不允许访问属性「{attr}」"
        if isinstance(node, ast.MatchAs | ast.MatchStar) and node.name and node.name.startswith("_"):
            return f"表达式中不允许使用名称「{node.name}」"
        if isinstance(node, ast.FunctionDef) and node.name.startswith("_"):
            return f"表达式中不允许定义函数「{node.name}」"
        if isinstance(node, ast.While):  # the cheapest way to hang a worker; diagrams need no open-ended loop
            return "表达式中不允许使用 while 循环（请用 for 遍历有限的数据）"
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and not (
                isinstance(node.right, ast.Constant) and isinstance(node.right.value, int)
                and abs(node.right.value) <= MAX_EXPONENT):
            return f"表达式中的乘方（**）只允许不超过 {MAX_EXPONENT} 的整数常量指数"
    return None


def _days(n: int) -> str:
    """ISO duration of `n` calendar days, for timer expressions."""
    return f"P{int(n)}D"


HELPERS: dict[str, Callable[..., Any]] = {
    "workdays": calendar.workdays,
    "calendar_days": calendar.calendar_days,
    "today": calendar.today,
    "date": _dt.date,
    "timedelta": _dt.timedelta,
    "days": _days,
    "json_dumps": json.dumps,
}


class SandboxEnvironment(TaskDataEnvironment):
    """Task-data environment whose globals are the safe builtins plus named helpers."""

    def __init__(
        self,
        helpers: dict[str, Any] | None = None,
        service_caller: Callable[..., Any] | None = None,
    ) -> None:
        super().__init__({"__builtins__": SAFE_BUILTINS, **HELPERS, **(helpers or {})})
        self._service_caller = service_caller

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        check_source(expression, "eval")
        return super().evaluate(expression, context, external_context)

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        check_source(script, "exec")
        return super().execute(script, context, external_context)

    def call_service(self, context: dict, **kwargs: Any) -> Any:
        if self._service_caller is None:
            raise UnsafeExpression("此环境中不能调用服务操作")
        return self._service_caller(context, **kwargs)


class SandboxScriptEngine(PythonScriptEngine):
    """Script engine whose errors in service calls keep their cause (the stock one loses it)."""

    def validate(self, expression: str) -> None:
        ast.parse(expression)

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        return self.environment.call_service(task.data, **kwargs)
