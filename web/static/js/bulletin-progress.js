// Bulletin generation progress: poll the status endpoint and reload the page once the snapshot is ready.
// A static file (the CSP allows only scripts from this site); it polls while the section carries data-status-url.
(function () {
  var box = document.getElementById("bulletin-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var bar = box.querySelector("progress");
  var percent = box.querySelector(".progress-percent");
  var note = box.querySelector(".progress-note");
  var failures = 0;
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
      .then(function (state) {
        failures = 0;
        bar.value = state.progress;
        bar.textContent = state.progress + "%";
        percent.textContent = state.progress + "%";
        note.textContent = state.progress_note || state.status_label;
        if (state.status === "queued" || state.status === "generating") {
          window.setTimeout(poll, 1000);
        } else {
          window.location.reload();
        }
      })
      .catch(function () {
        failures += 1;
        note.textContent = "暂时无法获取进度，正在重试……";
        window.setTimeout(poll, Math.min(10000, 1000 * failures));
      });
  }
  window.setTimeout(poll, 500);
}());
