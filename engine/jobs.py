"""Batch jobs by name: each area's `jobs.py` registers what the scheduler runs; `web/scheduler.py` only reads the list.

A job is the scheduler's entry (`timer-tick`, `mail`, `platform-national` …): one or more steps registered under its
name with `@job(name, …)`, run in `order`. `every` names the setting that holds the job's interval in seconds, `when`
says from the settings whether this installation runs it at all. `run` runs a job's steps one after the other, each
isolated: a step that raises is logged and rolled back, and the next step still runs.

The job modules are the one place in engine/ that commits: a step owns its transactions, one per unit of work
(an instance's timer, an e-mail, a delivered version), so a failing unit leaves the others committed.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

Settings = Mapping[str, Any]
Work = Callable[[Session, Settings], object]
INTERVAL = "SCHEDULER_INTERVAL_SECONDS"  # the setting most jobs run at


def always(settings: Settings) -> bool:
    """Every installation runs the job."""
    return True


@dataclass(frozen=True)
class Step:
    """One step of a job: `run(session, settings)` owns its transactions."""

    job: str
    name: str
    run: Work
    every: str
    when: Callable[[Settings], bool]
    order: int

    @property
    def label(self) -> str:
        """How the log names the step: the job's name, with the step's when the job has several."""
        return self.job if self.name == self.job else f"{self.job}/{self.name}"


_STEPS: list[Step] = []


def job(name: str, *, step: str | None = None, every: str = INTERVAL, when: Callable[[Settings], bool] = always,
        order: int = 0) -> Callable[[Work], Work]:
    """Register the decorated `work(session, settings)` as (a step of) the job `name`."""
    def register(work: Work) -> Work:
        add(Step(name, step or name, work, every, when, order))
        return work
    return register


def add(new: Step) -> None:
    """Register one step; a second step of the same name under the same job is a programming error."""
    if any(s.job == new.job and s.name == new.name for s in _STEPS):
        raise ValueError(f"job step {new.label} is registered twice")
    if any(s.job == new.job and s.every != new.every for s in _STEPS):
        raise ValueError(f"the steps of job {new.job} must share one interval setting")
    _STEPS.append(new)


def steps(name: str) -> list[Step]:
    """The steps of job `name` in the order they run; an unknown name is an error."""
    found = sorted((s for s in _STEPS if s.job == name), key=lambda s: s.order)
    if not found:
        raise KeyError(f"no job {name!r} is registered (engine.builtin.load_builtin() imports the jobs)")
    return found


def enabled(settings: Settings) -> dict[str, str]:
    """Job name → the setting holding its interval, for the jobs this configuration runs (a step whose `when` holds
    enables its job), in registration order."""
    if not _STEPS:
        raise RuntimeError("no jobs registered: call engine.builtin.load_builtin() first")
    names: dict[str, str] = {}
    for s in _STEPS:
        if s.when(settings):
            names.setdefault(s.job, s.every)
    return names


def run(session: Session, name: str, settings: Settings) -> list[str]:
    """Run job `name`'s steps in order, each isolated; returns the labels of the steps that failed."""
    failed = []
    for s in steps(name):
        try:
            s.run(session, settings)
        except Exception:
            logger.exception("scheduler job %s failed; the other jobs go on", s.label)
            session.rollback()
            failed.append(s.label)
    return failed
