"""What diagrams may name: lane roles (resolved per case) and service operations (run per step); and what the
runtime asks of the domain: the rows an instance belongs to (its subject) and the working-day deadlines.

The runtime keeps the registries; the domain packages fill them (engine/builtin.py imports them all). It names
no domain row: `process_instance.subject_id` holds the subject's id (its owner declares the foreign key), the cases
package registers what a subject is (engine/cases/subject.py), the deadlines package how due times are counted
(engine/deadlines/timing.py).
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.org.models import Department, Official


@dataclass
class StepContext:
    """What a lane resolver or a service operation may use while one step runs."""

    session: Session
    subject: Any  # the row the instance belongs to (registered with `subject`), or None
    actor: Official | None
    now: datetime
    notes: list[str] = field(default_factory=list)
    calendar: Any = None  # the step's working-day calendar (Timing.calendar), created on first use
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


@dataclass(frozen=True)
class Subject:
    """What the runtime needs of the rows its instances belong to (registered by their owner with `subject`)."""

    load: Callable[[Session, int], Any]  # the row with this id
    note: Callable[..., None]  # note(session, subject_id, at, kind, summary, actor=None, data=None): its history
    count_notes: Callable[[Session, str], dict[int, int]]  # kind → how many history lines of that kind per id
    label: Callable[[Any], str]  # what pages call it (a case's tracking code)
    label_columns: Callable[[], tuple[Any, Any]]  # (id column, label column) to outer-join lists of instances
    status: Callable[[Any], str | None]
    set_status: Callable[[Any, str], None]  # the `caseStatus` of the first task that becomes ready
    statuses: Callable[[], Mapping[str, str]]  # what `caseStatus` may name → its label, in order (checked at deploy)
    # loader options for the step's joined read of the subject: what its lanes and operations reach through it
    step_options: Callable[[], Sequence[Any]] = lambda: ()


@dataclass(frozen=True)
class Timing:
    """How due times are counted in working days (registered by the deadlines package with `timing`)."""

    calendar: Callable[[Session], Any]  # a calendar with add_workdays(day, n) -> (day, provisional)
    due_for_limit: Callable[[Session, str, datetime, Any], Any]  # a named time limit → its due time (.at, .basis, .provisional)
    workdays_before: Callable[[datetime, int, Any], datetime]
    check_dates: Callable[[Session, dict, dict, datetime], None]  # a form's date fields against the calendar
    limits: Callable[[], Collection[str]]  # what `timeLimit` may name (checked at deploy)
    time_limits: Callable[[Session], list[Any]]  # the configured limits (.key, .label, .description), for pick lists
    paused: Callable[[Session, Any], bool]  # the subject's clock is stopped now
    paused_workdays: Callable[[Session, Any, datetime], int]  # working days its pauses since then shifted
    # the deadline helpers of expressions (sandbox.STEP_HELPERS) for (session, the step's now, calendar); with
    # (None, None, None) outside a step: the clock's now, no time limit, no entered year
    helpers: Callable[[Session | None, Callable[[], datetime] | None, Any], dict[str, Callable[..., str]]]


_SUBJECT: list[Subject] = []
_TIMING: list[Timing] = []


def subject(hooks: Subject) -> None:
    """Register what the runtime asks of the rows its instances belong to (one owner)."""
    _SUBJECT[:] = [hooks]


def timing(hooks: Timing) -> None:
    """Register how due times are counted (one owner)."""
    _TIMING[:] = [hooks]


def subjects() -> Subject:
    if not _SUBJECT:
        raise RuntimeError("no subject hooks registered: call engine.builtin.load_builtin() first")
    return _SUBJECT[0]


def timings() -> Timing:
    if not _TIMING:
        raise RuntimeError("no timing hooks registered: call engine.builtin.load_builtin() first")
    return _TIMING[0]


def load_subject(session: Session, subject_id: int | None) -> Any:
    """The row with this id, or None for an instance of no subject."""
    return subjects().load(session, subject_id) if subject_id is not None else None


def mark_loaded() -> None:
    """Called once the application has imported every module that registers lanes, operations and start facts
    (engine/builtin.py: load_builtin); the runtime knows none of them by name."""
    global _LOADED
    _LOADED = True


def require_loaded() -> None:
    """Refuse to check or list against registries nobody has filled yet (it would call every name unknown)."""
    if not _LOADED:
        raise RuntimeError("lanes and operations are not registered yet: call engine.builtin.load_builtin() first")
