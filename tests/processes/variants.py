"""Variants of the bundled complaint procedure that administrators might deploy (shared by process tests)."""
from __future__ import annotations

import copy

from engine.workflow import specs
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
