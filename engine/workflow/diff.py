"""What changed between two versions of a process: diagram elements added, removed and changed, forms, tables.

Compared by element id on the BPMN XML (the diagram layout, `bpmndi`, is ignored). An element is a child
with an id of a process, sub-process, lane set, lane or collaboration; everything inside it without an id
of its own (event definitions, conditions, extension properties, scripts) counts as part of it.
"""
from __future__ import annotations

from typing import Any

from lxml import etree
from sqlalchemy.orm import Session

from engine.workflow.specs import Bundle

CONTAINERS = {"process", "subProcess", "adHocSubProcess", "transaction", "laneSet", "lane", "childLaneSet",
              "collaboration", "definitions"}
ASPECTS = {  # child element (local name) → what an administrator calls that part of an element
    "extensionElements": "属性（表单、服务操作、参数等）", "conditionExpression": "条件", "incoming": "连接",
    "outgoing": "连接", "flowNodeRef": "泳道成员", "documentation": "说明",
}


def diff_bundles(old: Bundle, new: Bundle) -> dict[str, Any]:
    """Elements added, removed and changed (with which aspects), and forms and tables added/removed/changed."""
    before, after = _elements(old.bpmn_xml), _elements(new.bpmn_xml)
    added = [_describe(after[i]) for i in after if i not in before]
    removed = [_describe(before[i]) for i in before if i not in after]
    changed = []
    for element_id in after:
        if element_id in before and before[element_id]["signature"] != after[element_id]["signature"]:
            aspects = sorted({_aspect(key) for key in _changed_keys(before[element_id]["signature"],
                                                                     after[element_id]["signature"])})
            changed.append({**_describe(after[element_id]), "changes": aspects})
    return {"elements": {"added": added, "removed": removed, "changed": changed},
            "forms": _files(old.forms, new.forms), "dmn": _files(old.dmn, new.dmn)}


def _elements(xml: str) -> dict[str, dict[str, Any]]:
    try:
        root = etree.fromstring(xml.encode())
    except etree.XMLSyntaxError:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for el in root.iter():
        if not isinstance(el.tag, str) or el.get("id") is None:
            continue
        parent = el.getparent()
        if parent is None or etree.QName(parent).localname not in CONTAINERS:
            continue
        if (etree.QName(el).namespace or "").endswith("/DI"):
            continue  # the layout
        kind = etree.QName(el).localname
        found[el.get("id")] = {"id": el.get("id"), "type": kind, "name": el.get("name") or "",
                               "signature": _signature(el)}
    return found


def _signature(el: etree._Element) -> dict[str, str]:
    """Comparable parts of one element: its type, attributes, and each kind of child (ids inside ignored)."""
    parts: dict[str, list[str]] = {"type": [etree.QName(el).localname]}
    for name, value in sorted(el.attrib.items()):
        if name != "id":
            parts.setdefault(f"@{etree.QName(name).localname}", []).append(value)
    for child in el:
        if not isinstance(child.tag, str) or child.get("id") is not None and _is_element(child):
            continue
        copy = etree.fromstring(etree.tostring(child))
        for node in copy.iter():
            if isinstance(node.tag, str) and "id" in node.attrib and etree.QName(node).localname.endswith(
                    "EventDefinition"):
                del node.attrib["id"]
        parts.setdefault(etree.QName(child).localname, []).append(
            etree.tostring(copy, method="c14n").decode())
    return {key: "\n".join(values) for key, values in parts.items()}


def _is_element(child: etree._Element) -> bool:
    return etree.QName(child.getparent()).localname in CONTAINERS


def _changed_keys(a: dict[str, str], b: dict[str, str]) -> set[str]:
    return {key for key in set(a) | set(b) if a.get(key) != b.get(key)}


def _aspect(key: str) -> str:
    if key == "type":
        return "类型"
    if key == "@name":
        return "名称"
    if key in ("@sourceRef", "@targetRef"):
        return "连接"
    if key.startswith("@"):
        return f"属性 {key[1:]}"
    if key.endswith("EventDefinition"):
        return "事件定义（定时器、消息等）"
    if key in ("script", "multiInstanceLoopCharacteristics", "standardLoopCharacteristics"):
        return "脚本或循环"
    return ASPECTS.get(key, key)


def _describe(item: dict[str, Any]) -> dict[str, str]:
    return {"id": item["id"], "type": item["type"], "name": item["name"]}


def _files(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[str]]:
    return {"added": sorted(set(new) - set(old)), "removed": sorted(set(old) - set(new)),
            "changed": sorted(name for name in set(old) & set(new) if old[name] != new[name])}


def diff_versions(session: Session, key: str, from_version: int, to_version: int) -> dict[str, Any]:
    """The diff between two deployed versions of process `key` (404 when either does not exist)."""
    from engine.workflow.admin import export_version, get_version

    old, new = get_version(session, key, from_version), get_version(session, key, to_version)
    result = diff_bundles(export_version(session, key, from_version), export_version(session, key, to_version))
    return {"key": key, "from": {"id": old.id, "version": old.version, "comment": old.comment or ""},
            "to": {"id": new.id, "version": new.version, "comment": new.comment or ""}, **result}
