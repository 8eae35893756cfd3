/* Version diff page: both versions in bpmn-js viewers; elements the server's diff reports as removed (old
   side), added (new side) and changed (both sides) get a marker and a small overlay label. */
(function () {
  "use strict";

  var LABELS = {"lv-added": "新增", "lv-removed": "删除", "lv-changed": "修改"};

  function getJson(url) {
    return fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      });
  }

  function mark(viewer, items, cssClass) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var overlays = viewer.get("overlays");
    var count = 0;
    items.forEach(function (item) {
      var element = registry.get(item.id);
      if (!element) { return; }
      canvas.addMarker(item.id, cssClass);
      count += 1;
      if (element.waypoints) { return; }  // connections: the marker colours the line; no label
      var badge = document.createElement("span");
      badge.className = "lv-badge " + cssClass;
      badge.textContent = LABELS[cssClass];
      overlays.add(item.id, {position: {top: -10, left: 0}, html: badge});
    });
    return count;
  }

  function draw(container, xml, marks) {
    container.textContent = "";
    var viewer = new window.BpmnJS({container: container});
    return viewer.importXML(xml).then(function () {
      var total = 0;
      marks.forEach(function (pair) { total += mark(viewer, pair[0], pair[1]); });
      viewer.get("canvas").zoom("fit-viewport");
      container.setAttribute("data-marked", String(total));
      return viewer;
    });
  }

  function start(root) {
    var from = root.querySelector('[data-role="from"]');
    var to = root.querySelector('[data-role="to"]');
    if (typeof window.BpmnJS !== "function") {
      from.textContent = to.textContent = "流程图组件未安装（请运行 make vendor）。";
      return;
    }
    Promise.all([getJson(root.getAttribute("data-from-url")), getJson(root.getAttribute("data-to-url")),
                 getJson(root.getAttribute("data-diff-url"))])
      .then(function (got) {
        var elements = got[2].elements;
        return Promise.all([
          draw(from, got[0].bpmn_xml, [[elements.removed, "lv-removed"], [elements.changed, "lv-changed"]]),
          draw(to, got[1].bpmn_xml, [[elements.added, "lv-added"], [elements.changed, "lv-changed"]])
        ]);
      })
      .then(function () { root.setAttribute("data-ready", "true"); })
      .catch(function (error) { from.textContent = "流程图加载失败：" + error.message; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("process-diff");
    if (root) { start(root); }
  });
}());
