/* Process modeler page: open a version in bpmn-js (Modeler), edit, deploy through the API with a comment;
   on failure list each problem (in Chinese) with its element, and mark those elements on the diagram. The
   scenarios' runs (process-scenarios.js) are shown after each deploy; when some end differently (409) the
   administrator looks at their paths and confirms with 「确认场景结果变化，仍然部署」. */
(function () {
  "use strict";

  var EMPTY = '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" ' +
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" ' +
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" ' +
    'id="Definitions_new" targetNamespace="http://bpmn.io/schema/bpmn">\n' +
    '  <bpmn:process id="new_process" name="新流程" isExecutable="true">\n' +
    '    <bpmn:startEvent id="start" />\n  </bpmn:process>\n' +
    '  <bpmndi:BPMNDiagram id="BPMNDiagram_1"><bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="new_process">\n' +
    '    <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="180" y="100" width="36" height="36" />' +
    '</bpmndi:BPMNShape>\n  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n</bpmn:definitions>\n';

  function part(root, role) { return root.querySelector('[data-role="' + role + '"]'); }

  function csrfToken() {  /* base.html's <meta name="csrf-token">: the API wants it with the session cookie */
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function say(root, text, isError) {
    var box = part(root, "result");
    box.textContent = text;
    box.className = "modeler-result flash " + (isError ? "error" : "success");
  }

  function showProblems(root, modeler, problems) {
    var list = part(root, "problems");
    var canvas = modeler.get("canvas");
    var registry = modeler.get("elementRegistry");
    list.innerHTML = "";
    (problems || []).forEach(function (problem) {
      var item = document.createElement("li");
      var id = problem.element || "";
      item.textContent = (problem.severity === "warning" ? "（警告）" : "") + (id ? "[" + id + "] " : "") +
        problem.message + (problem.detail ? "（原文：" + problem.detail + "）" : "");
      if (problem.severity === "warning") { item.setAttribute("data-severity", "warning"); }
      if (id && registry.get(id)) {
        canvas.addMarker(id, "lv-problem");
        item.className = "clickable";
        item.addEventListener("click", function () {
          modeler.get("selection").select(registry.get(id));
          canvas.scrollToElement(registry.get(id));
        });
      }
      list.appendChild(item);
    });
  }

  function clearMarkers(modeler) {
    var canvas = modeler.get("canvas");
    modeler.get("elementRegistry").forEach(function (element) { canvas.removeMarker(element.id, "lv-problem"); });
  }

  function start(root) {
    var container = part(root, "canvas");
    if (typeof window.BpmnJS !== "function") {
      container.textContent = "流程编辑器组件未安装（请运行 make vendor）。";
      return;
    }
    container.innerHTML = "";  // the loading note; bpmn-js adds its own canvas below
    var modeler = new window.BpmnJS({container: container});
    root.lvModeler = modeler;  // for scripted edits (browser tests) through bpmn-js's own API
    var bundle = {forms: {}, dmn: {}};
    root.lvBundle = bundle;  /* decision tables for 试运行 (process-scenarios.js) */
    if (window.LvyueScenarios) { window.LvyueScenarios.attach(root, modeler); }
    if (window.LvyuePanel) {  // the properties panel (process-panel.js)
      window.LvyuePanel.attach(root, modeler, function () {
        try { return JSON.parse(part(root, "forms").value || "{}"); } catch (error) { return {}; }
      }, function () { return bundle.dmn; });
    }
    var versionUrl = root.getAttribute("data-version-url");
    var loading = versionUrl ?
      fetch(versionUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        }) :
      Promise.resolve({bpmn_xml: EMPTY, forms: {}, dmn: {}});
    loading
      .then(function (data) {
        bundle.forms = data.forms || {};
        bundle.dmn = data.dmn || {};
        if (part(root, "scenarios")) {
          part(root, "scenarios").value = JSON.stringify(data.scenarios || [], null, 2);
        }
        part(root, "forms").value = JSON.stringify(bundle.forms, null, 2);
        if (window.LvyueForms) { window.LvyueForms.attach(root, bundle); }  // form editor, DMN (process-forms.js)
        return modeler.importXML(data.bpmn_xml);
      })
      .then(function () {
        modeler.get("canvas").zoom("fit-viewport");
        root.setAttribute("data-ready", "true");
      })
      .catch(function (error) { say(root, "流程图加载失败：" + error.message, true); });

    var acknowledge = part(root, "acknowledge");
    var confirmScenarios = part(root, "confirm-scenarios");
    var acknowledged = false;
    acknowledge.addEventListener("click", function () { acknowledged = true; deploy(null); });
    confirmScenarios.addEventListener("click", function () {
      deploy(confirmScenarios.getAttribute("data-confirmation"));
    });
    part(root, "deploy-form").addEventListener("submit", function (event) {
      event.preventDefault();
      acknowledged = false;
      deploy(null);
    });

    function showRuns(runs) {
      if (window.LvyueScenarios) { window.LvyueScenarios.show(root, modeler, runs || []); }
    }

    function deploy(scenarioConfirmation) {
      var forms;
      var acknowledgeWarnings = acknowledged;
      var scenarios = window.LvyueScenarios ? window.LvyueScenarios.read(root) : [];
      acknowledge.hidden = true;
      confirmScenarios.hidden = true;
      try {
        forms = JSON.parse(part(root, "forms").value || "{}");
      } catch (error) {
        say(root, "表单不是有效的 JSON：" + error.message, true);
        return;
      }
      if (scenarios === null) {
        say(root, "场景不是有效的 JSON 数组", true);
        return;
      }
      clearMarkers(modeler);
      showProblems(root, modeler, []);
      say(root, "正在校验并部署……", false);
      modeler.saveXML({format: true})
        .then(function (saved) {
          return fetch(root.getAttribute("data-deploy-url"), {
            method: "POST", credentials: "same-origin",
            headers: {"Content-Type": "application/json", "Accept": "application/json",
                      "X-CSRFToken": csrfToken()},
            body: JSON.stringify({bpmn_xml: saved.xml, forms: forms, dmn: bundle.dmn, scenarios: scenarios,
                                  comment: part(root, "comment").value, acknowledge_warnings: acknowledgeWarnings,
                                  scenario_confirmation: scenarioConfirmation})
          });
        })
        .then(function (response) {
          return response.json().then(function (body) { return {status: response.status, body: body}; });
        })
        .then(function (result) {
          var noted = (result.body.warnings || []).length ?
            "（已确认 " + result.body.warnings.length + " 条警告）" : "";
          var errors = result.body.errors || {};
          if (result.status === 201 || result.status === 200) { showRuns(result.body.scenarios); }
          if (result.status === 201) {
            say(root, "已部署为 " + result.body.key + " 第 " + result.body.version + " 版。新案件将使用此版本。" + noted, false);
          } else if (result.status === 200) {
            say(root, "与已部署的第 " + result.body.version + " 版完全相同，校验通过，未新增版本。" + noted, false);
          } else if (result.status === 409 && errors._scenario_confirmation) {
            /* scenarios end differently: shown on the diagram; the administrator confirms to deploy */
            say(root, result.body.message, true);
            showRuns(errors._scenarios);
            confirmScenarios.setAttribute("data-confirmation", errors._scenario_confirmation);
            confirmScenarios.hidden = false;
          } else {
            if (errors._scenarios) { showRuns(errors._scenarios); }
            var problems = errors._diagram ||
              Object.keys(errors).map(function (key) {
                return {element: "", message: key + "：" + errors[key]};
              });
            say(root, result.body.message || ("部署失败（HTTP " + result.status + "）"), true);
            showProblems(root, modeler, problems);
            /* only warnings: the administrator may acknowledge them and deploy */
            acknowledge.hidden = !(problems.length && problems.every(function (p) { return p.severity === "warning"; }));
          }
        })
        .catch(function (error) { say(root, "部署失败：" + error.message, true); });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("process-modeler");
    if (root) { start(root); }
  });
}());
