"""Two scheduler processes on one PostgreSQL database start each occurrence of a timer start event exactly once."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from engine.db import as_utc
from engine.workflow import specs
from engine.workflow.models import ProcessInstance, ProcessModel, TimerStart
from tests.conftest import ticker_script

# A process started every minute by its timer; each instance runs a script and completes.
EVERY_MINUTE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="minutely" name="每分钟" isExecutable="true">
    <bpmn:startEvent id="every_minute" name="每分钟">
      <bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:timerEventDefinition id="cycle"><bpmn:timeCycle>"R/2026-01-01T00:00:00+08:00/PT1M"</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:scriptTask id="mark" name="记录"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>seen = timer_due</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="every_minute" targetRef="mark" />
    <bpmn:sequenceFlow id="f2" sourceRef="mark" targetRef="done" />
  </bpmn:process>
</bpmn:definitions>
"""
TICKER = ticker_script("from engine.workflow.jobs import start_due_processes", "start_due_processes(session, now)")


def test_two_schedulers_start_each_occurrence_once(db_engine: Engine, db_url: str, bundled_model_ids: set[int]) -> None:
    if db_engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (two processes racing on the unique key); TEST_DATABASE_URL=postgresql://...")
    with Session(db_engine) as session:
        model = specs.deploy(session, specs.Bundle(EVERY_MINUTE), comment="test")
        session.commit()
        deployed = as_utc(model.deployed_at)
    now = deployed + timedelta(minutes=90)  # 90 occurrences due (24 per start event and call, then the rest)
    expected = 90 if deployed.second or deployed.microsecond else 89
    tickers = [subprocess.Popen([sys.executable, "-c", TICKER, db_url, now.isoformat()], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [t.communicate(timeout=600) for t in tickers]
    for ticker, (_out, err) in zip(tickers, results, strict=True):
        assert ticker.returncode == 0, err
    started = [int(out.strip().splitlines()[-1]) for out, _ in results]
    with Session(db_engine) as session:
        rows = session.scalars(select(TimerStart).where(TimerStart.process_key == "minutely")).all()
        assert len(rows) == sum(started)
        assert expected - 1 <= len(rows) <= expected + 1  # every minute since the deployment, once
        assert len({r.due_at for r in rows}) == len(rows)
        assert all(r.instance_id is not None and r.error is None for r in rows)
        instances = session.scalar(select(func.count()).select_from(ProcessInstance).join(ProcessModel)
                                   .where(ProcessModel.key == "minutely"))
        assert instances == len(rows)  # no occurrence started twice
        assert all(isinstance(r.due_at, datetime) for r in rows)
