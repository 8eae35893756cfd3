"""Delivering breach records to the provincial credit-sharing platform through an outbox.

Each change of a record (created, updated, measure applied or ended, repaired) bumps the record's version
and queues one `platform_delivery` row in the same transaction, with the record as it is at that version in
the collection-standard field names (`payload`). `deliver` sends due rows one by one — HTTP POST with the
header `Idempotency-Key: <record id>:<version>`, or a file written atomically into an exchange directory —
and commits after each, so a platform outage delays delivery and loses nothing. A receiver that stores by
the key never stores a duplicate, even when a response was lost and the same version is sent again.

Destinations (`PLATFORM_TARGETS`): rows are queued for the provincial platform. A further destination (the
national platform) gets its own rows — same key, payload and order, its own attempts and delivery log — copied
from the provincial ones by `fan_out` when delivery to it runs, so a destination configured later receives the
whole history and an unconfigured one accumulates no backlog.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from engine.db import as_utc
from engine.workflow import clock

if TYPE_CHECKING:
    from engine.credit.models import BreachRecord, PlatformDelivery
    from engine.org.models import Official

logger = logging.getLogger(__name__)
TARGET = "provincial"  # rows are queued for this destination; the others copy them (`fan_out`)
FAN_OUT_BATCH = 500
MAX_BACKOFF = timedelta(hours=6)
SCHEMA_VERSION = "lvyue-breach-record/1"

# collection-standard field → (our attribute, 中文名). The national standard itself is not public; these names
# follow the credit platform's record conventions (uppercase pinyin initials). docs/credit.md lists them.
RECORD_FIELDS: list[tuple[str, str, str]] = [
    ("JLBH", "id", "记录编号"),
    ("BBH", "version", "记录版本号"),
    ("SXZTMC", "respondent_name", "失信主体名称"),
    ("SXZTTYSHXYDM", "respondent_uscc", "失信主体统一社会信用代码"),
    ("SXZTXZQHDM", "respondent_division", "失信主体行政区划代码"),
    ("RDBMMC", "determining_name", "认定部门名称"),
    ("RDBMTYSHXYDM", "determining_uscc", "认定部门统一社会信用代码"),
    ("RDRQ", "determined_on", "认定日期"),
    ("RDWSH", "document_number", "认定文书号"),
    ("RDYJ", "basis", "认定依据"),
    ("SXSS", "facts", "失信事实"),
    ("SXLY", "domain", "失信领域"),
    ("SXJE", "amount", "涉及金额（元）"),
    ("ZGQX", "rectification_deadline", "整改期限"),
    ("ZGZT", "rectification_state", "整改状态"),
    ("SXCD", "severity", "失信程度（minor 轻微 / ordinary 一般 / serious 严重）"),
    ("GSQSRQ", "publication_start", "公示起始日期"),
    ("GSJZRQ", "publication_end", "公示截止日期"),
    ("GSZZRQ", "published_until", "公示提前终止日期（信用修复）"),
    ("XFRQ", "repaired_on", "信用修复日期"),
    ("XFWSH", "repair_document_number", "信用修复文书号"),
    ("JLZT", "status", "记录状态（active 有效 / repaired 已修复）"),
    ("SJLY", "source", "数据来源"),
    ("GLTSBH", "complaint_id", "关联投诉编号"),
]
MEASURE_FIELDS: list[tuple[str, str, str]] = [
    ("CSBH", "id", "措施编号"),
    ("CSDM", "code", "措施代码"),
    ("CSMC", "name", "措施名称"),
    ("CSCJ", "level", "措施层级（national/city/local）"),
    ("SSBM", "applied_by", "实施人（部门）"),
    ("SSSJ", "applied_at", "实施时间"),
    ("SSWH", "document_number", "实施文书号"),
    ("JZRQ", "until", "实施截止日期"),
    ("JSSJ", "ended_at", "结束时间"),
    ("JSYY", "end_reason", "结束原因"),
]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def payload(record: BreachRecord, event: str) -> dict[str, Any]:
    """The record at its current version in the collection-standard field names."""
    body: dict[str, Any] = {"SCHEMA": SCHEMA_VERSION, "BGLX": event}  # 变更类型
    for name, attr, _label in RECORD_FIELDS:
        body[name] = _plain(getattr(record, attr))
    body["CJCS"] = [{  # 惩戒措施
        "CSBH": m.id, "CSDM": m.measure_type.code, "CSMC": m.measure_type.name, "CSCJ": m.measure_type.level,
        "SSBM": m.applied_by_label, "SSSJ": _plain(m.applied_at), "SSWH": m.document_number,
        "JZRQ": _plain(m.until), "JSSJ": _plain(m.ended_at), "JSYY": m.end_reason,
    } for m in record.measures]
    body["GXSJ"] = _plain(record.updated_at)  # 更新时间
    return body


def idempotency_key(record_id: int, version: int) -> str:
    return f"{record_id}:{version}"


def queue(session: Session, record: BreachRecord, event: str, now: datetime | None = None) -> PlatformDelivery:
    """Queue the record's current version for delivery (in the caller's transaction)."""
    from engine.credit.models import PlatformDelivery

    moment = now or clock.now()
    session.flush()
    session.refresh(record, ["measures"])
    delivery = PlatformDelivery(
        record_id=record.id, record_version=record.version, target=TARGET,
        idempotency_key=idempotency_key(record.id, record.version), event=event,
        payload=payload(record, event), created_at=moment, next_attempt_at=moment, attempts=0)
    session.add(delivery)
    session.flush()
    return delivery


class DeliveryFailed(Exception):
    pass


def _post(url: str, delivery: PlatformDelivery, timeout: float) -> None:
    body = json.dumps(delivery.payload, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "Idempotency-Key": delivery.idempotency_key})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - configured endpoint
            status = response.status
    except urllib.error.HTTPError as exc:
        if exc.code == 409:  # the receiver has this key stored already
            return
        raise DeliveryFailed(f"HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}") from exc
    if not 200 <= status < 300:
        raise DeliveryFailed(f"HTTP {status}")


def file_name(delivery: PlatformDelivery) -> str:
    """`<record id>_<version>.json` — the idempotency key with ':' (not allowed on Windows) as '_'."""
    return delivery.idempotency_key.replace(":", "_") + ".json"


def _drop(directory: str | Path, delivery: PlatformDelivery) -> None:
    """Write the payload into the exchange directory atomically: a temporary file, then rename."""
    target_dir = Path(directory)
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"idempotency_key": delivery.idempotency_key, "record": delivery.payload},
                          ensure_ascii=False, indent=1)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=target_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target_dir / file_name(delivery))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc


def fan_out(session: Session, target: str, now: datetime | None = None) -> int:
    """Copy every provincial row that `target` has no row for yet (committed); returns how many were added.

    The copy keeps the version's payload, key, event and creation time; ids grow in the provincial order, so
    each record's versions stay in order for `target` too. Two deliverers copying at once: the loser's insert
    hits the unique (target, key) constraint and is rolled back — the winner's rows are the same.
    """
    from engine.credit.models import PLATFORM_TARGETS, PlatformDelivery

    if target == TARGET:
        return 0
    if target not in PLATFORM_TARGETS:
        raise ValueError(f"unknown platform target {target!r}")
    moment = now or clock.now()
    added = 0
    while True:
        mirror = aliased(PlatformDelivery)
        missing = session.scalars(
            select(PlatformDelivery).where(
                PlatformDelivery.target == TARGET,
                ~exists().where(mirror.target == target, mirror.idempotency_key == PlatformDelivery.idempotency_key))
            .order_by(PlatformDelivery.id).limit(FAN_OUT_BATCH)).all()
        if not missing:
            return added
        for row in missing:
            session.add(PlatformDelivery(
                record_id=row.record_id, record_version=row.record_version, target=target,
                idempotency_key=row.idempotency_key, event=row.event, payload=row.payload,
                created_at=row.created_at, next_attempt_at=moment, attempts=0))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            logger.info("fan-out to %s raced with another deliverer; its rows stand", target)
            return added
        added += len(missing)
        logger.info("queued %s record version(s) for the %s platform", len(missing), target)


def deliver(session: Session, endpoint_url: str | None = None, now: datetime | None = None, *,
            drop_dir: str | Path | None = None, timeout: float = 10.0, batch: int = 100,
            target: str = TARGET) -> int:
    """Deliver due rows of `target` in order, one commit each; returns how many were delivered.

    A record's versions go out in order: a version waits while an earlier one of the same record is undelivered.
    For a target other than the provincial platform, missing rows are first copied (`fan_out`).

    With `endpoint_url` the rows are POSTed; otherwise with `drop_dir` they are written as files. A failure
    counts an attempt, stores the error, sets the next attempt after a growing backoff (2, 4, 8 … minutes, at
    most 6 hours) and ends this run: the platform is probably down, the next tick tries again.
    """
    from engine.credit.models import PlatformDelivery

    if not endpoint_url and drop_dir is None:
        return 0
    moment = now or clock.now()
    fan_out(session, target, moment)
    delivered = 0
    for _ in range(batch):
        earlier = aliased(PlatformDelivery)
        query = (select(PlatformDelivery)
                 .where(PlatformDelivery.target == target,
                        PlatformDelivery.delivered_at.is_(None), PlatformDelivery.next_attempt_at <= moment,
                        ~exists().where(earlier.record_id == PlatformDelivery.record_id,  # versions in order
                                        earlier.target == PlatformDelivery.target,
                                        earlier.id < PlatformDelivery.id, earlier.delivered_at.is_(None)))
                 .order_by(PlatformDelivery.id).limit(1))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = session.scalar(query)
        if row is None:
            break
        try:
            if endpoint_url:
                _post(endpoint_url, row, timeout)
            else:
                _drop(drop_dir, row)  # type: ignore[arg-type]
        except DeliveryFailed as exc:
            row.attempts += 1
            row.last_error = str(exc)[:2000]
            row.next_attempt_at = moment + min(timedelta(minutes=2 ** row.attempts), MAX_BACKOFF)
            session.commit()
            logger.warning("platform delivery %s (%s, %s) failed, attempt %s: %s",
                           row.id, target, row.idempotency_key, row.attempts, exc)
            break
        row.attempts += 1
        row.delivered_at = moment
        row.delivered_via = "http" if endpoint_url else "drop"
        row.last_error = None
        session.commit()
        delivered += 1
    session.rollback()
    return delivered


def retry_now(session: Session, delivery_id: int, now: datetime | None = None,
              actor: Official | None = None) -> PlatformDelivery:
    """Operator action: make a failed (still undelivered) row due at once (audited when an actor is given).

    The next scheduler tick sends it — and, versions going out in order, the later versions of its record.
    """
    from engine.audit.services import record as audit
    from engine.credit.models import PlatformDelivery
    from engine.errors import ConflictError, NotFound

    row = session.get(PlatformDelivery, delivery_id)
    if row is None:
        raise NotFound("推送记录不存在")
    if row.delivered_at is not None:
        raise ConflictError("该推送已成功，无需重试")
    before = {"next_attempt_at": _plain(as_utc(row.next_attempt_at)), "attempts": row.attempts}
    row.next_attempt_at = now or clock.now()
    session.flush()
    if actor is not None:
        audit(session, "platform_delivery_retry", actor, "platform_delivery", row.id, before=before,
              after={"next_attempt_at": _plain(as_utc(row.next_attempt_at)), "target": row.target,
                     "idempotency_key": row.idempotency_key}, now=now)
        logger.info("%s made platform delivery %s (%s) due now", actor.username, row.id, row.idempotency_key)
    return row


def failed_deliveries(session: Session, limit: int = 100, target: str | None = None) -> list[PlatformDelivery]:
    """Rows attempted and not delivered (the operator view), oldest first; all targets unless one is named."""
    from engine.credit.models import PlatformDelivery

    query = select(PlatformDelivery).where(PlatformDelivery.delivered_at.is_(None), PlatformDelivery.attempts > 0)
    if target:
        query = query.where(PlatformDelivery.target == target)
    return list(session.scalars(query.order_by(PlatformDelivery.id).limit(limit)))


def backlog(session: Session) -> dict[str, int]:
    """Deliveries not yet delivered (due, waiting for a retry, or given up), counted per destination."""
    from engine.credit.models import PlatformDelivery

    return dict(session.execute(select(PlatformDelivery.target, func.count())
                                .where(PlatformDelivery.delivered_at.is_(None))
                                .group_by(PlatformDelivery.target)).all())


def deliveries_of(session: Session, record_id: int) -> list[PlatformDelivery]:
    """A record's delivery log: per destination, each version in order."""
    from engine.credit.models import PlatformDelivery

    return list(session.scalars(select(PlatformDelivery).where(PlatformDelivery.record_id == record_id)
                                .order_by(PlatformDelivery.target.desc(), PlatformDelivery.id)))
