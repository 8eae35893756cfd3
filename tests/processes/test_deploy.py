"""Deploying process versions: checksums, versions, validation, and the sandbox at deploy and run time."""
from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.cases.models import CaseEvent
from engine.cases.services import instance_of, open_tasks, register_complaint
from engine.errors import ConflictError, InvalidDiagram, UnsafeExpression
from engine.org.models import Official
from engine.workflow import repair, serializer, specs
from engine.workflow.instances import complete_task
from engine.workflow.models import ProcessModel
from engine.workflow.sandbox import SandboxEnvironment
from tests.conftest import COMPLAINT, PROCESSES
from tests.processes.conftest import START

ACCEPTED_CONDITION = "<bpmn:conditionExpression>accepted</bpmn:conditionExpression>"
REJECTION_MESSAGE = '"您的投诉不予受理，原因："'


def bundled() -> specs.Bundle:
    bundle = specs.bundle_from_directory(PROCESSES / "complaint.bpmn")
    bundle.forms = copy.deepcopy(bundle.forms)
    return bundle


def changed(old: str, new: str) -> specs.Bundle:
    bundle = bundled()
    assert bundle.bpmn_xml.count(old) == 1, old
    bundle.bpmn_xml = bundle.bpmn_xml.replace(old, new)
    return bundle


def model_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ProcessModel)) or 0


def problems_of(session: Session, bundle: specs.Bundle) -> list[dict[str, str]]:
    """Deploy `bundle`, expecting InvalidDiagram and no stored row; returns its problems."""
    before = model_count(session)
    with pytest.raises(InvalidDiagram) as caught:
        specs.deploy(session, bundle, deployed_by="test")
    assert model_count(session) == before
    assert caught.value.message.startswith("流程模型校验未通过：")
    return caught.value.problems


# --- versions ------------------------------------------------------------------------------------------

def test_the_bundled_process_deploys_once(session: Session) -> None:
    current = specs.latest(session, "complaint")
    before = model_count(session)
    assert specs.deploy_directory(session, PROCESSES) == []
    again = specs.deploy(session, bundled(), deployed_by="someone-else")
    assert again.id == current.id
    assert again.sha256 == bundled().sha256()
    assert model_count(session) == before


def test_a_changed_bundle_is_a_new_version_and_running_cases_stay_on_theirs(
        session: Session, official: Callable[[str], Official]) -> None:
    old = specs.latest(session, "complaint")
    intake = official("intake")
    running, _ = register_complaint(session, COMPLAINT, intake, now=START)
    session.commit()

    new = specs.deploy(session, changed(REJECTION_MESSAGE, '"很抱歉，您的投诉不予受理，原因："'),
                       deployed_by="procadmin", comment="改写告知语")
    session.commit()
    assert (new.key, new.version) == ("complaint", old.version + 1)
    assert new.sha256 != old.sha256
    assert specs.latest(session, "complaint").id == new.id
    # the same bundle again is the same row, not a third version; the old bundle still maps to its own row
    assert specs.deploy(session, changed(REJECTION_MESSAGE, '"很抱歉，您的投诉不予受理，原因："')).id == new.id
    assert specs.deploy(session, bundled()).id == old.id

    fresh, _ = register_complaint(session, {**COMPLAINT, "agreement_name": "另一份协议"}, intake, now=START)
    session.commit()
    assert instance_of(session, running).model_id == old.id
    assert instance_of(session, fresh).model_id == new.id

    specs._SPEC_CACHE.clear()  # each instance's spec comes back from its own version's spec_json
    for complaint in (running, fresh):
        [task] = open_tasks(session, complaint)
        complete_task(session, task.id, {"accepted": False, "reason": "incomplete"}, intake, now=START)
        session.commit()
    notices = {c.id: session.scalar(select(CaseEvent.public_note).where(
        CaseEvent.complaint_id == c.id, CaseEvent.kind == "complainant_notice")) for c in (running, fresh)}
    assert notices[running.id].startswith("您的投诉不予受理")
    assert notices[fresh.id].startswith("很抱歉，您的投诉不予受理")
    assert instance_of(session, running).model_id == old.id


# --- validation ----------------------------------------------------------------------------------------

def test_xml_that_does_not_parse(session: Session) -> None:
    bundle = bundled()
    bundle.bpmn_xml = bundle.bpmn_xml.replace("</bpmn:process>", "")
    [problem] = problems_of(session, bundle)
    assert "不是有效的 XML" in problem["message"]


def test_a_lane_must_name_a_known_role(session: Session) -> None:
    [problem] = problems_of(session, changed('name="respondent"', 'name="mayor"'))
    assert problem["element"] == "Lane_respondent"
    assert "泳道 Lane_respondent（mayor） 的名称不是已知角色" in problem["message"]
    assert "supervisor" in problem["message"]


def test_a_service_task_must_name_a_registered_operation(session: Session) -> None:
    [problem] = problems_of(session, changed('serviceTaskOperator id="confirm_breach"',
                                             'serviceTaskOperator id="send_fax"'))
    assert problem["element"] == "push_breach"
    assert "push_breach（生成违约失信记录（待复核，不公开）并推送省发展改革委）" in problem["message"]
    assert "指定的操作「send_fax」未注册" in problem["message"]


def test_a_user_task_needs_a_form(session: Session) -> None:
    [problem] = problems_of(session, changed(
        '<spiffworkflow:property name="formJsonSchemaFilename" value="screening.json" />', ""))
    assert problem["element"] == "screening"
    assert problem["message"] == "用户任务 screening（受理审查） 没有指定表单"


def test_a_user_tasks_form_must_exist(session: Session) -> None:
    bundle = bundled()
    del bundle.forms["verify.json"]
    [problem] = problems_of(session, bundle)
    assert problem["element"] == "verify"
    assert problem["message"] == "用户任务 verify（核实认定） 的表单 verify.json 不存在"


def test_a_user_tasks_form_must_be_valid_json_schema(session: Session) -> None:
    bundle = bundled()
    bundle.forms["verify.json"]["properties"]["outcome"]["type"] = "text"
    [problem] = problems_of(session, bundle)
    assert problem["element"] == "verify"
    assert "用户任务 verify（核实认定） 的表单 verify.json 不是有效的 JSON Schema" in problem["message"]


def test_a_case_status_must_be_known(session: Session) -> None:
    [problem] = problems_of(session, changed('name="caseStatus" value="verifying"', 'name="caseStatus" value="checking"'))
    assert problem["element"] == "verify"
    assert "verify（核实认定） 的案件状态「checking」不是已知状态" in problem["message"]
    assert "verifying" in problem["message"]


def test_a_time_limit_must_be_configured(session: Session) -> None:
    [problem] = problems_of(session, changed('name="timeLimit" value="verify"', 'name="timeLimit" value="verfiy"'))
    assert problem["element"] == "verify"
    assert "verify（核实认定） 的办理时限「verfiy」未配置" in problem["message"]


def test_every_problem_is_listed(session: Session) -> None:
    bundle = changed('name="respondent"', 'name="mayor"')
    bundle.bpmn_xml = bundle.bpmn_xml.replace('serviceTaskOperator id="confirm_breach"',
                                              'serviceTaskOperator id="send_fax"')
    del bundle.forms["verify.json"]
    problems = problems_of(session, bundle)
    assert sorted(p["element"] for p in problems) == ["Lane_respondent", "push_breach", "verify"]


# --- the sandbox at deploy time ------------------------------------------------------------------------

UNSAFE = {
    "__import__('os')": "不允许使用名称「__import__」",
    "open('/etc/passwd').read()": "不允许使用名称「open」",
    "().__class__": "不允许访问属性「__class__」",
}


@pytest.mark.parametrize("source", sorted(UNSAFE))
def test_an_unsafe_condition_is_refused(session: Session, source: str) -> None:
    [problem] = problems_of(session, changed(
        ACCEPTED_CONDITION, f"<bpmn:conditionExpression>accepted and {source}</bpmn:conditionExpression>"))
    assert problem["element"] == "flow_06_gw_accepted_forward_to_supervisor"
    assert UNSAFE[source] in problem["message"]


@pytest.mark.parametrize("source", sorted(UNSAFE))
def test_an_unsafe_service_parameter_is_refused(session: Session, source: str) -> None:
    [problem] = problems_of(session, changed(REJECTION_MESSAGE, f"str({source.replace(chr(39), '&quot;')})"))
    assert problem["element"] == "notify_rejected"
    assert problem["message"].startswith("notify_rejected（告知不予受理）：")
    assert UNSAFE[source] in problem["message"]


@pytest.mark.parametrize(("script", "message"), [
    ("import os", "不允许导入模块（import）"),
    ("from os import system", "不允许导入模块（import）"),
    ("x = __import__('os')", "不允许使用名称「__import__」"),
    ("x = ().__class__.__bases__", "不允许访问属性"),
    ("data = open('/etc/passwd').read()", "不允许使用名称「open」"),
    ("while True:\n    pass", "不允许使用 while 循环"),
    ("x = 9 ** 9 ** 9", "乘方（**）只允许不超过 64 的整数常量指数"),
])
def test_an_unsafe_script_is_refused(session: Session, script: str, message: str) -> None:
    escaped = script.replace("'", "&apos;")
    bundle = changed('<spiffworkflow:property name="caseStatus" value="screening" />',
                     f'<spiffworkflow:property name="caseStatus" value="screening" /></spiffworkflow:properties>'
                     f'<spiffworkflow:preScript>{escaped}</spiffworkflow:preScript><spiffworkflow:properties>')
    [problem] = problems_of(session, bundle)
    assert problem["element"] == "screening"
    assert message in problem["message"]


def test_an_unsafe_timer_is_refused(session: Session) -> None:
    [problem] = problems_of(session, changed('limit("verify")', "__import__('os').getcwd()"))
    assert problem["element"] == "verify_overdue"
    assert "不允许使用名称「__import__」" in problem["message"]


# --- the sandbox at run time ---------------------------------------------------------------------------

def store_unchecked(session: Session, bundle: specs.Bundle) -> ProcessModel:
    """Write a ProcessModel row without deploy's validation, as a tampered database would hold it."""
    tree = etree.fromstring(bundle.bpmn_xml.encode())
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(tree, filename="complaint.bpmn")
    for name, xml in bundle.dmn.items():
        parser.add_dmn_xml(etree.fromstring(xml.encode()), filename=name)
    spec, subprocess_specs = parser.get_spec("complaint"), parser.get_subprocess_specs("complaint")
    version = session.scalar(select(func.max(ProcessModel.version)).where(ProcessModel.key == "complaint")) + 1
    model = ProcessModel(key="complaint", version=version, name="篡改的版本", sha256=bundle.sha256(),
                         bpmn_xml=bundle.bpmn_xml, dmn=bundle.dmn, forms=bundle.forms,
                         spec_json=serializer.dump_spec(spec, subprocess_specs), deployed_by="tamperer")
    session.add(model)
    session.commit()
    return model


@pytest.mark.parametrize(("accepted", "old", "new"), [
    (True, ACCEPTED_CONDITION,
     "<bpmn:conditionExpression>accepted and open({target!r}, 'w')</bpmn:conditionExpression>"),
    (False, REJECTION_MESSAGE, "str(open(&quot;{target}&quot;, &quot;w&quot;))"),
    (True, ACCEPTED_CONDITION, "<bpmn:conditionExpression>__import__('os').system('touch {target}')"
                               "</bpmn:conditionExpression>"),
])
def test_unsafe_code_fails_safely_at_run_time(session: Session, official: Callable[[str], Official],
                                              tmp_path: Path, accepted: bool, old: str, new: str) -> None:
    target = str(tmp_path / "pwned")
    model = store_unchecked(session, changed(old, new.format(target=target)))
    complaint, _ = register_complaint(session, COMPLAINT, official("intake"), now=START)
    session.commit()
    instance = instance_of(session, complaint)
    assert instance.model_id == model.id
    before = (instance.state, instance.lock_version, instance.status)
    [task] = open_tasks(session, complaint)

    data = {"accepted": accepted, "reason": None if accepted else "incomplete"}
    complete_task(session, task.id, data, official("intake"), now=START)  # no 500: the case goes to `error`
    assert not Path(target).exists()
    session.commit()
    session.expire_all()
    instance = instance_of(session, complaint)
    assert instance.status == "error"
    assert "执行出错" in instance.error
    assert "表达式中不允许使用名称" in instance.error
    assert instance.state != before[0]  # the official's step is kept, up to the failed one
    assert open_tasks(session, complaint) == []
    kinds = session.scalars(select(CaseEvent.kind).where(CaseEvent.complaint_id == complaint.id)
                            .order_by(CaseEvent.id)).all()
    assert kinds == ["registered", "task_completed", "step_failed"]
    session.refresh(complaint)
    assert complaint.status == "screening"
    assert complaint.result is None
    with pytest.raises(ConflictError, match="重试仍然失败"):  # the unsafe expression is refused again
        repair.retry(session, instance.id, official("procadmin"), "再试", now=START)
    assert not Path(target).exists()


@pytest.mark.parametrize("source", [*sorted(UNSAFE), "__builtins__", "(1).__class__.__mro__", "'{0.__class__}'.format(1)"])
def test_the_environment_refuses_unsafe_expressions(source: str) -> None:
    with pytest.raises(UnsafeExpression) as caught:
        SandboxEnvironment().evaluate(source, {})
    assert caught.value.message.startswith("表达式中不允许")


def test_the_environment_has_no_dangerous_builtins_even_unchecked() -> None:
    env = SandboxEnvironment()
    # beneath the syntax check, the globals themselves offer no way out
    with pytest.raises(NameError):
        super(SandboxEnvironment, env).evaluate("open('/etc/passwd')", {})
    with pytest.raises((NameError, ImportError)):
        super(SandboxEnvironment, env).evaluate("__import__('os')", {})
    assert SandboxEnvironment().evaluate("workdays(0) <= workdays(1) and len(x) == 2", {"x": [1, 2]}) is True


def test_spec_json_restores_the_same_spec(session: Session) -> None:
    model = specs.latest(session, "complaint")
    specs._SPEC_CACHE.clear()
    spec, subprocess_specs = specs.spec_for(model)
    assert json.loads(serializer.dump_spec(spec, subprocess_specs)) == json.loads(model.spec_json)
    assert specs.spec_for(model)[0] is spec  # cached by checksum
