"""Process administration tools over HTTP: form preview, DMN edited as XML (validated at deploy), version diff,
migration page."""
from __future__ import annotations

import pytest
from lxml import etree

from engine.workflow import specs
from tests.conftest import PROCESSES
from tests.integration.test_process_admin import Cases, deploy_payload, versions
from tests.processes.variants import bundled, with_review_in_new_lane

DMN = "excuse_never_unfounded.dmn"


@pytest.fixture
def admin_client(client, demo_password: str):  # noqa: ANN001, ANN201
    """The test client signed in as procadmin (call `api` before using it: both share one client)."""
    class SignedIn:
        def __getattr__(self, name: str):  # noqa: ANN204
            if not getattr(client, "_lv_signed_in", False):
                client.post("/login", data={"username": "procadmin", "password": demo_password})
                client._lv_signed_in = True
            return getattr(client, name)

    yield SignedIn()
    client.post("/logout")


def test_form_preview_renders_the_form_as_officials_see_it(admin_client) -> None:  # noqa: ANN001
    schema = {"title": "法律审核", "type": "object", "required": ["opinion", "lawful"], "properties": {
        "lawful": {"type": "boolean", "title": "是否合法", "x-labels": {"true": "合法", "false": "不合法"}},
        "opinion": {"type": "string", "title": "法律审核意见", "x-widget": "textarea", "maxLength": 2000}}}
    body = admin_client.post("/processes/form-preview", json={"schema": schema}).get_json()
    assert body["problems"] == []
    assert "法律审核意见" in body["html"]
    assert 'value="true"' in body["html"]
    assert "合法" in body["html"]
    assert "<textarea" in body["html"]
    as_text = admin_client.post("/processes/form-preview", json={"schema": '{"type": "object"'}).get_json()
    assert as_text["html"] == ""
    assert as_text["problems"][0].startswith("不是有效的 JSON")
    bad = admin_client.post("/processes/form-preview", json={"schema": {"type": "object", "required": "x"}})
    assert bad.get_json()["problems"][0].startswith("不是有效的 JSON Schema")
    empty = admin_client.post("/processes/form-preview", json={"schema": {"type": "object"}}).get_json()
    assert empty["problems"] == ["表单没有字段（properties）"]


def test_form_preview_only_for_process_administrators(client, demo_password: str) -> None:  # noqa: ANN001
    client.post("/login", data={"username": "ndrc", "password": demo_password})
    assert client.post("/processes/form-preview", json={"schema": {}}).status_code == 403
    client.post("/logout")


@pytest.mark.parametrize(("broken", "expected"), [
    ("<definitions", f"决策表 {DMN} 不是有效的 XML"),
    ('<text>"restructuring"</text>', "不允许"),
])
def test_dmn_edited_as_xml_is_validated_at_deploy(api, broken: str, expected: str) -> None:  # noqa: ANN001
    bundle = bundled()
    xml = bundle.dmn[DMN]
    bundle.dmn[DMN] = (xml.replace("<definitions", "<definitions<", 1) if broken == "<definitions"
                       else xml.replace(broken, "<text>__import__('os').system('id')</text>", 1))
    response = api("procadmin").post("/api/v1/processes/deploy", json=deploy_payload(bundle, "改决策表"))
    assert response.status_code == 422, response.get_json()
    text = "\n".join(p["message"] for p in response.get_json()["errors"]["_diagram"])
    assert expected in text, text


def test_version_diff_lists_and_marks_what_changed(api, admin_client) -> None:  # noqa: ANN001
    api("procadmin").post("/api/v1/lane-roles", json={"name": "法规审查处", "label": "法规审查", "department_code": "yn-gov"})
    bundle = with_review_in_new_lane()
    bundle.dmn[DMN] = bundle.dmn[DMN].replace("机构调整不是理由", "机构调整不能作为理由")
    assert api("procadmin").post("/api/v1/processes/deploy", json=deploy_payload(bundle, "法规审查")).status_code == 201
    new = max(versions(api))
    data = admin_client.get(f"/processes/complaint/diff.json?from={new - 1}&to={new}").get_json()
    assert (data["from"]["version"], data["to"]["version"]) == (new - 1, new)
    added = {e["id"]: e for e in data["elements"]["added"]}
    assert added["legal_review"] == {"id": "legal_review", "type": "userTask", "name": "法律审核"}
    assert added["Lane_legal"]["name"] == "法规审查处"
    changed = {e["id"]: e["changes"] for e in data["elements"]["changed"]}
    assert changed["flow_13_verify_excuse_rule"] == ["连接"]
    assert data["elements"]["removed"] == []
    assert data["forms"]["added"] == ["legal_review.json"]
    assert data["dmn"]["changed"] == [DMN]
    backwards = admin_client.get(f"/processes/complaint/diff.json?from={new}&to={new - 1}").get_json()
    assert {e["id"] for e in backwards["elements"]["removed"]} == set(added)

    page = admin_client.get("/processes/complaint/diff").get_data(as_text=True)  # default: newest vs the one before
    assert f"第 {new - 1} 版 → 第 {new} 版" in page
    assert "新增 userTask <code>legal_review</code> 法律审核" in page
    assert "js/process-diff.js" in page
    assert "<script>" not in page
    assert admin_client.get("/processes/complaint/diff?from=999").status_code == 404
    assert admin_client.get("/processes/nope/diff").status_code == 404
    index = admin_client.get("/processes/").get_data(as_text=True)
    assert f"/processes/complaint/diff?to={new}&amp;from={new - 1}" in index or \
        f"/processes/complaint/diff?from={new - 1}&amp;to={new}" in index


def test_migration_page_lists_open_cases_of_the_source(api, app, admin_client) -> None:  # noqa: ANN001
    cases = Cases(api, app, False)
    v1 = versions(api)[max(versions(api))]
    cid = cases.start()
    api("procadmin").post("/api/v1/lane-roles", json={"name": "法规审查处", "label": "法规审查", "department_code": "yn-gov"})
    v2 = api("procadmin").post("/api/v1/processes/deploy", json=deploy_payload(with_review_in_new_lane())).get_json()
    page = admin_client.get(f"/processes/complaint/migrate?source={v1['id']}&target={v2['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    instance_id = cases.instance(cid).id
    assert f'data-instance-id="{instance_id}"' in html
    assert "受理审查" in html  # its current task
    assert 'data-migrate-url="/api/v1/migrations"' in html
    assert "js/process-migrate.js" in html
    assert "<th>迁移后的定时器</th>" in html  # filled per case by the preview
    assert 'data-role="confirm-box" hidden' in html  # migrating is confirmed after the preview
    assert 'data-role="migrate" disabled title="请先预览"' in html
    index = admin_client.get("/processes/").get_data(as_text=True)
    assert f"/processes/complaint/migrate?source={v1['id']}&amp;target={v2['id']}" in index
    assert admin_client.get("/processes/complaint/migrate?source=999999").status_code == 404


def resaved(xml: str) -> str:
    """What a modeler's re-save does to a file: attributes in another order, other indentation and quotes in
    expressions, `incoming`/`outgoing` references written from the flows — and one shape moved."""
    ns = "http://www.omg.org/spec/BPMN/20100524/MODEL"
    root = etree.fromstring(xml.encode())
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        attributes = list(el.attrib.items())
        el.attrib.clear()
        for name, value in reversed(attributes):
            el.set(name, value)
        if el.text is not None and not el.text.strip():
            el.text = "\n" + "\t" * 2
        if el.tail is not None and not el.tail.strip():
            el.tail = "\n" + "\t"
    nodes = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    for flow in root.iter(f"{{{ns}}}sequenceFlow"):
        for end, tag in (("sourceRef", "outgoing"), ("targetRef", "incoming")):
            node = nodes[flow.get(end)]
            if flow.get("id") not in [c.text for c in node.findall(f"{{{ns}}}{tag}")]:
                etree.SubElement(node, f"{{{ns}}}{tag}").text = flow.get("id")
    for condition in root.iter(f"{{{ns}}}conditionExpression"):
        condition.text = condition.text.replace('"', "'").replace(" == ", "==")
    bounds = root.xpath("//*[@bpmnElement='verify']/*[local-name()='Bounds']")[0]
    bounds.set("x", str(float(bounds.get("x")) + 40))
    return etree.tostring(root, encoding="unicode")


def test_version_diff_lists_layout_apart_from_behaviour(api, admin_client) -> None:  # noqa: ANN001
    """A re-save once listed about 40 elements as changed when one was."""
    bundle = specs.bundle_from_directory(PROCESSES / "complaint.bpmn")
    layout_only = specs.Bundle(resaved(bundle.bpmn_xml), bundle.dmn, bundle.forms)
    assert api("procadmin").post("/api/v1/processes/deploy", json=deploy_payload(layout_only, "重新保存")
                                 ).status_code == 201
    new = max(versions(api))
    data = admin_client.get(f"/processes/complaint/diff.json?from={new - 1}&to={new}").get_json()
    assert data["behaviour_changed"] is False
    assert data["elements"] == {"added": [], "removed": [], "changed": []}
    layout = {e["id"]: e["changes"] for e in data["layout"]}
    assert "位置或形状" in layout["verify"]
    assert layout["flow_17_gw_outcome_order_rectification"] == ["书写格式（属性顺序、空白、引号、连接引用等）"]
    page = admin_client.get(f"/processes/complaint/diff?from={new - 1}&to={new}").get_data(as_text=True)
    assert "两个版本的办理规则相同" in page
    assert "仅布局或书写格式变化" in page

    one_change = specs.Bundle(layout_only.bpmn_xml.replace("outcome=='disputed'", "outcome=='disputed' or in_litigation"),
                              bundle.dmn, bundle.forms)
    deployed = api("procadmin").post("/api/v1/processes/deploy", json={
        **deploy_payload(one_change, "分歧或诉讼"), "acknowledge_warnings": True})
    assert deployed.status_code == 201, deployed.get_json()
    data = admin_client.get(f"/processes/complaint/diff.json?from={new - 1}&to={new + 1}").get_json()
    assert data["behaviour_changed"] is True
    assert data["elements"]["changed"] == [{"id": "flow_16_gw_outcome_resolve_dispute", "type": "sequenceFlow",
                                            "name": "有分歧", "changes": ["条件"]}]
    assert "flow_16_gw_outcome_resolve_dispute" not in {e["id"] for e in data["layout"]}


def test_an_attribute_left_out_at_its_bpmn_default_is_no_change_of_behaviour() -> None:
    from engine.workflow.diff import diff_bundles

    bundle = bundled()
    resaved = specs.Bundle(bundle.bpmn_xml.replace(' cancelActivity="true"', ""), bundle.dmn, bundle.forms)
    result = diff_bundles(bundle, resaved)
    assert result["behaviour_changed"] is False
    assert "rectify_overdue" in [item["id"] for item in result["layout"]]  # listed as how it is written
    flipped = specs.Bundle(bundle.bpmn_xml.replace(' cancelActivity="true"', ' cancelActivity="false"'),
                           bundle.dmn, bundle.forms)
    assert [item["id"] for item in diff_bundles(bundle, flipped)["elements"]["changed"]] == ["rectify_overdue"]
