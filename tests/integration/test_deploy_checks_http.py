"""Deploy checks through the deploy API: errors name the element, warnings are acknowledged, re-deploys are checked."""
from __future__ import annotations

from engine.workflow import specs
from tests.conftest import PROCESSES
from tests.integration.test_process_admin import deploy_payload
from tests.processes.test_deploy import changed


def test_the_duplicated_condition_on_the_verification_gateway_is_a_422(api) -> None:  # noqa: ANN001
    response = api("procadmin").post("/api/v1/processes/deploy", json=deploy_payload(
        changed('outcome == "unfounded"', 'outcome == "founded"'), "复制条件"))
    assert response.status_code == 422
    body = response.get_json()
    assert body["message"].startswith("流程模型校验未通过：网关 gw_outcome（核实结论） 的连线")
    assert [p["element"] for p in body["errors"]["_diagram"] if "severity" not in p] == ["gw_outcome"]


def test_a_warning_is_deployed_only_once_acknowledged(api) -> None:  # noqa: ANN001
    payload = deploy_payload(changed('outcome == "disputed"', 'outcome == "disputed" and in_litigation'), "分歧条件")
    refused = api("procadmin").post("/api/v1/processes/deploy", json=payload)
    assert refused.status_code == 422
    assert refused.get_json()["message"].startswith("流程模型有需要确认的警告（确认后可部署）：")
    [warning] = refused.get_json()["errors"]["_diagram"]
    assert (warning["element"], warning["severity"]) == ("gw_outcome", "warning")

    deployed = api("procadmin").post("/api/v1/processes/deploy", json={**payload, "acknowledge_warnings": True})
    assert deployed.status_code == 201, deployed.get_json()
    assert deployed.get_json()["warnings"] == [warning]
    audit = api("sysadmin").get("/api/v1/audit?action=process_deployed").get_json()
    assert any(warning["message"] in (item.get("after") or {}).get("acknowledged_warnings", [])
               for item in audit["items"])


def test_an_identical_bundle_is_validated_and_answered_200(api) -> None:  # noqa: ANN001
    bundle = specs.bundle_from_directory(PROCESSES / "complaint.bpmn")
    again = api("procadmin").post("/api/v1/processes/deploy", json=deploy_payload(bundle, "再次部署"))
    assert again.status_code == 200
    assert again.get_json()["created"] is False
    assert again.get_json()["warnings"] == []
