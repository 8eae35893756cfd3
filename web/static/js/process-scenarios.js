/* Modeler page: scenarios（场景）. 「试运行」 sends the diagram being edited with the forms, decision tables and
   the scenarios box to POST data-trial-url (nothing is stored) and lists each scenario's run: 通过 / 结果与预期不同 /
   出错, with how it differs from the deployed version. Clicking a run marks its path on the diagram with bpmn-js
   markers: lv-path (passed through), lv-path-new (only on this version), lv-path-wait (waiting or went another
   way). Deploy (process-modeler.js) shows its runs the same way and asks confirmation for changed ones.
   Exposes window.LvyueScenarios.attach(root, modeler) and .show(root, modeler, runs). */
(function () {
  "use strict";

  var MARKERS = ["lv-path", "lv-path-new", "lv-path-wait"];

  function part(root, role) { return root.querySelector('[data-role="' + role + '"]'); }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function readScenarios(root) {  /* the scenarios box: a JSON array, or {"scenarios": [...]}; null if invalid */
    var box = part(root, "scenarios");
    var text = box ? box.value.trim() : "";
    if (!text) { return []; }
    try {
      var data = JSON.parse(text);
      return Array.isArray(data) ? data : (data && Array.isArray(data.scenarios) ? data.scenarios : null);
    } catch (error) { return null; }
  }

  function label(modeler, id) {
    var element = modeler.get("elementRegistry").get(id);
    var name = element && element.businessObject && element.businessObject.name;
    return name ? name : id;
  }

  function names(modeler, ids) {
    return (ids || []).map(function (id) { return "「" + label(modeler, id) + "」"; }).join("、");
  }

  function clearPath(modeler) {
    var canvas = modeler.get("canvas");
    modeler.get("elementRegistry").forEach(function (element) {
      MARKERS.forEach(function (marker) { canvas.removeMarker(element.id, marker); });
    });
  }

  function markPath(root, modeler, run) {
    var canvas = modeler.get("canvas");
    var registry = modeler.get("elementRegistry");
    clearPath(modeler);
    var only = {};
    (run.only_now || []).forEach(function (id) { only[id] = true; });
    (run.elements || []).concat(run.flows || []).forEach(function (id) {
      if (registry.get(id)) { canvas.addMarker(id, only[id] ? "lv-path-new" : "lv-path"); }
    });
    (run.waiting || []).forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "lv-path-wait"); } });
    root.setAttribute("data-shown-scenario", run.name);
    var container = part(root, "canvas");  /* the list is below the diagram: bring the diagram into view */
    if (container && container.scrollIntoView) { container.scrollIntoView({block: "nearest"}); }
  }

  function line(text, className) {
    var p = document.createElement("p");
    p.textContent = text;
    if (className) { p.className = className; }
    return p;
  }

  function describe(modeler, run) {
    var box = document.createElement("div");
    box.className = "scenario-detail";
    var expected = run.expected || {}, actual = run.actual || {};
    box.appendChild(line("预期：" + (names(modeler, expected.steps) || "（无步骤）") + " → " +
      (expected.end ? label(modeler, expected.end) : "停在待办")));
    box.appendChild(line("新版本：" + (names(modeler, actual.steps) || "（无步骤）") + " → " +
      (actual.end ? label(modeler, actual.end) : (run.waiting && run.waiting.length ?
        "停在" + names(modeler, run.waiting) : "未结束"))));
    if (run.error) { box.appendChild(line("出错：" + run.error, "error-message")); }
    if (run.diverged) { box.appendChild(line("未按场景进行：" + run.diverged)); }
    if (run.previous) {
      box.appendChild(line(run.differs_from_previous ?
        "与已部署的最新版本不同" + (run.only_now && run.only_now.length ? "；仅新版本经过：" + names(modeler, run.only_now) : "") +
          (run.only_before && run.only_before.length ? "；仅已部署版本经过：" + names(modeler, run.only_before) : "") :
        "与已部署的最新版本相同", run.differs_from_previous ? "scenario-differs" : "muted"));
    }
    if (run.calls && run.calls.length) {
      box.appendChild(line("将调用的服务操作（试运行中只记录，未执行）：" + run.calls.map(function (call) {
        return call.label || call.operation;
      }).join("、"), "muted"));
    }
    return box;
  }

  function show(root, modeler, runs) {
    var list = part(root, "scenario-runs");
    if (!list) { return; }
    list.textContent = "";
    var counts = {passed: 0, changed: 0, error: 0};
    (runs || []).forEach(function (run) {
      counts[run.status] = (counts[run.status] || 0) + 1;
      var item = document.createElement("li");
      item.className = "scenario-run status-" + run.status + " clickable";
      item.setAttribute("data-scenario", run.name);
      item.setAttribute("data-status", run.status);
      var title = document.createElement("button");
      title.type = "button";
      title.className = "link-button";
      title.textContent = run.name + "：" + run.status_label + (run.differs_from_previous ? "（与已部署版本不同）" : "");
      title.addEventListener("click", function () {
        markPath(root, modeler, run);
        Array.prototype.forEach.call(list.children, function (other) { other.classList.remove("selected"); });
        item.classList.add("selected");
      });
      item.appendChild(title);
      item.appendChild(describe(modeler, run));
      list.appendChild(item);
    });
    var summary = part(root, "scenario-summary");
    if (summary) {
      summary.textContent = runs && runs.length ?
        "共 " + runs.length + " 个场景：通过 " + counts.passed + "，结果与预期不同 " + counts.changed + "，出错 " + counts.error +
          "。点击场景名称在流程图上查看其路径。" :
        "该流程没有场景。";
    }
    var first = (runs || []).filter(function (run) { return run.status !== "passed"; })[0];
    if (first) { markPath(root, modeler, first); }
    root.setAttribute("data-scenarios-shown", "true");
  }

  function attach(root, modeler) {
    var button = part(root, "trial");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var scenarios = readScenarios(root);
      var bundle = root.lvBundle || {forms: {}, dmn: {}};
      var forms;
      try { forms = JSON.parse(part(root, "forms").value || "{}"); } catch (error) { forms = null; }
      var status = part(root, "scenario-summary");
      if (scenarios === null) { status.textContent = "场景不是有效的 JSON 数组。"; return; }
      if (forms === null) { status.textContent = "表单不是有效的 JSON。"; return; }
      status.textContent = "正在试运行……";
      root.removeAttribute("data-scenarios-shown");
      modeler.saveXML({format: true})
        .then(function (saved) {
          return fetch(root.getAttribute("data-trial-url"), {
            method: "POST", credentials: "same-origin",
            headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken()},
            body: JSON.stringify({bpmn_xml: saved.xml, forms: forms, dmn: bundle.dmn, scenarios: scenarios})
          });
        })
        .then(function (response) {
          return response.json().then(function (body) { return {status: response.status, body: body}; });
        })
        .then(function (result) {
          if (result.status !== 200) {  /* the diagram has errors: deploy's problem list says which */
            show(root, modeler, []);
            status.textContent = "试运行未进行：" + (result.body.message || ("HTTP " + result.status));
            return;
          }
          show(root, modeler, result.body.scenarios);
        })
        .catch(function (error) { status.textContent = "试运行失败：" + error.message; });
    });
  }

  window.LvyueScenarios = {attach: attach, show: show, read: readScenarios, clear: clearPath};
}());
