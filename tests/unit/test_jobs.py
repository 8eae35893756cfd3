"""engine/jobs.py: jobs by name, steps in order, each isolated, enabled by the settings."""
from __future__ import annotations

import logging

import pytest

from engine import jobs


class FakeSession:
    def __init__(self) -> None:
        self.rollbacks = 0

    def rollback(self) -> None:
        self.rollbacks += 1


def test_steps_run_in_order_each_isolated(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(jobs, "_STEPS", [])
    ran: list[str] = []

    @jobs.job("tick", step="last", order=3)
    def last(session: object, settings: object) -> None:
        ran.append("last")

    @jobs.job("tick", step="first", order=1)
    def first(session: object, settings: object) -> None:
        ran.append("first")
        raise RuntimeError("first broke")

    session = FakeSession()
    with caplog.at_level(logging.ERROR):
        assert jobs.run(session, "tick", {}) == ["tick/first"]  # type: ignore[arg-type]
    assert ran == ["first", "last"]
    assert session.rollbacks == 1
    assert "scheduler job tick/first failed" in caplog.text


def test_the_settings_enable_a_job_and_name_its_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "_STEPS", [])
    with pytest.raises(RuntimeError):
        jobs.enabled({})  # nothing registered yet: an error, not a scheduler without jobs
    jobs.job("always")(lambda session, settings: None)
    jobs.job("mail", every="MAIL_SECONDS", when=lambda settings: bool(settings.get("MAIL_ENABLED")))(
        lambda session, settings: None)
    assert jobs.enabled({}) == {"always": "SCHEDULER_INTERVAL_SECONDS"}
    assert jobs.enabled({"MAIL_ENABLED": True}) == {"always": "SCHEDULER_INTERVAL_SECONDS", "mail": "MAIL_SECONDS"}
    with pytest.raises(ValueError, match="registered twice"):
        jobs.job("mail", every="MAIL_SECONDS")(lambda session, settings: None)  # the same step twice
    with pytest.raises(ValueError, match="one interval"):
        jobs.job("mail", step="other", every="OTHER_SECONDS")(lambda session, settings: None)  # one interval a job
