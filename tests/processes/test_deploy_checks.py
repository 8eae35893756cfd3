"""Deploy refuses what cannot work: one bundle per defect, each answered in Chinese naming the element."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from engine.errors import InvalidDiagram
from engine.workflow import checks, specs
from tests.conftest import PROCESSES
from tests.processes.test_deploy import (
    REJECTION_MESSAGE,
    bundled,
    changed,
    model_count,
    problems_of,
    store_unchecked,
)

END = "</bpmn:process>"


def added(xml: str) -> specs.Bundle:
    """The bundled complaint process with `xml` (elements, flows) added to the process."""
    return changed(END, xml + END)


def messages(problems: list[dict[str, str]]) -> str:
    return "\n".join(f"[{p['element']}] {p['message']}" for p in problems)


@pytest.mark.parametrize("path", sorted(PROCESSES.glob("*.bpmn")), ids=lambda p: p.name)
def test_every_bundled_process_passes_without_warnings(path: Path) -> None:
    checked = specs.check_bundle(specs.bundle_from_directory(path))
    assert checked.warnings == []


def test_a_flow_from_an_element_to_itself(session: Session) -> None:
    problems = problems_of(session, added(
        '<bpmn:sequenceFlow id="flow_self" sourceRef="notify_rejected" targetRef="notify_rejected" />'))
    [problem] = [p for p in problems if p["element"] == "flow_self"]
    assert problem["message"] == ("连线 flow_self 从「notify_rejected（告知不予受理）」连回它自己："
                                  "运行时会无限重复，请删除此连线或连到下一步")


def test_a_cycle_of_service_tasks_without_a_wait(session: Session) -> None:
    """Two service tasks in a loop with an exit once wrote 333 notices and 332 reports in 3 s."""
    problems = problems_of(session, added(
        '<bpmn:sequenceFlow id="flow_back" sourceRef="report_unfounded" targetRef="notify_unfounded" />'))
    [problem] = problems
    assert problem["element"] == "notify_unfounded"
    assert problem["message"].startswith(
        "循环 notify_unfounded（向投诉人解释说明） → report_unfounded（反馈省发展改革委） 中没有等待环节")


def test_a_cycle_through_a_user_task_is_fine(session: Session) -> None:
    bundle = added('<bpmn:exclusiveGateway id="gw_again" default="flow_on" />'
                   '<bpmn:sequenceFlow id="flow_ask" sourceRef="report_unfounded" targetRef="gw_again" />')
    bundle.bpmn_xml = bundle.bpmn_xml.replace(
        'sourceRef="report_unfounded" targetRef="close_unfounded"', 'sourceRef="gw_again" targetRef="close_unfounded"')
    bundle.bpmn_xml = bundle.bpmn_xml.replace(END, '<bpmn:sequenceFlow id="flow_again" sourceRef="gw_again" '
                                              'targetRef="verify"><bpmn:conditionExpression>outcome == "disputed"'
                                              '</bpmn:conditionExpression></bpmn:sequenceFlow>' + END)
    bundle.bpmn_xml = bundle.bpmn_xml.replace('id="flow_19_report_unfounded_close_unfounded"', 'id="flow_on"')
    assert specs.check_bundle(bundle).warnings == []


@pytest.mark.parametrize("founded", ['outcome == "founded"', '"founded" == outcome', "outcome=='founded'"])
def test_the_same_condition_twice_on_the_verification_gateway(session: Session, founded: str) -> None:
    """核实结论 with two flows on the same condition closed a founded case as unfounded, without an error."""
    problems = problems_of(session, changed('outcome == "unfounded"', founded.replace('"', "&quot;")))
    [problem] = [p for p in problems if p.get("severity") != "warning"]
    assert problem["element"] == "gw_outcome"
    assert problem["message"].startswith(
        "网关 gw_outcome（核实结论） 的连线 flow_15_gw_outcome_notify_unfounded（不属实） 与 "
        "flow_17_gw_outcome_order_rectification（属实） 条件相同")


def test_a_gateway_flow_without_condition_that_is_not_the_default(session: Session) -> None:
    problems = problems_of(session, changed('<bpmn:conditionExpression>outcome == "disputed"</bpmn:conditionExpression>',
                                            ""))
    [problem] = [p for p in problems if p.get("severity") != "warning"]
    assert problem["element"] == "flow_16_gw_outcome_resolve_dispute"
    assert "既没有条件也不是默认连线" in problem["message"]


def test_conditions_that_may_not_cover_every_case_are_a_warning_to_acknowledge(session: Session) -> None:
    bundle = changed('outcome == "disputed"', 'outcome == "disputed" and in_litigation')
    before = model_count(session)
    with pytest.raises(InvalidDiagram) as caught:
        specs.deploy(session, bundle, deployed_by="test")
    assert model_count(session) == before
    assert caught.value.acknowledgeable
    assert caught.value.message.startswith("流程模型有需要确认的警告（确认后可部署）：")
    [warning] = caught.value.problems
    assert warning["severity"] == "warning"
    assert warning["element"] == "gw_outcome"
    assert "没有默认连线" in warning["message"]
    deployed = specs.deploy_checked(session, bundle, deployed_by="test", acknowledge_warnings=True)
    assert deployed.created
    assert deployed.warnings == [warning]


@pytest.mark.parametrize(("conditions", "covered"), [
    (["accepted", "not accepted"], True),
    (['outcome == "founded"', 'outcome == "unfounded"', 'outcome == "disputed"'], True),
    (['outcome == "founded"', 'outcome in ("unfounded", "disputed")'], True),
    (['outcome == "founded"', 'outcome == "unfounded"'], False),
    (["amount > 5", "amount < 5"], False),
    (["x != 1", "x == 1"], True),
])
def test_obvious_coverage(conditions: list[str], covered: bool) -> None:
    assert checks.covers_all(conditions, {"outcome": ["disputed", "founded", "unfounded"]}) is covered


def test_an_unreachable_task(session: Session) -> None:
    problems = problems_of(session, added(
        '<bpmn:userTask id="orphan" name="孤立任务"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="formJsonSchemaFilename" value="verify.json" /></spiffworkflow:properties>'
        '</bpmn:extensionElements></bpmn:userTask>'
        '<bpmn:sequenceFlow id="flow_orphan" sourceRef="orphan" targetRef="end_rejected" />'))
    assert [(p["element"], p["message"]) for p in problems] == [
        ("orphan", "用户任务 orphan（孤立任务） 从开始事件无法到达（没有连入的连线，或只从无法到达的元素连入）")]


def test_a_task_without_a_way_on(session: Session) -> None:
    """A new user task with no outgoing flow: the process ended `completed` but the case never closed."""
    bundle = changed('sourceRef="close_rectified" targetRef="end_rectified"',
                     'sourceRef="close_rectified" targetRef="follow_up"')
    bundle.bpmn_xml = bundle.bpmn_xml.replace(END, (
        '<bpmn:userTask id="follow_up" name="回访"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="formJsonSchemaFilename" value="verify.json" /></spiffworkflow:properties>'
        '</bpmn:extensionElements></bpmn:userTask>' + END))
    problems = problems_of(session, bundle)
    text = messages(problems)
    assert "[follow_up] 用户任务 follow_up（回访） 没有后续连线：流程会在这里结束而不经过结束事件" in text
    assert "[end_rectified] 结束事件 end_rectified（整改办结） 从开始事件无法到达" in text


VERIFY_PROPERTIES = '<spiffworkflow:property name="formJsonSchemaFilename" value="verify.json" />'


def with_scripts(pre: str = "", post: str = "") -> specs.Bundle:
    """The bundled diagram with a pre- and/or post-script on 核实认定 (verify)."""
    scripts = (f"<spiffworkflow:preScript>{pre}</spiffworkflow:preScript>" if pre else "") + (
        f"<spiffworkflow:postScript>{post}</spiffworkflow:postScript>" if post else "")
    bundle = changed("<spiffworkflow:properties>" + VERIFY_PROPERTIES, "<spiffworkflow:properties>" + VERIFY_PROPERTIES)
    assert bundle.bpmn_xml.count(VERIFY_PROPERTIES) == 1
    bundle.bpmn_xml = bundle.bpmn_xml.replace("<spiffworkflow:properties>" + VERIFY_PROPERTIES,
                                              scripts + "<spiffworkflow:properties>" + VERIFY_PROPERTIES)
    return bundle


def test_a_post_script_reads_its_own_tasks_form(session: Session) -> None:
    """A user task's post-script runs once the form is submitted: the task's own fields are defined for it."""
    bundle = with_scripts(post='verify_note = "核实：" + outcome')
    assert specs.check_bundle(bundle).key == "complaint"  # no problem, not even a warning
    bundle.bpmn_xml = bundle.bpmn_xml.replace('outcome == "founded"', 'verify_note == "核实：founded"')
    specs.check_bundle(bundle, acknowledge_warnings=True)  # a later condition may read what it set


def test_a_pre_script_reading_what_is_not_there_yet(session: Session) -> None:
    """A pre-script runs before its own form: naming one of its fields (or a misspelt name) is refused."""
    problems = problems_of(session, with_scripts(pre="early = outcome"))
    [problem] = [p for p in problems if p.get("severity") != "warning"]
    assert problem["element"] == "verify"
    assert "前置脚本「early = outcome」使用了「outcome」" in problem["message"]
    specs.check_bundle(with_scripts(pre='note = "领域：" + domain'))  # a case fact is there from the start


def test_a_condition_naming_an_undefined_field(session: Session) -> None:
    problems = problems_of(session, changed('outcome == "founded"', 'outcom == "founded"'))
    [problem] = [p for p in problems if p.get("severity") != "warning"]
    assert problem["element"] == "flow_17_gw_outcome_order_rectification"
    assert problem["message"] == (
        "flow_17_gw_outcome_order_rectification（属实） 的条件「outcom == \"founded\"」使用了「outcom」，"
        "但前面的表单字段、案件信息和步骤结果中都没有这个名称")


def test_a_field_of_a_later_form_is_not_defined_yet(session: Session) -> None:
    """`rectified` is a field of the review form, which comes after screening."""
    problems = problems_of(session, changed("<bpmn:conditionExpression>accepted</bpmn:conditionExpression>",
                                            "<bpmn:conditionExpression>rectified</bpmn:conditionExpression>"))
    [problem] = [p for p in problems if p.get("severity") != "warning"]
    assert problem["element"] == "flow_06_gw_accepted_forward_to_supervisor"
    assert "使用了「rectified」" in problem["message"]


def test_unquoted_text_in_a_service_parameter(session: Session) -> None:
    [problem] = problems_of(session, changed(REJECTION_MESSAGE, "您的投诉不予受理"))
    assert problem["element"] == "notify_rejected"
    assert "使用了「您的投诉不予受理」" in problem["message"]
    assert problem["message"].endswith("（文字须加引号，例如 \"…\"）")


def test_a_misspelt_lane_in_notify_lane(session: Session) -> None:
    anchor = """<spiffworkflow:parameter id="lane" type="str" value='"supervisor"' />"""
    bundle = bundled()
    assert anchor in bundle.bpmn_xml, "complaint.bpmn notifies the supervisor lane"
    bundle.bpmn_xml = bundle.bpmn_xml.replace(anchor, anchor.replace("supervisor", "supervisr"), 1)
    [problem] = problems_of(session, bundle)
    assert problem["message"].endswith("的参数 lane 指定的泳道「supervisr」不是已知角色"
                                       f"（可用：{'、'.join(checks.LANES)}）")


def test_a_stored_broken_version_is_validated_when_deployed_again(session: Session) -> None:
    """Before, the checksum was looked up first: a broken version already stored passed again."""
    broken = changed('outcome == "unfounded"', 'outcome == "founded"')
    store_unchecked(session, broken)
    problems = problems_of(session, broken)
    assert [p["element"] for p in problems if p.get("severity") != "warning"] == ["gw_outcome"]


def test_the_parsers_own_message_is_translated_and_kept() -> None:
    problem = checks.parser_problem(ValueError("No start event found in process"), "Process_1")
    assert problem == {"element": "Process_1", "message": "流程解析失败：元素 Process_1：流程没有开始事件",
                       "detail": "No start event found in process"}
