"""What diagrams may name: lane roles (resolved per case) and service operations (run per step).

The runtime keeps the registries; the domain packages fill them (engine/builtin.py imports them all)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.cases.models import Complaint
from engine.org.models import Department, Official


@dataclass
class StepContext:
    """What a lane resolver or a service operation may use while one step runs."""

    session: Session
    complaint: Complaint | None
    actor: Official | None
    now: datetime
    notes: list[str] = field(default_factory=list)
    calendar: Any = None  # the step's WorkCalendar, created on first use
    instance: Any = None  # the ProcessInstance being stepped (set before the engine runs)


@dataclass(frozen=True)
class LaneAssignment:
    department: Department
    role: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Lane:
    name: str
    label: str
    resolve: Callable[[StepContext], LaneAssignment | None]


@dataclass(frozen=True)
class Operation:
    name: str
    label: str
    run: Callable[..., dict[str, Any]]
    parameters: tuple[str, ...] = ()
    lane_parameters: tuple[str, ...] = ()  # parameters whose value names a lane (checked at deploy)
    # what a scenario run (engine/workflow/scenarios.py) gets instead of running it; None: {}
    stub: Callable[..., dict[str, Any]] | None = None


LANES: dict[str, Lane] = {}
OPERATIONS: dict[str, Operation] = {}
# process key → the names the code that starts it puts into the task data (deploy checks names against them)
START_FACTS: dict[str, frozenset[str]] = {}
START_FACT_VALUES: dict[str, dict[str, tuple[Any, ...]]] = {}  # process key → fact → every value it can have
TIMER_START_FACTS = frozenset({"timer_start", "timer_due"})  # what a timer start event gives (start_timers.py)
_LOADED = False


def lane(name: str, label: str) -> Callable:
    """Register a lane resolver under the role name that diagrams use as lane name."""

    def register(fn: Callable[[StepContext], LaneAssignment | None]) -> Callable:
        LANES[name] = Lane(name, label, fn)
        return fn

    return register


def operation(name: str, label: str, parameters: tuple[str, ...] = (), lane_parameters: tuple[str, ...] = (),
              stub: Callable[..., dict[str, Any]] | None = None) -> Callable:
    """Register a service operation that service tasks name in `spiffworkflow:serviceTaskOperator`.

    `stub(**parameters)`: the result a scenario run gets instead of running the operation (default `{}`)."""

    def register(fn: Callable[..., dict[str, Any]]) -> Callable:
        OPERATIONS[name] = Operation(name, label, fn, parameters, lane_parameters, stub)
        return fn

    return register


def start_facts(process_key: str, *names: str, **values: tuple[Any, ...]) -> None:
    """Declare the task data a process starts with (the code that starts `process_key` passes these names);
    `values`: facts whose every possible value is known (a gateway branching on them can be seen to cover all)."""
    START_FACTS[process_key] = START_FACTS.get(process_key, frozenset()) | frozenset(names) | frozenset(values)
    START_FACT_VALUES.setdefault(process_key, {}).update(values)


def mark_loaded() -> None:
    """Called once the application has imported every module that registers lanes, operations and start facts
    (engine/builtin.py: load_builtin); the runtime knows none of them by name."""
    global _LOADED
    _LOADED = True


def require_loaded() -> None:
    """Refuse to check or list against registries nobody has filled yet (it would call every name unknown)."""
    if not _LOADED:
        raise RuntimeError("lanes and operations are not registered yet: call engine.builtin.load_builtin() first")
