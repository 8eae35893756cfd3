"""Completing a task — the one path of the task page and of the API (the request commits it: web/transaction.py).

A non-interrupting timer of the same case (a reminder) may fire at the very moment an official submits: the timer's
step saves first and the official's save meets the optimistic lock (ConcurrentUpdate). Nothing the official saw
has changed, so the completion runs once more on the case as the timer left it. When the timer withdrew the task
(a deadline passed), or an official changed the case, the caller is told exactly that.
"""
from __future__ import annotations

import logging
from typing import Any

from engine.errors import ConcurrentUpdate, TaskNotReady
from engine.org.models import Official
from engine.workflow import instances, timers
from engine.workflow.models import HumanTask
from web import transaction
from web.extensions import db

logger = logging.getLogger(__name__)
WITHDRAWN_BY_TIMER = ("您提交的同时，流程的定时器（期限届满）已按流程撤销了该任务，您的提交未保存。"
                      "请刷新待办列表查看案件的最新状态。")
TIMERS_TWICE = "您提交的同时，该案件的定时器连续推进了流程，您的提交未保存，请重新提交。"


def complete(task_id: str, data: dict[str, Any], actor: Official) -> HumanTask:
    """Complete `task_id` with `data` as `actor`; one transparent retry after a timer's step (above), each attempt on
    a transaction of its own."""
    for attempt in (1, 2):
        try:
            return instances.complete_task(db.session, task_id, data, actor)
        except ConcurrentUpdate as exc:
            transaction.start_over()
            mark = exc.details.get("mark")  # the audit log's position when the step read the case
            if mark is None or not timers.changed_by_timers_only(db.session, task_id, mark):
                raise  # an official changed the case: 「该案件刚刚已被他人办理…」 is what happened
            if instances.get_task(db.session, task_id).completed_at is not None:
                raise TaskNotReady(WITHDRAWN_BY_TIMER) from None
            logger.info("completing task %s met a timer step of its case (attempt %s); running it again",
                        task_id, attempt)
    raise ConcurrentUpdate(TIMERS_TWICE)
