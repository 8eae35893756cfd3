/* Case page: draw the case's BPMN diagram with bpmn-js (NavigatedViewer) and mark done and current steps. */
(function () {
  "use strict";

  function mark(viewer, ids, cssClass) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    ids.forEach(function (id) {
      if (registry.get(id)) {
        canvas.addMarker(id, cssClass);
      }
    });
  }

  function fail(container, text) {
    container.innerHTML = "";
    var p = document.createElement("p");
    p.className = "muted";
    p.textContent = text;
    container.appendChild(p);
  }

  function draw(container) {
    if (typeof window.BpmnJS !== "function") {
      fail(container, "流程图组件未安装（请运行 make vendor）。");
      return;
    }
    fetch(container.getAttribute("data-url"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        container.innerHTML = "";
        var viewer = new window.BpmnJS({container: container});
        return viewer.importXML(data.xml).then(function () {
          mark(viewer, data.completed || [], "lv-done");
          mark(viewer, data.current || [], "lv-current");
          viewer.get("canvas").zoom("fit-viewport");
          container.setAttribute("data-ready", "true");
        });
      })
      .catch(function (err) {
        fail(container, "流程图加载失败：" + err.message);
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var container = document.getElementById("case-diagram");
    if (container) { draw(container); }
  });
}());
