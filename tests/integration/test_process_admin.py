"""Process administration through the HTTP API: versions, deploy (with foreign diagrams), migration, repair."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.workflow import jobs as workflow_jobs
from engine.workflow import specs
from engine.workflow.models import ProcessInstance
from tests.conftest import COMPLAINT
from tests.processes.variants import with_legal_review

FOREIGN = Path(__file__).resolve().parent.parent / "processes" / "data" / "foreign"
VERIFY = {"outcome": "unfounded", "explanation": "协议已履行完毕"}


def deploy_payload(bundle: specs.Bundle, comment: str = "") -> dict:
    return {"bpmn_xml": bundle.bpmn_xml, "forms": bundle.forms, "dmn": bundle.dmn, "comment": comment}


class Cases:
    """Start and step cases through the API; with `save_restore`, parsed specs are dropped between steps."""

    def __init__(self, api, app, save_restore: bool) -> None:  # noqa: ANN001
        self.api, self.app, self.save_restore = api, app, save_restore

    def start(self) -> int:
        created = self.api("intake").post("/api/v1/complaints", json=COMPLAINT)
        assert created.status_code == 201, created.get_json()
        self._step()
        return created.get_json()["id"]

    def task(self, cid: int, username: str) -> dict:
        body = self.api(username).get(f"/api/v1/tasks?complaint_id={cid}").get_json()
        assert body["total"] == 1, body
        return body["items"][0]

    def complete(self, cid: int, spec_name: str, username: str, data: dict, status: int = 200) -> dict:
        task = self.task(cid, username)
        assert task["spec_name"] == spec_name
        response = self.api(username).post(f"/api/v1/tasks/{task['id']}/complete", json=data)
        assert response.status_code == status, response.get_json()
        self._step()
        return response.get_json()

    def instance(self, cid: int) -> ProcessInstance:
        from web.extensions import db

        with self.app.app_context():
            found = db.session.scalar(select(ProcessInstance).where(ProcessInstance.subject_id == cid))
            db.session.expunge(found)
            return found

    def status(self, cid: int) -> str:
        return self.api("intake").get(f"/api/v1/complaints/{cid}").get_json()["status"]

    def _step(self) -> None:
        if self.save_restore:
            specs._SPEC_CACHE.clear()


def versions(api) -> dict[int, dict]:  # noqa: ANN001
    body = api("procadmin").get("/api/v1/processes").get_json()
    [complaint] = [p for p in body if p["key"] == "complaint"]
    return {v["version"]: v for v in complaint["versions"]}


@pytest.mark.parametrize("save_restore", [False, True], ids=["plain", "save-restore"])
def test_new_version_with_legal_review_while_old_cases_finish_on_theirs(api, app, save_restore: bool) -> None:  # noqa: ANN001
    cases = Cases(api, app, save_restore)
    admin = api("procadmin")
    old_case = cases.start()
    v1 = max(versions(api))

    deployed = admin.post("/api/v1/processes/deploy", json=deploy_payload(with_legal_review(), "增加法律审核"))
    assert deployed.status_code == 201, deployed.get_json()
    assert deployed.get_json()["version"] == v1 + 1
    assert deployed.get_json()["created"]
    again = admin.post("/api/v1/processes/deploy", json=deploy_payload(with_legal_review(), "再次提交"))
    assert (again.status_code, again.get_json()["version"]) == (200, v1 + 1)

    listed = versions(api)
    assert listed[v1 + 1]["comment"] == "增加法律审核"
    assert listed[v1 + 1]["deployed_by"] == "procadmin"
    assert listed[v1]["open_cases"] >= 1
    exported = admin.get(f"/api/v1/processes/complaint/versions/{v1 + 1}").get_json()
    assert "legal_review" in exported["bpmn_xml"]
    assert "legal_review.json" in exported["forms"]

    new_case = cases.start()
    cases.complete(new_case, "screening", "intake", {"accepted": True})
    cases.complete(new_case, "verify", "km-commerce", VERIFY)
    legal = cases.task(new_case, "ndrc")
    assert (legal["spec_name"], legal["title"], legal["lane"]) == ("legal_review", "法律审核", "ndrc")
    cases.complete(new_case, "legal_review", "ndrc", {"opinion": "同意核实结论"})
    assert cases.status(new_case) == "closed"

    cases.complete(old_case, "screening", "intake", {"accepted": True})
    cases.complete(old_case, "verify", "km-commerce", VERIFY)
    assert cases.status(old_case) == "closed"  # finished on the old version, without the legal review
    assert cases.instance(old_case).model_id == listed[v1]["id"]


@pytest.mark.parametrize("save_restore", [False, True], ids=["plain", "save-restore"])
def test_bulk_migration_with_one_case_refused_and_explained(api, app, save_restore: bool) -> None:  # noqa: ANN001
    cases = Cases(api, app, save_restore)
    admin = api("procadmin")
    v1 = versions(api)[max(versions(api))]
    v2 = admin.post("/api/v1/processes/deploy", json=deploy_payload(with_legal_review())).get_json()
    at_legal = cases.start()
    cases.complete(at_legal, "screening", "intake", {"accepted": True})
    cases.complete(at_legal, "verify", "km-commerce", VERIFY)
    at_verify = cases.start()
    cases.complete(at_verify, "screening", "intake", {"accepted": True})
    ids = [cases.instance(at_legal).id, cases.instance(at_verify).id]
    body = {"source": v2["id"], "target": v1["id"], "instance_ids": ids}

    preview = admin.post("/api/v1/migrations/preview", json=body)
    assert preview.status_code == 200, preview.get_json()
    items = {i["complaint_id"]: i for i in preview.get_json()["items"]}
    assert not items[at_legal]["can_migrate"]
    assert "当前步骤「法律审核」在目标版本中不存在" in items[at_legal]["reason"]
    assert items[at_verify]["can_migrate"]
    assert "核实认定" in items[at_verify]["current"]
    assert cases.instance(at_verify).model_id == v2["id"]

    unconfirmed = admin.post("/api/v1/migrations", json=body)
    assert unconfirmed.status_code == 422
    assert "迁移前须先预览并确认" in unconfirmed.get_json()["errors"]["confirmations"]
    assert cases.instance(at_verify).model_id == v2["id"]
    confirmed = [i["confirmation"] for i in preview.get_json()["items"] if i["can_migrate"]]
    done = admin.post("/api/v1/migrations", json={**body, "confirmations": confirmed}).get_json()
    assert (done["migrated"], done["refused"]) == (1, 1)
    assert cases.instance(at_verify).model_id == v1["id"]
    assert cases.instance(at_legal).model_id == v2["id"]
    history = api("intake").get(f"/api/v1/complaints/{at_verify}").get_json()["history"]
    migrated = [e for e in history if e["kind"] == "process_migrated"]
    assert [(e["summary"], e["actor"]) for e in migrated] == [
        (f"流程版本迁移：v{v2['version']} → v{v1['version']}", migrated[0]["actor"])]
    assert "赵流程" in migrated[0]["actor"]
    refused_history = api("intake").get(f"/api/v1/complaints/{at_legal}").get_json()["history"]
    assert [e for e in refused_history if e["kind"] == "process_migrated"] == []
    cases._step()

    cases.complete(at_verify, "verify", "km-commerce", VERIFY)  # v1 has no legal review
    assert cases.status(at_verify) == "closed"
    cases.complete(at_legal, "legal_review", "ndrc", {"opinion": "同意"})
    assert cases.status(at_legal) == "closed"


@pytest.mark.parametrize("save_restore", [False, True], ids=["plain", "save-restore"])
def test_migration_rearms_the_current_steps_timers_as_the_target_defines_them(api, app, save_restore: bool) -> None:  # noqa: ANN001
    from datetime import datetime, timedelta

    from tests.processes.variants import bundled, with_boundary_timer, without_boundary_event
    from web.extensions import db

    cases = Cases(api, app, save_restore)
    admin = api("procadmin")
    v1 = versions(api)[max(versions(api))]
    cid = cases.start()
    cases.complete(cid, "screening", "intake", {"accepted": True})
    verify = cases.task(cid, "km-commerce")
    bundle = with_boundary_timer(without_boundary_event(bundled(), "verify_reminder"), "verify", "verify_escalate",
                                 "核实认定逾期通报", 'limit("verify")')
    v2 = admin.post("/api/v1/processes/deploy", json=deploy_payload(bundle, "核实逾期时通报省发展改革委")).get_json()
    body = {"source": v1["id"], "target": v2["id"], "instance_ids": [cases.instance(cid).id]}

    [item] = admin.post("/api/v1/migrations/preview", json=body).get_json()["items"]
    assert item["can_migrate"], item
    timers_after = {t["name"]: t for t in item["timers"]}
    assert {name: (t["step"], t["change"], t["late"]) for name, t in timers_after.items()} == {
        "核实认定逾期通报": ("核实认定", "added", False), "核实认定逾期": ("核实认定", "kept", False),
        "核实期限届满前3个工作日": ("核实认定", "removed", False)}
    due = datetime.fromisoformat(verify["due_at"])
    assert datetime.fromisoformat(timers_after["核实认定逾期通报"]["due"]) == due  # from the step's start
    assert timers_after["核实认定逾期通报"]["change_label"] == "新增，自该步骤开始时计算"

    done = admin.post("/api/v1/migrations", json={**body, "confirmations": [item["confirmation"]]}).get_json()
    assert (done["migrated"], done["refused"]) == (1, 0)
    assert done["items"][0]["timers"] == item["timers"]
    history = api("intake").get(f"/api/v1/complaints/{cid}").get_json()["history"]
    [rearmed] = [e["summary"] for e in history if e["kind"] == "timers_rearmed"]
    assert "「核实认定」的定时器「核实认定逾期通报」新增，自该步骤开始时起算" in rearmed
    assert "「核实认定」的定时器「核实期限届满前3个工作日」目标版本已删除，不再触发" in rearmed
    cases._step()

    with app.app_context():  # the scheduler's tick when the step's time limit runs out
        assert workflow_jobs.tick(db.session, now=due + timedelta(minutes=1)) == 1
    history = api("intake").get(f"/api/v1/complaints/{cid}").get_json()["history"]
    summaries = [e["summary"] for e in history]
    assert any(s.startswith("核实认定逾期通报（已通知") for s in summaries), summaries
    assert not any(s.startswith("核实认定期限即将届满") for s in summaries)  # the removed reminder never fired
    cases.complete(cid, "verify", "km-commerce", VERIFY)
    assert cases.status(cid) == "closed"


def test_suspend_blocks_completion_until_resumed(api, app) -> None:  # noqa: ANN001
    cases = Cases(api, app, False)
    admin = api("procadmin")
    cid = cases.start()
    instance_id = cases.instance(cid).id
    assert admin.post(f"/api/v1/instances/{instance_id}/suspend", json={}).status_code == 422
    suspended = admin.post(f"/api/v1/instances/{instance_id}/suspend", json={"reason": "数据核查"})
    assert suspended.get_json()["status"] == "suspended"
    refused = cases.complete(cid, "screening", "intake", {"accepted": True}, status=409)
    assert "挂起" in refused["message"]
    assert admin.post(f"/api/v1/instances/{instance_id}/retry", json={"reason": "试试"}).status_code == 409
    resumed = admin.post(f"/api/v1/instances/{instance_id}/resume", json={"reason": "核查完毕"})
    assert resumed.get_json()["status"] == "running"
    cases.complete(cid, "screening", "intake", {"accepted": True})


def test_retry_clears_the_error_of_a_failed_instance(api, app) -> None:  # noqa: ANN001
    from web.extensions import db

    cases = Cases(api, app, False)
    cid = cases.start()
    instance_id = cases.instance(cid).id
    with app.app_context():
        instance = db.session.get(ProcessInstance, instance_id)
        instance.status, instance.error = "error", "服务操作失败（测试）"
        db.session.commit()
    retried = api("procadmin").post(f"/api/v1/instances/{instance_id}/retry", json={"reason": "外部系统已恢复"})
    assert retried.status_code == 200, retried.get_json()
    assert (retried.get_json()["status"], retried.get_json()["error"]) == ("running", None)
    cases.complete(cid, "screening", "intake", {"accepted": True})


@pytest.mark.parametrize("path", ["/api/v1/processes", "/api/v1/processes/complaint/versions/1"])
def test_only_process_administrators(api, path: str) -> None:  # noqa: ANN001
    assert api("ndrc").get(path).status_code == 403
    assert api("km-commerce").post("/api/v1/processes/deploy", json={"bpmn_xml": "<x/>"}).status_code == 403
    assert api("intake").post("/api/v1/migrations/preview", json={"source": 1, "target": 2}).status_code == 403
    assert api("intake").post("/api/v1/instances/1/suspend", json={"reason": "x"}).status_code == 403
    assert api("sysadmin").get(path).status_code == 200


FOREIGN_EXPECTED = {
    "camunda_invoice.bpmn": ["没有指定表单", "表达式语法错误", "没有指定服务操作"],
    "legal_lane.bpmn": ["Lane_legal（Legal） 的名称不是已知角色", "表单 review.json 不存在"],
    "signavio_export.bpmn": ["sid-lane-1（法务部） 的名称不是已知角色", "没有指定表单"],
    "bad_timer.bpmn": ["未定义的名称「PT5M」", "不是ISO 8601 日期时间"],
    "uses_open.bpmn": ["不允许使用名称「open」"],
    "not_bpmn.svg": ["没有流程"],
    "not_xml.txt": ["不是有效的 XML"],
}


@pytest.mark.parametrize("name", sorted(FOREIGN_EXPECTED))
def test_foreign_diagrams_get_a_list_of_problems_never_a_500(api, name: str) -> None:  # noqa: ANN001
    xml = (FOREIGN / name).read_text(encoding="utf-8")
    response = api("procadmin").post("/api/v1/processes/deploy", json={"bpmn_xml": xml, "comment": name})
    assert response.status_code == 422, response.get_json()
    problems = response.get_json()["errors"]["_diagram"]
    assert all(set(p) == {"element", "message"} for p in problems)
    text = "\n".join(p["message"] for p in problems)
    for expected in FOREIGN_EXPECTED[name]:
        assert expected in text, text


def test_a_non_executable_bpmn_io_sketch_is_explained(api) -> None:  # noqa: ANN001
    xml = (FOREIGN / "bpmnio_minimal.bpmn").read_text(encoding="utf-8")
    response = api("procadmin").post("/api/v1/processes/deploy", json={"bpmn_xml": xml, "comment": "bpmn.io"})
    assert response.status_code == 422, response.get_json()
    [problem] = response.get_json()["errors"]["_diagram"]
    assert problem["element"] == "Process_1"
    assert problem["message"].startswith("流程解析失败")


def test_an_executable_bpmn_io_diagram_without_tasks_to_configure_deploys(api) -> None:  # noqa: ANN001
    xml = (FOREIGN / "bpmnio_minimal.bpmn").read_text(encoding="utf-8").replace(
        'isExecutable="false"', 'isExecutable="true"')
    response = api("procadmin").post("/api/v1/processes/deploy", json={"bpmn_xml": xml, "comment": "bpmn.io"})
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["key"], response.get_json()["version"]) == ("Process_1", 1)


def test_malformed_forms_in_an_upload_are_problems(api) -> None:  # noqa: ANN001
    bundle = with_legal_review()
    payload = deploy_payload(bundle)
    payload["forms"]["legal_review.json"] = "{not json"
    response = api("procadmin").post("/api/v1/processes/deploy", json=payload)
    assert response.status_code == 422
    assert "legal_review.json 不是有效的 JSON" in response.get_json()["errors"]["_diagram"][0]["message"]


def test_export_and_deploy_from_the_command_line(app, api, tmp_path: Path) -> None:  # noqa: ANN001
    runner = app.test_cli_runner()
    current = max(versions(api))
    exported = runner.invoke(args=["processes", "export", "complaint", str(current), str(tmp_path)])
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "complaint.bpmn").exists()
    assert (tmp_path / "forms" / "verify.json").exists()
    assert list((tmp_path / "decisions").glob("*.dmn"))

    same = runner.invoke(args=["processes", "deploy", str(tmp_path / "complaint.bpmn")])
    assert same.exit_code == 0, same.output
    assert "未新增版本" in same.output

    path = tmp_path / "complaint.bpmn"
    path.write_text(with_legal_review().bpmn_xml, encoding="utf-8")
    missing_form = runner.invoke(args=["processes", "deploy", str(path)])
    assert missing_form.exit_code == 2
    assert "legal_review.json 不存在" in missing_form.output
    (tmp_path / "forms" / "legal_review.json").write_text(
        json.dumps(with_legal_review().forms["legal_review.json"], ensure_ascii=False), encoding="utf-8")
    deployed = runner.invoke(args=["processes", "deploy", str(path), "--comment", "增加法律审核", "--by", "procadmin"])
    assert deployed.exit_code == 0, deployed.output
    assert f"第 {current + 1} 版" in deployed.output
    assert versions(api)[current + 1]["comment"] == "增加法律审核"
    listed = runner.invoke(args=["processes", "list"])
    assert "增加法律审核" in listed.output


def test_process_pages_for_administrators_only(app, api, client, demo_password: str) -> None:  # noqa: ANN001
    current = max(versions(api))

    def sign_in(username: str) -> None:
        client.post("/logout")
        assert client.post("/login", data={"username": username, "password": demo_password}).status_code == 302

    sign_in("ndrc")
    assert client.get("/processes/").status_code == 403
    sign_in("procadmin")
    page = client.get("/processes/").get_data(as_text=True)
    assert "政府违约失信投诉处置" in page
    assert f'href="/processes/complaint/versions/{current}/edit"' in page
    modeler = client.get(f"/processes/complaint/versions/{current}/edit")
    assert modeler.status_code == 200
    html = modeler.get_data(as_text=True)
    assert f'data-version-url="/api/v1/processes/complaint/versions/{current}"' in html
    assert "bpmn-modeler.production.min.js" in html
    assert "js/process-modeler.js" in html
    assert "js/process-panel.js" in html
    assert 'data-catalog-url="/api/v1/process-catalog"' in html
    assert "<script>" not in html
    assert client.get("/processes/complaint/versions/999/edit").status_code == 404
    assert client.get("/processes/new").status_code == 200
    client.post("/logout")
