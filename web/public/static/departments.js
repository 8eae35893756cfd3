// Respondent search on the public complaint form: suggestions from /public/departments?q=,
// the chosen department's code goes into the hidden respondent_code; free text stays possible.
(function () {
  var input = document.getElementById("c-respondent_name");
  var code = document.getElementById("c-respondent_code");
  var list = document.getElementById("respondent-options");
  if (!input || !code || !list) return;
  var url = input.getAttribute("data-search-url");
  var known = {};
  var timer = null;
  input.addEventListener("input", function () {
    code.value = known[input.value] || "";
    clearTimeout(timer);
    var q = input.value.trim();
    if (q.length < 1) return;
    timer = setTimeout(function () {
      fetch(url + "?q=" + encodeURIComponent(q), {headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (rows) {
          list.textContent = "";
          rows.forEach(function (row) {
            known[row.name] = row.code;
            var option = document.createElement("option");
            option.value = row.name;
            list.appendChild(option);
          });
          code.value = known[input.value] || "";
        })
        .catch(function () { /* free text still works */ });
    }, 250);
  });
})();
