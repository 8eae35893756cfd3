"""Escalation emails go through the outbox to a real local SMTP server: never lost, never sent twice."""
from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.notify.jobs import deliver_mail as deliver
from engine.notify.mail import SmtpSettings, pending
from engine.notify.models import EmailOutbox
from engine.workflow import jobs as workflow_jobs
from tests.processes.test_timers import _to_verify


class Inbox(Message):
    """Collects every message the local server receives."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list = []

    def handle_message(self, message) -> None:  # noqa: ANN001
        self.messages.append(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_port() -> int:
    return _free_port()


def test_escalation_mail_survives_an_outage_and_is_sent_once(session: Session, official, smtp_port: int) -> None:  # noqa: ANN001
    complaint = _to_verify(session, official, save_restore=False)
    assert workflow_jobs.tick(session, now=datetime(2026, 10, 14, 2, tzinfo=UTC)) == 1  # reminder + escalation
    queued = pending(session)
    recipients = {m.to_addr for m in queued}
    assert "ndrc@lvyue.example" in recipients  # escalation to the provincial DRC
    assert "km-commerce-lead@lvyue.example" in recipients  # the supervisor's leadership
    assert all(complaint.tracking_code in m.subject for m in queued)
    settings = SmtpSettings(host="127.0.0.1", port=smtp_port, timeout=2)

    # the mail server is down: nothing is sent, nothing is lost, the error is kept
    now = datetime(2026, 10, 14, 3, tzinfo=UTC)
    assert deliver(session, settings, now=now) == 0
    failed = session.scalars(select(EmailOutbox).where(EmailOutbox.attempts > 0)).all()
    assert len(failed) == 1
    assert failed[0].last_error
    assert len(pending(session)) == len(queued)

    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        later = now + timedelta(hours=1)
        while deliver(session, settings, now=later):
            pass
        assert pending(session) == []
        assert deliver(session, settings, now=later + timedelta(days=1)) == 0
    finally:
        controller.stop()
    assert sorted(m["To"] for m in handler.messages) == sorted(m.to_addr for m in queued)
    assert len({m["Message-ID"] for m in handler.messages}) == len(queued)
