"""Two scheduler processes ticking the same PostgreSQL database never fire the same timer twice."""
from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from engine.notify.models import Notification
from engine.workflow import specs
from engine.workflow.instances import start_instance
from engine.workflow.models import ProcessInstance
from engine.workflow.registry import start_facts
from tests.conftest import ticker_script

DATA = Path(__file__).parent / "data" / "timer_race"
DUE_TIMERS = 2000
T0 = datetime(2026, 3, 2, 1, tzinfo=UTC)

TICKER = ticker_script("from engine.workflow.jobs import tick", "tick(session, now=now, batch=50)")


def test_two_scheduler_processes_fire_each_timer_exactly_once(db_engine: Engine, db_url: str,
                                                              bundled_model_ids: set[int]) -> None:
    if db_engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (FOR UPDATE SKIP LOCKED); run with TEST_DATABASE_URL=postgresql://...")
    start_facts("timer_race", "due", "marker")  # what this test starts the process with
    with Session(db_engine) as session:
        specs.deploy(session, specs.bundle_from_directory(DATA / "timer_race.bpmn"), comment="test")
        for i in range(DUE_TIMERS):
            due = (T0 + timedelta(minutes=i % 60)).isoformat()
            start_instance(session, "timer_race", None, None, data={"due": due, "marker": f"timer-{i}"}, now=T0)
        session.commit()
        waiting = session.scalar(select(func.count()).where(ProcessInstance.next_timer_at.is_not(None)))
        assert waiting == DUE_TIMERS

    now = (T0 + timedelta(hours=2)).isoformat()
    tickers = [subprocess.Popen([sys.executable, "-c", TICKER, db_url, now], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [t.communicate(timeout=600) for t in tickers]
    for ticker, (_, err) in zip(tickers, results, strict=True):
        assert ticker.returncode == 0, err
    fired = [int(out.strip().splitlines()[-1]) for out, _ in results]
    assert sum(fired) == DUE_TIMERS
    assert all(n > 0 for n in fired), f"both processes should share the work: {fired}"

    with Session(db_engine) as session:
        titles = session.scalars(select(Notification.title).where(Notification.title.like("timer-%"))).all()
        assert len(titles) == DUE_TIMERS
        assert len(set(titles)) == DUE_TIMERS  # no timer fired twice
        assert session.scalar(select(func.count()).where(ProcessInstance.status == "completed")) == DUE_TIMERS
