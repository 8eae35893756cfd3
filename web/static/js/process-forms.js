/* Modeler page: edit one form at a time as a list of fields (title, type, required, choices, help text) that
   writes the JSON Schema — or the JSON Schema itself — with a live preview rendered by the server exactly as
   officials will see it (POST data-preview-url → web/forms_render.py), and the decision tables as DMN XML
   (well-formedness checked here, everything else at deploy). The forms JSON textarea stays the source the
   deploy sends; the DMN texts are written into the bundle the deploy sends. A field's other keywords (length
   limits, x-error, conditions in allOf) are kept as they are; only what is edited changes.
   Exposes window.LvyueForms.attach(root, bundle). */
(function () {
  "use strict";

  function part(root, role) { return root.querySelector('[data-role="' + role + '"]'); }

  function readForms(root) {
    try { return JSON.parse(part(root, "forms").value || "{}"); } catch (error) { return null; }
  }

  function fillSelect(select, names, current) {
    select.textContent = "";
    names.forEach(function (name) {
      var option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      if (name === current) { option.selected = true; }
      select.appendChild(option);
    });
  }

  function listProblems(list, problems) {
    list.textContent = "";
    problems.forEach(function (text) {
      var item = document.createElement("li");
      item.textContent = text;
      list.appendChild(item);
    });
  }

  var FIELD_KINDS = [
    {value: "text", label: "单行文字"}, {value: "textarea", label: "多行文字"}, {value: "choice", label: "单选（选项）"},
    {value: "boolean", label: "是/否"}, {value: "date", label: "日期"}, {value: "integer", label: "整数"},
    {value: "number", label: "数字"}];
  var NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
  var UNFILLED = "（未填写）";

  function baseType(spec) {
    var type = spec.type;
    if (Array.isArray(type)) { type = type.filter(function (t) { return t !== "null"; })[0]; }
    return type;
  }

  function nullable(spec) { return Array.isArray(spec.type) && spec.type.indexOf("null") >= 0; }

  function kindOf(spec) {
    var type = baseType(spec);
    if (Array.isArray(spec.enum)) { return "choice"; }
    if (type === "boolean") { return "boolean"; }
    if (type === "integer" || type === "number") { return type; }
    if (type === "string" && spec.format === "date") { return "date"; }
    if (type === "string" && spec["x-widget"] === "textarea") { return "textarea"; }
    if (type === "string" && !spec["x-widget"] && !spec.format) { return "text"; }
    return "other";
  }

  /* The choices of a field as text, one a line: 代码=名称 (an enum with x-enumNames), or 是/否 names. */
  function choicesText(spec) {
    if (Array.isArray(spec.enum)) {
      var names = spec["x-enumNames"] || [];
      return spec.enum.map(function (value, i) {
        if (value === null) { return null; }
        var label = names[i] !== undefined ? String(names[i]) : String(value);
        return label === String(value) ? label : value + "=" + label;
      }).filter(function (line) { return line !== null; }).join("\n");
    }
    if (baseType(spec) === "boolean") {
      var labels = spec["x-labels"] || {};
      return (labels["true"] || "是") + "\n" + (labels["false"] || "否");
    }
    return "";
  }

  function setChoices(spec, text) {
    var lines = text.split("\n").map(function (line) { return line.trim(); }).filter(Boolean);
    if (baseType(spec) === "boolean") {
      spec["x-labels"] = {"true": lines[0] || "是", "false": lines[1] || "否"};
      return;
    }
    var values = [], names = [];
    lines.forEach(function (line) {
      var at = line.indexOf("=");
      var value = at > 0 ? line.slice(0, at).trim() : line;
      if (values.indexOf(value) >= 0) { return; }
      values.push(value);
      names.push(at > 0 ? line.slice(at + 1).trim() : line);
    });
    if (nullable(spec)) { values.push(null); names.push(UNFILLED); }
    spec.enum = values;
    spec["x-enumNames"] = names;
  }

  /* Rewrite the type keywords of `spec` for `kind`; optional fields accept null (an empty answer). */
  function applyKind(spec, kind, required) {
    var choices = kind === "choice" ? choicesText(spec) : "";
    ["enum", "x-enumNames", "x-labels", "format"].forEach(function (key) { delete spec[key]; });
    if (spec["x-widget"] === "textarea" || kind !== "text") { delete spec["x-widget"]; }
    if (kind === "boolean" || kind === "integer" || kind === "number") { delete spec.maxLength; delete spec.minLength; }
    var base = {text: "string", textarea: "string", choice: "string", date: "string", boolean: "boolean",
                integer: "integer", number: "number"}[kind];
    spec.type = required ? base : [base, "null"];
    if (kind === "textarea") { spec["x-widget"] = "textarea"; if (!spec.maxLength) { spec.maxLength = 5000; } }
    if (kind === "text" && !spec.maxLength) { spec.maxLength = 200; }
    if (kind === "date") { spec.format = "date"; }
    if (kind === "choice") { setChoices(spec, choices || "选项一\n选项二"); }
    if (kind === "boolean") { spec["x-labels"] = {"true": "是", "false": "否"}; }
  }

  function attachForms(root) {
    var pick = part(root, "form-pick"), schema = part(root, "form-schema"), preview = part(root, "form-preview");
    var problems = part(root, "form-problems");
    if (!pick || !schema) { return; }
    var timer = null, sequence = 0;

    function render() {
      var mine = ++sequence;
      fetch(root.getAttribute("data-preview-url"), {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "Accept": "application/json",
                  "X-CSRFToken": root.getAttribute("data-csrf")},
        body: JSON.stringify({schema: schema.value})
      })
        .then(function (response) { return response.json(); })
        .then(function (body) {
          if (mine !== sequence) { return; }  // a newer edit is on its way
          listProblems(problems, body.problems || []);
          preview.innerHTML = body.html || "";  // rendered and escaped by the server's templates
          root.setAttribute("data-preview", String(mine));
        })
        .catch(function (error) { listProblems(problems, ["预览失败：" + error.message]); });
    }

    var fieldList = part(root, "form-fields");

    function el(tag, attrs, text) {
      var node = document.createElement(tag);
      Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
      if (text !== undefined) { node.textContent = text; }
      return node;
    }

    /* Store an edited form: the forms JSON (what deploy sends), the schema text, the preview, the field list. */
    function store(form) {
      var forms = readForms(root);
      if (!forms || !pick.value) { return; }
      forms[pick.value] = form;
      part(root, "forms").value = JSON.stringify(forms, null, 2);
      schema.value = JSON.stringify(form, null, 2);
      render();
      renderFields();
    }

    function labelled(text, control, wide) {
      var wrap = el("label", {"class": wide ? "wide" : ""}, text);
      wrap.appendChild(control);
      return wrap;
    }

    function fieldRow(form, name, spec) {
      var required = (form.required || []).indexOf(name) >= 0;
      var row = el("fieldset", {"class": "form-field", "data-field": name});
      row.appendChild(el("legend", {"class": "wide"})).appendChild(el("code", {}, name));
      var title = el("input", {type: "text", "data-role": "field-title", value: spec.title || ""});
      title.addEventListener("change", function () { spec.title = title.value.trim(); store(form); });
      row.appendChild(labelled("标题", title));
      var kind = el("select", {"data-role": "field-kind"});
      var current = kindOf(spec);
      FIELD_KINDS.concat(current === "other" ? [{value: "other", label: "其他（保持原样）"}] : []).forEach(function (k) {
        var option = el("option", {value: k.value}, k.label);
        if (k.value === current) { option.selected = true; }
        kind.appendChild(option);
      });
      kind.addEventListener("change", function () {
        if (kind.value !== "other") { applyKind(spec, kind.value, required); store(form); }
      });
      row.appendChild(labelled("类型", kind));
      var must = el("input", {type: "checkbox", "data-role": "field-required"});
      must.checked = required;
      must.addEventListener("change", function () {
        form.required = (form.required || []).filter(function (n) { return n !== name; });
        if (must.checked) { form.required.push(name); }
        if (current !== "other") {
          var choices = choicesText(spec);
          applyKind(spec, current, must.checked);
          if (choices) { setChoices(spec, choices); }
        }
        store(form);
      });
      var mustLabel = el("label", {"class": "wide"});
      mustLabel.appendChild(must);
      mustLabel.appendChild(document.createTextNode(" 必填"));
      row.appendChild(mustLabel);
      if (current === "choice" || current === "boolean") {
        var choices = el("textarea", {rows: "3", "data-role": "field-choices", spellcheck: "false"});
        choices.value = choicesText(spec);
        choices.addEventListener("change", function () { setChoices(spec, choices.value); store(form); });
        row.appendChild(labelled(current === "boolean" ? "选项名称（第一行：是；第二行：否）" :
          "选项（每行一个：代码=名称，或只写名称）", choices, true));
      }
      var help = el("input", {type: "text", "data-role": "field-help", value: spec.description || ""});
      help.addEventListener("change", function () {
        if (help.value.trim()) { spec.description = help.value.trim(); } else { delete spec.description; }
        store(form);
      });
      row.appendChild(labelled("说明（显示在字段下方）", help, true));
      var remove = el("button", {type: "button", "class": "button", "data-role": "field-delete"}, "删除此字段");
      remove.addEventListener("click", function () {
        delete form.properties[name];
        form.required = (form.required || []).filter(function (n) { return n !== name; });
        store(form);
      });
      row.appendChild(remove);
      return row;
    }

    function renderFields() {
      if (!fieldList) { return; }
      fieldList.textContent = "";
      var forms = readForms(root) || {};
      var form = forms[pick.value];
      if (!form || typeof form !== "object" || typeof form.properties !== "object" || !form.properties) {
        fieldList.appendChild(el("p", {"class": "muted"}, pick.value ? "此表单不是可逐项编辑的 JSON Schema，请直接编辑下方的 JSON。" : ""));
        return;
      }
      fieldList.appendChild(el("h4", {}, "字段（" + (form.title || pick.value) + "）"));
      var formTitle = el("input", {type: "text", "data-role": "form-title", value: form.title || ""});
      formTitle.addEventListener("change", function () { form.title = formTitle.value.trim(); store(form); });
      fieldList.appendChild(labelled("表单标题", formTitle, true));
      Object.keys(form.properties).forEach(function (name) {
        var spec = form.properties[name];
        if (spec && typeof spec === "object") { fieldList.appendChild(fieldRow(form, name, spec)); }
      });
      var adder = el("div", {"class": "form-field form-field-new"});
      var newName = el("input", {type: "text", "data-role": "field-new-name", placeholder: "如 legal_opinion",
                                 spellcheck: "false", autocapitalize: "off"});
      var newTitle = el("input", {type: "text", "data-role": "field-new-title", placeholder: "如 法律意见"});
      adder.appendChild(labelled("新字段代码（英文字母、数字、下划线；条件中使用）", newName));
      adder.appendChild(labelled("新字段标题", newTitle));
      var problem = el("p", {"class": "error-message wide", "data-role": "field-new-problem"});
      var add = el("button", {type: "button", "class": "button", "data-role": "field-add"}, "添加字段");
      add.addEventListener("click", function () {
        var name = newName.value.trim();
        if (!NAME.test(name)) { problem.textContent = "字段代码只能由英文字母、数字和下划线组成，且不以数字开头"; return; }
        if (form.properties[name]) { problem.textContent = "已有字段「" + name + "」"; return; }
        var spec = {title: newTitle.value.trim() || name};
        applyKind(spec, "text", false);
        form.properties[name] = spec;
        store(form);
      });
      adder.appendChild(add);
      adder.appendChild(problem);
      fieldList.appendChild(adder);
    }

    function load(name) {
      var forms = readForms(root) || {};
      schema.value = name && forms[name] ? JSON.stringify(forms[name], null, 2) : "";
      if (name) { render(); } else { preview.textContent = ""; }
      renderFields();
    }

    function refreshNames(keep) {
      var forms = readForms(root);
      if (!forms) { return; }
      var names = Object.keys(forms).sort();
      fillSelect(pick, names, keep);
      if (!keep || names.indexOf(keep) < 0) { load(names[0]); }
    }

    pick.addEventListener("change", function () { load(pick.value); });
    schema.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var forms = readForms(root);
        try {
          var parsed = JSON.parse(schema.value);
          if (forms && pick.value) {
            forms[pick.value] = parsed;
            part(root, "forms").value = JSON.stringify(forms, null, 2);
            renderFields();
          }
        } catch (error) { /* the server names the JSON error in the problem list */ }
        render();
      }, 300);
    });
    part(root, "forms").addEventListener("change", function () { refreshNames(pick.value); });
    part(root, "form-add").addEventListener("click", function () {
      var name = (part(root, "form-new-name").value || "").trim();
      var forms = readForms(root);
      if (!name || !forms) { return; }
      if (!/\.json$/.test(name)) { name += ".json"; }
      if (!forms[name]) {
        forms[name] = {title: "", type: "object", required: [], properties: {
          opinion: {type: "string", title: "意见", maxLength: 2000, "x-widget": "textarea"}}};
        part(root, "forms").value = JSON.stringify(forms, null, 2);
      }
      part(root, "form-new-name").value = "";
      refreshNames(name);
      pick.value = name;
      load(name);
    });
    refreshNames(null);
  }

  function attachDmn(root, bundle) {
    var pick = part(root, "dmn-pick"), xml = part(root, "dmn-xml"), status = part(root, "dmn-status");
    if (!pick || !xml) { return; }
    var names = Object.keys(bundle.dmn || {}).sort();
    fillSelect(pick, names, names[0]);
    xml.value = names.length ? bundle.dmn[names[0]] : "";
    xml.disabled = !names.length;
    status.textContent = names.length ? "" : "此版本没有决策表。";
    pick.addEventListener("change", function () { xml.value = bundle.dmn[pick.value] || ""; status.textContent = ""; });
    xml.addEventListener("input", function () {
      bundle.dmn[pick.value] = xml.value;
      var parsed = new DOMParser().parseFromString(xml.value, "application/xml");
      var broken = parsed.getElementsByTagName("parsererror").length > 0;
      status.textContent = broken ? "不是有效的 XML（部署时会被拒绝）" : "XML 格式正确；内容在部署时校验";
      status.className = broken ? "error-message" : "hint";
    });
  }

  window.LvyueForms = {attach: function (root, bundle) { attachForms(root); attachDmn(root, bundle); }};
}());
