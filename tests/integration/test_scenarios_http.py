"""Scenarios through HTTP: 试运行 before deploy, deploy running them (passing, ending differently and confirmed,
erroring and refused), the difference from the previous version, and a finished case's path saved as a scenario."""
from __future__ import annotations

import copy

from sqlalchemy import func, select

from engine.workflow import specs
from engine.workflow.admin import write_bundle
from engine.workflow.models import ProcessModel, ProcessScenario
from tests.conftest import PROCESSES
from tests.integration.test_process_admin import Cases, deploy_payload
from tests.processes.test_deploy import REJECTION_MESSAGE, changed

RECTIFIED = '">rectified</bpmn:conditionExpression>'


def bundled() -> specs.Bundle:
    return specs.bundle_from_directory(PROCESSES / "complaint.bpmn")


def trial_payload(bundle: specs.Bundle, scenarios: bool = True) -> dict:
    return {"bpmn_xml": bundle.bpmn_xml, "forms": bundle.forms, "dmn": bundle.dmn,
            **({"scenarios": bundled().scenarios} if scenarios else {})}


def with_scenarios(bundle: specs.Bundle, comment: str) -> dict:
    return {**deploy_payload(bundle, comment), "scenarios": bundled().scenarios}


def swapped_rectified() -> specs.Bundle:
    """整改到位 and 拒不整改 swapped on the 是否整改到位？ gateway: passes every deploy check, ends differently."""
    bundle = bundled()
    xml = bundle.bpmn_xml.replace(">rectified</bpmn:conditionExpression>", ">@@</bpmn:conditionExpression>")
    xml = xml.replace(">not rectified</bpmn:conditionExpression>", ">rectified</bpmn:conditionExpression>")
    bundle.bpmn_xml = xml.replace(">@@</bpmn:conditionExpression>", ">not rectified</bpmn:conditionExpression>")
    assert bundle.bpmn_xml != bundled().bpmn_xml
    return bundle


def counts(app) -> tuple[int, int]:  # noqa: ANN001
    from web.extensions import db

    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(ProcessModel)),
                db.session.scalar(select(func.count()).select_from(ProcessScenario)))


def by_name(runs: list[dict]) -> dict[str, dict]:
    return {run["name"]: run for run in runs}


def test_trial_run_of_the_bundled_process_passes_every_scenario_and_stores_nothing(api, app) -> None:  # noqa: ANN001
    before = counts(app)
    response = api("procadmin").post("/api/v1/processes/trial-run", json=trial_payload(bundled()))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["key"] == "complaint"
    assert body["confirmation"] == ""
    runs = by_name(body["scenarios"])
    assert len(runs) == len(bundled().scenarios)
    assert {run["status"] for run in runs.values()} == {"passed"}
    unfounded = runs["核实不属实"]
    assert unfounded["status_label"] == "通过"
    assert unfounded["actual"] == {"steps": ["screening", "verify"], "end": "end_unfounded"}
    assert unfounded["elements"][:2] == ["start", "screening"]
    assert "flow_15_gw_outcome_notify_unfounded" in unfounded["flows"]
    assert [c["operation"] for c in unfounded["calls"]] == [
        "resolve_supervisor", "notify_complainant", "record_report", "close_case"]
    assert unfounded["previous"]["end"] == "end_unfounded"  # the same on the deployed version
    assert unfounded["differs_from_previous"] is False
    assert counts(app) == before


def test_a_changed_diagram_that_ends_differently_needs_confirmation(api, app) -> None:  # noqa: ANN001
    admin = api("procadmin")
    payload = with_scenarios(swapped_rectified(), "调换整改结论")
    before = counts(app)
    trial = admin.post("/api/v1/processes/trial-run", json=trial_payload(swapped_rectified())).get_json()
    runs = by_name(trial["scenarios"])
    rectified = runs["属实，整改到位"]
    assert rectified["status"] == "changed"
    assert rectified["status_label"] == "结果与预期不同"
    assert rectified["expected"]["end"] == "end_rectified"
    assert rectified["actual"]["end"] is None
    assert rectified["waiting"] == ["confirm_breach_task"]
    assert rectified["differs_from_previous"] is True
    assert rectified["previous"]["end"] == "end_rectified"
    assert rectified["only_now"] == []
    assert "close_rectified" in rectified["only_before"]
    refused = runs["属实，拒不整改，确认违约失信并经复核同意"]
    assert refused["status"] == "changed"
    assert refused["actual"]["end"] == "end_rectified"
    assert refused["diverged"].startswith("第 6 步：流程已经结束")
    assert {"close_rectified", "end_rectified"} <= set(refused["only_now"])
    assert {"confirm_breach_task", "ndrc_review", "end_breach"} <= set(refused["only_before"])
    assert runs["核实不属实"]["status"] == "passed"
    assert trial["confirmation"]

    response = admin.post("/api/v1/processes/deploy", json=payload)
    assert response.status_code == 409, response.get_json()
    body = response.get_json()
    assert body["message"].startswith("场景「属实，整改到位」")
    assert "确认后再部署" in body["message"]
    assert body["errors"]["_scenario_confirmation"] == trial["confirmation"]
    assert by_name(body["errors"]["_scenarios"])["属实，整改到位"]["status"] == "changed"
    assert counts(app) == before  # nothing stored without confirmation

    wrong = admin.post("/api/v1/processes/deploy", json={**payload, "scenario_confirmation": "0" * 24})
    assert wrong.status_code == 409
    deployed = admin.post("/api/v1/processes/deploy",
                          json={**payload, "scenario_confirmation": trial["confirmation"]})
    assert deployed.status_code == 201, deployed.get_json()
    assert by_name(deployed.get_json()["scenarios"])["属实，整改到位"]["status"] == "changed"

    # the confirmed outcome is now what the scenario expects; the version and each scenario kept are audited
    version = deployed.get_json()["version"]
    kept = by_name(admin.get(f"/api/v1/processes/complaint/versions/{version}").get_json()["scenarios"])
    assert kept["属实，整改到位"]["expected"]["end"] is None
    assert kept["核实不属实"]["expected"]["end"] == "end_unfounded"
    again = admin.post("/api/v1/processes/trial-run", json=trial_payload(swapped_rectified(), False)).get_json()
    assert {run["status"] for run in again["scenarios"]} == {"passed"}
    assert again["confirmation"] == ""
    audit = api("sysadmin").get("/api/v1/audit?action=scenario_saved").get_json()
    assert {item["after"]["name"] for item in audit["items"]} >= {"属实，整改到位", "核实不属实"}


def test_a_scenario_that_errors_blocks_the_deploy(api, app) -> None:  # noqa: ANN001
    before = counts(app)
    bundle = changed(REJECTION_MESSAGE, "&quot;x&quot; * 10**9")  # passes the checks, fails when reached
    response = api("procadmin").post("/api/v1/processes/deploy", json=with_scenarios(bundle, "大文本"))
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["message"].startswith("场景运行出错，不能部署：场景「不予受理」运行出错：流程执行出错：")
    assert "文本或列表长度超过" in body["message"]
    runs = by_name(body["errors"]["_scenarios"])
    assert runs["不予受理"]["status"] == "error"
    assert runs["不予受理"]["status_label"] == "出错"
    assert runs["核实不属实"]["status"] == "passed"
    assert body["errors"]["_diagram"][0]["message"].startswith("场景「不予受理」运行出错")
    assert counts(app) == before


def test_an_uploaded_scenario_with_invalid_form_values_errors_in_chinese(api) -> None:  # noqa: ANN001
    scenario = copy.deepcopy(bundled().scenarios[0])
    scenario["name"] = "缺少原因"
    del scenario["steps"][0]["form"]["reason"]
    payload = {**trial_payload(bundled()), "scenarios": [scenario]}
    body = api("procadmin").post("/api/v1/processes/trial-run", json=payload).get_json()
    [run] = body["scenarios"]
    assert run["status"] == "error"
    assert run["error"].startswith("第 1 步「受理审查」的表单数据无效")
    assert "不予受理时必须选择原因" in run["error"]
    bad = api("procadmin").post("/api/v1/processes/trial-run", json={**payload, "scenarios": [{"steps": []}]})
    assert bad.status_code == 422
    assert "没有名称" in bad.get_json()["message"]


def test_a_finished_case_saved_as_a_scenario(api, app, client, login) -> None:  # noqa: ANN001
    cases = Cases(api, app, save_restore=False)
    cid = cases.start()
    cases.complete(cid, "screening", "intake", {"accepted": True})
    cases.complete(cid, "verify", "km-commerce", {"outcome": "disputed", "explanation": "双方对条款理解不一致"})
    open_instance = cases.instance(cid)
    admin = api("procadmin")
    early = admin.post(f"/api/v1/instances/{open_instance.id}/scenario", json={"name": "未办结"})
    assert early.status_code == 409
    assert "只有已办结的流程" in early.get_json()["message"]
    cases.complete(cid, "resolve_dispute", "km-drc", {"method": "mediation", "resolution": "经调解达成一致"})
    instance = cases.instance(cid)
    assert instance.status == "completed"

    saved = admin.post(f"/api/v1/instances/{instance.id}/scenario", json={"name": "调解解决分歧"})
    assert saved.status_code == 201, saved.get_json()
    scenario = saved.get_json()["scenario"]
    assert [s["task"] for s in scenario["steps"]] == ["screening", "verify", "resolve_dispute"]
    assert scenario["steps"][2]["form"] == {"method": "mediation", "resolution": "经调解达成一致"}
    assert scenario["start"]["complaint_id"] == cid
    assert scenario["expected"] == {"steps": ["screening", "verify", "resolve_dispute"], "end": "end_dispute"}
    assert saved.get_json()["run"]["status"] == "passed"
    version = max(v["version"] for p in admin.get("/api/v1/processes").get_json() if p["key"] == "complaint"
                  for v in p["versions"])
    kept = by_name(admin.get(f"/api/v1/processes/complaint/versions/{version}").get_json()["scenarios"])
    assert kept["调解解决分歧"]["expected"]["end"] == "end_dispute"
    audit = api("sysadmin").get("/api/v1/audit?action=scenario_saved").get_json()
    assert [item["after"]["source"] for item in audit["items"]] == ["case"]
    twice = admin.post(f"/api/v1/instances/{instance.id}/scenario", json={"name": "调解解决分歧"})
    assert twice.status_code == 422

    # it now runs at every deploy: a version where 有分歧 no longer ends at 分歧处理办结 needs confirmation
    bundle = changed('<bpmn:endEvent id="end_dispute" name="分歧处理办结">',
                     '<bpmn:endEvent id="end_dispute2" name="分歧处理办结">').bpmn_xml.replace(
        'targetRef="end_dispute"', 'targetRef="end_dispute2"')
    redeploy = admin.post("/api/v1/processes/deploy", json=deploy_payload(
        specs.Bundle(bundle, bundled().dmn, bundled().forms)))
    assert redeploy.status_code == 409, redeploy.get_json()
    assert redeploy.get_json()["message"].startswith("场景「调解解决分歧」在新版本上的结果与预期不同")
    assert by_name(redeploy.get_json()["errors"]["_scenarios"])["调解解决分歧"]["actual"]["end"] == "end_dispute2"

    # the page form on the process instance page, linked from the case page
    login("procadmin")
    case_page = client.get(f"/cases/{cid}").get_data(as_text=True)
    assert f'href="/processes/instances/{instance.id}#save-scenario"' in case_page
    page = client.get(f"/processes/instances/{instance.id}")
    assert "保存为场景" in page.get_data(as_text=True)
    posted = client.post(f"/processes/instances/{instance.id}/scenario", data={"name": "页面保存"},
                         follow_redirects=True)
    assert "已保存场景「页面保存」（在最新版本上：通过）" in posted.get_data(as_text=True)


def test_deploy_process_command_runs_the_scenarios_beside_the_diagram(app, bundled_model_ids, tmp_path) -> None:  # noqa: ANN001
    runner = app.test_cli_runner()
    bundle = swapped_rectified()
    bundle.scenarios = bundled().scenarios
    path = write_bundle(bundle, "complaint", tmp_path)
    assert (tmp_path / "scenarios" / "complaint.json").exists()
    refused = runner.invoke(args=["processes", "deploy", str(path), "--comment", "调换整改结论"])
    assert refused.exit_code == 2
    assert "场景「属实，整改到位」：结果与预期不同" in refused.output
    assert "场景「核实不属实」：通过" in refused.output
    token = refused.output.split("--confirm-scenarios ")[1].split()[0]
    deployed = runner.invoke(args=["processes", "deploy", str(path), "--comment", "调换整改结论",
                                   "--confirm-scenarios", token])
    assert deployed.exit_code == 0, deployed.output
    assert "已部署 complaint" in deployed.output


def test_kept_scenarios_are_listed_and_one_can_be_deleted(api, app, client, login) -> None:  # noqa: ANN001
    """A scenario kept by mistake (or describing a path the procedure gives up on purpose) is deleted by a process
    administrator: later trial runs and deploys no longer run it, and the audit log keeps what it held."""
    admin = api("procadmin")
    deployed = admin.post("/api/v1/processes/deploy", json=with_scenarios(swapped_rectified(), "带场景部署"))
    assert deployed.status_code == 409  # two bundled scenarios end differently: confirm them
    confirmed = admin.post("/api/v1/processes/deploy", json={
        **with_scenarios(swapped_rectified(), "带场景部署"),
        "scenario_confirmation": deployed.get_json()["errors"]["_scenario_confirmation"]})
    assert confirmed.status_code == 201, confirmed.get_json()
    listed = admin.get("/api/v1/processes/complaint/scenarios")
    assert listed.status_code == 200
    kept = by_name(listed.get_json())
    assert set(kept) == {s["name"] for s in bundled().scenarios}
    assert kept["核实不属实"]["source"] == "upload"
    assert kept["核实不属实"]["updated_by"] == "procadmin"
    assert kept["核实不属实"]["expected"]["end"] == "end_unfounded"
    assert kept["核实不属实"]["expected_labels"]["steps"] == ["受理审查", "核实认定"]

    headers = admin.headers
    assert client.delete("/api/v1/processes/complaint/scenarios/核实不属实",
                         headers=api("km-commerce").headers).status_code == 403
    gone = client.delete("/api/v1/processes/complaint/scenarios/核实不属实", headers=headers)
    assert gone.status_code == 204, gone.get_json()
    again = client.delete("/api/v1/processes/complaint/scenarios/核实不属实", headers=headers)
    assert again.status_code == 404
    assert again.get_json()["message"] == "流程「complaint」没有名为「核实不属实」的场景"
    assert client.get("/api/v1/processes/nonexistent/scenarios", headers=headers).status_code == 404
    assert "核实不属实" not in by_name(admin.get("/api/v1/processes/complaint/scenarios").get_json())
    trial = admin.post("/api/v1/processes/trial-run", json=trial_payload(swapped_rectified(), False)).get_json()
    assert "核实不属实" not in by_name(trial["scenarios"])  # no longer run
    audit = api("sysadmin").get("/api/v1/audit?action=scenario_deleted").get_json()
    [event] = audit["items"]
    assert event["before"]["name"] == "核实不属实"
    assert event["before"]["expected"]["end"] == "end_unfounded"  # what it held stays readable

    # the page: the list with each scenario's expected end, and 删除 with a confirmation
    login("procadmin")
    page = client.get("/processes/complaint/scenarios")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-scenario="不予受理"' in html
    assert 'data-scenario="核实不属实"' not in html
    assert "受理审查 → 核实认定" in html
    assert "结束于「" in html
    assert "删除此场景" in html
    posted = client.post("/processes/complaint/scenarios/delete", data={"name": "不予受理"})
    assert posted.status_code == 303
    shown = client.get(posted.headers["Location"]).get_data(as_text=True)
    assert "已删除场景「不予受理」" in shown
    missing = client.post("/processes/complaint/scenarios/delete", data={"name": "不存在的场景"}, follow_redirects=True)
    assert "没有名为「不存在的场景」的场景" in missing.get_data(as_text=True)
    login("km-commerce")
    assert client.get("/processes/complaint/scenarios").status_code == 403
