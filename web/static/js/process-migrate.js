/* Migration page: preview the picked cases (each case's result and its timers after the move), confirm, then
   migrate the confirmed cases in batches through the API, showing progress (cases done / total, migrated,
   refused) and each case's result as it comes back. */
(function () {
  "use strict";

  var BATCH = 5;
  var CHANGE = {kept: "保留", added: "新增", redefined: "按新定义重算", removed: "已删除"};

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

  function local(iso) {  /* an ISO time as Yunnan's wall clock */
    if (!iso) { return "—"; }
    return new Date(iso).toLocaleString("zh-CN", {timeZone: "Asia/Shanghai", hour12: false,
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"});
  }

  function row(root, item) { return root.querySelector('tr[data-instance-id="' + item.instance_id + '"]'); }

  function show(root, item, prefix) {
    var tr = row(root, item);
    if (!tr) { return; }
    var cell = tr.querySelector('[data-role="result"]');
    cell.textContent = (prefix ? prefix + "：" : "") + item.reason;
    cell.className = item.can_migrate ? "ok" : "refused";
  }

  function showTimers(root, item) {
    var tr = row(root, item);
    if (!tr) { return; }
    var cell = tr.querySelector('[data-role="timers"]');
    cell.textContent = "";
    cell.className = "";
    if (!item.can_migrate) { cell.textContent = "—"; cell.className = "muted"; return; }
    if (!item.timers.length) { cell.textContent = "无定时器"; cell.className = "muted"; return; }
    var list = document.createElement("ul");
    list.className = "timers";
    item.timers.forEach(function (timer) {
      var li = document.createElement("li");
      li.setAttribute("data-change", timer.change);
      li.className = timer.change === "removed" ? "removed" : (timer.late ? "late" : "");
      var text = (timer.step ? "「" + timer.step + "」" : "") + timer.name + "（" + CHANGE[timer.change] +
        (timer.interrupting ? "，中断该步骤" : "") + "）";
      if (timer.change !== "removed") {
        text += "：" + local(timer.due) + (timer.late ? "，已过期，迁移时触发" : "");
      }
      li.title = timer.change_label;
      li.textContent = text;
      list.appendChild(li);
    });
    cell.appendChild(list);
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
    var body = function (ids, confirmations) {
      var payload = {source: parseInt(root.getAttribute("data-source"), 10),
                     target: parseInt(root.getAttribute("data-target"), 10), instance_ids: ids};
      if (confirmations) { payload.confirmations = confirmations; }
      return payload;
    };
    var previewed = null;  /* the last preview: instance id → item */
    var all = part(root, "all");
    var previewButton = part(root, "preview");
    var migrateButton = part(root, "migrate");
    var confirmBox = part(root, "confirm-box");

    function invalidate() {  /* a changed selection needs a new preview before anything moves */
      previewed = null;
      if (migrateButton) { migrateButton.disabled = true; }
      if (confirmBox) { confirmBox.hidden = true; }
    }

    if (all) {
      all.addEventListener("change", function () {
        root.querySelectorAll('[data-role="pick"]').forEach(function (box) { box.checked = all.checked; });
        invalidate();
      });
    }
    root.querySelectorAll('[data-role="pick"]').forEach(function (box) { box.addEventListener("change", invalidate); });

    if (previewButton) {
      previewButton.addEventListener("click", function () {
        invalidate();
        post(root.getAttribute("data-preview-url"), body(picked(root)))
          .then(function (data) {
            previewed = {};
            data.items.forEach(function (item) {
              previewed[item.instance_id] = item;
              show(root, item, item.can_migrate ? "" : "不能迁移");
              showTimers(root, item);
            });
            part(root, "progress-box").hidden = false;
            part(root, "progress-text").textContent = "预览：可迁移 " + data.migrated + "，不能迁移 " + data.refused;
            migrateButton.disabled = data.migrated === 0;
            migrateButton.title = data.migrated === 0 ? "没有可迁移的案件" : "";
            root.setAttribute("data-state", "previewed");
          })
          .catch(function (error) { part(root, "progress-box").hidden = false; part(root, "progress-text").textContent = "预览失败：" + error.message; });
      });
    }

    function migratable() {
      return picked(root).filter(function (id) { return previewed && previewed[id] && previewed[id].can_migrate; });
    }

    if (migrateButton) {
      migrateButton.addEventListener("click", function () {
        var ids = migratable();
        if (!ids.length) { return; }
        var late = ids.filter(function (id) {
          return previewed[id].timers.some(function (t) { return t.late && t.change !== "removed"; });
        }).length;
        var rearmed = ids.filter(function (id) {
          return previewed[id].timers.some(function (t) { return t.change !== "kept"; });
        }).length;
        part(root, "confirm-text").textContent = "确认迁移 " + ids.length + " 个案件？不能迁移的 " +
          (picked(root).length - ids.length) + " 个保持原状。" + (rearmed ? rearmed + " 个案件的定时器按目标版本重新设置" +
          (late ? "，其中 " + late + " 个案件有已过期的定时器，迁移时立即触发" : "") + "（见上表）。" : "各案件的定时器保持不变。");
        confirmBox.hidden = false;
        root.setAttribute("data-state", "confirming");
      });
      part(root, "cancel").addEventListener("click", function () {
        confirmBox.hidden = true;
        root.setAttribute("data-state", "previewed");
      });
      part(root, "confirm").addEventListener("click", function () {
        /* every previewed case goes: the refused ones come back with their reason, the others need their token */
        var ids = picked(root).filter(function (id) { return previewed && previewed[id]; });
        confirmBox.hidden = true;
        if (!ids.length) { return; }
        migrateButton.disabled = true;
        var done = 0, migrated = 0, refused = 0;
        progress(root, 0, ids.length, 0, 0, false);
        var next = function (offset) {
          if (offset >= ids.length) {
            progress(root, done, ids.length, migrated, refused, true);
            previewed = null;  /* what moved has changed: preview again before another round */
            return Promise.resolve();
          }
          var batch = ids.slice(offset, offset + BATCH);
          var tokens = batch.map(function (id) { return previewed[id].confirmation; }).filter(Boolean);
          return post(root.getAttribute("data-migrate-url"), body(batch, tokens))
            .then(function (data) {
              data.items.forEach(function (item) {
                show(root, item, item.can_migrate ? "已迁移" : "未迁移");
                if (item.can_migrate) { showTimers(root, item); }
              });
              done += data.items.length; migrated += data.migrated; refused += data.refused;
              progress(root, done, ids.length, migrated, refused, false);
              return next(offset + BATCH);
            });
        };
        next(0).catch(function (error) {
          part(root, "progress-text").textContent = "迁移中断：" + error.message + "（已处理 " + done + " 个，请重新预览后继续）";
          previewed = null;
        });
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("process-migration");
    if (root) { start(root); }
  });
}());
