"""An injectable clock: SpiffWorkflow's timers read `now` from here, so tests never sleep; and the day in Yunnan.

Which days are working days is the deadlines package's (engine/deadlines/calendar.py), reached through
`registry.timings()`."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

SHANGHAI = ZoneInfo("Asia/Shanghai")

_now: ContextVar[datetime | None] = ContextVar("lvyue_now", default=None)


class _ClockDatetime(datetime):
    """`datetime` whose `now()` honours the injected clock of the current context."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        frozen = _now.get()
        if frozen is None:
            return datetime.now(tz)
        return frozen.astimezone(tz) if tz else frozen.astimezone(UTC).replace(tzinfo=None)


_spiff_timer.datetime = _ClockDatetime  # timers compute due times and fire against our clock


def now() -> datetime:
    """The current (possibly injected) time, aware UTC."""
    return _now.get() or datetime.now(UTC)


@contextmanager
def frozen_at(moment: datetime | None) -> Iterator[datetime]:
    """Run the block with `now()` fixed at `moment` (real time when None)."""
    if moment is None:
        yield now()
        return
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    token = _now.set(moment)
    try:
        yield moment
    finally:
        _now.reset(token)


def end_of_day(day: date) -> datetime:
    """The last second of `day` in Yunnan, as UTC."""
    return datetime.combine(day, time(23, 59, 59), SHANGHAI).astimezone(UTC)


def local_date(moment: datetime | None = None) -> date:
    """The date in Yunnan at `moment` (default: the clock's now); a UTC server's date.today() is a day off
    for eight hours around each midnight."""
    return (moment or now()).astimezone(SHANGHAI).date()
