"""What changed between two versions of a process: diagram elements added, removed and changed, forms, tables.

Compared by element id on the BPMN XML. An element is a child with an id of a process, sub-process, lane
set, lane or collaboration; everything inside it without an id of its own (event definitions, conditions,
extension properties, scripts) counts as part of it. The comparison is semantic: attribute order, namespace
prefixes, whitespace, entity spelling, quotes and spacing inside expressions, and the `incoming`/`outgoing`
references a modeler writes from the flows do not count as changes of behaviour. Elements that differ only
in such ways, or whose shape or edge moved (`bpmndi`), are listed apart under `layout`.
"""
from __future__ import annotations

from typing import Any

from lxml import etree
from sqlalchemy.orm import Session

from engine.workflow.checks import normalised
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
    changed, layout = [], []
    shapes_before, shapes_after = _layout(old.bpmn_xml), _layout(new.bpmn_xml)
    for element_id in after:
        if element_id not in before:
            continue
        if before[element_id]["signature"] != after[element_id]["signature"]:
            aspects = sorted({_aspect(key) for key in _changed_keys(before[element_id]["signature"],
                                                                     after[element_id]["signature"])})
            changed.append({**_describe(after[element_id]), "changes": aspects})
            continue
        notes = []
        if before[element_id]["raw"] != after[element_id]["raw"]:
            notes.append("书写格式（属性顺序、空白、引号、连接引用等）")
        if shapes_before.get(element_id) != shapes_after.get(element_id):
            notes.append("位置或形状")
        if notes:
            layout.append({**_describe(after[element_id]), "changes": notes})
    forms, dmn = _files(old.forms, new.forms), _files(old.dmn, new.dmn)
    behaviour = bool(added or removed or changed or any(forms.values()) or any(dmn.values()))
    return {"elements": {"added": added, "removed": removed, "changed": changed}, "layout": layout,
            "behaviour_changed": behaviour, "forms": forms, "dmn": dmn}


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
                               "signature": _semantic(el), "raw": _signature(el)}
    return found


def _layout(xml: str) -> dict[str, str]:
    """Element id → where the diagram draws it (bounds of its shape, waypoints of its edge, label position)."""
    try:
        root = etree.fromstring(xml.encode())
    except etree.XMLSyntaxError:
        return {}
    drawn: dict[str, str] = {}
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("bpmnElement") and (etree.QName(el).namespace or "").endswith("/DI"):
            points = [",".join(f"{float(n.get(a) or 0):g}" for a in ("x", "y", "width", "height") if n.get(a))
                      for n in el.iter() if isinstance(n.tag, str) and n is not el]
            drawn[el.get("bpmnElement")] = ";".join(points) + f"|{el.get('isExpanded', '')}"
    return drawn


EXPRESSION_TAGS = {"conditionExpression", "timeDate", "timeDuration", "timeCycle", "script", "preScript",
                   "postScript"}
# attributes whose BPMN default a modeler leaves out when it re-saves (bpmn-js drops cancelActivity="true")
DEFAULTS = {"cancelActivity": "true", "isInterrupting": "true", "isForCompensation": "false",
            "triggeredByEvent": "false", "parallelMultiple": "false"}
DERIVED = {"incoming", "outgoing"}  # a modeler writes them from the flows' sourceRef/targetRef


def _semantic(el: etree._Element) -> dict[str, str]:
    """What an element does: its type, attributes and inner parts, with the way it is written normalised."""
    parts: dict[str, list[str]] = {"type": [etree.QName(el).localname]}
    for name, value in el.attrib.items():
        local = etree.QName(name).localname
        if name != "id" and DEFAULTS.get(local) != value.strip():
            parts[f"@{local}"] = [" ".join(value.split())]
    for child in el:
        if not isinstance(child.tag, str) or child.get("id") is not None and _is_element(child):
            continue
        kind = etree.QName(child).localname
        if kind in DERIVED:
            continue
        parts.setdefault(kind, []).append(_canonical(child))
    return {key: "\n".join(sorted(values)) for key, values in parts.items()}


def _canonical(node: etree._Element) -> str:
    """A namespace-prefix, attribute-order and whitespace independent text of one part of an element."""
    kind = etree.QName(node).localname
    attributes = []
    for name, value in sorted((etree.QName(n).localname, v) for n, v in node.attrib.items()):
        if name == "id" and kind.endswith("EventDefinition"):
            continue
        if name == "value" and kind in ("parameter", "property"):
            value = normalised(value) if value.strip() else ""
        attributes.append(f"{name}={' '.join(value.split())}")
    text = node.text or ""
    text = normalised(text) if kind in EXPRESSION_TAGS and text.strip() else " ".join(text.split())
    children = sorted(_canonical(child) for child in node if isinstance(child.tag, str))
    return f"{kind}[{';'.join(attributes)}]({text}){{{','.join(children)}}}"


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
