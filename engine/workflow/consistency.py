"""Do an instance's saved state, its inbox rows, its case history and the audit log tell the same story?

Each step writes all four in one transaction, so after a crash (or under load) every case must be wholly
before or wholly after each step. This checks that from the database alone:

- the READY user tasks of the saved workflow are exactly the open `human_task` rows of the instance
  (instances that are still open; a completed instance has neither);
- every task row completed by an official (`outcome='completed'`) is no longer READY in the saved state;
  a task has one `task_completed` audit event per completion: its own, plus one per completion an
  administrator moved back (退回, recorded in the `task_moved_back` audit event; the row is kept as
  `outcome='moved_back'` under a new key) — so an open row has only those;
- each case has one `task_completed` history line per completed or moved-back row.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.audit.models import AuditEvent
from engine.workflow.instances import load_workflow
from engine.workflow.models import HumanTask, ProcessInstance
from engine.workflow.registry import subjects
from engine.workflow.repair import MOVED_BACK

OPEN_STATUSES = ("running", "paused", "suspended", "error")
DONE_BY_OFFICIAL = ("completed", MOVED_BACK)


@dataclass
class Report:
    """What was checked and every disagreement found (instance id → problems, case id → problems)."""

    instances: int = 0
    tasks: int = 0
    completed: int = 0
    instance_problems: dict[int, list[str]] = field(default_factory=dict)
    case_problems: dict[int, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.instance_problems and not self.case_problems

    def lines(self) -> list[str]:
        return ([f"实例 {i}：{p}" for i, ps in sorted(self.instance_problems.items()) for p in ps]
                + [f"案件 {c}：{p}" for c, ps in sorted(self.case_problems.items()) for p in ps])


def check(session: Session, instance_ids: list[int] | None = None, batch: int = 200) -> Report:
    """Check the given instances (all when None) and the cases they belong to."""
    report = Report()
    audited = Counter(dict(session.execute(
        select(AuditEvent.object_id, func.count()).where(AuditEvent.action == "task_completed")
        .group_by(AuditEvent.object_id)).all()))
    moved_back = _moved_back_completions(session)
    ids = instance_ids if instance_ids is not None else list(
        session.scalars(select(ProcessInstance.id).order_by(ProcessInstance.id)))
    completed_per_case: Counter[int] = Counter()
    cases: set[int] = set()
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        rows: dict[int, list[HumanTask]] = {}
        for row in session.scalars(select(HumanTask).where(HumanTask.instance_id.in_(chunk))):
            rows.setdefault(row.instance_id, []).append(row)
        for instance in session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(chunk))):
            problems = _check_instance(instance, rows.get(instance.id, []), audited, moved_back)
            report.instances += 1
            report.tasks += len(rows.get(instance.id, []))
            done = sum(1 for r in rows.get(instance.id, []) if r.outcome in DONE_BY_OFFICIAL)
            report.completed += done
            if instance.subject_id is not None:
                cases.add(instance.subject_id)
                completed_per_case[instance.subject_id] += done
            if problems:
                report.instance_problems[instance.id] = problems
    if instance_ids is None and cases:
        history = Counter(subjects().count_notes(session, "task_completed"))
        for case_id in sorted(cases):
            if history[case_id] != completed_per_case[case_id]:
                report.case_problems[case_id] = [
                    f"办理记录 {history[case_id]} 条，已办理任务 {completed_per_case[case_id]} 项，二者不符"]
    return report


def _moved_back_completions(session: Session) -> Counter[str]:
    """Task id → how many of its completions administrators moved back (each kept as a `moved_back` row)."""
    moved: Counter[str] = Counter()
    for before in session.scalars(select(AuditEvent.before).where(AuditEvent.action == "task_moved_back")):
        if isinstance(before, dict) and before.get("kept_outcome") == MOVED_BACK and before.get("task_id"):
            moved[str(before["task_id"])] += 1
    return moved


def _check_instance(instance: ProcessInstance, rows: list[HumanTask], audited: Counter,
                    moved_back: Counter[str]) -> list[str]:
    problems: list[str] = []
    try:
        workflow = load_workflow(instance)
    except Exception as exc:  # a state that does not load is itself the finding
        return [f"流程状态无法载入：{type(exc).__name__}: {exc}"]
    ready = {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    open_rows = {r.id for r in rows if r.completed_at is None}
    if instance.status in OPEN_STATUSES and ready != open_rows:
        problems.append(f"流程中待办任务 {sorted(ready)} 与待办表 {sorted(open_rows)} 不一致")
    if instance.status == "completed" and (ready or open_rows):
        problems.append(f"流程已办结，但仍有待办任务 {sorted(ready | open_rows)}")
    for row in rows:
        count, earlier = audited.get(row.id, 0), moved_back.get(row.id, 0)
        if row.outcome == "completed":
            task = workflow.get_task_from_id(UUID(row.id))
            if task is not None and task.state == TaskState.READY:
                problems.append(f"任务 {row.id}（{row.spec_name}）已记为办理完毕，流程中却仍待办理")
            if count != 1 + earlier:
                problems.append(f"任务 {row.id}（{row.spec_name}）的办理审计记录有 {count} 条，应为 {1 + earlier} 条")
        elif row.completed_at is None and count > earlier:
            problems.append(f"任务 {row.id}（{row.spec_name}）尚未办理，却有 {count - earlier} 条办理审计记录")
        elif row.completed_at is None and count < earlier:
            problems.append(f"任务 {row.id}（{row.spec_name}）被退回 {earlier} 次，办理审计记录却只有 {count} 条")
    return problems
