"""Deploy checks that read a diagram as a graph: what cannot work is an error, what may not work a warning.

Nothing here runs an expression: conditions, parameters and timers are parsed and compared as syntax trees.
Each problem is `{"element", "message"}` (Chinese, naming the element; the modeler outlines it); a warning
also has `"severity": "warning"` and may be acknowledged by the administrator, errors always block.
"""
from __future__ import annotations

import ast
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from engine.workflow.registry import LANES, OPERATIONS, START_FACT_VALUES, START_FACTS, TIMER_START_FACTS
from engine.workflow.sandbox import HELPERS, SAFE_BUILTINS, STEP_HELPERS, constant_text, names_used

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
ACTIVITIES = {"task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask", "receiveTask",
              "manualTask", "callActivity", "subProcess", "adHocSubProcess", "transaction"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
FLOW_NODES = ACTIVITIES | EVENTS | GATEWAYS
# where a case waits for a person, for time or for a message: a cycle through one of these cannot spin
WAITS = {"userTask", "manualTask", "receiveTask", "intermediateCatchEvent", "boundaryEvent", "callActivity"}
KNOWN_NAMES = set(SAFE_BUILTINS) | set(HELPERS) | set(STEP_HELPERS) | {"True", "False", "None"}
KIND_LABELS = {"userTask": "用户任务", "serviceTask": "服务任务", "scriptTask": "脚本任务",
               "businessRuleTask": "决策任务", "exclusiveGateway": "排他网关", "inclusiveGateway": "包容网关",
               "parallelGateway": "并行网关", "startEvent": "开始事件", "endEvent": "结束事件",
               "boundaryEvent": "边界事件", "intermediateCatchEvent": "中间事件", "subProcess": "子流程",
               "sequenceFlow": "连线"}


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def label(el: etree._Element) -> str:
    """`id（name）` as deploy messages name an element."""
    name = el.get("name")
    return f"{el.get('id')}（{name}）" if name else (el.get("id") or _local(el))


def _error(el: etree._Element, message: str) -> dict[str, str]:
    return {"element": el.get("id", ""), "message": message}


def _warning(el: etree._Element, message: str) -> dict[str, str]:
    return {"element": el.get("id", ""), "message": message, "severity": "warning"}


@dataclass
class Graph:
    """The flow nodes of one process or sub-process and the sequence flows between them."""

    container: etree._Element
    nodes: dict[str, etree._Element] = field(default_factory=dict)
    flows: list[etree._Element] = field(default_factory=list)
    out: dict[str, list[str]] = field(default_factory=dict)
    into: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, container: etree._Element) -> Graph:
        graph = cls(container)
        for child in container:
            if not isinstance(child.tag, str):
                continue
            if _local(child) in FLOW_NODES and child.get("id"):
                graph.nodes[child.get("id")] = child
            elif _local(child) == "sequenceFlow":
                graph.flows.append(child)
        graph.out = {node: [] for node in graph.nodes}
        graph.into = {node: [] for node in graph.nodes}
        for flow in graph.flows:
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            if source in graph.nodes and target in graph.nodes:
                graph.out[source].append(target)
                graph.into[target].append(source)
        for node_id, el in graph.nodes.items():  # a boundary event follows the activity it is attached to
            attached = el.get("attachedToRef")
            if _local(el) == "boundaryEvent" and attached in graph.nodes:
                graph.out[attached].append(node_id)
                graph.into[node_id].append(attached)
        return graph

    def event_subprocess(self, node_id: str) -> bool:
        el = self.nodes[node_id]
        return _local(el) == "subProcess" and el.get("triggeredByEvent") == "true"

    def starts(self) -> list[str]:
        return [i for i, el in self.nodes.items() if _local(el) == "startEvent" or self.event_subprocess(i)]

    def ends(self) -> list[str]:
        return [i for i, el in self.nodes.items() if _local(el) == "endEvent" or self.event_subprocess(i)]

    def kind(self, node_id: str) -> str:
        return _local(self.nodes[node_id])

    def waits(self, node_id: str) -> bool:
        el = self.nodes[node_id]
        if _local(el) in ("subProcess", "transaction", "adHocSubProcess"):
            return any(_local(d) in WAITS for d in el.iter() if isinstance(d.tag, str))
        return _local(el) in WAITS


def _reach(start: Iterable[str], edges: dict[str, list[str]]) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        for nxt in edges.get(todo.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def structure_problems(tree: etree._Element) -> list[dict[str, str]]:
    """Self-loops, cycles without a wait, unreachable elements, dead ends, gateway flows that cannot be told apart."""
    problems: list[dict[str, str]] = []
    for container in tree.xpath("//bpmn:process | //bpmn:subProcess | //bpmn:transaction", namespaces=NS):
        graph = Graph.of(container)
        if not graph.nodes:
            continue
        problems += _self_loops(graph) + _dead_ends(graph) + _spinning_cycles(graph)
    return problems


def _self_loops(graph: Graph) -> list[dict[str, str]]:
    return [_error(flow, f"连线 {flow.get('id')} 从「{label(graph.nodes[flow.get('sourceRef')])}」连回它自己："
                         "运行时会无限重复，请删除此连线或连到下一步")
            for flow in graph.flows
            if flow.get("sourceRef") == flow.get("targetRef") and flow.get("sourceRef") in graph.nodes]


def _dead_ends(graph: Graph) -> list[dict[str, str]]:
    problems = []
    reached = _reach(graph.starts(), graph.out)
    reaches_end = _reach(graph.ends(), graph.into)
    for node_id, el in graph.nodes.items():
        kind = graph.kind(node_id)
        if node_id not in reached:
            problems.append(_error(el, f"{KIND_LABELS.get(kind, kind)} {label(el)} 从开始事件无法到达"
                                       "（没有连入的连线，或只从无法到达的元素连入）"))
        elif kind != "endEvent" and not graph.event_subprocess(node_id) and not graph.out[node_id]:
            problems.append(_error(el, f"{KIND_LABELS.get(kind, kind)} {label(el)} 没有后续连线：流程会在这里结束而"
                                       "不经过结束事件（请连到下一步或结束事件）"))
        elif node_id not in reaches_end:
            problems.append(_error(el, f"从{KIND_LABELS.get(kind, kind)} {label(el)} 无法到达结束事件"))
    return problems


def _spinning_cycles(graph: Graph) -> list[dict[str, str]]:
    """Cycles among elements where nothing waits: a case entering one repeats it without end."""
    moving = {i for i in graph.nodes if not graph.waits(i)}
    edges = {i: [j for j in graph.out[i] if j in moving and j != i] for i in moving}
    problems = []
    for component in _strongly_connected(sorted(moving, key=list(graph.nodes).index), edges):
        if len(component) < 2:
            continue
        ordered = [i for i in graph.nodes if i in component]
        path = " → ".join(label(graph.nodes[i]) for i in ordered)
        problems.append(_error(graph.nodes[ordered[0]], (
            f"循环 {path} 中没有等待环节（用户任务、定时或消息事件）：案件进入后会无限重复，"
            "请在循环中加入用户任务或定时事件，或去掉连回的连线")))
    return problems


def _strongly_connected(nodes: list[str], edges: dict[str, list[str]]) -> list[set[str]]:
    """Tarjan's algorithm without recursion."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[set[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child_index = work.pop()
            if child_index == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = edges.get(node, [])
            if child_index < len(children):
                work.append((node, child_index + 1))
                child = children[child_index]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                found.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


# --- gateways ----------------------------------------------------------------------------------------------

def gateway_problems(tree: etree._Element, key: str, forms: dict[str, Any]) -> list[dict[str, str]]:
    """Exclusive and inclusive gateways: every flow out has a condition or is the default; no two are the same;
    without a default the conditions should obviously cover every case (else a warning)."""
    enums = {**_field_values(forms), **{name: list(values) for name, values in START_FACT_VALUES.get(key, {}).items()}}
    problems = []
    for gateway in tree.xpath("//bpmn:exclusiveGateway | //bpmn:inclusiveGateway", namespaces=NS):
        flows = gateway.getparent().xpath("bpmn:sequenceFlow[@sourceRef=$g]", namespaces=NS, g=gateway.get("id"))
        if len(flows) < 2:
            continue
        default = gateway.get("default")
        seen: dict[str, etree._Element] = {}
        conditions = []
        for flow in flows:
            texts = flow.xpath("bpmn:conditionExpression/text()", namespaces=NS)
            text = (texts[0] if texts else "").strip()
            if flow.get("id") == default:
                continue
            if not text:
                problems.append(_error(flow, (
                    f"网关 {label(gateway)} 的连线 {label(flow)} 既没有条件也不是默认连线："
                    "请填写条件，或把它设为默认连线")))
                continue
            key = normalised(text)
            if key in seen:
                problems.append(_error(gateway, (
                    f"网关 {label(gateway)} 的连线 {label(seen[key])} 与 {label(flow)} 条件相同（「{text}」）："
                    "满足条件时案件总走其中一条，另一条永远走不到——请修改其中一条的条件")))
                continue
            seen[key] = flow
            conditions.append(text)
        if default is None and conditions and not covers_all(conditions, enums):
            problems.append(_warning(gateway, (
                f"网关 {label(gateway)} 没有默认连线，条件（{'；'.join(conditions)}）不一定覆盖所有情况："
                "都不满足时案件会出错停下。可设一条默认连线，或确认条件已覆盖全部情况")))
    return problems


class _Normaliser(ast.NodeTransformer):
    """`"x" == a` → `a == "x"`; `a != b` → `not a == b`; nested `not not a` → `a`."""

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq | ast.NotEq) and isinstance(node.left, ast.Constant) \
                and not isinstance(node.comparators[0], ast.Constant):
            node = ast.Compare(left=node.comparators[0], ops=node.ops, comparators=[node.left])
        if len(node.ops) == 1 and isinstance(node.ops[0], ast.NotEq):
            return ast.UnaryOp(op=ast.Not(), operand=ast.Compare(left=node.left, ops=[ast.Eq()],
                                                                comparators=node.comparators))
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not) and isinstance(node.operand, ast.UnaryOp) and isinstance(
                node.operand.op, ast.Not):
            return node.operand.operand
        return node


def _tree(text: str) -> ast.expr | None:
    try:
        return _Normaliser().visit(ast.parse(text.strip(), mode="eval")).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def normalised(text: str) -> str:
    """A condition's syntax tree with spacing, quotes and operand order normalised (for comparing conditions)."""
    body = _tree(text)
    return ast.dump(body) if body is not None else " ".join(text.split())


def covers_all(conditions: list[str], enums: dict[str, list[Any]]) -> bool:
    """Whether the conditions obviously cover every case: one is `True`; two are `c` and `not c`; or each is
    `field == value` for one field and together they name every value its form allows."""
    trees = [t for t in (_tree(c) for c in conditions) if t is not None]
    dumps = {ast.dump(t) for t in trees}
    for tree in trees:
        if isinstance(tree, ast.Constant) and tree.value is True:
            return True
        negated = tree.operand if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.Not) else \
            ast.UnaryOp(op=ast.Not(), operand=tree)
        if ast.dump(negated) in dumps:
            return True
    fields: set[str] = set()
    values: set[Any] = set()
    for tree in trees:
        if isinstance(tree, ast.Compare) and len(tree.ops) == 1 and isinstance(tree.ops[0], ast.Eq) and isinstance(
                tree.left, ast.Name) and isinstance(tree.comparators[0], ast.Constant):
            fields.add(tree.left.id)
            values.add(tree.comparators[0].value)
        elif isinstance(tree, ast.Compare) and len(tree.ops) == 1 and isinstance(tree.ops[0], ast.In) and isinstance(
                tree.left, ast.Name) and isinstance(tree.comparators[0], ast.Tuple | ast.List | ast.Set) and all(
                isinstance(e, ast.Constant) for e in tree.comparators[0].elts):
            fields.add(tree.left.id)
            values.update(e.value for e in tree.comparators[0].elts)
        else:
            return False
    if len(fields) != 1:
        return False
    allowed = enums.get(next(iter(fields)))
    return allowed is not None and set(allowed) <= values


def _field_values(forms: dict[str, Any]) -> dict[str, list[Any]]:
    """Form field → the values its schema allows (`enum`, or True/False for a boolean), when every form agrees."""
    found: dict[str, list[Any]] = {}
    for schema in forms.values():
        properties = schema.get("properties") if isinstance(schema, dict) else None
        for name, spec in (properties or {}).items() if isinstance(properties, dict) else ():
            if not isinstance(spec, dict):
                continue
            values = spec.get("enum") if isinstance(spec.get("enum"), list) else (
                [True, False] if spec.get("type") == "boolean" else None)
            if values is None:
                continue
            found[name] = sorted({*found.get(name, []), *values}, key=repr)
    return found


# --- names -------------------------------------------------------------------------------------------------

def name_problems(tree: etree._Element, key: str, forms: dict[str, Any], dmn_outputs: dict[str, set[str]]
                  ) -> list[dict[str, str]]:
    """Every name a condition, parameter, timer, due expression or script reads is defined upstream: by a form
    field of an earlier user task, a case fact the process starts with, or an earlier step's result."""
    elements, into = _elements_and_predecessors(tree)
    facts = _start_facts(tree, key)
    defines = {i: _defines(el, forms, dmn_outputs) for i, el in elements.items()}
    problems = []
    for element_id, source, mode, what in _expression_sites(tree):
        if element_id not in elements:
            continue
        el = elements[element_id]
        read = names_used(source, mode) - KNOWN_NAMES
        if not read:
            continue
        upstream = _upstream(el, into)
        known = set(facts) | _pre_script_names(el)
        if what == POST_SCRIPT:  # runs once the task is done: its own form fields and result are there
            known |= defines.get(element_id, set())
        for ancestor in upstream:
            known |= defines.get(ancestor, set())
        for name in sorted(read - known):
            hint = "（文字须加引号，例如 \"…\"）" if not name.isascii() else ""
            problems.append(_error(el, (
                f"{label(el)} 的{what}「{source.strip()}」使用了「{name}」，但前面的表单字段、案件信息和步骤结果"
                f"中都没有这个名称{hint}")))
    return problems


def _elements_and_predecessors(tree: etree._Element) -> tuple[dict[str, etree._Element], dict[str, set[str]]]:
    """Flow nodes and sequence flows by id, and for each what comes directly before it (a boundary event comes
    after its task, a sub-process's start after the sub-process, the sub-process after its end)."""
    elements = {el.get("id"): el for el in tree.iter() if isinstance(el.tag, str) and el.get("id")
                and _local(el) in FLOW_NODES | {"sequenceFlow"}}
    into: dict[str, set[str]] = {i: set() for i in elements}
    for el in elements.values():
        if _local(el) == "sequenceFlow":
            into.setdefault(el.get("id"), set()).add(el.get("sourceRef"))
            into.setdefault(el.get("targetRef"), set()).add(el.get("id"))
        elif _local(el) == "boundaryEvent" and el.get("attachedToRef"):
            into[el.get("id")].add(el.get("attachedToRef"))
        elif _local(el) == "startEvent" and _local(el.getparent()) == "subProcess":
            into[el.get("id")].add(el.getparent().get("id"))
        elif _local(el) == "endEvent" and _local(el.getparent()) == "subProcess":
            into.setdefault(el.getparent().get("id"), set()).add(el.get("id"))
    return elements, into


def _start_facts(tree: etree._Element, key: str) -> set[str]:
    has_timer_start = bool(tree.xpath("//bpmn:startEvent[bpmn:timerEventDefinition]", namespaces=NS))
    return set(START_FACTS.get(key, ())) | (TIMER_START_FACTS if has_timer_start else set())


def _upstream(el: etree._Element, into: dict[str, set[str]]) -> set[str]:
    """Ids of everything that may have completed before `el` runs."""
    upstream = _reach([el.get("id")], into) - {el.get("id")}
    if _local(el) == "boundaryEvent":  # the attached task has not completed when its timer is set
        attached = el.get("attachedToRef")
        if attached not in _reach(into.get(attached, ()), into):
            upstream.discard(attached)
    return upstream


def upstream_fields(tree: etree._Element, key: str, forms: dict[str, Any], element_id: str) -> list[dict[str, Any]]:
    """The form fields and case facts an expression on `element_id` may read (what `name_problems` accepts),
    each `{name, title, type, format, choices, source}` — `choices` the allowed values with their Chinese
    labels (an enum's `x-enumNames`, a boolean's `x-labels`), for the modeler's condition and timer builders."""
    elements, into = _elements_and_predecessors(tree)
    el = elements.get(element_id)
    if el is None:
        return []
    found: dict[str, dict[str, Any]] = {}
    upstream = _upstream(el, into)
    for ancestor in sorted(upstream, key=lambda i: elements[i].sourceline or 0):  # the diagram's order
        node = elements[ancestor]
        if _local(node) != "userTask":
            continue
        for form in node.xpath(".//spiffworkflow:property[@name='formJsonSchemaFilename']/@value", namespaces=NS):
            schema = forms.get(form)
            properties = schema.get("properties") if isinstance(schema, dict) else None
            for name, spec in (properties or {}).items() if isinstance(properties, dict) else ():
                if isinstance(spec, dict) and name not in found:
                    found[name] = _field_description(name, spec, node.get("name") or ancestor)
    for name in sorted(_start_facts(tree, key) - set(found)):
        values = START_FACT_VALUES.get(key, {}).get(name)
        found[name] = {"name": name, "title": name, "type": "fact", "format": None, "source": "案件信息",
                       "choices": [{"value": v, "label": str(v)} for v in values] if values else None}
    return list(found.values())


def _field_description(name: str, spec: dict[str, Any], task: str) -> dict[str, Any]:
    kinds = spec.get("type")
    kinds = [k for k in kinds if k != "null"] if isinstance(kinds, list) else [kinds]
    kind = kinds[0] if kinds else None
    choices = None
    if isinstance(spec.get("enum"), list):
        names = spec.get("x-enumNames") if isinstance(spec.get("x-enumNames"), list) else []
        choices = [{"value": v, "label": str(names[i]) if i < len(names) else str(v)}
                   for i, v in enumerate(spec["enum"]) if v is not None]
    elif kind == "boolean":
        labels = spec.get("x-labels") if isinstance(spec.get("x-labels"), dict) else {}
        choices = [{"value": True, "label": str(labels.get("true", "是"))},
                   {"value": False, "label": str(labels.get("false", "否"))}]
    return {"name": name, "title": str(spec.get("title") or name), "type": kind, "format": spec.get("format"),
            "choices": choices, "source": task}


PRE_SCRIPT, POST_SCRIPT = "前置脚本", "后置脚本"


def _expression_sites(tree: etree._Element) -> Iterable[tuple[str, str, str, str]]:
    """(element id, source, parse mode, what it is) for every expression and script in the diagram."""
    for el in tree.xpath("//bpmn:sequenceFlow/bpmn:conditionExpression", namespaces=NS):
        yield el.getparent().get("id"), el.text or "", "eval", "条件"
    for el in tree.xpath("//bpmn:timeDuration | //bpmn:timeDate | //bpmn:timeCycle", namespaces=NS):
        yield el.getparent().getparent().get("id"), el.text or "", "eval", "定时器表达式"
    for el in tree.xpath("//bpmn:scriptTask/bpmn:script", namespaces=NS):
        yield el.getparent().get("id"), el.text or "", "exec", "脚本"
    for el in tree.xpath("//spiffworkflow:preScript", namespaces=NS):
        yield el.getparent().getparent().get("id"), el.text or "", "exec", PRE_SCRIPT
    for el in tree.xpath("//spiffworkflow:postScript", namespaces=NS):
        yield el.getparent().getparent().get("id"), el.text or "", "exec", POST_SCRIPT
    for el in tree.xpath("//spiffworkflow:parameter", namespaces=NS):
        task = el.xpath("ancestor::bpmn:serviceTask", namespaces=NS)
        if task:
            yield task[0].get("id"), el.get("value") or "", "eval", f"参数 {el.get('id')}"
    for el in tree.xpath("//spiffworkflow:property[@name='dueExpression']", namespaces=NS):
        yield el.getparent().getparent().getparent().get("id"), el.get("value") or "", "eval", "期限表达式"


def _script_names(text: str) -> set[str]:
    try:
        tree = ast.parse(text.strip())
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _pre_script_names(el: etree._Element) -> set[str]:
    names: set[str] = set()
    for text in el.xpath("bpmn:extensionElements/spiffworkflow:preScript/text()", namespaces=NS):
        names |= _script_names(text)
    return names


def _defines(el: etree._Element, forms: dict[str, Any], dmn_outputs: dict[str, set[str]]) -> set[str]:
    """Names that exist in the task data once `el` has completed."""
    names = _pre_script_names(el)
    for text in el.xpath("bpmn:extensionElements/spiffworkflow:postScript/text() | bpmn:script/text()",
                         namespaces=NS):
        names |= _script_names(text)
    kind = _local(el)
    if kind == "userTask":
        for form in el.xpath(".//spiffworkflow:property[@name='formJsonSchemaFilename']/@value", namespaces=NS):
            properties = (forms.get(form) or {}).get("properties") if isinstance(forms.get(form), dict) else None
            names |= set(properties or {}) if isinstance(properties, dict) else set()
    elif kind == "serviceTask":
        for op in el.xpath("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", namespaces=NS):
            names.add(op.get("resultVariable") or f"spiff__{op.get('id')}_result")
    elif kind == "businessRuleTask":
        for decision in el.xpath(".//spiffworkflow:calledDecisionId/text()", namespaces=NS):
            names |= dmn_outputs.get(decision.strip(), set())
    return names


def dmn_output_names(dmn_trees: dict[str, etree._Element]) -> dict[str, set[str]]:
    """Decision id → the names of its outputs (what a business-rule task calling it adds to the task data)."""
    found: dict[str, set[str]] = {}
    for tree in dmn_trees.values():
        for decision in tree.xpath("//*[local-name()='decision']"):
            found[decision.get("id")] = {o.get("name") for o in decision.xpath(".//*[local-name()='output']")
                                         if o.get("name")}
    return found


# --- lanes named in parameters -----------------------------------------------------------------------------

def lane_parameter_problems(tree: etree._Element, defined_lanes: Collection[str]) -> list[dict[str, str]]:
    """Operations such as notify_lane name a lane in a parameter: a quoted name must be a known lane."""
    problems = []
    for task in tree.xpath("//bpmn:serviceTask", namespaces=NS):
        for op_el in task.xpath("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", namespaces=NS):
            op = OPERATIONS.get(op_el.get("id"))
            if op is None:
                continue
            for param in op_el.xpath(".//spiffworkflow:parameter", namespaces=NS):
                if param.get("id") not in op.lane_parameters:
                    continue
                for value in _constants(param.get("value") or ""):
                    if value not in LANES and value not in defined_lanes:
                        known = "、".join([*LANES, *sorted(defined_lanes)])
                        problems.append(_error(task, (
                            f"服务任务 {label(task)} 的参数 {param.get('id')} 指定的泳道「{value}」不是已知角色"
                            f"（可用：{known}）")))
    return problems


def _constants(source: str) -> list[str]:
    """The text constants an expression can evaluate to, when that is decidable (a constant, or `a if c else b`)."""
    value = constant_text(source)
    if value is not None:
        return [value]
    body = _tree(source)
    if isinstance(body, ast.IfExp):
        return [part for branch in (body.body, body.orelse) for part in _constants(ast.unparse(branch))]
    return []


# --- SpiffWorkflow's parser messages -----------------------------------------------------------------------

PARSER_MESSAGES = [  # (text in SpiffWorkflow's message, Chinese explanation)
    ("No start event found", "流程没有开始事件"),
    ("Multiple outgoing flows are not supported for", "该元素有多条连出的连线，但只能有一条（分支请使用网关）"),
    ("Could not find a task spec", "找不到连线所指的元素"),
    ("Unknown event definition", "不支持的事件类型"),
    ("Unable to find a DMN", "找不到所调用的决策表"),
    ("Unable to find decision", "找不到所调用的决策表"),
    ("No spec found with id", "找不到所引用的流程或元素"),
    ("The process", "流程定义有误"),
    ("Invalid condition", "条件无效"),
    ("Invalid duration", "时长的格式无效"),
    ("There is no", "缺少必需的部分"),
    ("sequenceFlow", "连线有误"),
]


def parser_problem(exc: Exception, element: str = "") -> dict[str, str]:
    """SpiffWorkflow's parser failure in Chinese, with its own message kept as `detail`."""
    original = str(exc).strip()
    meaning = next((chinese for text, chinese in PARSER_MESSAGES if text.lower() in original.lower()),
                   "流程图的结构无法被流程引擎读取")
    where = getattr(exc, "id", "") or element or ""
    name = getattr(exc, "name", "") or ""
    subject = f"元素 {where}（{name}）：" if where and name else (f"元素 {where}：" if where else "")
    return {"element": where, "message": f"流程解析失败：{subject}{meaning}", "detail": original}
