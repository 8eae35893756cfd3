"""Failing steps put the case in `error` (never a 500, never lost); administrators retry, skip, move back (退回).

Through the HTTP API, each process test plain and with the parsed specs dropped between steps (save/restore).
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.test_process_admin import VERIFY, Cases, deploy_payload
from tests.processes import variants


@pytest.fixture
def platform() -> Iterator[dict]:
    variants.PLATFORM["up"] = True
    yield variants.PLATFORM
    variants.PLATFORM["up"] = True


def detail(api, instance_id: int) -> dict:  # noqa: ANN001
    response = api("procadmin").get(f"/api/v1/instances/{instance_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def step_id(body: dict, kind: str, name: str) -> str:
    [found] = [s["id"] for s in body[kind] if s["name"] == name]
    return found


@pytest.mark.parametrize("save_restore", [False, True], ids=["plain", "save-restore"])
def test_a_failing_service_operation_parks_the_case_in_error_until_retried(
        api, app, client, platform: dict, save_restore: bool, demo_password: str) -> None:  # noqa: ANN001
    cases = Cases(api, app, save_restore)
    admin = api("procadmin")
    assert admin.post("/api/v1/processes/deploy", json=deploy_payload(variants.with_flaky_report())).status_code == 201
    cid = cases.start()
    cases.complete(cid, "screening", "intake", {"accepted": True})
    platform["up"] = False
    cases.complete(cid, "verify", "km-commerce", VERIFY)  # 200: what the official submitted is kept
    instance_id = cases.instance(cid).id

    body = detail(api, instance_id)
    assert body["status"] == "error"
    assert "步骤「报送外部平台」执行出错" in body["error"]
    assert "外部平台不可用（连接超时）" in body["error"]
    assert [(s["name"], s["state"], s["can_skip"]) for s in body["current"]] == [("报送外部平台", "出错", True)]
    assert [e["action"] for e in body["log"]] == ["step_failed"]
    history = api("intake").get(f"/api/v1/complaints/{cid}").get_json()["history"]
    assert any(e["kind"] == "step_failed" and "外部平台不可用" in e["summary"] for e in history)
    assert not any(e["summary"] == "报送外部平台：开始" for e in history)  # the failed operation's own row is gone
    listed = admin.get("/api/v1/processes").get_json()
    assert any(v["by_status"].get("error") == 1 for p in listed for v in p["versions"])

    client.post("/login", data={"username": "procadmin", "password": demo_password})
    page = client.get(f"/cases/{cid}").get_data(as_text=True)
    assert "流程执行出错" in page
    assert "外部平台不可用（连接超时）" in page
    admin_page = client.get(f"/processes/instances/{instance_id}").get_data(as_text=True)
    assert "外部平台不可用（连接超时）" in admin_page
    assert "重试" in admin_page
    client.post("/logout")

    cases._step()
    still = admin.post(f"/api/v1/instances/{instance_id}/retry", json={"reason": "再试一次"})
    assert still.status_code == 409
    assert "重试仍然失败" in still.get_json()["message"]
    assert detail(api, instance_id)["status"] == "error"

    platform["up"] = True
    retried = admin.post(f"/api/v1/instances/{instance_id}/retry", json={"reason": "平台已恢复"})
    assert retried.status_code == 200, retried.get_json()
    assert (retried.get_json()["status"], retried.get_json()["error"]) == ("completed", None)
    assert cases.status(cid) == "closed"
    log = detail(api, instance_id)["log"]
    assert [e["action"] for e in log] == ["step_failed", "instance_retried"]
    assert log[1]["before"]["position"] == ["报送外部平台（出错）"]
    assert log[1]["after"]["reason"] == "平台已恢复"


@pytest.mark.parametrize("save_restore", [False, True], ids=["plain", "save-restore"])
def test_skip_a_failed_operation(api, app, platform: dict, save_restore: bool) -> None:  # noqa: ANN001
    cases = Cases(api, app, save_restore)
    admin = api("procadmin")
    admin.post("/api/v1/processes/deploy", json=deploy_payload(variants.with_flaky_report()))
    cid = cases.start()
    cases.complete(cid, "screening", "intake", {"accepted": True})
    platform["up"] = False
    cases.complete(cid, "verify", "km-commerce", VERIFY)
    instance_id = cases.instance(cid).id
    failed = step_id(detail(api, instance_id), "current", "报送外部平台")
    cases._step()

    skipped = admin.post(f"/api/v1/instances/{instance_id}/skip", json={"task_id": failed, "reason": "平台停用，改为线下报送"})
    assert skipped.status_code == 200, skipped.get_json()
    assert skipped.get_json()["status"] == "completed"
    assert cases.status(cid) == "closed"
    [entry] = [e for e in detail(api, instance_id)["log"] if e["action"] == "task_skipped"]
    assert entry["before"]["status"] == "error"
    assert entry["before"]["position"] == ["报送外部平台（出错）"]
    assert entry["before"]["data"]["outcome"] == "unfounded"
    assert entry["after"]["status"] == "completed"


@pytest.mark.parametrize("save_restore", [False, True], ids=["plain", "save-restore"])
def test_skip_a_user_task_then_move_back_to_it(api, app, save_restore: bool) -> None:  # noqa: ANN001
    cases = Cases(api, app, save_restore)
    admin = api("procadmin")
    cid = cases.start()
    cases.complete(cid, "screening", "intake", {"accepted": True})
    instance_id = cases.instance(cid).id
    body = detail(api, instance_id)
    verify = step_id(body, "current", "核实认定")
    assert [s["name"] for s in body["earlier"]] == ["受理审查"]
    cases._step()

    # skipping verification leaves `outcome` empty: no branch of the next gateway applies → error, not a 500
    skipped = admin.post(f"/api/v1/instances/{instance_id}/skip", json={"task_id": verify, "reason": "测试跳过"})
    assert skipped.status_code == 200, skipped.get_json()
    assert skipped.get_json()["status"] == "error"
    assert api("km-commerce").get(f"/api/v1/tasks?complaint_id={cid}").get_json()["total"] == 0
    cases._step()

    body = detail(api, instance_id)
    assert "核实认定" in [s["name"] for s in body["earlier"]]
    back = admin.post(f"/api/v1/instances/{instance_id}/move-back",
                      json={"task_id": step_id(body, "earlier", "核实认定"), "reason": "跳过有误，退回认定部门重新核实"})
    assert back.status_code == 200, back.get_json()
    assert (back.get_json()["status"], back.get_json()["error"]) == ("running", None)
    cases._step()

    log = detail(api, instance_id)["log"]
    moved = log[-1]
    assert moved["action"] == "task_moved_back"
    assert moved["before"]["status"] == "error"
    assert moved["before"]["data"]["outcome"] is None
    assert moved["after"]["position"][0] == "核实认定（待办）"
    assert "outcome" not in moved["after"]["data"]  # the data the case had before verification
    assert moved["after"]["reason"] == "跳过有误，退回认定部门重新核实"
    history = api("intake").get(f"/api/v1/complaints/{cid}").get_json()["history"]
    assert any(e["kind"] == "task_moved_back" and "退回到「核实认定」" in e["summary"] for e in history)

    cases.complete(cid, "verify", "km-commerce", VERIFY)  # back in the department's inbox
    assert cases.status(cid) == "closed"
    assert_consistent(app)  # the skipped verification row is kept beside the one completed after moving back


@pytest.mark.parametrize("save_restore", [False, True], ids=["plain", "save-restore"])
def test_move_back_from_a_later_step_to_screening(api, app, save_restore: bool) -> None:  # noqa: ANN001
    cases = Cases(api, app, save_restore)
    cid = cases.start()
    cases.complete(cid, "screening", "intake", {"accepted": True})
    instance_id = cases.instance(cid).id
    screening = step_id(detail(api, instance_id), "earlier", "受理审查")
    cases._step()
    back = api("procadmin").post(f"/api/v1/instances/{instance_id}/move-back",
                                 json={"task_id": screening, "reason": "受理材料需补正"})
    assert back.status_code == 200, back.get_json()
    assert api("km-commerce").get(f"/api/v1/tasks?complaint_id={cid}").get_json()["total"] == 0
    assert_consistent(app, cid)  # the first screening's row is kept (moved back), beside the new one
    cases.complete(cid, "screening", "intake", {"accepted": True})  # screening again, then verification
    assert_consistent(app, cid)  # two completions of screening: two rows, two history lines, two audit events
    cases.complete(cid, "verify", "km-commerce", VERIFY)
    assert cases.status(cid) == "closed"
    assert_consistent(app, cid)
    assert_consistent(app)


def assert_consistent(app, cid: int | None = None) -> None:  # noqa: ANN001
    args = ["check-consistency"] + (["--complaint-id", str(cid)] if cid else [])
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("一致"), result.output


def test_repair_actions_refuse_what_does_not_fit(api, app) -> None:  # noqa: ANN001
    cases = Cases(api, app, False)
    admin = api("procadmin")
    cid = cases.start()
    instance_id = cases.instance(cid).id
    body = detail(api, instance_id)
    screening = step_id(body, "current", "受理审查")
    url = f"/api/v1/instances/{instance_id}"
    assert admin.post(f"{url}/skip", json={"task_id": screening}).status_code == 422  # no reason
    assert admin.post(f"{url}/skip", json={"task_id": screening, "reason": " "}).status_code == 422
    not_done = admin.post(f"{url}/move-back", json={"task_id": screening, "reason": "x"})
    assert not_done.status_code == 409
    assert "只能退回到已办理的人工步骤" in not_done.get_json()["message"]
    unknown = admin.post(f"{url}/skip", json={"task_id": "not-a-uuid", "reason": "x"})
    assert unknown.status_code == 404
    assert admin.post(f"{url}/suspend", json={"reason": "核查"}).status_code == 200
    suspended = admin.post(f"{url}/skip", json={"task_id": screening, "reason": "x"})
    assert suspended.status_code == 409
    assert "请先恢复" in suspended.get_json()["message"]
    assert api("ndrc").post(f"{url}/skip", json={"task_id": screening, "reason": "x"}).status_code == 403
    assert api("ndrc").get(url).status_code == 403
    assert admin.get("/api/v1/instances/999999").status_code == 404


def test_repair_buttons_on_the_instance_page(api, app, client, demo_password: str) -> None:  # noqa: ANN001
    cases = Cases(api, app, False)
    cid = cases.start()
    cases.complete(cid, "screening", "intake", {"accepted": True})
    instance_id = cases.instance(cid).id
    body = detail(api, instance_id)
    screening, verify = step_id(body, "earlier", "受理审查"), step_id(body, "current", "核实认定")
    client.post("/login", data={"username": "procadmin", "password": demo_password})
    page = client.get(f"/processes/instances/{instance_id}").get_data(as_text=True)
    assert f'value="{verify}"' in page  # the skip form of the current step
    assert f'<option value="{screening}">受理审查' in page  # 退回 target
    url = f"/processes/instances/{instance_id}"

    refused = client.post(f"{url}/move_back", data={"task_id": screening, "reason": ""}, follow_redirects=True)
    assert "退回未执行：请填写操作原因" in refused.get_data(as_text=True)
    moved = client.post(f"{url}/move_back", data={"task_id": screening, "reason": "材料需补正"}, follow_redirects=True)
    html = moved.get_data(as_text=True)
    assert "已退回（当前状态：办理中）" in html
    assert "task_moved_back" in html  # the operation log
    assert "受理审查（待办）" in html  # position after
    suspended = client.post(f"{url}/suspend", data={"reason": "核查"}, follow_redirects=True)
    assert "已挂起" in suspended.get_data(as_text=True)
    case_page = client.get(f"/cases/{cid}").get_data(as_text=True)
    assert "流程已被管理员挂起" in case_page
    assert client.post(f"{url}/explode", data={"reason": "x"}).status_code == 404
    client.post("/logout")
