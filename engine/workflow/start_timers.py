"""Timer start events of deployed processes: find due occurrences and start one instance for each, exactly once.

A process's newest version may have start events with a timer (`timeCycle` "R[n]/start/duration" or `timeDate`),
whose expression must be a constant (there are no case data before the instance exists). The scheduler's tick
(`engine/workflow/jobs.py: start_due_processes`) starts them. An occurrence is due when it lies after the first deployment of the process
key and after the last occurrence already started, and not after `now`; missed occurrences (scheduler down) are
started oldest first. A row in `timer_start` with a unique (process key, start event, due time) is inserted with
ON CONFLICT DO NOTHING RETURNING id before the instance starts, in the same transaction: of two schedulers the second waits
for the first's commit and then inserts nothing, so every occurrence starts exactly one instance.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.db import as_utc
from engine.errors import EngineError
from engine.workflow.models import ProcessInstance, ProcessModel, TimerStart
from engine.workflow.sandbox import constant_text

logger = logging.getLogger(__name__)
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
CATCH_UP = 24  # at most this many missed occurrences of one start event per tick
_CACHE: dict[str, list[StartTimer]] = {}


@dataclass(frozen=True)
class StartTimer:
    """A timer start event of one process version, with its evaluated ISO 8601 value."""

    process_key: str
    event_id: str
    name: str
    value: str  # "R/2026-01-01T09:00:00+08:00/P1M" or a date-time

    def occurrences(self, after: datetime, until: datetime, limit: int = CATCH_UP) -> list[datetime]:
        """Occurrences (UTC) with after < t <= until, oldest first, at most `limit`."""
        if not self.value.upper().startswith("R"):
            moment = TimerEventDefinition.get_datetime(self.value)
            return [moment] if after < moment <= until else []
        cycles, start, duration = parse_cycle(self.value)
        found: list[datetime] = []
        k = max(0, _index_before(start, duration, after))
        while cycles < 0 or k < cycles:
            moment = _nth(start, duration, k)
            if moment > until or len(found) >= limit:
                break
            if moment > after:
                found.append(moment.astimezone(UTC))
            k += 1
        return found


def parse_cycle(value: str) -> tuple[int, datetime, dict[str, float]]:
    """"R[n]/<start>/<duration>" → (n or -1 for unbounded, aware start, duration parts)."""
    parts = value.strip().upper().lstrip("R").split("/")
    if len(parts) != 3 or not parts[2].startswith("P"):
        raise EngineError(f"定时开始事件的循环「{value}」应为 R[次数]/开始时间/间隔，例如 R/2026-01-01T09:00:00+08:00/P1M")
    cycles = int(parts[0]) if parts[0] else -1
    start = datetime.fromisoformat(parts[1])
    if start.tzinfo is None:
        raise EngineError(f"定时开始事件的开始时间「{parts[1]}」须带时区，例如 +08:00")
    duration = TimerEventDefinition.parse_iso_duration(parts[2])
    if not any(duration.values()):
        raise EngineError(f"定时开始事件的间隔「{parts[2]}」不能为零")
    return cycles, start, duration


def start_timers_of(session: Session, model: ProcessModel) -> list[StartTimer]:
    """The timer start events of a version (cached by checksum; the diagram is read once per version)."""
    cached = _CACHE.get(model.sha256)
    if cached is None:
        xml = session.scalar(select(ProcessModel.bpmn_xml).where(ProcessModel.id == model.id))
        cached = _CACHE[model.sha256] = read_start_timers(model.key, xml or "")
    return cached


def read_start_timers(process_key: str, bpmn_xml: str) -> list[StartTimer]:
    """Timer start events of the executable process in `bpmn_xml`; raises EngineError for a non-constant value."""
    tree = etree.fromstring(bpmn_xml.encode())
    found = []
    for event in tree.xpath("//bpmn:process[@id=$k]/bpmn:startEvent[bpmn:timerEventDefinition]",
                            namespaces=NS, k=process_key):
        exprs = event.xpath("bpmn:timerEventDefinition/bpmn:timeCycle | bpmn:timerEventDefinition/bpmn:timeDate",
                            namespaces=NS)
        if not exprs:
            raise EngineError(f"定时开始事件「{event.get('id')}」须使用 timeCycle（循环）或 timeDate（日期时间）")
        value = constant_text((exprs[0].text or "").strip())  # read, never run: there is no case data here
        if value is None:
            raise EngineError(f"定时开始事件「{event.get('id')}」的表达式须为带引号的常量，"
                              "例如 \"R/2026-01-01T09:00:00+08:00/P1M\"")
        timer = StartTimer(process_key, event.get("id"), event.get("name") or event.get("id"), value)
        timer.occurrences(datetime(2000, 1, 1, tzinfo=UTC), datetime(2000, 1, 1, tzinfo=UTC))  # validates
        found.append(timer)
    return found


def due_starts(session: Session, now: datetime) -> list[tuple[StartTimer, datetime]]:
    """Every (start timer, occurrence) due at `now` across the newest versions of all processes."""
    newest = select(ProcessModel.key, func.max(ProcessModel.version).label("v"),
                    func.min(ProcessModel.deployed_at).label("first")).group_by(ProcessModel.key).subquery()
    rows = session.execute(select(ProcessModel, newest.c.first).join(
        newest, (ProcessModel.key == newest.c.key) & (ProcessModel.version == newest.c.v))).all()
    due = []
    for model, first_deployed in rows:
        try:
            timers = start_timers_of(session, model)
        except EngineError as exc:  # one broken diagram must not stop the start timers of the others
            logger.error("timer start events of %s v%s ignored: %s", model.key, model.version, exc.message)
            _CACHE[model.sha256] = []
            continue
        for timer in timers:
            last = session.scalar(select(func.max(TimerStart.due_at)).where(
                TimerStart.process_key == timer.process_key, TimerStart.start_event == timer.event_id))
            after = max(as_utc(first_deployed), as_utc(last) or as_utc(first_deployed))
            due += [(timer, moment) for moment in timer.occurrences(after, now)]
    return sorted(due, key=lambda item: item[1])


def claim(session: Session, timer: StartTimer, due: datetime, now: datetime) -> TimerStart | None:
    """The `timer_start` row of this occurrence, inserted now; None when another scheduler has it already."""
    row_id = _insert_ignore(session, {"process_key": timer.process_key, "start_event": timer.event_id,
                                      "due_at": due, "started_at": now})
    return session.get(TimerStart, row_id) if row_id is not None else None


def start(session: Session, timer: StartTimer, due: datetime, row: TimerStart, now: datetime) -> ProcessInstance:
    """Start the instance of the claimed occurrence `row` (flushed; the caller commits)."""
    from engine.workflow.instances import start_instance

    instance = start_instance(session, timer.process_key, None, None, now=now, start_event=timer.event_id,
                              data={"timer_start": timer.event_id, "timer_due": due.isoformat()})
    row.instance_id = instance.id
    return instance


def record_failure(session: Session, timer: StartTimer, due: datetime, now: datetime, exc: Exception) -> None:
    """Note that the occurrence failed to start (it is not retried), after its transaction was rolled back."""
    message = exc.message if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"
    _insert_ignore(session, {"process_key": timer.process_key, "start_event": timer.event_id,
                             "due_at": due, "started_at": now, "error": message[:2000]})


def _insert_ignore(session: Session, values: dict) -> int | None:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: the new row's id, or None when the occurrence exists."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return session.scalar(insert(TimerStart).values(**values).on_conflict_do_nothing(
        index_elements=["process_key", "start_event", "due_at"]).returning(TimerStart.id))


def _nth(start: datetime, duration: dict[str, float], k: int) -> datetime:
    """start + k × duration, months and years on the calendar (the 31st → the last day of shorter months)."""
    months = int(duration.get("years", 0) * 12 + duration.get("months", 0)) * k
    year, month = divmod(start.month - 1 + months, 12)
    day = min(start.day, _days_in(start.year + year, month + 1))
    shifted = start.replace(year=start.year + year, month=month + 1, day=day)
    return shifted + k * timedelta(weeks=duration.get("weeks", 0), days=duration.get("days", 0),
                                   hours=duration.get("hours", 0), minutes=duration.get("minutes", 0),
                                   seconds=duration.get("seconds", 0))


def _index_before(start: datetime, duration: dict[str, float], moment: datetime) -> int:
    """A k with _nth(k) <= moment (or 0), close below the first occurrence after `moment`: skips old cycles fast."""
    if moment <= start:
        return 0
    months = duration.get("years", 0) * 12 + duration.get("months", 0)
    if months:
        elapsed = (moment.year - start.year) * 12 + moment.month - start.month
        return max(0, int(elapsed // months) - 1)
    step = timedelta(weeks=duration.get("weeks", 0), days=duration.get("days", 0), hours=duration.get("hours", 0),
                     minutes=duration.get("minutes", 0), seconds=duration.get("seconds", 0))
    return max(0, int((moment - start) / step) - 1)


def _days_in(year: int, month: int) -> int:
    from calendar import monthrange

    return monthrange(year, month)[1]
