/* Migration page: preview the picked cases, then migrate them in batches through the API, showing progress
   (cases done / total, migrated, refused) and each case's result as it comes back. */
(function () {
  "use strict";

  var BATCH = 5;

  function part(root, role) { return root.querySelector('[data-role="' + role + '"]'); }

  function picked(root) {
    return Array.prototype.map.call(root.querySelectorAll('[data-role="pick"]:checked'),
      function (box) { return parseInt(box.value, 10); });
  }

  function csrfToken() {  /* base.html's <meta name="csrf-token">: the API wants it with the session cookie */
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
                       headers: {"Content-Type": "application/json", "Accept": "application/json",
                                 "X-CSRFToken": csrfToken()},
                       body: JSON.stringify(body)})
      .then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok) { throw new Error(data.message || ("HTTP " + response.status)); }
          return data;
        });
      });
  }

  function show(root, item, prefix) {
    var row = root.querySelector('tr[data-instance-id="' + item.instance_id + '"]');
    if (!row) { return; }
    var cell = row.querySelector('[data-role="result"]');
    cell.textContent = (prefix ? prefix + "：" : "") + item.reason;
    cell.className = item.can_migrate ? "ok" : "refused";
  }

  function progress(root, done, total, migrated, refused, finished) {
    part(root, "progress-box").hidden = false;
    part(root, "progress").max = total || 1;
    part(root, "progress").value = done;
    part(root, "progress-text").textContent = (finished ? "迁移完成：" : "正在迁移……") + "已处理 " + done + " / " + total +
      "，已迁移 " + migrated + "，未迁移 " + refused;
    root.setAttribute("data-state", finished ? "done" : "running");
  }

  function start(root) {
    var body = function (ids) {
      return {source: parseInt(root.getAttribute("data-source"), 10),
              target: parseInt(root.getAttribute("data-target"), 10), instance_ids: ids};
    };
    var all = part(root, "all");
    if (all) {
      all.addEventListener("change", function () {
        root.querySelectorAll('[data-role="pick"]').forEach(function (box) { box.checked = all.checked; });
      });
    }
    var previewButton = part(root, "preview");
    var migrateButton = part(root, "migrate");
    if (previewButton) {
      previewButton.addEventListener("click", function () {
        post(root.getAttribute("data-preview-url"), body(picked(root)))
          .then(function (data) {
            data.items.forEach(function (item) { show(root, item, item.can_migrate ? "" : "不能迁移"); });
            part(root, "progress-box").hidden = false;
            part(root, "progress-text").textContent = "预览：可迁移 " + data.migrated + "，不能迁移 " + data.refused;
            root.setAttribute("data-state", "previewed");
          })
          .catch(function (error) { part(root, "progress-box").hidden = false; part(root, "progress-text").textContent = "预览失败：" + error.message; });
      });
    }
    if (migrateButton) {
      migrateButton.addEventListener("click", function () {
        var ids = picked(root);
        if (!ids.length) { return; }
        migrateButton.disabled = true;
        var done = 0, migrated = 0, refused = 0;
        progress(root, 0, ids.length, 0, 0, false);
        var next = function (offset) {
          if (offset >= ids.length) {
            progress(root, done, ids.length, migrated, refused, true);
            migrateButton.disabled = false;
            return Promise.resolve();
          }
          return post(root.getAttribute("data-migrate-url"), body(ids.slice(offset, offset + BATCH)))
            .then(function (data) {
              data.items.forEach(function (item) { show(root, item, item.can_migrate ? "已迁移" : "未迁移"); });
              done += data.items.length; migrated += data.migrated; refused += data.refused;
              progress(root, done, ids.length, migrated, refused, false);
              return next(offset + BATCH);
            });
        };
        next(0).catch(function (error) {
          part(root, "progress-text").textContent = "迁移中断：" + error.message + "（已处理 " + done + " 个，可重新预览后继续）";
          migrateButton.disabled = false;
        });
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("process-migration");
    if (root) { start(root); }
  });
}());
