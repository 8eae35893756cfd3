"""The restricted environment for expressions and scripts written in diagrams.

Diagrams are edited by administrators in the browser, so nothing they write may run arbitrary server code and
nothing may keep a worker busy. Two layers:

- **Before anything runs** (at deploy, and again before each evaluation) the source is parsed and its syntax
  tree checked (`source_problem`): no imports, no names or attributes starting with an underscore, no I/O
  builtins, no `str.format`, no `while` loops, no `**` with a large or computed exponent, no statements the
  evaluator does not run, at most `MAX_SOURCE_LENGTH` characters nested at most `MAX_DEPTH` levels.
- **At run time** nothing goes to Python's `eval`/`exec`: `BoundedEvaluator` (the maintained `simpleeval`
  library's evaluator, plus the few statements scripts need) walks the tree itself under `LIMITS` — time,
  evaluation steps, integer size, exponent, and the length of every text or list it builds, summed over one
  evaluation as a memory budget. A limit hit raises `ExpressionLimit`; any other failure `ExpressionFailed`,
  both with a Chinese message (the case is parked in `error`, engine/workflow/instances.py).
"""
from __future__ import annotations

import ast
import builtins
import datetime as _dt
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import simpleeval
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from engine.errors import EngineError, ExpressionFailed, ExpressionLimit, UnsafeExpression
from engine.workflow import registry

SAFE_BUILTINS: dict[str, Any] = {
    name: getattr(builtins, name)
    for name in (
        "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "float", "int",
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
MAX_SOURCE_LENGTH = 20_000  # characters of one expression or script
MAX_DEPTH = 60  # levels of the syntax tree (a 100 000-deep expression once made deploy answer 500)
FORBIDDEN_ATTRIBUTES = frozenset({
    "format", "format_map", "mro", "func_globals",
    # frames, tracebacks and code objects lead back to the caller's real builtins and globals
    "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "tb_frame", "tb_next",
    "f_back", "f_builtins", "f_globals", "f_locals", "f_code",
})
# statements a script may use; the evaluator runs these and no others
SCRIPT_STATEMENTS = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.If, ast.For, ast.Pass, ast.Break,
                     ast.Continue, ast.FunctionDef, ast.Return)
UNSUPPORTED_EXPRESSIONS = {ast.SetComp: "集合推导式", ast.NamedExpr: "赋值表达式（:=）", ast.Yield: "yield",
                           ast.YieldFrom: "yield from"}


@dataclass(frozen=True)
class Limits:
    """What one evaluation of one expression or script may use."""

    seconds: float = 0.5
    steps: int = 100_000  # syntax-tree nodes evaluated
    length: int = 100_000  # characters of one text, items of one list, mapping or range
    produced: int = 2_000_000  # characters and items built in total (the memory budget)
    int_bits: int = 4_096  # one integer: about 1 233 decimal digits
    exponent: int = MAX_EXPONENT
    calls: int = 50  # nesting of functions a script defines


LIMITS = Limits()


def check_source(source: str, mode: str = "eval") -> None:
    """Raise UnsafeExpression unless `source` parses and stays inside the restricted environment."""
    problem = source_problem(source, mode)
    if problem:
        raise UnsafeExpression(problem, source=source)


@lru_cache(maxsize=4096)
def source_problem(source: str, mode: str = "eval") -> str | None:
    """A Chinese description of why `source` is not allowed, or None when it is."""
    tree, problem = _parse(source, mode)
    if tree is None:
        return problem
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
    return _unsupported(tree)


def _parse(source: str, mode: str) -> tuple[ast.AST | None, str | None]:
    """The syntax tree of `source`, or None and why not — never an exception, whatever the input."""
    if len(source) > MAX_SOURCE_LENGTH:
        return None, f"表达式过长（{len(source)} 个字符，最多 {MAX_SOURCE_LENGTH} 个）"
    try:
        tree = _parsed(source, mode)
    except SyntaxError as exc:
        if "too many nested" in (exc.msg or ""):
            return None, f"表达式嵌套过深（最多 {MAX_DEPTH} 层）"
        return None, f"表达式语法错误（第{exc.lineno}行）：{exc.msg}"
    except (RecursionError, MemoryError):  # the parser's own stack: deeply nested sources
        return None, f"表达式嵌套过深（最多 {MAX_DEPTH} 层）"
    except ValueError:  # e.g. a NUL character
        return None, "表达式中含有无法识别的字符"
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return None, f"表达式嵌套过深（超过 {MAX_DEPTH} 层）"
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return tree, None


@lru_cache(maxsize=4096)
def _parsed(source: str, mode: str) -> ast.AST:
    return ast.parse(source.strip(), mode=mode)


def _unsupported(tree: ast.AST) -> str | None:
    """Syntax the evaluator does not run (checked after the safety rules, whose messages come first)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and not isinstance(node, SCRIPT_STATEMENTS):
            keyword = {"Try": "try", "TryStar": "try", "With": "with", "Match": "match", "Raise": "raise",
                       "Assert": "assert", "Delete": "del"}.get(type(node).__name__, type(node).__name__)
            return f"脚本中不支持 {keyword} 语句（可用：赋值、if、for、def、return）"
        if type(node) in UNSUPPORTED_EXPRESSIONS:
            return f"表达式中不支持{UNSUPPORTED_EXPRESSIONS[type(node)]}"
        if isinstance(node, ast.Assign | ast.For) and any(
                isinstance(t, ast.Starred) for target in (node.targets if isinstance(node, ast.Assign)
                                                          else [node.target]) for t in ast.walk(target)):
            return "表达式中不支持带 * 的解包赋值"
        if isinstance(node, ast.FunctionDef | ast.Lambda) and (
                node.args.vararg or node.args.kwarg or node.args.kwonlyargs or node.args.posonlyargs):
            return "脚本中的函数只支持普通参数（不支持 *args、**kwargs 和仅限关键字参数）"
        if isinstance(node, ast.FunctionDef) and node.decorator_list:
            return "脚本中的函数不支持装饰器"
    return None


def constant_text(source: str) -> str | None:
    """The value of `source` when it is a quoted text constant (e.g. a timer's `"P5D"`), else None. Runs nothing."""
    tree, _ = _parse(source, "eval")
    if isinstance(tree, ast.Expression) and isinstance(tree.body, ast.Constant) and isinstance(tree.body.value, str):
        return tree.body.value
    return None


def names_used(source: str, mode: str = "eval") -> set[str]:
    """Names `source` reads that it does not bind itself (assignments, loop variables, parameters, comprehensions)."""
    tree, _ = _parse(source, mode)
    if tree is None:
        return set()
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef):
            bound.add(node.name)
            bound.update(a.arg for a in node.args.args)
        elif isinstance(node, ast.Lambda):
            bound.update(a.arg for a in node.args.args)
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
            and node.id not in bound}


def _days(n: int) -> str:
    """ISO duration of `n` calendar days, for timer expressions."""
    return f"P{int(n)}D"


HELPERS: dict[str, Callable[..., Any]] = {
    "date": _dt.date,
    "timedelta": _dt.timedelta,
    "days": _days,
    "json_dumps": json.dumps,
}
# deadline helpers, from the working-day calendar through registry.timings().helpers (engine/deadlines/timing.py):
# bound per step to the step's clock and session (engine/workflow/instances.py: _step_helpers); an environment
# given none gets them unbound (the clock's now, no time limit, no entered holiday year) at its first evaluation
STEP_HELPERS = ("workdays", "calendar_days", "today", "limit", "reminder", "end_of", "before", "after")


def _bounded_range(*args: int) -> range:
    values = range(*args)
    try:
        size = len(values)
    except OverflowError:
        size = LIMITS.length + 1
    if size > LIMITS.length:
        raise ExpressionLimit(f"表达式超出运行限制：range 的长度超过 {LIMITS.length}")
    return values


# attributes (mostly methods) an expression may use, per type of the value; everything else is refused
_NO_STR = {"center", "ljust", "rjust", "zfill", "expandtabs", "format", "format_map", "encode", "maketrans",
           "translate"}  # widths and tables that build texts of any size before a limit could see them
ALLOWED_ATTRS: dict[Any, set[str]] = {
    **{kind: set(attrs) for kind, attrs in simpleeval.BASIC_ALLOWED_ATTRS.items() if kind is not None},
    str: set(simpleeval.BASIC_ALLOWED_ATTRS[str]) - _NO_STR,
    int: set(simpleeval.BASIC_ALLOWED_ATTRS[int]) - {"to_bytes", "from_bytes"},
    bool: set(simpleeval.BASIC_ALLOWED_ATTRS[bool]) - {"to_bytes", "from_bytes"},
    type(None): set(),
    _dt.date: {"year", "month", "day", "isoformat", "weekday", "isoweekday", "replace"},
    _dt.datetime: {"year", "month", "day", "hour", "minute", "second", "isoformat", "weekday", "isoweekday",
                   "date", "replace", "astimezone"},
    _dt.timedelta: {"days", "seconds", "total_seconds"},
    type: {"fromisoformat"},  # date.fromisoformat("2026-01-05")
}


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class ScriptFunction:
    """A function defined in a script (`def`, `lambda`), run by the evaluator that defined it."""

    def __init__(self, evaluator: BoundedEvaluator, node: ast.FunctionDef | ast.Lambda, defaults: list[Any]) -> None:
        self.evaluator, self.node, self.defaults = evaluator, node, defaults
        self.params = [a.arg for a in node.args.args]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        evaluator = self.evaluator
        if len(evaluator.scopes) >= evaluator.limits.calls:
            raise ExpressionLimit(f"表达式超出运行限制：函数调用嵌套超过 {evaluator.limits.calls} 层")
        if len(args) > len(self.params):
            raise ExpressionFailed(f"函数最多接受 {len(self.params)} 个参数")
        scope = dict(zip(self.params, args, strict=False))
        first_default = len(self.params) - len(self.defaults)
        for index, name in enumerate(self.params):
            if name in kwargs:
                scope[name] = kwargs.pop(name)
            elif name not in scope:
                if index < first_default:
                    raise ExpressionFailed(f"调用函数时缺少参数「{name}」")
                scope[name] = self.defaults[index - first_default]
        if kwargs:
            raise ExpressionFailed(f"函数没有参数「{'、'.join(kwargs)}」")
        evaluator.scopes.append(scope)
        try:
            if isinstance(self.node, ast.Lambda):
                return evaluator._eval(self.node.body)
            try:
                evaluator._run_block(self.node.body)
            except _Return as done:
                return done.value
            return None
        finally:
            evaluator.scopes.pop()


class BoundedEvaluator(simpleeval.EvalWithCompoundTypes):
    """simpleeval's evaluator with limits on time, steps and sizes, and the statements scripts need.

    Names are looked up in the function scopes of the script, the task data (`context`), the external
    context, then the functions (safe builtins and helpers). Assignments at the top level go to the task data.
    """

    def __init__(self, functions: dict[str, Any], context: dict, external: dict | None = None,
                 limits: Limits = LIMITS) -> None:
        self.limits = limits
        self.context = context
        self.external = external or {}
        self.scopes: list[dict[str, Any]] = []
        self.steps = 0
        self.produced = 0
        self.deadline = 0.0
        operators = {**simpleeval.DEFAULT_OPERATORS, ast.Add: self._add, ast.Mult: self._mult, ast.Pow: self._pow,
                     ast.LShift: self._lshift}
        super().__init__(operators=operators, functions=dict(functions), names={}, allowed_attrs=ALLOWED_ATTRS)
        self.builtin_functions = set(map(id, self.functions.values()))
        self.nodes.update({
            ast.Assign: self._eval_assign, ast.AugAssign: self._eval_aug_assign, ast.AnnAssign: self._eval_ann_assign,
            ast.If: self._eval_if, ast.For: self._eval_for, ast.Pass: lambda node: None,
            ast.Break: self._eval_break, ast.Continue: self._eval_continue, ast.Return: self._eval_return,
            ast.FunctionDef: self._eval_def, ast.Lambda: self._eval_lambda,
        })

    # --- entry ---------------------------------------------------------------------------------------------

    def run(self, source: str, mode: str) -> Any:
        """Evaluate an expression (`eval`) or run a script (`exec`) under the limits."""
        tree, problem = _parse(source, mode)
        if tree is None:
            raise UnsafeExpression(problem or "表达式无法解析", source=source)
        self.expr, self._max_count = source, 0
        self.deadline = time.monotonic() + self.limits.seconds
        try:
            if mode == "eval":
                return self._eval(tree.body)
            self._run_block(tree.body)
            return True
        except _Return:
            raise ExpressionFailed("return 只能用在函数中") from None
        except (_Break, _Continue):
            raise ExpressionFailed("break、continue 只能用在 for 循环中") from None
        except RecursionError:
            raise ExpressionLimit("表达式超出运行限制：嵌套或递归过深") from None
        except MemoryError:
            raise ExpressionLimit("表达式超出运行限制：占用内存过多") from None

    def _eval(self, node: ast.AST) -> Any:
        self.steps += 1
        if self.steps > self.limits.steps:
            raise ExpressionLimit(f"表达式超出运行限制：计算步骤超过 {self.limits.steps} 步（循环或数据过大）")
        if time.monotonic() > self.deadline:
            raise ExpressionLimit(f"表达式超出运行限制：运行时间超过 {self.limits.seconds:g} 秒")
        return super()._eval(node)

    def _run_block(self, body: list[ast.stmt]) -> None:
        for statement in body:
            self._eval(statement)

    # --- sizes ---------------------------------------------------------------------------------------------

    def _charge(self, value: Any) -> Any:
        """Count what was built against the limits on one value's length and on the total built."""
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            if value.bit_length() > self.limits.int_bits:
                raise ExpressionLimit(f"表达式超出运行限制：整数超过 {self.limits.int_bits} 位二进制")
            return value
        if isinstance(value, str | list | tuple | dict | set | bytes):
            if len(value) > self.limits.length:
                raise ExpressionLimit(f"表达式超出运行限制：文本或列表长度超过 {self.limits.length}")
            self.produced += len(value)
            if self.produced > self.limits.produced:
                raise ExpressionLimit(f"表达式超出运行限制：生成的文本和列表总长度超过 {self.limits.produced}")
        return value

    def _too_long(self, size: int) -> None:
        if size > self.limits.length:
            raise ExpressionLimit(f"表达式超出运行限制：文本或列表长度超过 {self.limits.length}")

    def _add(self, a: Any, b: Any) -> Any:
        if hasattr(a, "__len__") and hasattr(b, "__len__"):
            self._too_long(len(a) + len(b))
        return self._charge(a + b)

    def _mult(self, a: Any, b: Any) -> Any:
        for sequence, times in ((a, b), (b, a)):
            if hasattr(sequence, "__len__") and isinstance(times, int):
                self._too_long(len(sequence) * times)
        if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > self.limits.int_bits:
            raise ExpressionLimit(f"表达式超出运行限制：整数超过 {self.limits.int_bits} 位二进制")
        return self._charge(a * b)

    def _pow(self, a: Any, b: Any) -> Any:
        if isinstance(b, int | float) and abs(b) > self.limits.exponent:
            raise ExpressionLimit(f"表达式超出运行限制：乘方的指数超过 {self.limits.exponent}")
        if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a).bit_length() * b > self.limits.int_bits:
            raise ExpressionLimit(f"表达式超出运行限制：乘方的结果超过 {self.limits.int_bits} 位二进制")
        return self._charge(a ** b)

    def _lshift(self, a: Any, b: Any) -> Any:
        if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b > self.limits.int_bits:
            raise ExpressionLimit(f"表达式超出运行限制：整数超过 {self.limits.int_bits} 位二进制")
        return a << b

    def _eval_joinedstr(self, node: ast.JoinedStr) -> str:
        return self._charge(super()._eval_joinedstr(node))

    def _eval_formattedvalue(self, node: ast.FormattedValue) -> Any:
        value = self._eval(node.value)
        if node.conversion == ord("s"):
            value = str(value)
        elif node.conversion in (ord("r"), ord("a")):
            value = ascii(value) if node.conversion == ord("a") else repr(value)
        if node.format_spec is None:
            return value
        spec = str(self._eval(node.format_spec))
        if any(int(width) > 1000 for width in re.findall(r"\d+", spec)):
            raise ExpressionLimit("表达式超出运行限制：格式宽度或精度超过 1000")
        return format(value, spec)

    def _eval_comprehension(self, node: Any) -> Any:
        result = super()._eval_comprehension(node)
        return self._charge(result)

    # --- names and calls -----------------------------------------------------------------------------------

    def _eval_name(self, node: ast.Name) -> Any:
        name = node.id
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if name in self.context:
            return self.context[name]
        if name in self.external:
            return self.external[name]
        if name in self.functions:
            return self.functions[name]
        raise ExpressionFailed(f"名称「{name}」未定义（表单、案件信息和前面的步骤都没有提供它）", name=name)

    def _eval_call(self, node: ast.Call) -> Any:
        func = self._eval(node.func)
        try:
            forbidden = func in simpleeval.DISALLOW_FUNCTIONS
        except TypeError:
            forbidden = False
        if forbidden or not callable(func):
            raise ExpressionFailed(f"「{ast.unparse(node.func)}」不能调用")
        args: list[Any] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                values = list(self._eval(arg.value))
                self._too_long(len(values))
                args.extend(values)
            else:
                args.append(self._eval(arg))
        kwargs: dict[str, Any] = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                kwargs.update(self._eval(keyword.value))
            else:
                kwargs[keyword.arg] = self._eval(keyword.value)
        owner = getattr(func, "__self__", None)
        if isinstance(owner, str) and args:
            if func.__name__ == "join":
                args[0] = [*args[0]]
                self._too_long(sum(len(str(item)) for item in args[0]) + len(owner) * len(args[0]))
            elif func.__name__ == "replace" and len(args) >= 2 and isinstance(args[0], str) and args[0]:
                self._too_long(len(owner) + owner.count(args[0]) * max(0, len(str(args[1])) - len(args[0])))
        result = func(*args, **kwargs)
        if isinstance(owner, str) or id(func) in self.builtin_functions:
            self._charge(result)
        return result

    # --- statements ----------------------------------------------------------------------------------------

    def _assign(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            (self.scopes[-1] if self.scopes else self.context)[target.id] = value
        elif isinstance(target, ast.Tuple | ast.List):
            values = list(value)
            if len(values) != len(target.elts):
                raise ExpressionFailed(f"解包赋值的数量不一致（{len(target.elts)} 个名称，{len(values)} 个值）")
            for element, item in zip(target.elts, values, strict=False):
                self._assign(element, item)
        elif isinstance(target, ast.Subscript):
            container = self._eval(target.value)
            container[self._eval(target.slice)] = value
        else:
            raise ExpressionFailed(f"不能给「{ast.unparse(target)}」赋值")

    def _eval_assign(self, node: ast.Assign) -> None:
        value = self._eval(node.value)
        for target in node.targets:
            self._assign(target, value)

    def _eval_aug_assign(self, node: ast.AugAssign) -> None:
        operator = self.operators[type(node.op)]
        self._assign(node.target, operator(self._eval(node.target), self._eval(node.value)))

    def _eval_ann_assign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._assign(node.target, self._eval(node.value))

    def _eval_if(self, node: ast.If) -> None:
        self._run_block(node.body if self._eval(node.test) else node.orelse)

    def _eval_for(self, node: ast.For) -> None:
        for item in self._eval(node.iter):
            self._assign(node.target, item)
            try:
                self._run_block(node.body)
            except _Break:
                break
            except _Continue:
                continue
        else:
            self._run_block(node.orelse)

    def _eval_break(self, node: ast.Break) -> None:
        raise _Break

    def _eval_continue(self, node: ast.Continue) -> None:
        raise _Continue

    def _eval_return(self, node: ast.Return) -> None:
        raise _Return(self._eval(node.value) if node.value is not None else None)

    def _eval_def(self, node: ast.FunctionDef) -> None:
        defaults = [self._eval(d) for d in node.args.defaults]
        self._assign(ast.Name(id=node.name, ctx=ast.Store()), ScriptFunction(self, node, defaults))

    def _eval_lambda(self, node: ast.Lambda) -> ScriptFunction:
        return ScriptFunction(self, node, [self._eval(d) for d in node.args.defaults])


def _failure(exc: Exception, source: str) -> ExpressionFailed:
    """The Chinese message for a Python or simpleeval error raised while an expression ran."""
    text = str(exc)
    if isinstance(exc, simpleeval.IterableTooLong | simpleeval.NumberTooHigh | OverflowError):
        return ExpressionLimit(f"表达式超出运行限制：数值或长度过大（{text}）", source=source)
    if isinstance(exc, simpleeval.AttributeDoesNotExist):
        return ExpressionFailed(f"表达式使用了不存在的属性「{exc.attr}」", source=source)
    if isinstance(exc, simpleeval.FeatureNotAvailable | simpleeval.OperatorNotDefined):
        return ExpressionFailed(f"表达式使用了不支持的写法（{text}）", source=source)
    labels = {KeyError: "没有这个键", IndexError: "下标超出范围", TypeError: "数据类型不匹配",
              ZeroDivisionError: "除数为零", ValueError: "取值无效", AttributeError: "没有这个属性"}
    label = next((labels[kind] for kind in labels if isinstance(exc, kind)), type(exc).__name__)
    return ExpressionFailed(f"表达式计算出错：{label}（{text}）", source=source)


class SandboxEnvironment(TaskDataEnvironment):
    """Task-data environment that evaluates with BoundedEvaluator over the safe builtins plus named helpers.

    `globals` (with `__builtins__` = the safe builtins) is kept for what reads it; nothing is given to `eval`.
    """

    def __init__(
        self,
        helpers: dict[str, Any] | None = None,
        service_caller: Callable[..., Any] | None = None,
        limits: Limits = LIMITS,
    ) -> None:
        super().__init__({"__builtins__": SAFE_BUILTINS, **HELPERS, **(helpers or {})})
        self._service_caller = service_caller
        self.limits = limits
        self.functions = {**SAFE_BUILTINS, "range": _bounded_range, **HELPERS, **(helpers or {})}
        self._unbound = not any(name in self.functions for name in STEP_HELPERS)

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        check_source(expression, "eval")
        return self._run(expression, "eval", context, external_context)

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        check_source(script, "exec")
        try:
            return self._run(script, "exec", context, external_context)
        finally:  # functions a script defined are not task data
            for name in [name for name, value in context.items() if isinstance(value, ScriptFunction)]:
                del context[name]

    def _run(self, source: str, mode: str, context: dict, external_context: dict | None) -> Any:
        if self._unbound:  # the deadline helpers come from the deadlines package, registered after import
            self._unbound = False
            for name, helper in registry.timings().helpers(None, None, None).items():
                self.functions.setdefault(name, helper)
        evaluator = BoundedEvaluator(self.functions, context, external_context, self.limits)
        try:
            return evaluator.run(source, mode)
        except EngineError:
            raise
        except Exception as exc:  # noqa: BLE001 - every other failure gets its Chinese message
            raise _failure(exc, source) from exc

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
