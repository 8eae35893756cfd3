"""Administrator-defined lane roles through the HTTP API and the pages: a new lane needs no code.

The issue's main flow: define 法规审查处 → a department, deploy a diagram with a user task in that lane,
a new case reaches the task in that department's inbox while an older case finishes on its version,
and a bulk migration moves the open cases with one refused and explained.
"""
from __future__ import annotations

import pytest

from tests.integration.test_process_admin import VERIFY, Cases, deploy_payload, versions
from tests.processes.variants import with_review_in_new_lane

LEGAL = {"name": "法规审查处", "label": "省政府法规审查处（合法性审查）", "department_code": "yn-gov"}


def put(api, client, url: str, body: dict):  # noqa: ANN001, ANN201
    return client.put(url, headers=api("procadmin").headers, json=body)


def define(api, **overrides: object):  # noqa: ANN001, ANN201
    return api("procadmin").post("/api/v1/lane-roles", json={**LEGAL, **overrides})


@pytest.mark.parametrize("save_restore", [False, True], ids=["plain", "save-restore"])
def test_new_lane_mapped_to_a_department_deploy_run_and_migrate(api, app, save_restore: bool) -> None:  # noqa: ANN001
    cases = Cases(api, app, save_restore)
    admin = api("procadmin")
    v1 = versions(api)[max(versions(api))]
    old_case = cases.start()
    closed_case = cases.start()
    cases.complete(closed_case, "screening", "intake", {"accepted": False, "reason": "out_of_scope"})
    assert cases.status(closed_case) == "closed"

    refused = admin.post("/api/v1/processes/deploy", json=deploy_payload(with_review_in_new_lane(), "法规审查"))
    assert refused.status_code == 422, refused.get_json()
    assert "Lane_legal（法规审查处） 的名称不是已知角色" in refused.get_json()["errors"]["_diagram"][0]["message"]
    assert max(versions(api)) == v1["version"]  # nothing deployed

    role = define(api)
    assert role.status_code == 201, role.get_json()
    assert role.get_json()["department"] == {"code": "yn-gov", "name": "云南省人民政府"}
    deployed = admin.post("/api/v1/processes/deploy", json=deploy_payload(with_review_in_new_lane(), "法规审查"))
    assert deployed.status_code == 201, deployed.get_json()
    v2 = deployed.get_json()

    new_case = cases.start()
    cases.complete(new_case, "screening", "intake", {"accepted": True})
    cases.complete(new_case, "verify", "km-commerce", VERIFY)
    task = cases.task(new_case, "yn-gov")  # in the mapped department's inbox
    assert (task["spec_name"], task["lane"], task["department"]["code"]) == ("legal_review", "法规审查处", "yn-gov")
    assert api("ndrc").get(f"/api/v1/tasks?complaint_id={new_case}").get_json()["total"] == 0
    cases.complete(new_case, "legal_review", "yn-gov", {"opinion": "合法"})
    assert cases.status(new_case) == "closed"
    assert cases.instance(new_case).model_id == v2["id"]

    at_screening = cases.start()  # started on v2; stays out of the migration set
    assert cases.instance(at_screening).model_id == v2["id"]
    cases.complete(old_case, "screening", "intake", {"accepted": True})  # old_case waits at verify on v1
    ids = [cases.instance(c).id for c in (old_case, closed_case)]
    body = {"source": v1["id"], "target": v2["id"], "instance_ids": ids}
    preview = admin.post("/api/v1/migrations/preview", json=body).get_json()
    verdicts = {i["complaint_id"]: i for i in preview["items"]}
    assert verdicts[old_case]["can_migrate"], verdicts[old_case]
    assert (verdicts[closed_case]["can_migrate"], verdicts[closed_case]["reason"]) == (False, "流程已办结，无需迁移")
    confirmed = [i["confirmation"] for i in preview["items"] if i["can_migrate"]]
    done = admin.post("/api/v1/migrations", json={**body, "confirmations": confirmed}).get_json()
    assert (done["migrated"], done["refused"]) == (1, 1)
    assert cases.instance(old_case).model_id == v2["id"]
    assert cases.instance(closed_case).model_id == v1["id"]
    cases._step()

    cases.complete(old_case, "verify", "km-commerce", VERIFY)  # the migrated case now reaches the new lane
    cases.complete(old_case, "legal_review", "yn-gov", {"opinion": "合法"})
    assert cases.status(old_case) == "closed"


def test_a_deactivated_role_cannot_be_deployed_and_its_tasks_go_to_the_drc(api, app, client) -> None:  # noqa: ANN001
    cases = Cases(api, app, False)
    admin = api("procadmin")
    role = define(api).get_json()
    assert admin.post("/api/v1/processes/deploy", json=deploy_payload(with_review_in_new_lane())).status_code == 201
    cid = cases.start()
    cases.complete(cid, "screening", "intake", {"accepted": True})

    changed = put(api, client, f"/api/v1/lane-roles/{role['id']}", {**LEGAL, "is_active": False})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["is_active"] is False
    other = deploy_payload(with_review_in_new_lane(), "停用后再部署")
    other["comment"] = "x"
    other["forms"]["legal_review.json"]["title"] = "法律审核（改）"
    assert admin.post("/api/v1/processes/deploy", json=other).status_code == 422

    cases.complete(cid, "verify", "km-commerce", VERIFY)
    task = cases.task(cid, "ndrc")
    assert (task["spec_name"], task["department"]["code"]) == ("legal_review", "ndrc")
    history = api("intake").get(f"/api/v1/complaints/{cid}").get_json()["history"]
    assert any(e["kind"] == "lane_fallback" and "法规审查处" in e["summary"] for e in history)


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"name": "supervisor"}, "name", "系统内置的泳道角色"),
    ({"name": "法规 审查"}, "name", "不能包含空格"),
    ({"department_code": "no-such"}, "department_code", "请选择存在的部门"),
    ({"required_role": "boss"}, "required_role", "岗位「boss」不存在"),
])
def test_bad_lane_roles_are_explained(api, overrides: dict, field: str, message: str) -> None:  # noqa: ANN001
    response = define(api, **overrides)
    assert response.status_code == 422, response.get_json()
    assert message in response.get_json()["errors"][field]


def test_duplicate_names_and_permissions(api, client) -> None:  # noqa: ANN001
    assert define(api).status_code == 201
    assert "已存在" in define(api).get_json()["errors"]["name"]
    assert api("ndrc").post("/api/v1/lane-roles", json=LEGAL).status_code == 403
    assert api("ndrc").get("/api/v1/lane-roles").status_code == 403
    assert put(api, client, "/api/v1/lane-roles/99999", LEGAL).status_code == 404
    listed = api("sysadmin").get("/api/v1/lane-roles").get_json()
    assert [r["name"] for r in listed] == ["法规审查处"]


def test_lane_role_pages(client, demo_password: str) -> None:  # noqa: ANN001
    def sign_in(username: str) -> None:
        client.post("/logout")
        assert client.post("/login", data={"username": username, "password": demo_password}).status_code == 302

    sign_in("ndrc")
    assert client.get("/processes/lane-roles").status_code == 403
    assert "流程管理" not in client.get("/").get_data(as_text=True)
    sign_in("procadmin")
    assert 'href="/processes/"' in client.get("/").get_data(as_text=True)  # nav link for process administrators
    page = client.get("/processes/lane-roles").get_data(as_text=True)
    assert "尚未定义泳道角色" in page
    assert "supervisor" in page  # built-in roles listed
    bad = client.post("/processes/lane-roles", data={**LEGAL, "name": "ndrc"})
    assert bad.status_code == 422
    assert "系统内置的泳道角色" in bad.get_data(as_text=True)
    created = client.post("/processes/lane-roles", data=LEGAL, follow_redirects=True)
    html = created.get_data(as_text=True)
    assert "已新增泳道角色「法规审查处」" in html
    assert "云南省人民政府" in html
    role_id = int(html.split('id="lane-role-')[1].split('"')[0])
    edit = client.post(f"/processes/lane-roles/{role_id}",
                       data={"label": "改名", "department_code": "yn-commerce", "required_role": "leader"},
                       follow_redirects=True).get_data(as_text=True)
    assert "已保存泳道角色「法规审查处」" in edit
    assert "云南省商务厅" in edit
    assert "已停用" in edit  # the checkbox was not sent
    client.post("/logout")


def test_catalog_offers_lanes_operations_and_forms(api) -> None:  # noqa: ANN001
    define(api)
    body = api("procadmin").get("/api/v1/process-catalog").get_json()
    lanes = {lane["name"]: lane for lane in body["lanes"]}
    assert lanes["supervisor"]["kind"] == "builtin"
    assert lanes["法规审查处"]["department"] == {"code": "yn-gov", "name": "云南省人民政府"}
    operations = {op["name"]: op for op in body["operations"]}
    assert operations["notify_lane"]["parameters"] == ["lane", "kind", "title", "message"]
    forms = {form["name"]: form for form in body["forms"]}
    assert forms["verify.json"]["processes"] == ["complaint"]
    assert forms["verify.json"]["title"]
    assert api("ndrc").get("/api/v1/process-catalog").status_code == 403


def test_inbox_filters_by_a_defined_lane(api, app, client, demo_password: str) -> None:  # noqa: ANN001
    cases = Cases(api, app, False)
    assert define(api).status_code == 201
    assert api("procadmin").post("/api/v1/processes/deploy",
                                 json=deploy_payload(with_review_in_new_lane(), "法规审查")).status_code == 201
    case = cases.start()
    cases.complete(case, "screening", "intake", {"accepted": True})
    cases.complete(case, "verify", "km-commerce", VERIFY)
    assert client.post("/login", data={"username": "yn-gov", "password": demo_password}).status_code == 302
    page = client.get("/", query_string={"lane": "法规审查处"}).get_data(as_text=True)
    assert '<option value="法规审查处" selected>省政府法规审查处（合法性审查）</option>' in page
    assert f"/cases/{case}" in page
    assert f"/cases/{case}" not in client.get("/", query_string={"lane": "supervisor"}).get_data(as_text=True)
    client.post("/logout")
