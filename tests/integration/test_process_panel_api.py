"""What the modeler's properties panel asks the server: pick lists (time limits, case statuses) and the fields
upstream of an element, for the condition and timer builders."""
from __future__ import annotations

from tests.processes.variants import bundled


def test_catalog_lists_time_limits_and_statuses_by_chinese_label(api) -> None:  # noqa: ANN001
    body = api("procadmin").get("/api/v1/process-catalog").get_json()
    limits = {limit["key"]: limit for limit in body["time_limits"]}
    assert limits["verify"]["label"]
    assert "工作日" in limits["verify"]["description"]
    statuses = {s["code"]: s["label"] for s in body["statuses"]}
    assert statuses["verifying"] == "核实认定中"
    assert [s["code"] for s in body["statuses"]][0] == "registered"  # the procedure's order


def test_fields_upstream_of_the_verification_gateway_name_choices_in_chinese(api) -> None:  # noqa: ANN001
    bundle = bundled()
    response = api("procadmin").post("/api/v1/process-fields", json={
        "bpmn_xml": bundle.bpmn_xml, "forms": bundle.forms, "element": "flow_15_gw_outcome_notify_unfounded"})
    assert response.status_code == 200, response.get_json()
    fields = {f["name"]: f for f in response.get_json()["fields"]}
    assert fields["outcome"]["title"] == "核实结论"
    assert fields["outcome"]["choices"] == [{"value": "founded", "label": "属实"},
                                            {"value": "unfounded", "label": "不属实"},
                                            {"value": "disputed", "label": "有分歧"}]
    assert fields["accepted"]["choices"] == [{"value": True, "label": "受理"}, {"value": False, "label": "不予受理"}]
    assert "deadline" not in fields  # set by a later task (整改要求), not before verification


def test_fields_upstream_of_a_boundary_timer_exclude_its_own_task(api) -> None:  # noqa: ANN001
    bundle = bundled()
    body = api("procadmin").post("/api/v1/process-fields", json={
        "bpmn_xml": bundle.bpmn_xml, "forms": bundle.forms, "element": "rectify_reminder"}).get_json()
    fields = {f["name"]: f for f in body["fields"]}
    assert fields["deadline"]["format"] == "date"  # from 下达整改要求, before 报告整改情况
    body = api("procadmin").post("/api/v1/process-fields", json={
        "bpmn_xml": bundle.bpmn_xml, "forms": bundle.forms, "element": "verify_reminder"}).get_json()
    fields = {f["name"]: f for f in body["fields"]}
    assert "outcome" not in fields  # the form of the task the timer is attached to
    assert fields["domain"]["source"] == "案件信息"  # a case fact the process starts with


def test_fields_of_bad_input_are_a_422(api) -> None:  # noqa: ANN001
    client = api("procadmin")
    broken = client.post("/api/v1/process-fields", json={"bpmn_xml": "<not xml", "element": "x"})
    assert broken.status_code == 422
    assert "不是有效的 XML" in broken.get_json()["message"]
    assert client.post("/api/v1/process-fields", json={"bpmn_xml": "<a/>"}).status_code == 422
    unknown = client.post("/api/v1/process-fields", json={"bpmn_xml": bundled().bpmn_xml, "element": "nowhere"})
    assert unknown.status_code == 200
    assert unknown.get_json()["fields"] == []
    assert api("ndrc").post("/api/v1/process-fields", json={"bpmn_xml": "<a/>", "element": "x"}).status_code == 403
