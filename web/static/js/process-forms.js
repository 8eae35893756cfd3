/* Modeler page: edit one form (JSON Schema) at a time with a live preview rendered by the server exactly as
   officials will see it (POST data-preview-url → web/forms_render.py), and the decision tables as DMN XML
   (well-formedness checked here, everything else at deploy). The forms JSON textarea stays the source the
   deploy sends; the DMN texts are written into the bundle the deploy sends.
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

    function load(name) {
      var forms = readForms(root) || {};
      schema.value = name && forms[name] ? JSON.stringify(forms[name], null, 2) : "";
      if (name) { render(); } else { preview.textContent = ""; }
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
