"""Email through an outbox: enqueue in the step's transaction, deliver later, once, surviving SMTP outages."""
from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db import as_utc
from engine.notify.models import EmailOutbox
from engine.workflow import clock

logger = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(hours=6)


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    sender: str = "lvyue-noreply@localhost"
    timeout: float = 10.0


def enqueue(session: Session, key: str, to_addr: str, subject: str, body: str,
            flush: bool = True, fresh: bool = False) -> EmailOutbox | None:
    """Queue an email unless one with the same key is queued already (then None). `flush=False` from inside a
    flush (the milestone announcer, engine/deadlines/milestones.py); `fresh`: the key is new by construction."""
    if not fresh:
        with session.no_autoflush:
            if session.scalar(select(EmailOutbox.id).where(EmailOutbox.key == key)) is not None:
                return None
    if any(isinstance(o, EmailOutbox) and o.key == key for o in session.new):
        return None
    mail = EmailOutbox(key=key, to_addr=to_addr, subject=subject, body=body,
                       created_at=clock.now(), next_attempt_at=clock.now())
    session.add(mail)
    if flush:
        session.flush()
    return mail


def next_due(session: Session, now: datetime) -> EmailOutbox | None:
    """The e-mail due longest, locked (`SKIP LOCKED` on PostgreSQL, so two schedulers never send the same one)."""
    query = (select(EmailOutbox).where(EmailOutbox.sent_at.is_(None), EmailOutbox.next_attempt_at <= now)
             .order_by(EmailOutbox.next_attempt_at, EmailOutbox.id).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalar(query)


def send(settings: SmtpSettings, mail: EmailOutbox, now: datetime) -> bool:
    """Send one e-mail and note the outcome on its row: sent, or the error with a growing backoff (False).

    The Message-ID is derived from the key, so a receiver can drop the duplicate of a send whose commit was lost
    in a crash. The loop that commits after each e-mail is `engine/notify/jobs.py: deliver_mail`.
    """
    mail.attempts += 1
    try:
        _send(settings, mail)
    except (OSError, smtplib.SMTPException) as exc:
        mail.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        mail.next_attempt_at = now + min(timedelta(minutes=2 ** mail.attempts), MAX_BACKOFF)
        logger.warning("email %s to %s failed (attempt %s): %s", mail.id, mail.to_addr, mail.attempts, exc)
        return False
    mail.sent_at = now
    return True


def pending(session: Session) -> list[EmailOutbox]:
    return list(session.scalars(select(EmailOutbox).where(EmailOutbox.sent_at.is_(None)).order_by(EmailOutbox.id)))


def _send(settings: SmtpSettings, mail: EmailOutbox) -> None:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = mail.to_addr
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(idstring=mail.key.replace(":", "."), domain="lvyue")
    message["Date"] = as_utc(mail.created_at).strftime("%a, %d %b %Y %H:%M:%S +0000")
    message.set_content(mail.body)
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(message)
