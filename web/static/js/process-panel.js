/* Properties side panel for the process modeler: every property the engine reads, by Chinese label, from pick
   lists of what the system knows (GET /api/v1/process-catalog) — lane roles for lanes; for user tasks the form,
   the time limit (办理时限, edited by administrators) and the case status; registered operations for service
   tasks (with their parameter expressions); timers of boundary and intermediate events as a choice (before,
   at or after a time limit's or a form date's due day, N working or calendar days, a fixed date); a gateway
   flow's condition as field + comparison + value, the fields and their allowed values read from the forms
   upstream (POST /api/v1/process-fields), including 属于其中之一 (`field in [...]`) for a field with choices;
   a script task's script and any task's pre- and post-scripts. The raw expressions stay editable (高级).
   Nothing is written into the diagram until the administrator changes something: opening and saving a
   version keeps its behaviour. Expressions come from process-expressions.js (window.LvyueExpressions).
   Also: a user task's 对照显示 (compareWith: earlier tasks whose decisions its page shows side by side), a
   decision task's decision table (from the version's DMN files).
   Exposes window.LvyuePanel.attach(root, modeler, formsOf, dmnOf); no inline script (CSP). */
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

  var KINDS = {
    "bpmn:UserTask": "用户任务", "bpmn:ServiceTask": "服务任务", "bpmn:ScriptTask": "脚本任务",
    "bpmn:BusinessRuleTask": "决策任务", "bpmn:Task": "任务", "bpmn:ManualTask": "人工任务",
    "bpmn:SendTask": "发送任务", "bpmn:ReceiveTask": "接收任务", "bpmn:CallActivity": "调用活动",
    "bpmn:SubProcess": "子流程", "bpmn:StartEvent": "开始事件", "bpmn:EndEvent": "结束事件",
    "bpmn:BoundaryEvent": "边界事件", "bpmn:IntermediateCatchEvent": "中间捕获事件",
    "bpmn:IntermediateThrowEvent": "中间抛出事件", "bpmn:ExclusiveGateway": "排他网关",
    "bpmn:InclusiveGateway": "包容网关", "bpmn:ParallelGateway": "并行网关", "bpmn:EventBasedGateway": "事件网关",
    "bpmn:SequenceFlow": "连线", "bpmn:Lane": "泳道", "bpmn:Participant": "参与者", "bpmn:Process": "流程",
    "bpmn:TextAnnotation": "注释", "bpmn:DataObjectReference": "数据对象", "bpmn:Group": "分组"
  };
  var TIMER_KINDS = [
    {value: "limit", label: "办理时限到期前后"}, {value: "field", label: "表单中日期的前后"},
    {value: "workdays", label: "若干个工作日后"}, {value: "days", label: "若干个自然日后"},
    {value: "date", label: "固定日期"}];
  var WHEN = [{value: "before", label: "到期前"}, {value: "at", label: "到期当日结束时"}, {value: "after", label: "到期后"}];
  var TIME_TYPES = {timeDate: "到期时间", timeDuration: "时长", timeCycle: "循环"};

  function propertyOf(bo, name) {
    var prop = child(extension(bo, "spiffworkflow:properties"), "spiffworkflow:property",
      function (p) { return p.name === name; });
    return prop ? prop.value : "";
  }

  function formOf(bo) { return propertyOf(bo, FORM); }

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

  /* Set (or with an empty value remove) one spiffworkflow:property of a task. */
  function setProperty(modeler, element, name, value) {
    var bo = element.businessObject;
    var ext = ensureExtensions(modeler, bo);
    var props = extension({extensionElements: ext}, "spiffworkflow:properties");
    if (!props && !value) { return; }
    props = props || ensureAny(modeler, ext, ext.values, "spiffworkflow:properties");
    props.$children = props.$children || [];
    var prop = child(props, "spiffworkflow:property", function (p) { return p.name === name; });
    if (!value) {
      props.$children = props.$children.filter(function (p) { return p !== prop; });
    } else if (prop) {
      prop.value = value;
    } else {
      ensureAny(modeler, props, props.$children, "spiffworkflow:property", {name: name, value: value});
    }
    modeler.get("modeling").updateProperties(element, {extensionElements: ext});
  }

  function setForm(modeler, element, name) { setProperty(modeler, element, FORM, name); }

  var SCRIPTS = {"spiffworkflow:preScript": "前置脚本（任务开始前运行）", "spiffworkflow:postScript": "后置脚本（任务完成后运行）"};

  function scriptOf(bo, type) {
    var node = extension(bo, type);
    return node ? (node.$body || "") : "";
  }

  /* Set (or with empty text remove) a task's spiffworkflow:preScript / postScript. */
  function setScript(modeler, element, type, text) {
    var bo = element.businessObject;
    var ext = ensureExtensions(modeler, bo);
    var node = extension({extensionElements: ext}, type);
    if (!text.trim()) {
      if (!node) { return; }
      ext.values = ext.values.filter(function (value) { return value !== node; });
    } else {
      node = node || ensureAny(modeler, ext, ext.values, type);
      node.$body = text;
    }
    modeler.get("modeling").updateProperties(element, {extensionElements: ext});
  }

  function timerDefinition(bo) {
    return (bo.eventDefinitions || []).filter(function (d) { return d.$type === "bpmn:TimerEventDefinition"; })[0] || null;
  }

  function timerSource(definition) {
    var found = {type: "timeDate", body: ""};
    Object.keys(TIME_TYPES).forEach(function (type) {
      if (definition && definition[type]) { found = {type: type, body: definition[type].body || ""}; }
    });
    return found;
  }

  function setTimer(modeler, element, definition, type, body) {
    var props = {timeDate: undefined, timeDuration: undefined, timeCycle: undefined};
    props[type] = modeler.get("moddle").create("bpmn:FormalExpression", {body: body});
    modeler.get("modeling").updateModdleProperties(element, definition, props);
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

  /* A pick list whose first entry (value "") means "none": choosing it calls onChange(""). */
  function choice(label, id, options, current, empty, onChange) {
    var wrap = el("div", {"class": "field"});
    wrap.appendChild(el("label", {"for": id}, label));
    var box = el("select", {id: id, "data-role": id});
    box.appendChild(el("option", {value: ""}, empty));
    var known = !current;
    options.forEach(function (option) {
      var item = el("option", {value: option.value}, option.label);
      if (option.value === current) { item.selected = true; known = true; }
      box.appendChild(item);
    });
    if (!known) {
      var unknown = el("option", {value: current}, current + "（系统中不存在）");
      unknown.selected = true;
      box.appendChild(unknown);
    }
    box.addEventListener("change", function () { onChange(box.value); });
    wrap.appendChild(box);
    return wrap;
  }

  function number(label, id, value, onChange) {
    var wrap = el("div", {"class": "field"});
    wrap.appendChild(el("label", {"for": id}, label));
    var box = el("input", {id: id, "data-role": id, type: "number", min: "0", max: "366", step: "1",
                           inputmode: "numeric"});
    box.value = value === undefined || value === null ? "" : String(value);
    box.addEventListener("change", function () { onChange(box.value); });
    wrap.appendChild(box);
    return wrap;
  }

  function checkbox(label, id, checked, onChange) {
    var wrap = el("div", {"class": "field field-check"});
    var box = el("input", {id: id, "data-role": id, type: "checkbox"});
    box.checked = !!checked;
    box.addEventListener("change", function () { onChange(box.checked); });
    wrap.appendChild(box);
    wrap.appendChild(el("label", {"for": id}, label));
    return wrap;
  }

  function csrfToken(root) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : root.getAttribute("data-csrf") || "";
  }

  /* Decisions of the version's DMN files: [{id, name}] (a file that does not parse is left out). */
  function decisionsOf(dmn) {
    var found = [];
    Object.keys(dmn || {}).sort().forEach(function (file) {
      var doc = new DOMParser().parseFromString(dmn[file] || "", "application/xml");
      if (doc.getElementsByTagName("parsererror").length) { return; }
      Array.prototype.forEach.call(doc.getElementsByTagNameNS("*", "decision"), function (decision) {
        if (decision.getAttribute("id")) { found.push({id: decision.getAttribute("id"), name: decision.getAttribute("name") || ""}); }
      });
    });
    return found;
  }

  function decisionOf(bo) {
    var node = extension(bo, "spiffworkflow:calledDecisionId");
    return node ? (node.$body || "").trim() : "";
  }

  function setDecision(modeler, element, id) {
    var bo = element.businessObject;
    var ext = ensureExtensions(modeler, bo);
    var node = extension({extensionElements: ext}, "spiffworkflow:calledDecisionId") ||
      ensureAny(modeler, ext, ext.values, "spiffworkflow:calledDecisionId");
    node.$body = id;
    modeler.get("modeling").updateProperties(element, {extensionElements: ext});
  }

  function attach(root, modeler, formsOf, dmnOf) {
    var panel = root.querySelector('[data-role="panel"]');
    if (!panel) { return; }
    var catalog = {lanes: [], operations: [], forms: [], time_limits: [], statuses: []};
    var selected = null;
    var upstream = {id: null, fields: null};  // fields an expression on the selected element may read
    var conditionDraft = null;  // {id, body, state}: a condition choice not yet complete (the diagram keeps its own)
    var drafts = {};  // element id → timer choice being made (kept across re-renders until complete)
    var X = window.LvyueExpressions;

    function loadFields(element) {
      var url = root.getAttribute("data-fields-url");
      if (!url || upstream.id === element.id) { return; }
      upstream = {id: element.id, fields: null};
      panel.removeAttribute("data-fields");
      modeler.saveXML({format: false})
        .then(function (saved) {
          return fetch(url, {
            method: "POST", credentials: "same-origin",
            headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken(root)},
            body: JSON.stringify({bpmn_xml: saved.xml, forms: formsOf() || {}, element: element.id})
          });
        })
        .then(function (response) { return response.ok ? response.json() : {fields: []}; })
        .catch(function () { return {fields: []}; })
        .then(function (body) {
          if (upstream.id !== element.id) { return; }  // another element was selected meanwhile
          upstream.fields = body.fields || [];
          if (selected === element) { render(); }
          panel.setAttribute("data-fields", "loaded");
        });
    }

    function fieldNamed(name) {
      return (upstream.fields || []).filter(function (f) { return f.name === name; })[0] || null;
    }

    function fieldLabel(f) { return f.title + (f.title !== f.name ? "（" + f.name + "）" : "") + (f.source ? " — " + f.source : ""); }

    function limitOptions() {
      return (catalog.time_limits || []).map(function (limit) { return {value: limit.key, label: limit.description || limit.label}; });
    }

    function renderUserTaskLimits(element, bo) {
      panel.appendChild(choice("办理时限", "panel-time-limit", limitOptions(), propertyOf(bo, "timeLimit"),
        "（不设办理时限）", function (value) { setProperty(modeler, element, "timeLimit", value); render(); }));
      panel.appendChild(el("p", {"class": "hint"}, "时限在「系统管理 › 办理时限」中维护；任务的到期时间自任务开始时起算。"));
      panel.appendChild(choice("案件状态（任务开始时）", "panel-case-status", (catalog.statuses || []).map(function (s) {
        return {value: s.code, label: s.label};
      }), propertyOf(bo, "caseStatus"), "（不改变案件状态）", function (value) {
        setProperty(modeler, element, "caseStatus", value);
        render();
      }));
      renderCompareWith(element, bo);
      var due = propertyOf(bo, "dueExpression");
      var advanced = el("details", {"class": "panel-advanced"});
      if (due) { advanced.open = true; }
      advanced.appendChild(el("summary", {}, "高级：期限表达式（未设办理时限时使用）"));
      advanced.appendChild(input("期限表达式", "panel-due-expression", due, function (value) {
        setProperty(modeler, element, "dueExpression", value.trim());
      }));
      panel.appendChild(advanced);
    }

    function renderCompareWith(element, bo) {
      var chosen = propertyOf(bo, "compareWith").split(",").map(function (id) { return id.trim(); }).filter(Boolean);
      var tasks = modeler.get("elementRegistry").filter(function (e) {
        return e.type === "bpmn:UserTask" && e.id !== element.id;
      });
      var box = el("details", {"class": "panel-advanced", "data-role": "panel-compare-with"});
      if (chosen.length) { box.open = true; }
      box.appendChild(el("summary", {}, "对照显示的前序决定" + (chosen.length ? "（" + chosen.length + "）" : "")));
      box.appendChild(el("p", {"class": "hint"}, "办理此任务时，页面并列显示所选步骤已作出的决定。"));
      var known = tasks.map(function (t) { return t.id; });
      chosen.filter(function (id) { return known.indexOf(id) < 0; }).forEach(function (id) {
        tasks.push({id: id, businessObject: {name: id + "（图中不是用户任务）"}});
      });
      tasks.forEach(function (task) {
        box.appendChild(checkbox((task.businessObject.name || task.id) + "（" + task.id + "）", "panel-compare-" + task.id,
          chosen.indexOf(task.id) >= 0, function (checked) {
            var next = chosen.filter(function (id) { return id !== task.id; });
            if (checked) { next.push(task.id); }
            setProperty(modeler, element, "compareWith", next.join(","));
            render();
          }));
      });
      panel.appendChild(box);
    }

    function renderTimer(element, bo) {
      var definition = timerDefinition(bo);
      if (bo.$type === "bpmn:BoundaryEvent") {
        panel.appendChild(checkbox("触发时中断所附着的任务（不勾选：任务继续办理）", "panel-timer-interrupting",
          bo.cancelActivity !== false, function (checked) {
            modeler.get("modeling").updateProperties(element, {cancelActivity: checked});
          }));
      }
      if (!definition) {
        if ((bo.eventDefinitions || []).length) { return; }  // a message or another kind of event
        var make = el("button", {type: "button", "class": "button", "data-role": "panel-make-timer"}, "设为定时事件");
        make.addEventListener("click", function () {
          var replaced = modeler.get("bpmnReplace").replaceElement(element, {
            type: bo.$type, eventDefinitionType: "bpmn:TimerEventDefinition",
            cancelActivity: bo.$type === "bpmn:BoundaryEvent" ? bo.cancelActivity !== false : undefined});
          modeler.get("selection").select(replaced);
        });
        panel.appendChild(make);
        return;
      }
      var source = timerSource(definition);
      if (bo.$type === "bpmn:StartEvent") {  // a process started by time: a date or cycle, as an expression
        panel.appendChild(el("h4", {}, "定时启动"));
        panel.appendChild(el("p", {"class": "hint"}, "按时间启动流程：ISO 8601 日期或循环，如 \"R/2026-01-01T09:00:00+08:00/P1M\"（每月一次）。"));
        panel.appendChild(input("定时器表达式（" + TIME_TYPES[source.type] + "）", "panel-timer-expression", source.body,
          function (value) { setTimer(modeler, element, definition, source.type, value.trim()); render(); }));
        return;
      }
      var parsed = source.type === "timeDate" ? X.timerChoice(source.body) : null;
      var draft = drafts[element.id];
      if (!draft || draft.written !== source.body) {  // none yet, or the diagram changed since (undo, 高级)
        draft = parsed || {kind: source.body ? "" : "limit", when: "before", n: 3};
        draft.written = source.body;
      }
      drafts[element.id] = draft;
      function update(key, value) {
        draft[key] = value;
        var body = X.timerExpression(draft);
        if (body && (body !== source.body || source.type !== "timeDate")) {
          draft.written = body;
          setTimer(modeler, element, definition, "timeDate", body);
        }
        render();
      }
      panel.appendChild(el("h4", {}, "定时器"));
      panel.appendChild(choice("何时触发", "panel-timer-kind", TIMER_KINDS, draft.kind, source.body && !parsed ?
        "（自定义表达式，见下方高级）" : "请选择", function (value) { update("kind", value); }));
      if (draft.kind === "limit") {
        panel.appendChild(choice("办理时限", "panel-timer-limit", limitOptions(), draft.key || "", "请选择",
          function (value) { update("key", value); }));
      } else if (draft.kind === "field") {
        if (upstream.fields === null) { loadFields(element); }
        var dates = (upstream.fields || []).filter(function (f) { return f.format === "date" || f.type === "fact"; });
        panel.appendChild(choice("表单中的日期", "panel-timer-field", dates.map(function (f) {
          return {value: f.name, label: fieldLabel(f)};
        }), draft.field || "", upstream.fields === null ? "正在读取上游表单……" : "请选择",
        function (value) { update("field", value); }));
      }
      if (draft.kind === "limit" || draft.kind === "field") {
        panel.appendChild(choice("前后", "panel-timer-when", WHEN, draft.when || "before", "请选择",
          function (value) { update("when", value || "before"); }));
        if (draft.when !== "at") {
          panel.appendChild(number("工作日数", "panel-timer-n", draft.n, function (value) { update("n", value); }));
        }
      } else if (draft.kind === "workdays" || draft.kind === "days") {
        panel.appendChild(number(draft.kind === "workdays" ? "工作日数（自进入此步骤起）" : "自然日数（自进入此步骤起）",
          "panel-timer-n", draft.n, function (value) { update("n", value); }));
      } else if (draft.kind === "date") {
        var dateWrap = el("div", {"class": "field"});
        dateWrap.appendChild(el("label", {"for": "panel-timer-date"}, "日期与时间（北京时间）"));
        var day = el("input", {id: "panel-timer-date", "data-role": "panel-timer-date", type: "date"});
        day.value = draft.date || "";
        day.addEventListener("change", function () { update("date", day.value); });
        var clock = el("input", {id: "panel-timer-time", "data-role": "panel-timer-time", type: "time", "aria-label": "时间"});
        clock.value = draft.time || "09:00";
        clock.addEventListener("change", function () { update("time", clock.value); });
        dateWrap.appendChild(day);
        dateWrap.appendChild(clock);
        panel.appendChild(dateWrap);
      }
      if (draft.kind && !X.timerExpression(draft)) {
        panel.appendChild(el("p", {"class": "error-message", "data-role": "panel-timer-incomplete"},
          "请选择完整（天数为 0 至 366 的整数）；在此之前定时器保持原样。"));
      }
      var advanced = el("details", {"class": "panel-advanced"});
      if (source.body && !parsed) { advanced.open = true; }
      advanced.appendChild(el("summary", {}, "高级：定时器表达式（" + TIME_TYPES[source.type] + "）"));
      advanced.appendChild(input("定时器表达式", "panel-timer-expression", source.body, function (value) {
        setTimer(modeler, element, definition, source.type, value.trim());
        render();
      }));
      panel.appendChild(advanced);
    }

    function conditionBuilder(element, bo, body) {
      var rule = X.conditionRule(body);
      if (upstream.fields === null) {
        loadFields(element);
        panel.appendChild(el("p", {"class": "muted"}, "正在读取上游表单字段……"));
        return;
      }
      var builder = el("div", {"class": "panel-condition-builder", "data-role": "panel-condition-builder"});
      var state = rule && fieldNamed(rule.field) ? rule : {field: "", op: "==", value: ""};
      if (conditionDraft && conditionDraft.id === element.id && conditionDraft.body === body) {
        state = conditionDraft.state;
      }
      if (body && state !== rule) {
        builder.appendChild(el("p", {"class": "hint"}, "此条件不能用下列选择表示，请在「高级」中修改，或重新选择。"));
      }
      var current = fieldNamed(state.field);
      function write() {
        var text = X.conditionExpression(state);
        conditionDraft = text ? null : {id: element.id, body: body, state: state};
        if (text && text !== body) { setCondition(modeler, element, text); }
        render();
      }
      builder.appendChild(choice("字段", "panel-cond-field", (upstream.fields || []).map(function (f) {
        return {value: f.name, label: fieldLabel(f)};
      }), state.field, "请选择", function (value) {
        state = {field: value, op: "==", value: ""};
        var f = fieldNamed(value);
        if (f && f.choices && f.choices.length) { state.value = f.choices[0].value; }
        write();
      }));
      if (current) {
        var numeric = current.type === "integer" || current.type === "number";
        var dated = current.format === "date";  // ISO dates compare in order as text
        var listable = !!(current.choices && current.choices.length) && current.type !== "boolean";
        var ops = Object.keys(X.COMPARISONS).filter(function (op) {
          if (X.LISTED[op]) { return listable; }
          return numeric || dated || op === "==" || op === "!=";
        });
        var DATE_COMPARISONS = {">": "晚于", "<": "早于", ">=": "不早于", "<=": "不晚于"};
        builder.appendChild(choice("比较", "panel-cond-op", ops.map(function (op) {
          return {value: op, label: (dated && DATE_COMPARISONS[op]) || X.COMPARISONS[op]};
        }), state.op, "请选择", function (value) {
          var op = value || "==";
          if (X.LISTED[op] && !Array.isArray(state.value)) {
            state.value = state.value === "" ? [] : [state.value];
          } else if (!X.LISTED[op] && Array.isArray(state.value)) {
            state.value = state.value.length ? state.value[0] : "";
          }
          state.op = op;
          write();
        }));
        if (X.LISTED[state.op] && listable) {
          var picked = Array.isArray(state.value) ? state.value : [];
          var group = el("fieldset", {"class": "field panel-cond-values", "data-role": "panel-cond-values"});
          group.appendChild(el("legend", {}, "值（可选多个）"));
          current.choices.forEach(function (c, i) {
            var box = checkbox(c.label, "panel-cond-choice-" + i, picked.indexOf(c.value) >= 0, function () {
              state.value = current.choices.filter(function (other, j) {
                var input = group.querySelector("#panel-cond-choice-" + j);
                return input && input.checked;
              }).map(function (other) { return other.value; });
              write();
            });
            group.appendChild(box);
          });
          if (!picked.length) {
            group.appendChild(el("p", {"class": "hint"}, "请至少勾选一个值；在此之前条件保持原样。"));
          }
          builder.appendChild(group);
        } else if (current.choices && current.choices.length) {
          var index = -1;
          current.choices.forEach(function (c, i) { if (c.value === state.value) { index = i; } });
          builder.appendChild(choice("值", "panel-cond-value", current.choices.map(function (c, i) {
            return {value: String(i), label: c.label};
          }), index >= 0 ? String(index) : "", "请选择", function (value) {
            state.value = value === "" ? "" : current.choices[+value].value;
            write();
          }));
        } else {
          var valueBox = input(dated ? "日期" : "值", "panel-cond-value", state.value === "" ? "" : String(state.value), function (value) {
            state.value = numeric && value.trim() !== "" && !isNaN(Number(value)) ? Number(value) : value;
            write();
          });
          if (dated) { valueBox.querySelector("input").setAttribute("type", "date"); }
          if (numeric) { valueBox.querySelector("input").setAttribute("inputmode", "decimal"); }
          builder.appendChild(valueBox);
        }
      }
      panel.appendChild(builder);
    }

    function render() {
      panel.textContent = "";
      if (!selected || !selected.businessObject || selected.type === "label") {
        panel.appendChild(el("p", {"class": "muted"},
          "选择一个元素以设置其名称、泳道角色、表单、办理时限、案件状态、服务操作、定时器或条件。"));
        return;
      }
      var element = selected;
      var bo = element.businessObject;
      panel.appendChild(el("h3", {}, (KINDS[bo.$type] || "元素") + " · " + bo.id));
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
        renderUserTaskLimits(element, bo);
      } else if (type === "bpmn:ServiceTask") {
        var byName = {};
        catalog.operations.forEach(function (op) { byName[op.name] = op; });
        panel.appendChild(select("服务操作", "panel-operation", catalog.operations.map(function (op) {
          return {value: op.name, label: op.name + " — " + op.label};
        }), operationOf(bo), function (value) { setOperation(modeler, element, byName[value]); render(); }));
        var operator = extension(bo, "spiffworkflow:serviceTaskOperator");
        if (operator) {
          panel.appendChild(input("结果保存为（后续条件可引用的名称，可不填）", "panel-result-variable",
            operator.resultVariable || "", function (value) {
              var ext = bo.extensionElements;
              if (value.trim()) { operator.resultVariable = value.trim(); } else { delete operator.resultVariable; }
              modeler.get("modeling").updateProperties(element, {extensionElements: ext});
            }));
        }
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
        var gateway = bo.sourceRef && /^bpmn:(Exclusive|Inclusive)Gateway$/.test(bo.sourceRef.$type) ? bo.sourceRef : null;
        var isDefault = gateway && gateway.default === bo;
        if (gateway) {
          panel.appendChild(checkbox("默认连线（其他条件都不满足时走这条）", "panel-default", isDefault, function (checked) {
            var gatewayElement = modeler.get("elementRegistry").get(gateway.id);
            if (checked) { setCondition(modeler, element, ""); }
            modeler.get("modeling").updateProperties(gatewayElement, {"default": checked ? bo : undefined});
            render();
          }));
        }
        if (gateway && !isDefault) {
          panel.appendChild(el("h4", {}, "条件"));
          conditionBuilder(element, bo, condition);
        }
        if (!isDefault) {
          panel.appendChild(input("高级：条件表达式", "panel-condition", condition,
            function (value) { setCondition(modeler, element, value.trim()); render(); }));
        }
      } else if (type === "bpmn:BoundaryEvent" || type === "bpmn:IntermediateCatchEvent" ||
                 (type === "bpmn:StartEvent" && timerDefinition(bo))) {
        renderTimer(element, bo);
      } else if (type === "bpmn:BusinessRuleTask") {
        var decisions = decisionsOf(dmnOf ? dmnOf() : {});
        panel.appendChild(select("决策表", "panel-decision", decisions.map(function (d) {
          return {value: d.id, label: (d.name || d.id) + "（" + d.id + "）"};
        }), decisionOf(bo), function (value) { setDecision(modeler, element, value); render(); }));
      } else if (type === "bpmn:ScriptTask") {
        panel.appendChild(input("脚本（受限环境中的 Python）", "panel-script", bo.script || "", function (value) {
          modeler.get("modeling").updateProperties(element, {scriptFormat: "python", script: value});
        }, true));
      }
      if (/^bpmn:(UserTask|ServiceTask|ScriptTask|BusinessRuleTask|Task|ManualTask|SendTask|ReceiveTask|CallActivity|SubProcess)$/.test(type)) {
        renderTaskScripts(element, bo);
      }
    }

    /* A task's pre- and post-scripts (what SpiffWorkflow runs before it starts and after it completes). */
    function renderTaskScripts(element, bo) {
      var scripts = el("details", {"class": "panel-advanced", "data-role": "panel-scripts"});
      var present = Object.keys(SCRIPTS).filter(function (type) { return scriptOf(bo, type); });
      if (present.length) { scripts.open = true; }
      scripts.appendChild(el("summary", {}, "高级：前置 / 后置脚本" + (present.length ? "（已设置 " + present.length + " 个）" : "")));
      scripts.appendChild(el("p", {"class": "hint"},
        "受限环境中的 Python，可读写表单字段和案件信息；部署时检查语法和用到的名称。一般流程不需要脚本。"));
      Object.keys(SCRIPTS).forEach(function (type) {
        var id = type === "spiffworkflow:preScript" ? "panel-pre-script" : "panel-post-script";
        scripts.appendChild(input(SCRIPTS[type], id, scriptOf(bo, type), function (value) {
          setScript(modeler, element, type, value);
        }, true));
      });
      panel.appendChild(scripts);
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
      upstream = {id: null, fields: null};
      conditionDraft = null;
      render();
    });
    render();
  }

  window.LvyuePanel = {attach: attach, formOf: formOf, operationOf: operationOf};
}());
