"""The outboxes' batch work: the `mail` job sends due e-mails (when MAIL_ENABLED), the `sms` job due text messages
(when a sender is configured) — one at a time, each committed right after its send, so a crash repeats at most
one. A failed send ends the run: the server or gateway is likely down, the next run tries again."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from engine.db import as_utc
from engine.jobs import Settings, job
from engine.notify import mail, sms
from engine.workflow import clock

logger = logging.getLogger(__name__)
Row = TypeVar("Row")


def _send_due(session: Session, next_due: Callable[[], Row | None], send: Callable[[Row], bool], batch: int) -> int:
    """Send due rows one by one, committing each right after its send, until none is due or a send fails."""
    sent = 0
    for _ in range(batch):
        row = next_due()
        if row is None:
            break
        ok = send(row)
        session.commit()
        if not ok:
            break
        sent += 1
    session.rollback()
    return sent


def deliver_mail(session: Session, settings: mail.SmtpSettings, now: datetime | None = None, batch: int = 50) -> int:
    """Send due e-mails one by one, each committed right after its send; returns how many were sent."""
    moment = now or clock.now()
    return _send_due(session, lambda: mail.next_due(session, moment), lambda row: mail.send(settings, row, moment),
                     batch)


def deliver_sms(session: Session, sender: sms.SmsSender, now: datetime | None = None, batch: int = 50) -> int:
    """Send due text messages one by one, each committed right after its send; returns how many were sent."""
    moment = as_utc(now) or clock.now()
    return _send_due(session, lambda: sms.next_due(session, moment), lambda row: sms.send(sender, row, moment), batch)


def smtp_settings(config: Settings) -> mail.SmtpSettings:
    """The SMTP server from the settings (SMTP_HOST, SMTP_PORT …)."""
    return mail.SmtpSettings(host=config["SMTP_HOST"], port=int(config["SMTP_PORT"]), username=config["SMTP_USERNAME"],
                             password=config["SMTP_PASSWORD"], starttls=bool(config["SMTP_STARTTLS"]),
                             sender=config["SMTP_SENDER"])


def sms_sender(config: Settings) -> sms.SmsSender | None:
    """The configured text message sender (SMS_SENDER), or None: messages then wait in the outbox."""
    return sms.sender_from_settings(config.get("SMS_SENDER"), config.get("SMS_FILE"), config.get("SMS_HTTP_URL"),
                                    config.get("SMS_HTTP_TOKEN"))


@job("mail", when=lambda config: bool(config.get("MAIL_ENABLED")))
def mail_job(session: Session, config: Settings) -> None:
    """The e-mail outbox."""
    sent = deliver_mail(session, smtp_settings(config))
    if sent:
        logger.info("mail job sent %s email(s)", sent)


@job("sms", when=lambda config: sms_sender(config) is not None)
def sms_job(session: Session, config: Settings) -> None:
    """The text messages to complainants."""
    sender = sms_sender(config)
    texted = deliver_sms(session, sender) if sender is not None else 0
    if texted:
        logger.info("sms job sent %s text message(s)", texted)
