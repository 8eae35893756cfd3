"""Text messages through an outbox: enqueued in the step's transaction, sent later by a pluggable sender, retried
with a growing backoff, given up after MAX_ATTEMPTS (kept for the record).

A sender is anything with `send(message: SmsMessage) -> None` that raises SmsError when the message was not
accepted. Two ship: FileSender (one JSON line per message into a file — for a gateway that collects files, and
for development) and HttpSender (POSTs JSON to an SMS gateway's URL). No gateway is bundled; docs/operations.md
says how to configure one.
"""
from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db import as_utc
from engine.notify.models import SmsOutbox
from engine.workflow import clock

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(hours=6)
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


class SmsError(Exception):
    """The sender did not accept the message (gateway down, refused, …); the outbox tries again later."""


@dataclass(frozen=True)
class SmsMessage:
    key: str  # idempotency key: a gateway can drop the duplicate of a send whose commit was lost
    phone: str
    body: str


class SmsSender(Protocol):
    def send(self, message: SmsMessage) -> None: ...


class FileSender:
    """Appends each message as one JSON line to `path` (created with its folder)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def send(self, message: SmsMessage) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps({"id": message.key, "phone": message.phone, "text": message.body},
                                     ensure_ascii=False) + "\n")
        except OSError as exc:
            raise SmsError(f"写入短信文件失败：{exc}") from exc


class HttpSender:
    """POSTs `{"id", "phone", "text"}` as JSON to a gateway; any 2xx answer is acceptance."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, message: SmsMessage) -> None:
        body = json.dumps({"id": message.key, "phone": message.phone, "text": message.body},
                          ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, method="POST",  # noqa: S310 - an administrator's URL
                                         headers={"Content-Type": "application/json; charset=utf-8",
                                                  "Idempotency-Key": message.key})
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                if not 200 <= response.status < 300:
                    raise SmsError(f"短信网关返回 {response.status}")
        except urllib.error.HTTPError as exc:
            raise SmsError(f"短信网关返回 {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise SmsError(f"无法连接短信网关：{exc}") from exc


def sender_from_settings(kind: str | None, file_path: str | None = None, url: str | None = None,
                         token: str | None = None) -> SmsSender | None:
    """The configured sender: "file" (file_path), "http" (url, token) or None (messages wait in the outbox)."""
    if kind == "file" and file_path:
        return FileSender(file_path)
    if kind == "http" and url:
        return HttpSender(url, token)
    return None


def mobile_number(phone: str | None) -> str | None:
    """The 11-digit mainland mobile number in `phone` (spaces, dashes, +86 allowed), or None (a landline)."""
    digits = re.sub(r"[\s\-()]", "", phone or "")
    digits = digits.removeprefix("+86").removeprefix("0086")
    return digits if _MOBILE.match(digits) else None


def enqueue(session: Session, key: str, phone: str, body: str, complaint_id: int | None = None,
            now: datetime | None = None, fresh: bool = False) -> SmsOutbox | None:
    """Queue a message (due at `now`, default the clock's now) unless one with the same key is queued already.
    `fresh`: the key is new by construction (holds a uuid), so the stored messages need not be asked."""
    if not fresh:
        with session.no_autoflush:
            if session.scalar(select(SmsOutbox.id).where(SmsOutbox.key == key)) is not None:
                return None
    if any(isinstance(o, SmsOutbox) and o.key == key for o in session.new):
        return None
    moment = as_utc(now) or clock.now()
    message = SmsOutbox(key=key, complaint_id=complaint_id, phone=phone, body=body, created_at=moment,
                        next_attempt_at=moment)
    session.add(message)
    return message


def next_due(session: Session, now: datetime) -> SmsOutbox | None:
    """The message due longest, neither sent nor given up, locked (`SKIP LOCKED` on PostgreSQL, so two schedulers
    never send the same message)."""
    query = (select(SmsOutbox).where(SmsOutbox.sent_at.is_(None), SmsOutbox.failed_at.is_(None),
                                     SmsOutbox.next_attempt_at <= now)
             .order_by(SmsOutbox.next_attempt_at, SmsOutbox.id).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalar(query)


def send(sender: SmsSender, row: SmsOutbox, now: datetime) -> bool:
    """Send one message and note the outcome on its row: sent, or the error with a growing backoff (False); the
    MAX_ATTEMPTS-th failure gives it up. The loop that commits after each one is `engine/notify/jobs.py: deliver_sms`.
    """
    row.attempts += 1
    try:
        sender.send(SmsMessage(row.key, row.phone, row.body))
    except SmsError as exc:
        row.last_error = str(exc)[:2000]
        if row.attempts >= MAX_ATTEMPTS:
            row.failed_at = now
        else:
            row.next_attempt_at = now + min(timedelta(minutes=2 ** row.attempts), MAX_BACKOFF)
        logger.warning("sms %s failed (attempt %s): %s", row.id, row.attempts, exc)
        return False
    row.sent_at = now
    return True


def waiting(session: Session) -> list[SmsOutbox]:
    """Messages neither sent nor given up, oldest first."""
    return list(session.scalars(select(SmsOutbox).where(
        SmsOutbox.sent_at.is_(None), SmsOutbox.failed_at.is_(None)).order_by(SmsOutbox.id)))
