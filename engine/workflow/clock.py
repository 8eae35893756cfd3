"""An injectable clock: SpiffWorkflow's timers read `now` from here, so tests never sleep."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, tzinfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

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
