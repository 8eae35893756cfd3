"""Bulletins (调度通报): queue a period's bulletin, generate its frozen snapshot with progress, publish it.

The process `bulletin.bpmn` calls `queue_bulletin` (service operation `generate_bulletin`) and `publish`
(`publish_bulletin`). The snapshot itself is computed outside the process step by `engine/oversight/jobs.py:
generate_pending` — the scheduler tick, or a background thread the web layer starts — section by section, committing its progress
after each one, so a large bulletin shows how far it is instead of holding a request open. The figures come
from `engine.oversight.statistics`; the snapshot is written once and never changes afterwards.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from engine.audit.services import record as audit
from engine.db import as_utc
from engine.errors import EngineError, NotFound, PermissionDenied, TaskNotReady
from engine.notify.models import Notification
from engine.org import permissions
from engine.org.models import Department, Official
from engine.oversight import statistics
from engine.oversight.figures import FIGURES, INTAKE_HEADINGS, OVERVIEW, RANK_FIGURES, value
from engine.oversight.models import BULLETIN_STATUSES, PERIOD_KINDS, Bulletin
from engine.oversight.periods import SHANGHAI, Period
from engine.paging import Total, capped_count
from engine.workflow import clock
from engine.workflow.registry import start_facts

logger = logging.getLogger(__name__)
PROCESS_KEY = "bulletin"
start_facts(PROCESS_KEY, "period_kind", "period_start", "timer_due", "timer_start", "regenerate_reason")  # start_bulletin
STALE_AFTER = timedelta(minutes=30)  # a generation claimed longer ago than this is taken over (its runner died)
# Figures shown in the ranking tables and on the public page (RankRow attribute → heading, from figures.py;
# rates are 0..1).
RANK_COLUMNS: dict[str, str] = {column: FIGURES[figure].heading for column, figure in RANK_FIGURES.items()}
RATE_COLUMNS = frozenset(column for column, figure in RANK_FIGURES.items() if FIGURES[figure].rate)
INTAKE_COLUMNS = INTAKE_HEADINGS  # the columns of the intake tables by channel, domain, prefecture, month
PUBLIC_RANK_COLUMNS = ("received", "accepted", "on_time_rate", "rectification_rate", "breaches_confirmed")


# --- periods ---------------------------------------------------------------------------------------------

def period_for(kind: str, period_start: str | date | None, timer_due: str | datetime | None) -> Period:
    """The bulletin's period: given explicitly (manual), or the full month/quarter before the timer fired."""
    if kind not in ("month", "quarter", "year"):
        raise EngineError(f"未知的通报期别：{kind}")
    if period_start:
        first = date.fromisoformat(str(period_start)[:10])
    else:
        if not timer_due:
            raise EngineError("通报既没有指定期间，也没有定时器触发时间")
        fired = datetime.fromisoformat(str(timer_due)) if isinstance(timer_due, str) else timer_due
        day = as_utc(fired).astimezone(SHANGHAI).date()
        months = {"month": 1, "quarter": 3, "year": 12}[kind]
        index = (day.year * 12 + day.month - 1) // months * months - months  # first month of the previous period
        first = date(index // 12, index % 12 + 1, 1)
    if kind == "month":
        return Period.month(first.year, first.month)
    if kind == "quarter":
        if (first.month - 1) % 3:
            raise EngineError("季度通报的开始日期应为某季度的第一天（1、4、7、10 月 1 日）")
        return Period.quarter(first.year, (first.month - 1) // 3 + 1)
    return Period.year(first.year)


def title_for(kind: str, period: Period) -> str:
    if kind == "month":
        label = f"{period.start.year}年{period.start.month}月"
    elif kind == "quarter":
        label = f"{period.start.year}年第{(period.start.month - 1) // 3 + 1}季度"
    else:
        label = f"{period.start.year}年度"
    return f"{label}政府违约失信投诉处置情况通报"


# --- process steps ---------------------------------------------------------------------------------------

def ensure_period_ended(period: Period, now: datetime) -> None:
    """A bulletin reports a whole period: refused before the period's last day has ended in Yunnan."""
    if as_utc(now) < period.start_utc:
        raise EngineError("不能为尚未开始的期间生成通报")
    if as_utc(now) < period.end_utc:
        raise EngineError(f"该期间尚未结束（截至 {period.end:%Y年%m月%d日}），期满后才能生成通报")


def queue_bulletin(session: Session, kind: str, period: Period, now: datetime, instance_id: int | None,
                   source: str, reason: str | None = None) -> Bulletin:
    """A new revision of the period's bulletin, waiting for generation; earlier unpublished revisions step aside.
    Refused (EngineError) for a period that has not ended."""
    ensure_period_ended(period, now)
    last = session.scalar(select(func.max(Bulletin.revision)).where(
        Bulletin.period_kind == kind, Bulletin.period_start == period.start, Bulletin.period_end == period.end))
    session.execute(update(Bulletin).where(
        Bulletin.period_kind == kind, Bulletin.period_start == period.start, Bulletin.period_end == period.end,
        Bulletin.status.in_(("queued", "generating", "ready", "failed"))).values(status="superseded"))
    bulletin = Bulletin(period_kind=kind, period_start=period.start, period_end=period.end,
                        title=title_for(kind, period), revision=(last or 0) + 1, status="queued", source=source,
                        progress=0, progress_note="等待生成", regenerate_reason=reason, instance_id=instance_id,
                        created_at=now)
    session.add(bulletin)
    session.flush()
    logger.info("bulletin %s (%s, revision %s) queued", bulletin.id, bulletin.title, bulletin.revision)
    return bulletin


def publish(session: Session, bulletin_id: int, remarks: str | None, publish_public: bool, now: datetime,
            actor: Official | None) -> Bulletin:
    """Publish a generated bulletin to officials (and its aggregate figures to the public page, if chosen)."""
    bulletin = get_bulletin(session, bulletin_id)
    if bulletin.status != "ready":
        raise TaskNotReady(f"通报当前状态为「{BULLETIN_STATUSES[bulletin.status]}」，生成完毕后才能审核发布")
    session.execute(update(Bulletin).where(
        Bulletin.period_kind == bulletin.period_kind, Bulletin.period_start == bulletin.period_start,
        Bulletin.period_end == bulletin.period_end, Bulletin.status == "published").values(status="superseded"))
    bulletin.remarks = (remarks or "").strip() or None
    bulletin.status, bulletin.published_at = "published", now
    bulletin.published_by = actor.label if actor else "系统"
    bulletin.is_public = bool(publish_public)
    bulletin.public_snapshot = public_part(bulletin.snapshot or {}) if publish_public else None
    leads = session.scalars(select(Department).where(Department.is_credit_lead.is_(True),
                                                     Department.is_active.is_(True)))
    for dept in leads:
        role = "ndrc" if dept.level == "province" else "prefecture_lead"
        session.add(Notification(department_id=dept.id, role=role, kind="bulletin", title=f"已发布：{bulletin.title}",
                                 body=f"省发展改革委已发布《{bulletin.title}》，请在“调度通报”中查阅。", created_at=now))
    session.flush()
    logger.info("bulletin %s published by %s (public: %s)", bulletin.id, bulletin.published_by, bulletin.is_public)
    return bulletin


# --- generation ------------------------------------------------------------------------------------------

def _claimable(now: datetime) -> Any:
    """Queued, or claimed by a runner that seems to have died."""
    return or_(Bulletin.status == "queued",
               (Bulletin.status == "generating") & (Bulletin.generation_started_at < now - STALE_AFTER))


def pending_ids(session: Session, now: datetime, only_id: int | None = None) -> list[int]:
    """The bulletins waiting for their snapshot (or only `only_id`, when it waits), oldest first."""
    query = select(Bulletin.id).where(_claimable(now))
    if only_id is not None:
        query = query.where(Bulletin.id == only_id)
    return list(session.scalars(query.order_by(Bulletin.id)))


def claim(session: Session, bulletin_id: int, now: datetime) -> bool:
    """Mark the bulletin `generating` by this runner; False when another runner has it (the caller commits)."""
    claimed = session.execute(update(Bulletin).where(Bulletin.id == bulletin_id, _claimable(now)).values(
        status="generating", generation_started_at=now, progress=0, progress_note="开始生成"))
    return claimed.rowcount == 1


def mark_failed(session: Session, bulletin_id: int, exc: Exception) -> None:
    """Show the failure on the bulletin (after its generation was rolled back); the reviewer may regenerate."""
    message = exc.message if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"
    session.execute(update(Bulletin).where(Bulletin.id == bulletin_id).values(
        status="failed", error=message[:2000], progress_note="生成失败"))


def generate(session: Session, bulletin: Bulletin, now: datetime, checkpoint: Callable[[], None]) -> None:
    """Compute the snapshot section by section; after each progress write `checkpoint()` is called, where the
    runner commits so that pollers see the progress at once.

    Writes only while the row is still `generating`: a revision superseded meanwhile stays superseded.
    """
    period = Period(bulletin.period_start, bulletin.period_end)
    bulletin_id = bulletin.id

    def progress(percent: int, note: str, **values: Any) -> None:
        session.execute(update(Bulletin).where(Bulletin.id == bulletin_id, Bulletin.status == "generating")
                        .values(progress=percent, progress_note=note, **values))
        checkpoint()

    progress(5, "正在计算：全省汇总数字")
    figures = statistics.figures(session, period, now=now).as_dict()
    progress(40, "正在计算：州（市）排名表")
    prefectures = ranked(statistics.ranking(session, period, by="prefecture", now=now))
    progress(60, "正在计算：部门排名表")
    departments = ranked(statistics.ranking(session, period, by="department", now=now))
    progress(95, "正在保存快照")
    snapshot = {
        "title": bulletin.title, "revision": bulletin.revision,
        "period": {"kind": bulletin.period_kind, "kind_label": PERIOD_KINDS[bulletin.period_kind],
                   "start": period.start.isoformat(), "end": period.end.isoformat(), "label": period.label},
        "generated_at": now.isoformat(), "figures": figures, "prefectures": prefectures, "departments": departments,
    }
    progress(100, "完成", snapshot=snapshot, generated_at=now, status="ready", error=None)
    logger.info("bulletin %s generated: %s prefectures, %s departments", bulletin_id, len(prefectures),
                len(departments))


def overview(snapshot: dict[str, Any]) -> list[tuple[str, str, Any, str]]:
    """The key figures of a bulletin, as its page and its .xlsx show them: (figure, label, number, unit), in order."""
    figures = snapshot.get("figures") or {}
    return [(key, FIGURES[key].label, value(figures, key), FIGURES[key].unit) for key in OVERVIEW]


def ranked(rows: list[statistics.RankRow]) -> list[dict[str, Any]]:
    """Rows ordered by verification on time, then rectification rate, then complaints received; numbered."""
    def order(row: statistics.RankRow) -> tuple:
        on_time, rect = row.on_time_rate, row.rectification_rate
        return (on_time is None, -(on_time or 0), rect is None, -(rect or 0), -row.received, row.key)

    result = []
    for number, row in enumerate(sorted(rows, key=order), start=1):
        result.append({"rank": number, "key": row.key, "label": row.label, **{c: getattr(row, c) for c in RANK_COLUMNS}})
    return result


def public_part(snapshot: dict[str, Any]) -> dict[str, Any]:
    """What the public page shows: aggregate numbers under fixed labels only — no names, no free text."""
    figures = snapshot.get("figures") or {}
    intake = figures.get("intake") or {}
    outcomes = figures.get("outcomes") or {}
    credit = figures.get("credit") or {}
    verification = figures.get("verification") or {}

    def numbers(values: dict, keys: tuple[str, ...]) -> dict[str, float | int | None]:
        return {k: values.get(k) for k in keys if isinstance(values.get(k), int | float) or values.get(k) is None}

    return {
        "title": snapshot.get("title"), "period": snapshot.get("period"), "generated_at": snapshot.get("generated_at"),
        "intake": numbers(intake, ("received", "accepted", "rejected", "merged", "pending")),
        "verification": numbers(verification, ("due", "on_time", "rate")),
        "outcomes": numbers(outcomes, ("verified", "founded", "unfounded", "rectified", "breach_reported",
                                       "founded_rate", "rectification_rate")),
        "credit": numbers(credit, ("breaches_confirmed", "measures_applied", "repairs")),
        "by_channel": {k: v.get("received", 0) for k, v in (figures.get("by_channel") or {}).items()},
        "by_domain": {k: v.get("received", 0) for k, v in (figures.get("by_domain") or {}).items()},
        "prefectures": [{"label": r["label"], **{c: r.get(c) for c in PUBLIC_RANK_COLUMNS}}
                        for r in snapshot.get("prefectures") or []],
    }


def data_as_of(bulletin: Bulletin) -> tuple[datetime | None, bool]:
    """The moment the bulletin's figures were computed, and whether its period had ended by then (a bulletin
    made before periods had to end first may cover part of its period only: the pages say 截至 when)."""
    raw = (bulletin.snapshot or {}).get("generated_at") or (bulletin.public_snapshot or {}).get("generated_at")
    moment = as_utc(datetime.fromisoformat(raw)) if raw else as_utc(bulletin.generated_at)
    if moment is None:
        return None, False
    return moment, moment >= Period(bulletin.period_start, bulletin.period_end).end_utc


def local_time_text(moment: datetime | None) -> str:
    """A moment as Yunnan people read it: 2026-10-01 09:01（北京时间）."""
    return f"{as_utc(moment).astimezone(SHANGHAI):%Y-%m-%d %H:%M}（北京时间）" if moment else ""


# --- reading -------------------------------------------------------------------------------------------

def may_read(official: Official) -> bool:
    """`see_statistics`: the provincial DRC and prefecture credit leads read bulletins."""
    return permissions.allowed(official, permissions.SEE_STATISTICS)


def may_manage(official: Official) -> bool:
    """`manage_bulletins`: only the provincial DRC generates, reviews and publishes."""
    return permissions.allowed(official, permissions.MANAGE_BULLETINS)


def ensure_may_read(official: Official, bulletin: Bulletin | None = None) -> None:
    if not may_read(official):
        raise PermissionDenied("只有省发展改革委和州（市）信用牵头单位可以查看调度通报")
    if bulletin is not None and bulletin.status != "published" and not may_manage(official):
        raise PermissionDenied("该通报尚未发布")


def ensure_may_manage(official: Official) -> None:
    if not may_manage(official):
        raise PermissionDenied("只有省发展改革委信用处可以生成、审核和发布调度通报")


def get_bulletin(session: Session, bulletin_id: int) -> Bulletin:
    bulletin = session.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise NotFound("通报不存在")
    return bulletin


def list_bulletins(session: Session, official: Official, limit: int = 50, offset: int = 0) -> tuple[list[Bulletin], Total]:
    """Newest first; officials other than the DRC see published bulletins only."""
    ensure_may_read(official)
    query = select(Bulletin)
    if not may_manage(official):
        query = query.where(Bulletin.status == "published")
    total = capped_count(session, query, offset)
    rows = session.scalars(query.order_by(Bulletin.period_start.desc(), Bulletin.id.desc())
                           .limit(limit).offset(offset)).all()
    return list(rows), total


def public_bulletins(session: Session) -> list[Bulletin]:
    return list(session.scalars(select(Bulletin).where(Bulletin.status == "published", Bulletin.is_public.is_(True))
                                .order_by(Bulletin.period_start.desc(), Bulletin.id.desc()).limit(100)))


def public_bulletin(session: Session, bulletin_id: int) -> Bulletin:
    bulletin = session.get(Bulletin, bulletin_id)
    if bulletin is None or bulletin.status != "published" or not bulletin.is_public:
        raise NotFound("通报不存在或未向公众公开")
    return bulletin


def review_task_of(session: Session, bulletin: Bulletin) -> Any:
    """The open review task of the bulletin's process instance, if any."""
    from engine.workflow.models import HumanTask

    if bulletin.instance_id is None:
        return None
    return session.scalar(select(HumanTask).where(
        HumanTask.instance_id == bulletin.instance_id, HumanTask.completed_at.is_(None)))


def bulletin_of_instance(session: Session, instance_id: int) -> Bulletin | None:
    """The newest revision a bulletin process instance made."""
    return session.scalar(select(Bulletin).where(Bulletin.instance_id == instance_id)
                          .order_by(Bulletin.revision.desc()).limit(1))


def start_manual(session: Session, actor: Official, kind: str, period_start: str, now: datetime | None = None) -> Bulletin:
    """Start the bulletin process for a chosen period (补发 or a period the timers do not cover)."""
    from engine.workflow.instances import start_instance

    ensure_may_manage(actor)
    period = period_for(kind, period_start, None)
    moment = as_utc(now) or clock.now()
    ensure_period_ended(period, moment)
    instance = start_instance(session, PROCESS_KEY, None, actor, now=moment, start_event="start_manual", data={
        "period_kind": kind, "period_start": period.start.isoformat(), "timer_due": None, "timer_start": None,
        "regenerate_reason": None})
    bulletin = bulletin_of_instance(session, instance.id)
    if bulletin is None:
        raise EngineError("通报流程没有生成通报（请检查 bulletin 流程图）")
    audit(session, "bulletin_requested", actor, "bulletin", bulletin.id, now=moment,
          after={"period_kind": kind, "period_start": period.start.isoformat(), "instance_id": instance.id})
    return bulletin


def review(session: Session, bulletin_id: int, data: dict[str, Any], actor: Official,
           now: datetime | None = None) -> Bulletin:
    """Complete the bulletin's review task (approve → published, regenerate → a new revision is queued).

    Returns the newest revision of the bulletin's process: the same one when approved, the new one when sent back.
    """
    from engine.workflow.instances import complete_task

    ensure_may_manage(actor)
    bulletin = get_bulletin(session, bulletin_id)
    task = review_task_of(session, bulletin)
    if task is None or bulletin.status in ("superseded", "published"):
        raise TaskNotReady("该通报没有待审核的任务（可能已发布或已被新版替代），请刷新后查看")
    complete_task(session, task.id, data, actor, now=now)
    return bulletin_of_instance(session, bulletin.instance_id) or bulletin
