"""`check-consistency`: state, inbox rows, history and audit agree; each kind of disagreement is named."""
from __future__ import annotations

from sqlalchemy import delete, select

from engine.audit import services as audit
from engine.cases.models import CaseEvent
from engine.workflow import consistency
from engine.workflow.models import HumanTask
from tests.conftest import COMPLAINT


def _two_steps(api) -> int:  # noqa: ANN001
    intake = api("intake")
    cid = intake.post("/api/v1/complaints", json=COMPLAINT).get_json()["id"]
    task = intake.get(f"/api/v1/tasks?complaint_id={cid}").get_json()["items"][0]
    assert intake.post(f"/api/v1/tasks/{task['id']}/complete", json={"accepted": True}).status_code == 200
    supervisor = api("km-commerce")
    task = supervisor.get(f"/api/v1/tasks?complaint_id={cid}").get_json()["items"][0]
    done = supervisor.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "founded", "explanation": "属实"})
    assert done.status_code == 200
    return cid


def test_cases_walked_through_the_api_are_consistent(app, api) -> None:  # noqa: ANN001
    from web.extensions import db

    for _ in range(2):
        _two_steps(api)
    with app.app_context():
        report = consistency.check(db.session)
    assert report.ok, report.lines()
    assert (report.instances, report.tasks, report.completed) == (2, 6, 4)
    result = app.test_cli_runner().invoke(args=["check-consistency"])
    assert result.exit_code == 0, result.output
    assert "一致：检查流程实例 2 个、任务 6 项（已办理 4 项）" in result.output


def test_each_disagreement_is_named(app, api) -> None:  # noqa: ANN001
    from web.extensions import db

    cid = _two_steps(api)
    with app.app_context():
        open_task = db.session.scalar(select(HumanTask).where(HumanTask.subject_id == cid,
                                                              HumanTask.completed_at.is_(None)))
        screening = db.session.scalar(select(HumanTask).where(HumanTask.subject_id == cid,
                                                              HumanTask.spec_name == "screening"))
        db.session.execute(delete(HumanTask).where(HumanTask.id == open_task.id))  # a lost inbox row
        audit.record(db.session, "task_completed", "test", "human_task", screening.id)  # applied twice?
        history = db.session.scalar(select(CaseEvent.id).where(CaseEvent.complaint_id == cid,
                                                               CaseEvent.kind == "task_completed").limit(1))
        db.session.execute(delete(CaseEvent).where(CaseEvent.id == history))  # a lost history line
        db.session.commit()
        report = consistency.check(db.session)
    assert not report.ok
    text = "\n".join(report.lines())
    assert "与待办表 [] 不一致" in text
    assert f"任务 {screening.id}（screening）的办理审计记录有 2 条，应为 1 条" in text
    assert f"案件 {cid}：办理记录 1 条，已办理任务 2 项，二者不符" in text
    result = app.test_cli_runner().invoke(args=["check-consistency", "--complaint-id", str(cid)])
    assert result.exit_code == 1
    assert "不一致" in result.output
