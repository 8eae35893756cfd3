"""The bounded evaluator: what diagrams use runs as before; loops, huge numbers and huge texts stop at a limit."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.errors import ExpressionFailed, ExpressionLimit
from engine.workflow import clock
from engine.workflow.sandbox import SandboxEnvironment, constant_text, names_used


@pytest.mark.parametrize(("source", "context", "expected"), [
    ("accepted", {"accepted": True}, True),
    ('outcome == "unfounded"', {"outcome": "founded"}, False),
    ('not supervisor_lookup["found"]', {"supervisor_lookup": {"found": False}}, True),
    ('"原因：" + {"a": "甲"}.get(reason, "其他") + ("。" + remarks if remarks else "")',
     {"reason": "a", "remarks": "补充"}, "原因：甲。补充"),
    ("[x * 2 for x in range(3) if x]", {}, [2, 4]),
    ("(lambda v: v + 1)(2)", {}, 3),
    ('f"{amount:.2f} 元"', {"amount": 3}, "3.00 元"),
    ("amount * 1.5 ** 2", {"amount": 2}, 4.5),
    ("respondent_reason in ('restructuring', 'staff_change')", {"respondent_reason": "staff_change"}, True),
    ("(outcome) == (\"unfounded\")", {"outcome": "unfounded"}, True),
    ("len([*items, 4])", {"items": [1, 2, 3]}, 4),
    ("', '.join(sorted(names)).upper()", {"names": ["b", "a"]}, "A, B"),
    ("date.fromisoformat(d).year", {"d": "2026-03-02"}, 2026),
    ("2 ** 10 % 7", {}, 2),
    ("dmninputexpr > 5", {}, True),
])
def test_expressions_diagrams_use_evaluate_as_python_would(source: str, context: dict, expected: object) -> None:
    assert SandboxEnvironment().evaluate(source, context, {"dmninputexpr": 6}) == expected


def test_scripts_assign_task_data_and_functions_they_define_do_not_stay() -> None:
    context = {"items": [3, 1, 2]}
    SandboxEnvironment().execute(
        "def double(v, by=2):\n    return v * by\n"
        "total = 0\nfor i, v in enumerate(items):\n    if v == 1:\n        continue\n    total += double(v)\n"
        "labels = {}\nlabels['n'] = str(total)\nhalf = (lambda x: x // 2)(total)\n", context)
    assert context == {"items": [3, 1, 2], "total": 10, "labels": {"n": "10"}, "half": 5, "i": 2, "v": 2}


def test_helpers_read_the_injected_clock() -> None:
    with clock.frozen_at(datetime(2026, 9, 30, 2, 0, tzinfo=UTC)):
        assert SandboxEnvironment().evaluate("workdays(1)", {}) == "2026-10-08T15:59:59+00:00"


LIMITED = [
    # the three of the issue: a loop, a huge power, a huge string
    ("for i in range(10**9):\n    pass", "exec", "range 的长度超过"),
    # the step limit, or on a loaded machine the 0.5 s clock first: either bound stops it
    ("total = 0\nfor i in range(100000):\n    for j in range(100000):\n        total += 1", "exec", "计算步骤超过|运行时间超过"),
    ("((((9**64)**64)**64)**64) % 7", "eval", "乘方的结果超过"),
    ("'a' * 10**9", "eval", "文本或列表长度超过"),
    ("x = 'a' * 100000\nx = x + x", "exec", "文本或列表长度超过"),
    ("x = 9 ** 64\nfor i in range(10):\n    x = x * x", "exec", "整数超过"),
    ("[0] * 10**6", "eval", "文本或列表长度超过"),
    ("('a' * 100000).replace('a', 'aa')", "eval", "文本或列表长度超过"),
    ("'-'.join(['a' * 1000] * 1000)", "eval", "文本或列表长度超过"),
    ("f'{1:1000000000}'", "eval", "格式宽度或精度超过"),
    ("[('a' * 50000) + str(i) for i in range(1000)]", "eval", "总长度超过"),
    ("def f(n):\n    return f(n + 1)\nf(0)", "exec", "函数调用嵌套超过"),
    ("1 << 10**6", "eval", "整数超过"),
]


@pytest.mark.parametrize(("source", "mode", "message"), LIMITED)
def test_limits_stop_what_would_hang_or_fill_a_worker(source: str, mode: str, message: str) -> None:
    env = SandboxEnvironment()
    with pytest.raises(ExpressionLimit) as caught:
        env.evaluate(source, {}) if mode == "eval" else env.execute(source, {})
    assert caught.value.message.startswith("表达式超出运行限制：")
    assert any(reason in caught.value.message for reason in message.split("|")), caught.value.message


@pytest.mark.parametrize(("source", "message"), [
    ("'x'.ljust(10**9)", "不支持的写法"),
    ("(5).to_bytes(10**9, 'big')", "不支持的写法"),
    ("missing + 1", "名称「missing」未定义"),
    ("d['nope']", "没有这个键"),
    ("1 / zero", "除数为零"),
    ("'a' + 1", "数据类型不匹配"),
    ("date.today()", "不支持的写法"),
])
def test_failures_are_explained_in_chinese(source: str, message: str) -> None:
    with pytest.raises(ExpressionFailed) as caught:
        SandboxEnvironment().evaluate(source, {"d": {}, "zero": 0})
    assert message in caught.value.message


def test_reading_expressions_runs_nothing() -> None:
    assert constant_text('"P5D"') == "P5D"
    assert constant_text("((((9**64)**64)**64)**64) % 7") is None
    assert constant_text("(" * 100_000) is None
    assert names_used("def f(v):\n    return v + base\nx = f(limit)", "exec") == {"base", "limit"}
    assert names_used("[v for v in items if v > floor]") == {"items", "floor"}
