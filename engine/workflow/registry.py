"""What diagrams may name: lane roles (resolved per case) and service operations (run per step)."""
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


def load_builtin() -> None:
    """Import the modules that register the built-in lanes and operations."""
    import engine.models  # noqa: F401 - every table known to the metadata
    from engine.cases import services as case_services  # noqa: F401 - the complaint's start facts
    from engine.credit import exposure, services  # noqa: F401 - start facts of measures, credit_repair, typical_case
    from engine.credit import operations as credit_operations  # noqa: F401
    from engine.intake import feedback  # noqa: F401 - start facts of objection
    from engine.intake import operations as intake_operations  # noqa: F401
    from engine.oversight import bulletins  # noqa: F401 - start facts of bulletin
    from engine.oversight import operations as oversight_operations  # noqa: F401
    from engine.workflow import lanes, operations  # noqa: F401
