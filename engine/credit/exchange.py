"""Delivering breach records to the credit-sharing platforms through an outbox.

Each change of a record (created, updated, measure applied or ended, repaired — and whatever event the lifecycle
queues, e.g. withdrawn or corrected) bumps the record's version and queues one `platform_delivery` row in the same
transaction (`queue`, the one entry point): the version as it is (`snapshot`: our field names and codes), the event
and a delivery key that is a fresh UUID — globally unique, so keys never repeat across installations or after a
restore. `engine/credit/jobs.py: deliver` runs per destination outside the timer tick (its own scheduler job): it maps each due version
through the destination's profile (engine.credit.profiles) — a version that cannot be mapped is *held* with the
reason instead of being sent —, then POSTs it (headers `Idempotency-Key` and `Content-Digest`, RFC 9530) or writes
it atomically into an exchange directory, and commits after each row, so a platform outage delays delivery and
loses nothing.

Delivered means a complete, valid answer: 2xx with a whole JSON object (a digest it echoes must match), or 409 when
the receiver proves it holds the same content (its `Content-Digest` header or `content_sha256` equals ours). Every
request has a total deadline (`timeout`), not one per socket read: a receiver that trickles its answer is cut off.
The body sent under a key never changes while the platform may have stored it (`body`, `content_digest`); a
definite refusal (4xx, connection refused) lets the next attempt map the version again, e.g. after a profile fix.
`delivered_at` and the backoff count from the real moments of the answer.

Destinations (`PLATFORM_TARGETS`): rows are queued for the provincial platform. A further destination (the
national platform) gets its own rows — same key, snapshot and order, its own profile, attempts and delivery log —
copied from the provincial ones (`copy_missing`) when delivery to it runs, so a destination configured later receives
the whole history and an unconfigured one accumulates no backlog.
"""
from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import http.client
import json
import logging
import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from engine.credit import profiles
from engine.credit.profiles import Profile, Unmappable
from engine.db import as_utc
from engine.workflow import clock

if TYPE_CHECKING:
    from engine.credit.models import BreachRecord, PlatformDelivery
    from engine.org.models import Official

logger = logging.getLogger(__name__)
TARGET = "provincial"  # rows are queued for this destination; the others copy them (`copy_missing`)
FAN_OUT_BATCH = 500
HELD_RECHECK_BATCH = 500
MAX_BACKOFF = timedelta(hours=6)
MAX_ANSWER_BYTES = 1024 * 1024
SCHEMA_VERSION = "lvyue-breach-record/2"
LEGACY_SCHEMA = "lvyue-breach-record/1"  # versions queued before profiles: the platform's names, our codes
_SNAPSHOT_SKIP = {"schema", "event", "measures"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def snapshot(record: BreachRecord, event: str) -> dict[str, Any]:
    """The record at its current version, in our field names and codes (engine.credit.profiles.RECORD_FIELDS)."""
    body: dict[str, Any] = {"schema": SCHEMA_VERSION, "event": event}
    for spec in profiles.RECORD_FIELDS:
        if spec.key not in _SNAPSHOT_SKIP:
            body[spec.key] = _plain(getattr(record, spec.key))
    body["respondent_id"], body["determining_department_id"] = record.respondent_id, record.determining_department_id
    body["measures"] = [{
        "number": m.number, "code": m.measure_type.code, "name": m.measure_type.name, "level": m.measure_type.level,
        "department_id": m.department_id, "department_name": m.department.name if m.department else None,
        "department_uscc": m.department.uscc if m.department else None, "applied_at": _plain(m.applied_at),
        "document_number": m.document_number, "until": _plain(m.until), "ended_at": _plain(m.ended_at),
        "end_reason": m.end_reason, "end_document_number": m.end_document_number,
    } for m in record.measures]
    return body


def queue(session: Session, record: BreachRecord, event: str, now: datetime | None = None) -> PlatformDelivery:
    """Queue the record's current version for delivery (in the caller's transaction) under a new UUID key."""
    from engine.credit.models import AppliedMeasure, PlatformDelivery, new_number

    moment = now or clock.now()
    session.flush()
    set_committed_value(record, "measures", list(session.scalars(  # as stored now, whoever added them
        select(AppliedMeasure).where(AppliedMeasure.record_id == record.id).order_by(AppliedMeasure.id))))
    delivery = PlatformDelivery(
        record_id=record.id, record_version=record.version, target=TARGET, idempotency_key=new_number(),
        event=event, payload=snapshot(record, event), created_at=moment, next_attempt_at=moment, attempts=0)
    session.add(delivery)
    session.flush()
    return delivery


# --- what goes out -------------------------------------------------------------------------------------------

_V1_FIELDS = {"BBH": "version", "SXZTMC": "respondent_name", "SXZTTYSHXYDM": "respondent_uscc",
              "SXZTXZQHDM": "respondent_division", "RDBMMC": "determining_name", "RDBMTYSHXYDM": "determining_uscc",
              "RDRQ": "determined_on", "RDWSH": "document_number", "RDYJ": "basis", "SXSS": "facts", "SXLY": "domain",
              "SXJE": "amount", "ZGQX": "rectification_deadline", "ZGZT": "rectification_state", "SXCD": "severity",
              "GSQSRQ": "publication_start", "GSJZRQ": "publication_end", "GSZZRQ": "published_until",
              "XFRQ": "repaired_on", "XFWSH": "repair_document_number", "JLZT": "status", "SJLY": "source",
              "GLTSBH": "complaint_id", "GXSJ": "updated_at"}
_V1_MEASURE = {"CSDM": "code", "CSMC": "name", "CSCJ": "level", "SSSJ": "applied_at", "SSWH": "document_number",
               "JZRQ": "until", "JSSJ": "ended_at", "JSYY": "end_reason"}


def _from_legacy(session: Session, row: PlatformDelivery) -> dict[str, Any]:
    """A version queued before profiles existed, as a snapshot: the record's number for its integer id, each
    measure's number and department from its row."""
    from engine.credit.models import AppliedMeasure

    old = row.payload
    record = row.record
    snap: dict[str, Any] = {"schema": LEGACY_SCHEMA, "event": old.get("BGLX") or row.event, "number": record.number,
                            "respondent_id": record.respondent_id,
                            "determining_department_id": record.determining_department_id}
    snap.update({key: old.get(name) for name, key in _V1_FIELDS.items()})
    snap["measures"] = []
    for item in old.get("CJCS") or []:
        measure = session.get(AppliedMeasure, item.get("CSBH")) if isinstance(item.get("CSBH"), int) else None
        converted = {key: item.get(name) for name, key in _V1_MEASURE.items()}
        converted.update(number=measure.number if measure else None, end_document_number=None,
                         department_id=measure.department_id if measure else None, department_name=None,
                         department_uscc=None)
        snap["measures"].append(converted)
    return snap


def _snapshot_of(session: Session, row: PlatformDelivery) -> dict[str, Any]:
    """The row's version as a snapshot (`_completed`)."""
    return _completed(session, dict(row.payload) if row.payload.get("schema") else _from_legacy(session, row))


def _completed(session: Session, snap: dict[str, Any]) -> dict[str, Any]:
    """A department's code missing from a snapshot (a record made before the codes were required) is taken from the
    organisation data, where an administrator may have added it since; so is a measure's department."""
    from engine.org.models import Department

    def department(department_id: Any) -> Department | None:
        return session.get(Department, department_id) if isinstance(department_id, int) else None

    for key, id_key in (("respondent_uscc", "respondent_id"), ("determining_uscc", "determining_department_id")):
        if not snap.get(key) and (dept := department(snap.get(id_key))) is not None:
            snap[key] = dept.uscc
    measures = []
    for measure in snap.get("measures") or []:
        measure = dict(measure)
        if (dept := department(measure.get("department_id"))) is not None:
            measure["department_name"] = measure.get("department_name") or dept.name
            measure["department_uscc"] = measure.get("department_uscc") or dept.uscc
        measures.append(measure)
    snap["measures"] = measures
    return snap


def body_of(session: Session, row: PlatformDelivery, profile: Profile, *, strict: bool = True,
            labels: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    """What `row`'s destination gets for it under `profile` (Unmappable when strict and it cannot be mapped);
    `labels` (profiles.our_codes, looked up when not given) name our codes in the reasons."""
    return profiles.render(_snapshot_of(session, row), profile, strict=strict,
                           labels=labels if labels is not None else profiles.our_codes(session))


def record_body(session: Session, record: BreachRecord, profile: Profile, event: str = "updated") -> dict[str, Any]:
    """The record as it is now, rendered leniently through `profile` (exports, the profile page's preview)."""
    return profiles.render(_completed(session, snapshot(record, event)), profile, strict=False)


@dataclass
class ProfileView:
    """A destination's profile as the administrator's page and the API show it: the profile, our labels of every
    code, and the newest queued version as this profile makes it (`sample`), with the reasons it would be held."""

    profile: Profile
    labels: dict[str, dict[str, str]]
    sample: PlatformDelivery | None = None
    sample_body: dict[str, Any] | None = None
    sample_problems: list[str] = field(default_factory=list)


def profile_view(session: Session, target: str) -> ProfileView:
    from engine.credit.models import PlatformDelivery

    profile = profiles.profile_for(session, target)
    view = ProfileView(profile, profiles.our_codes(session))
    view.sample = session.scalar(select(PlatformDelivery).where(PlatformDelivery.target == TARGET)
                                 .order_by(PlatformDelivery.id.desc()).limit(1))
    if view.sample is not None:
        view.sample_body = body_of(session, view.sample, profile, strict=False, labels=view.labels)
        try:
            body_of(session, view.sample, profile, labels=view.labels)
        except Unmappable as exc:
            view.sample_problems = exc.reasons
    return view


def all_profiles(session: Session) -> list[Profile]:
    """Every destination's profile (stored or the defaults)."""
    from engine.credit.models import PLATFORM_TARGETS

    return [profiles.profile_for(session, target) for target in PLATFORM_TARGETS]


def hold_message(profile: Profile, reasons: list[str]) -> str:
    return (f"无法按「{profile.target_label}」的平台对照转换，暂不推送：{'；'.join(reasons)}。"
            "在“平台对照”中补充代码或补正数据后，下一次推送时自动发送。")


# --- sending -----------------------------------------------------------------------------------------------------

class DeliveryFailed(Exception):
    """A delivery that did not arrive; `may_be_stored` is False when the receiver certainly did not keep it."""

    def __init__(self, message: str, *, may_be_stored: bool = True) -> None:
        super().__init__(message)
        self.may_be_stored = may_be_stored


_DIGEST = re.compile(r"sha-256=:([A-Za-z0-9+/=]+):")


def _echoed_digest(header: str | None, answer: dict[str, Any] | None) -> bytes | None:
    """The receiver's digest of what it holds: `Content-Digest: sha-256=:…:` or `{"content_sha256": "<hex>"}`."""
    if header and (match := _DIGEST.search(header)):
        with contextlib.suppress(binascii.Error, ValueError):
            return base64.b64decode(match.group(1), validate=True)
    value = answer.get("content_sha256") if answer else None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return bytes.fromhex(value)
    return None


def _judge(status: int, raw: bytes, digest_header: str | None, digest: bytes) -> None:
    """Raise DeliveryFailed unless the answer says, completely, that the platform holds exactly our content."""
    answer: dict[str, Any] | None = None
    with contextlib.suppress(ValueError):
        parsed = json.loads(raw.decode("utf-8"))
        answer = parsed if isinstance(parsed, dict) else None
    echoed = _echoed_digest(digest_header, answer)
    if 200 <= status < 300:
        if answer is None:
            raise DeliveryFailed(f"平台应答不完整或不是 JSON 对象（HTTP {status}），未视为送达")
        if echoed is not None and echoed != digest:
            raise DeliveryFailed(f"平台应答的内容摘要与发送的内容不符（HTTP {status}），未视为送达")
        return
    if status == 409:
        if echoed == digest:
            return
        problem = "其内容摘要与本次发送的内容不同" if echoed else "应答没有给出内容摘要，无法确认内容相同"
        raise DeliveryFailed(f"平台已有该幂等键的记录，但{problem}（HTTP 409），未视为送达")
    detail = raw.decode("utf-8", "replace").strip()[:300]
    refused = 400 <= status < 500 and status not in (408, 429)  # the platform did not keep it
    raise DeliveryFailed(f"HTTP {status}" + (f"：{detail}" if detail else ""), may_be_stored=not refused)


def _post(url: str, delivery: PlatformDelivery, deadline: float) -> None:
    """POST the row's body; the whole exchange — connect, send, the complete answer — within `deadline` seconds.

    A timer shuts the socket down at the deadline, which ends any read or write in progress (a receiver that sends
    one byte every few seconds never resets it)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryFailed(f"推送地址应为 http(s) 地址：{url}", may_be_stored=False)
    body = (delivery.body or "").encode("utf-8")
    digest = bytes.fromhex(delivery.content_digest or "")
    headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json",
               "Idempotency-Key": delivery.idempotency_key,
               "Content-Digest": f"sha-256=:{base64.b64encode(digest).decode()}:"}
    factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = factory(parts.hostname, parts.port, timeout=deadline)
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(deadline, cut)
    timer.daemon = True
    timer.start()
    sent = False
    try:
        connection.connect()
        if expired.is_set():  # the deadline passed while connecting, before the socket could be cut
            raise TimeoutError
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", path, body=body, headers=headers)
        sent = True
        response = connection.getresponse()
        raw = response.read(MAX_ANSWER_BYTES + 1)
        status, digest_header = response.status, response.getheader("Content-Digest")
    except (http.client.HTTPException, OSError, ValueError) as exc:  # TimeoutError, reset, IncompleteRead, …
        if expired.is_set():
            raise DeliveryFailed(f"超过总时限 {deadline:g} 秒，平台未完整应答", may_be_stored=sent) from exc
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}", may_be_stored=sent) from exc
    finally:
        timer.cancel()
        connection.close()
    if expired.is_set():
        raise DeliveryFailed(f"超过总时限 {deadline:g} 秒，平台未完整应答")
    if len(raw) > MAX_ANSWER_BYTES:
        raise DeliveryFailed(f"平台应答超过 {MAX_ANSWER_BYTES} 字节，未视为送达")
    _judge(status, raw, digest_header, digest)


def file_name(delivery: PlatformDelivery) -> str:
    """`<record number>_<version>_<delivery key>.json`: unique, readable, portable to Windows exchange machines."""
    return f"{delivery.record.number}_{delivery.record_version}_{delivery.idempotency_key}.json"


def _drop(directory: str | Path, delivery: PlatformDelivery) -> None:
    """Write the body into the exchange directory atomically: a temporary file, then rename."""
    target_dir = Path(directory)
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        content = json.dumps({"idempotency_key": delivery.idempotency_key, "content_sha256": delivery.content_digest,
                              "record": json.loads(delivery.body or "{}")}, ensure_ascii=False, indent=1)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=target_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target_dir / file_name(delivery))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}", may_be_stored=False) from exc


# --- the delivery run ---------------------------------------------------------------------------------------------

def copy_missing(session: Session, target: str, now: datetime) -> int:
    """Add to the session (not flushed) `target`'s copies of up to FAN_OUT_BATCH provincial rows it lacks; returns
    how many. Committing them is the caller's (`engine/credit/jobs.py: fan_out`, one commit per batch).

    The copy keeps the version's snapshot, key, event and creation time (not the body: each destination maps with
    its own profile); ids grow in the provincial order, so each record's versions stay in order for `target` too.
    Two deliverers copying at once: the loser's insert hits the unique (target, key) constraint at its commit.
    """
    from engine.credit.models import PLATFORM_TARGETS, PlatformDelivery

    if target == TARGET:
        return 0
    if target not in PLATFORM_TARGETS:
        raise ValueError(f"unknown platform target {target!r}")
    mirror = aliased(PlatformDelivery)
    missing = session.scalars(
        select(PlatformDelivery).where(
            PlatformDelivery.target == TARGET,
            ~exists().where(mirror.target == target, mirror.idempotency_key == PlatformDelivery.idempotency_key))
        .order_by(PlatformDelivery.id).limit(FAN_OUT_BATCH)).all()
    for row in missing:
        session.add(PlatformDelivery(
            record_id=row.record_id, record_version=row.record_version, target=target,
            idempotency_key=row.idempotency_key, event=row.event, payload=row.payload,
            created_at=row.created_at, next_attempt_at=now, attempts=0))
    return len(missing)


def moments(now: datetime | None) -> Callable[[], datetime]:
    """The real moment of each event of a run: the (injectable) clock, or `now` plus the time elapsed since."""
    if now is None:
        return clock.now
    started = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - started)


def recheck_held(session: Session, target: str, profile: Profile, now: datetime,
                 labels: dict[str, dict[str, str]] | None = None) -> int:
    """Release held rows of `target` that map now (the profile or the data was fixed); returns how many."""
    from engine.credit.models import PlatformDelivery

    labels = labels if labels is not None else profiles.our_codes(session)
    released = 0
    rows = session.scalars(select(PlatformDelivery).where(
        PlatformDelivery.target == target, PlatformDelivery.delivered_at.is_(None),
        PlatformDelivery.held_reason.is_not(None)).order_by(PlatformDelivery.id).limit(HELD_RECHECK_BATCH)).all()
    for row in rows:
        try:
            body_of(session, row, profile, labels=labels)
        except Unmappable as exc:
            row.held_reason = hold_message(profile, exc.reasons)
            continue
        row.held_reason, row.held_at, row.next_attempt_at = None, None, now
        released += 1
    if released:
        logger.info("%s held version(s) for the %s platform map now and are due", released, target)
    return released


def next_due(session: Session, target: str, now: datetime) -> PlatformDelivery | None:
    from engine.credit.models import PlatformDelivery

    earlier = aliased(PlatformDelivery)
    query = (select(PlatformDelivery)
             .where(PlatformDelivery.target == target, PlatformDelivery.held_reason.is_(None),
                    PlatformDelivery.delivered_at.is_(None), PlatformDelivery.next_attempt_at <= now,
                    ~exists().where(earlier.record_id == PlatformDelivery.record_id,  # versions in order
                                    earlier.target == PlatformDelivery.target,
                                    earlier.id < PlatformDelivery.id, earlier.delivered_at.is_(None)))
             .order_by(PlatformDelivery.id).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalar(query)


DELIVERED, HELD, FAILED = "delivered", "held", "failed"


def deliver_one(session: Session, row: PlatformDelivery, profile: Profile, labels: dict[str, dict[str, str]],
                moment: Callable[[], datetime], *, endpoint_url: str | None = None,
                drop_dir: str | Path | None = None, timeout: float = 10.0) -> str:
    """Map and send one due row, noting the outcome on it: DELIVERED, HELD (cannot be mapped; released by a later run
    once it maps) or FAILED (an attempt counted, the error stored, the next attempt after a growing backoff from the
    moment it failed: 2, 4, 8 … minutes, at most 6 hours). The caller commits after each row.

    With `endpoint_url` the row is POSTed within `timeout` seconds in total; otherwise it is written as a file into
    `drop_dir`.
    """
    target = row.target
    if row.body is None:
        try:
            rendered = body_of(session, row, profile, labels=labels)
        except Unmappable as exc:
            row.held_reason, row.held_at = hold_message(profile, exc.reasons), moment()
            logger.warning("platform delivery %s (%s, %s) held: %s", row.id, target, row.idempotency_key, exc)
            return HELD
        row.body = json.dumps(rendered, ensure_ascii=False, separators=(",", ":"))
        row.content_digest = hashlib.sha256(row.body.encode("utf-8")).hexdigest()
    try:
        if endpoint_url:
            _post(endpoint_url, row, timeout)
        else:
            _drop(drop_dir, row)  # type: ignore[arg-type]
    except DeliveryFailed as exc:
        failed_at = moment()
        row.attempts += 1
        row.last_error = str(exc)[:2000]
        row.next_attempt_at = failed_at + min(timedelta(minutes=2 ** min(row.attempts, 20)), MAX_BACKOFF)
        if not exc.may_be_stored:  # refused: the next attempt maps the version again (a profile fix applies)
            row.body = row.content_digest = None
        logger.warning("platform delivery %s (%s, %s) failed, attempt %s: %s",
                       row.id, target, row.idempotency_key, row.attempts, exc)
        return FAILED
    row.attempts += 1
    row.delivered_at = moment()
    row.delivered_via = "http" if endpoint_url else "drop"
    row.last_error = None
    return DELIVERED


# --- operators ------------------------------------------------------------------------------------------------------

def retry_now(session: Session, delivery_id: int, now: datetime | None = None,
              actor: Official | None = None) -> PlatformDelivery:
    """Operator action: make an undelivered row due at once — a held one is checked against its profile again —
    (audited when an actor is given). The next delivery run sends it — and, versions going out in order, the later
    versions of its record.
    """
    from engine.audit.services import record as audit
    from engine.credit.models import PlatformDelivery
    from engine.errors import ConflictError, NotFound

    row = session.get(PlatformDelivery, delivery_id)
    if row is None:
        raise NotFound("推送记录不存在")
    if row.delivered_at is not None:
        raise ConflictError("该推送已成功，无需重试")
    before = {"next_attempt_at": _plain(as_utc(row.next_attempt_at)), "attempts": row.attempts,
              "held_reason": row.held_reason}
    row.next_attempt_at = now or clock.now()
    row.held_reason = row.held_at = None
    session.flush()
    if actor is not None:
        audit(session, "platform_delivery_retry", actor, "platform_delivery", row.id, before=before,
              after={"next_attempt_at": _plain(as_utc(row.next_attempt_at)), "target": row.target,
                     "idempotency_key": row.idempotency_key}, now=now)
        logger.info("%s made platform delivery %s (%s) due now", actor.username, row.id, row.idempotency_key)
    return row


def failed_deliveries(session: Session, limit: int = 100, target: str | None = None) -> list[PlatformDelivery]:
    """Rows attempted and not delivered nor held (the operator view), oldest first; all targets unless one is named."""
    from engine.credit.models import PlatformDelivery

    query = select(PlatformDelivery).where(PlatformDelivery.delivered_at.is_(None), PlatformDelivery.attempts > 0,
                                           PlatformDelivery.held_reason.is_(None))
    if target:
        query = query.where(PlatformDelivery.target == target)
    return list(session.scalars(query.order_by(PlatformDelivery.id).limit(limit)))


def held_deliveries(session: Session, limit: int = 100, target: str | None = None) -> list[PlatformDelivery]:
    """Rows held because they cannot be mapped for their destination, oldest first, with the reason."""
    from engine.credit.models import PlatformDelivery

    query = select(PlatformDelivery).where(PlatformDelivery.delivered_at.is_(None),
                                           PlatformDelivery.held_reason.is_not(None))
    if target:
        query = query.where(PlatformDelivery.target == target)
    return list(session.scalars(query.order_by(PlatformDelivery.id).limit(limit)))


def backlog(session: Session) -> dict[str, int]:
    """Deliveries not yet delivered (due, waiting for a retry, held, or given up), counted per destination."""
    from engine.credit.models import PlatformDelivery

    return dict(session.execute(select(PlatformDelivery.target, func.count())
                                .where(PlatformDelivery.delivered_at.is_(None))
                                .group_by(PlatformDelivery.target)).all())


def deliveries_of(session: Session, record_id: int) -> list[PlatformDelivery]:
    """A record's delivery log: per destination, each version in order."""
    from engine.credit.models import PlatformDelivery

    return list(session.scalars(select(PlatformDelivery).where(PlatformDelivery.record_id == record_id)
                                .order_by(PlatformDelivery.target.desc(), PlatformDelivery.id)))
