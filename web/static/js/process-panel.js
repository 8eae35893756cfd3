/* Properties side panel for the process modeler: the selected element's name, and pick lists of what the
   system knows (GET /api/v1/process-catalog) — lane roles for lanes, forms for user tasks, registered
   operations for service tasks (with their parameter expressions) — written into the diagram's spiffworkflow
   extension elements; a sequence flow's condition and a script task's script.
   Exposes window.LvyuePanel.attach(root, modeler, formsOf); no inline script (CSP). */
(function () {
  "use strict";

  var SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core";
  var FORM = "formJsonSchemaFilename";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function extension(bo, type) {
    var values = (bo.extensionElements && bo.extensionElements.values) || [];
    for (var i = 0; i < values.length; i++) { if (values[i].$type === type) { return values[i]; } }
    return null;
  }

  function child(parent, type, test) {
    var children = (parent && parent.$children) || [];
    for (var i = 0; i < children.length; i++) {
      if (children[i].$type === type && (!test || test(children[i]))) { return children[i]; }
    }
    return null;
  }

  function formOf(bo) {
    var prop = child(extension(bo, "spiffworkflow:properties"), "spiffworkflow:property",
      function (p) { return p.name === FORM; });
    return prop ? prop.value : "";
  }

  function operationOf(bo) {
    var op = extension(bo, "spiffworkflow:serviceTaskOperator");
    return op ? op.id : "";
  }

  function ensureExtensions(modeler, bo) {
    return bo.extensionElements || modeler.get("moddle").create("bpmn:ExtensionElements", {values: []});
  }

  function ensureAny(modeler, parent, list, type, attrs) {
    var node = modeler.get("moddle").createAny(type, SPIFF, attrs || {});
    node.$children = [];
    list.push(node);
    return node;
  }

  function setForm(modeler, element, name) {
    var bo = element.businessObject;
    var ext = ensureExtensions(modeler, bo);
    var props = extension({extensionElements: ext}, "spiffworkflow:properties") ||
      ensureAny(modeler, ext, ext.values, "spiffworkflow:properties");
    props.$children = props.$children || [];
    var prop = child(props, "spiffworkflow:property", function (p) { return p.name === FORM; });
    if (prop) { prop.value = name; } else { ensureAny(modeler, props, props.$children, "spiffworkflow:property", {name: FORM, value: name}); }
    modeler.get("modeling").updateProperties(element, {extensionElements: ext});
  }

  function setOperation(modeler, element, operation) {
    var bo = element.businessObject;
    var ext = ensureExtensions(modeler, bo);
    var op = extension({extensionElements: ext}, "spiffworkflow:serviceTaskOperator") ||
      ensureAny(modeler, ext, ext.values, "spiffworkflow:serviceTaskOperator", {id: operation.name});
    op.id = operation.name;
    op.$children = op.$children || [];
    var params = child(op, "spiffworkflow:parameters") || ensureAny(modeler, op, op.$children, "spiffworkflow:parameters");
    var kept = (params.$children || []).filter(function (p) { return operation.parameters.indexOf(p.id) >= 0; });
    params.$children = kept;
    operation.parameters.forEach(function (name) {
      if (!child(params, "spiffworkflow:parameter", function (p) { return p.id === name; })) {
        ensureAny(modeler, params, params.$children, "spiffworkflow:parameter", {id: name, type: "str", value: '""'});
      }
    });
    modeler.get("modeling").updateProperties(element, {extensionElements: ext});
  }

  function setParameter(modeler, element, name, value) {
    var bo = element.businessObject;
    var ext = ensureExtensions(modeler, bo);
    var op = extension({extensionElements: ext}, "spiffworkflow:serviceTaskOperator");
    var params = child(op, "spiffworkflow:parameters");
    var param = child(params, "spiffworkflow:parameter", function (p) { return p.id === name; });
    if (!param) { return; }
    param.value = value;
    modeler.get("modeling").updateProperties(element, {extensionElements: ext});
  }

  function setCondition(modeler, element, body) {
    var modeling = modeler.get("modeling");
    if (!body) {
      modeling.updateProperties(element, {conditionExpression: undefined});
      return;
    }
    var expression = modeler.get("moddle").create("bpmn:FormalExpression", {body: body});
    modeling.updateProperties(element, {conditionExpression: expression});
  }

  function input(label, id, value, onChange, multiline) {
    var wrap = el("div", {"class": "field"});
    wrap.appendChild(el("label", {"for": id}, label));
    var box = el(multiline ? "textarea" : "input", {id: id, "data-role": id, spellcheck: "false"});
    if (multiline) { box.setAttribute("rows", "6"); }
    box.value = value || "";
    box.addEventListener("change", function () { onChange(box.value); });
    wrap.appendChild(box);
    return wrap;
  }

  function select(label, id, options, current, onChange) {
    var wrap = el("div", {"class": "field"});
    wrap.appendChild(el("label", {"for": id}, label));
    var box = el("select", {id: id, "data-role": id});
    box.appendChild(el("option", {value: ""}, "请选择"));
    var known = false;
    options.forEach(function (option) {
      var item = el("option", {value: option.value}, option.label);
      if (option.value === current) { item.selected = true; known = true; }
      box.appendChild(item);
    });
    if (current && !known) {
      var unknown = el("option", {value: current}, current + "（系统中不存在）");
      unknown.selected = true;
      box.appendChild(unknown);
    }
    box.addEventListener("change", function () { if (box.value) { onChange(box.value); } });
    wrap.appendChild(box);
    return wrap;
  }

  function attach(root, modeler, formsOf) {
    var panel = root.querySelector('[data-role="panel"]');
    if (!panel) { return; }
    var catalog = {lanes: [], operations: [], forms: []};
    var selected = null;

    function render() {
      panel.textContent = "";
      if (!selected || !selected.businessObject || selected.type === "label") {
        panel.appendChild(el("p", {"class": "muted"}, "选择一个元素以设置其名称、泳道角色、表单或服务操作。"));
        return;
      }
      var element = selected;
      var bo = element.businessObject;
      panel.appendChild(el("h3", {}, bo.$type.replace("bpmn:", "") + " · " + bo.id));
      var type = bo.$type;
      if (type === "bpmn:Lane") {
        panel.appendChild(select("泳道角色", "panel-lane", catalog.lanes.map(function (lane) {
          var where = lane.department ? "（" + lane.department.name + "）" : "";
          return {value: lane.name, label: lane.name + " — " + lane.label + where};
        }), bo.name || "", function (value) {
          modeler.get("modeling").updateProperties(element, {name: value});
          render();
        }));
        return;
      }
      var nameWrap = el("div", {"class": "field"});
      nameWrap.appendChild(el("label", {"for": "panel-name"}, "名称"));
      var name = el("input", {id: "panel-name", "data-role": "panel-name", value: bo.name || ""});
      name.addEventListener("change", function () { modeler.get("modeling").updateProperties(element, {name: name.value}); });
      nameWrap.appendChild(name);
      panel.appendChild(nameWrap);
      if (type === "bpmn:UserTask") {
        var names = {};
        catalog.forms.forEach(function (form) { names[form.name] = form.title || ""; });
        Object.keys(formsOf() || {}).forEach(function (key) { if (!(key in names)) { names[key] = "（本次编辑的表单）"; } });
        panel.appendChild(select("表单", "panel-form", Object.keys(names).sort().map(function (key) {
          return {value: key, label: key + (names[key] ? " — " + names[key] : "")};
        }), formOf(bo), function (value) { setForm(modeler, element, value); render(); }));
      } else if (type === "bpmn:ServiceTask") {
        var byName = {};
        catalog.operations.forEach(function (op) { byName[op.name] = op; });
        panel.appendChild(select("服务操作", "panel-operation", catalog.operations.map(function (op) {
          return {value: op.name, label: op.name + " — " + op.label};
        }), operationOf(bo), function (value) { setOperation(modeler, element, byName[value]); render(); }));
        var current = byName[operationOf(bo)];
        var params = child(extension(bo, "spiffworkflow:serviceTaskOperator"), "spiffworkflow:parameters");
        if (current && current.parameters.length) {
          panel.appendChild(el("p", {"class": "hint"}, "参数是表达式（受限环境）：文字须加引号，如 \"已受理\"；可引用表单字段。"));
          current.parameters.forEach(function (name) {
            var param = child(params, "spiffworkflow:parameter", function (p) { return p.id === name; });
            panel.appendChild(input("参数 " + name, "panel-param-" + name, param ? param.value : "",
              function (value) { setParameter(modeler, element, name, value); }));
          });
        }
      } else if (type === "bpmn:SequenceFlow") {
        var condition = bo.conditionExpression ? bo.conditionExpression.body : "";
        panel.appendChild(input("条件表达式（从网关出发时）", "panel-condition", condition,
          function (value) { setCondition(modeler, element, value.trim()); }));
      } else if (type === "bpmn:ScriptTask") {
        panel.appendChild(input("脚本（受限环境中的 Python）", "panel-script", bo.script || "", function (value) {
          modeler.get("modeling").updateProperties(element, {scriptFormat: "python", script: value});
        }, true));
      }
    }

    var url = root.getAttribute("data-catalog-url");
    if (url) {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : catalog; })
        .then(function (body) { catalog = body; root.setAttribute("data-catalog", "loaded"); render(); })
        .catch(function () { render(); });
    }
    modeler.on("selection.changed", function (event) {
      selected = event.newSelection.length === 1 ? event.newSelection[0] : null;
      render();
    });
    render();
  }

  window.LvyuePanel = {attach: attach, formOf: formOf, operationOf: operationOf};
}());
