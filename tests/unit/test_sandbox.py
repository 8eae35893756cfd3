"""The restricted environment: what source_problem refuses, and that refused code never runs."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.errors import UnsafeExpression
from engine.workflow import clock
from engine.workflow.sandbox import SandboxEnvironment, check_source, source_problem

ALLOWED = [
    ("accepted", "eval"),
    ('outcome == "unfounded"', "eval"),
    ('not supervisor_lookup["found"]', "eval"),
    ('"原因：" + {"a": "甲"}.get(reason, "其他") + ("。" + remarks if remarks else "")', "eval"),
    ("[x * 2 for x in range(3) if x]", "eval"),
    ("lambda v: v + 1", "eval"),
    ('f"{amount:.2f} 元"', "eval"),
    ("workdays(15)", "eval"),
    ("amount * 1.5 ** 2", "eval"),
    ("total = sum(items)\nlabel = str(total)", "exec"),
    ("def double(v):\n    return v * 2\nresult = double(2)", "exec"),
    ("for i, v in enumerate(items):\n    if v > 1:\n        break\nelse:\n    i = -1", "exec"),
]

REFUSED = [
    ("import os", "exec", "表达式中不允许导入模块（import）"),
    ("from os import path", "exec", "表达式中不允许导入模块（import）"),
    ("__import__('os')", "eval", "表达式中不允许使用名称「__import__」"),
    ("open('/etc/passwd')", "eval", "表达式中不允许使用名称「open」"),
    ("eval('1')", "eval", "表达式中不允许使用名称「eval」"),
    ("getattr(x, 'y')", "eval", "表达式中不允许使用名称「getattr」"),
    ("type(x)", "eval", "表达式中不允许使用名称「type」"),
    ("print(x)", "eval", "表达式中不允许使用名称「print」"),
    ("__builtins__", "eval", "表达式中不允许使用名称「__builtins__」"),
    ("().__class__", "eval", "表达式中不允许访问属性「__class__」"),
    ("x.__dict__", "eval", "表达式中不允许访问属性「__dict__」"),
    ("'{0.__class__}'.format(x)", "eval", "表达式中不允许访问属性「format」"),
    ("'{a}'.format_map(d)", "eval", "表达式中不允许访问属性「format_map」"),
    ("(i for i in []).gi_frame", "eval", "表达式中不允许访问属性「gi_frame」"),
    ("frame.f_back", "eval", "表达式中不允许访问属性「f_back」"),
    ("tb.tb_frame", "eval", "表达式中不允许访问属性「tb_frame」"),
    ("f'{x.__class__}'", "eval", "表达式中不允许访问属性「__class__」"),
    ("match e:\n    case ValueError(__traceback__=tb):\n        pass", "exec", "表达式中不允许访问属性「__traceback__」"),
    ("match s:\n    case str(format=f):\n        pass", "exec", "表达式中不允许访问属性「format」"),
    ("match s:\n    case [*__rest]:\n        pass", "exec", "表达式中不允许使用名称「__rest」"),
    ("global x", "exec", "表达式中不允许使用 Global 语句"),
    ("class A:\n    pass", "exec", "表达式中不允许使用 ClassDef 语句"),
    ("def _hidden():\n    pass", "exec", "表达式中不允许定义函数「_hidden」"),
    ("while True:\n    pass", "exec", "表达式中不允许使用 while 循环（请用 for 遍历有限的数据）"),
    ("9 ** 9 ** 9", "eval", "表达式中的乘方（**）只允许不超过 64 的整数常量指数"),
    ("2 ** n", "eval", "表达式中的乘方（**）只允许不超过 64 的整数常量指数"),
    ("x = 1", "eval", "表达式语法错误（第1行）"),
    # the evaluator runs assignments, if, for, def and return; other statements are refused before they could run
    ("match kind:\n    case {'a': x}:\n        y = x\n    case _:\n        y = None", "exec", "脚本中不支持 match 语句"),
    ("try:\n    x = 1\nexcept ValueError:\n    x = 2", "exec", "脚本中不支持 try 语句"),
    ("with x:\n    pass", "exec", "脚本中不支持 with 语句"),
    ("{v for v in items}", "eval", "表达式中不支持集合推导式"),
    ("*a, b = items", "exec", "表达式中不支持带 * 的解包赋值"),
    ("def f(*args):\n    return args", "exec", "脚本中的函数只支持普通参数"),
    # sizes of the source itself: a 500 at deploy before (ast.parse raised RecursionError or MemoryError)
    ("(" * 100_000 + "1" + ")" * 100_000, "eval", "表达式过长"),
    ("-" * 15_000 + "1", "eval", "表达式嵌套过深"),
    ("(" * 300 + "1" + ")" * 300, "eval", "表达式嵌套过深"),
    ("[" * 100 + "]" * 100, "eval", "表达式嵌套过深"),
    ("1 +", "eval", "表达式语法错误（第1行）"),
]


@pytest.mark.parametrize(("source", "mode"), ALLOWED)
def test_allowed(source: str, mode: str) -> None:
    assert source_problem(source, mode) is None
    check_source(source, mode)


@pytest.mark.parametrize(("source", "mode", "message"), REFUSED)
def test_refused(source: str, mode: str, message: str) -> None:
    problem = source_problem(source, mode)
    assert problem is not None
    assert problem.startswith(message)
    with pytest.raises(UnsafeExpression) as caught:
        check_source(source, mode)
    assert caught.value.message == problem
    assert caught.value.details == {"source": source}


def test_the_traceback_escape_is_refused_before_it_runs() -> None:
    """A script that climbs from a traceback to the caller's real builtins never starts."""
    script = (
        "try:\n    int('x')\nexcept ValueError as e:\n"
        "    match e:\n        case ValueError(__traceback__=tb):\n            frame = tb.tb_frame\n"
        "while frame.f_back is not None:\n    frame = frame.f_back\n"
        "result = frame.f_builtins['__import__']('os').getcwd()\n"
    )
    context: dict[str, object] = {}
    with pytest.raises(UnsafeExpression):
        SandboxEnvironment().execute(script, context)
    assert "result" not in context


def test_scripts_run_with_helpers_and_the_injected_clock() -> None:
    env = SandboxEnvironment()
    context = {"items": [1, 2, 3]}
    env.execute("total = sum(items)\ndue = workdays(1)", context)
    assert context["total"] == 6
    with clock.frozen_at(datetime(2026, 9, 30, 2, 0, tzinfo=UTC)):  # 10:00 in Kunming, before National Day
        assert env.evaluate("workdays(1)", {}) == "2026-10-08T15:59:59+00:00"
        assert env.evaluate("today()", {}) == "2026-09-30"
