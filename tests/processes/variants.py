"""Variants of the bundled complaint procedure that administrators might deploy (shared by process tests)."""
from __future__ import annotations

import copy

from engine.cases.models import CaseEvent
from engine.workflow import specs
from engine.workflow.registry import StepContext, operation
from tests.conftest import PROCESSES

LEGAL_REVIEW_FORM = {
    "title": "法律审核",
    "type": "object",
    "required": ["opinion"],
    "properties": {"opinion": {"type": "string", "title": "法律审核意见", "minLength": 1, "maxLength": 2000}},
}
LEGAL_REVIEW_TASK = (
    '<bpmn:userTask id="legal_review" name="法律审核">'
    '<bpmn:extensionElements><spiffworkflow:properties>'
    '<spiffworkflow:property name="formJsonSchemaFilename" value="legal_review.json" />'
    '</spiffworkflow:properties></bpmn:extensionElements>'
    '<bpmn:incoming>flow_13_verify_excuse_rule</bpmn:incoming>'
    '<bpmn:outgoing>flow_legal_review_excuse_rule</bpmn:outgoing>'
    '</bpmn:userTask>\n    '
)


def bundled() -> specs.Bundle:
    bundle = specs.bundle_from_directory(PROCESSES / "complaint.bpmn")
    bundle.forms = copy.deepcopy(bundle.forms)
    return bundle


def _replace(xml: str, old: str, new: str) -> str:
    assert xml.count(old) == 1, old
    return xml.replace(old, new)


def with_legal_review() -> specs.Bundle:
    """complaint.bpmn with a legal review by the provincial credit office (ndrc lane) after verification."""
    bundle = bundled()
    xml = bundle.bpmn_xml
    xml = _replace(xml, "<bpmn:flowNodeRef>ndrc_review</bpmn:flowNodeRef>",
                   "<bpmn:flowNodeRef>ndrc_review</bpmn:flowNodeRef><bpmn:flowNodeRef>legal_review</bpmn:flowNodeRef>")
    xml = _replace(xml, '<bpmn:businessRuleTask id="excuse_rule"', LEGAL_REVIEW_TASK + '<bpmn:businessRuleTask id="excuse_rule"')
    xml = _replace(xml, "<bpmn:incoming>flow_13_verify_excuse_rule</bpmn:incoming>\n",
                   "<bpmn:incoming>flow_legal_review_excuse_rule</bpmn:incoming>\n")
    xml = _replace(xml, 'sourceRef="verify" targetRef="excuse_rule" />',
                   'sourceRef="verify" targetRef="legal_review" />\n    <bpmn:sequenceFlow '
                   'id="flow_legal_review_excuse_rule" sourceRef="legal_review" targetRef="excuse_rule" />')
    xml = _replace(xml, '<bpmndi:BPMNShape id="verify_di"',
                   '<bpmndi:BPMNShape id="legal_review_di" bpmnElement="legal_review">'
                   '<dc:Bounds x="1130" y="255" width="110" height="80" /></bpmndi:BPMNShape>\n      '
                   '<bpmndi:BPMNShape id="verify_di"')
    bundle.bpmn_xml = xml
    bundle.forms["legal_review.json"] = copy.deepcopy(LEGAL_REVIEW_FORM)
    return bundle


def with_review_in_new_lane(lane_name: str = "法规审查处") -> specs.Bundle:
    """complaint.bpmn with the legal review (after verification) in a new lane named `lane_name`.

    The lane names no code-backed resolver: it deploys only once an administrator defines that role.
    """
    bundle = with_legal_review()
    xml = bundle.bpmn_xml
    xml = _replace(xml, "<bpmn:flowNodeRef>ndrc_review</bpmn:flowNodeRef><bpmn:flowNodeRef>legal_review</bpmn:flowNodeRef>",
                   "<bpmn:flowNodeRef>ndrc_review</bpmn:flowNodeRef>")
    xml = _replace(xml, "    </bpmn:laneSet>",
                   f'      <bpmn:lane id="Lane_legal" name="{lane_name}">'
                   "<bpmn:flowNodeRef>legal_review</bpmn:flowNodeRef></bpmn:lane>\n    </bpmn:laneSet>")
    xml = _replace(xml, '<bpmndi:BPMNShape id="Lane_prefecture_lead_di"',
                   '<bpmndi:BPMNShape id="Lane_legal_di" bpmnElement="Lane_legal" isHorizontal="true">'
                   '<dc:Bounds x="40" y="970" width="4120" height="170" /></bpmndi:BPMNShape>\n      '
                   '<bpmndi:BPMNShape id="Lane_prefecture_lead_di"')
    xml = _replace(xml, '<dc:Bounds x="1130" y="255" width="110" height="80" />',
                   '<dc:Bounds x="1130" y="1015" width="110" height="80" />')
    xml = _replace(xml, '<dc:Bounds x="10" y="40" width="4150" height="930" />',
                   '<dc:Bounds x="10" y="40" width="4150" height="1100" />')
    bundle.bpmn_xml = xml
    return bundle


PLATFORM = {"up": True}  # the flaky test operation fails while this is False


@operation("test_platform_report", "测试用：报送外部平台（平台不可用时失败）", ("summary",))
def _platform_report(ctx: StepContext, summary: str) -> dict:
    ctx.session.add(CaseEvent(complaint_id=ctx.subject.id, at=ctx.now, kind="note", summary="报送外部平台：开始"))
    ctx.session.flush()  # written before the failure: must not be kept when the operation fails
    if not PLATFORM["up"]:
        raise RuntimeError("外部平台不可用（连接超时）")
    return {"reported": summary}


def with_flaky_report() -> specs.Bundle:
    """complaint.bpmn with a service task after verification that calls an operation which can fail."""
    bundle = bundled()
    xml = bundle.bpmn_xml
    task = ('<bpmn:serviceTask id="report_platform" name="报送外部平台"><bpmn:extensionElements>'
            '<spiffworkflow:serviceTaskOperator id="test_platform_report" resultVariable="platform_report">'
            '<spiffworkflow:parameters><spiffworkflow:parameter id="summary" type="str" '
            'value=\'"核实结论：" + str(outcome)\' /></spiffworkflow:parameters>'
            '</spiffworkflow:serviceTaskOperator></bpmn:extensionElements>'
            '<bpmn:incoming>flow_13_verify_excuse_rule</bpmn:incoming>'
            '<bpmn:outgoing>flow_report_excuse_rule</bpmn:outgoing></bpmn:serviceTask>\n    ')
    xml = _replace(xml, "<bpmn:flowNodeRef>ndrc_review</bpmn:flowNodeRef>",
                   "<bpmn:flowNodeRef>ndrc_review</bpmn:flowNodeRef><bpmn:flowNodeRef>report_platform</bpmn:flowNodeRef>")
    xml = _replace(xml, '<bpmn:businessRuleTask id="excuse_rule"', task + '<bpmn:businessRuleTask id="excuse_rule"')
    xml = _replace(xml, "<bpmn:incoming>flow_13_verify_excuse_rule</bpmn:incoming>\n",
                   "<bpmn:incoming>flow_report_excuse_rule</bpmn:incoming>\n")
    xml = _replace(xml, 'sourceRef="verify" targetRef="excuse_rule" />',
                   'sourceRef="verify" targetRef="report_platform" />\n    <bpmn:sequenceFlow '
                   'id="flow_report_excuse_rule" sourceRef="report_platform" targetRef="excuse_rule" />')
    xml = _replace(xml, '<bpmndi:BPMNShape id="verify_di"',
                   '<bpmndi:BPMNShape id="report_platform_di" bpmnElement="report_platform">'
                   '<dc:Bounds x="1130" y="255" width="110" height="80" /></bpmndi:BPMNShape>\n      '
                   '<bpmndi:BPMNShape id="verify_di"')
    bundle.bpmn_xml = xml
    return bundle


def with_boundary_timer(bundle: specs.Bundle, task_id: str, event_id: str, name: str, expression: str,
                        interrupting: bool = False) -> specs.Bundle:
    """`bundle` with a new boundary timer on `task_id` that notifies the provincial credit office, then ends."""
    xml = bundle.bpmn_xml
    cancel = "true" if interrupting else "false"
    added = (
        f'<bpmn:boundaryEvent id="{event_id}" name="{name}" cancelActivity="{cancel}" attachedToRef="{task_id}">'
        f'<bpmn:outgoing>flow_{event_id}_notify</bpmn:outgoing><bpmn:timerEventDefinition id="{event_id}_timer">'
        f'<bpmn:timeDate>{expression}</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:boundaryEvent>\n    '
        f'<bpmn:serviceTask id="{event_id}_notify" name="通报省发展改革委（{name}）"><bpmn:extensionElements>'
        '<spiffworkflow:serviceTaskOperator id="notify_lane"><spiffworkflow:parameters>'
        '<spiffworkflow:parameter id="lane" type="str" value=\'"ndrc"\' />'
        '<spiffworkflow:parameter id="kind" type="str" value=\'"escalation"\' />'
        f'<spiffworkflow:parameter id="title" type="str" value=\'"{name}"\' />'
        '<spiffworkflow:parameter id="message" type="str" value=\'"请督促办理。"\' />'
        '</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>'
        f'<bpmn:incoming>flow_{event_id}_notify</bpmn:incoming><bpmn:outgoing>flow_{event_id}_end</bpmn:outgoing>'
        '</bpmn:serviceTask>\n    '
        f'<bpmn:endEvent id="{event_id}_end"><bpmn:incoming>flow_{event_id}_end</bpmn:incoming></bpmn:endEvent>\n    '
        f'<bpmn:sequenceFlow id="flow_{event_id}_notify" sourceRef="{event_id}" targetRef="{event_id}_notify" />\n    '
        f'<bpmn:sequenceFlow id="flow_{event_id}_end" sourceRef="{event_id}_notify" targetRef="{event_id}_end" />\n    '
    )
    bundle.bpmn_xml = _replace(xml, '<bpmn:startEvent id="start"', added + '<bpmn:startEvent id="start"')
    return bundle


def without_boundary_event(bundle: specs.Bundle, event_id: str) -> specs.Bundle:
    """`bundle` without boundary event `event_id` and the branch after it (up to its end event, or to the first
    element another flow also leads to)."""
    import re

    xml = bundle.bpmn_xml
    flows = dict(re.findall(r'<bpmn:sequenceFlow id="([^"]+)" sourceRef="([^"]+)"', xml))
    targets = dict(re.findall(r'<bpmn:sequenceFlow id="([^"]+)" sourceRef="[^"]+" targetRef="([^"]+)"', xml))
    branch, node = [event_id], event_id
    while True:
        out = [flow for flow, source in flows.items() if source == node]
        if not out or list(targets.values()).count(targets[out[0]]) > 1:
            break
        node = targets[out[0]]
        branch.append(node)
    for element in branch:
        xml, n = re.subn(rf'\s*<bpmn:(\w+) id="{element}"[^>]*?(/>|>.*?</bpmn:\1>)', "", xml, count=1, flags=re.S)
        assert n == 1, element
        xml = re.sub(rf'\s*<bpmn:flowNodeRef>{element}</bpmn:flowNodeRef>', "", xml)
        xml = re.sub(rf'\s*<bpmndi:BPMNShape id="[^"]+" bpmnElement="{element}".*?</bpmndi:BPMNShape>', "", xml,
                     flags=re.S)
    for flow, source in flows.items():
        if source in branch:
            xml = re.sub(rf'\s*<bpmn:incoming>{flow}</bpmn:incoming>', "", xml)
            xml = re.sub(rf'\s*<bpmn:sequenceFlow id="{flow}"[^>]*/>', "", xml)
            xml = re.sub(rf'\s*<bpmndi:BPMNEdge id="[^"]+" bpmnElement="{flow}".*?</bpmndi:BPMNEdge>', "", xml,
                         flags=re.S)
    bundle.bpmn_xml = xml
    return bundle


def with_timer_expression(bundle: specs.Bundle, timer_id: str, expression: str) -> specs.Bundle:
    """`bundle` with the timer definition `timer_id` set to `expression`."""
    import re

    bundle.bpmn_xml, n = re.subn(
        rf'(<bpmn:timerEventDefinition id="{timer_id}"><bpmn:time\w+>).*?(</bpmn:time\w+>)',
        lambda m: m.group(1) + expression + m.group(2), bundle.bpmn_xml)
    assert n == 1, timer_id
    return bundle
