/* 统计调度: draw the dashboard's charts with ECharts from the JSON API (no inline script: the CSP forbids it).
   Every chart has its table beside it in the page; clicking a tile or a bar opens the cases behind it. */
(function () {
  "use strict";

  var root = document.getElementById("oversight");
  if (!root) { return; }
  var charts = {};
  window.lvyueCharts = charts; // for the browser test and for debugging

  // Yunnan's 16 prefectures as tiles, roughly where they lie: [code, column, row]
  var TILES = [
    ["533400", 1, 0], ["530700", 2, 0], ["530600", 4, 0],
    ["533300", 0, 1], ["532900", 1, 1], ["532300", 2, 1], ["530100", 3, 1], ["530300", 4, 1],
    ["533100", 0, 2], ["530500", 1, 2], ["530400", 2, 2], ["532500", 3, 2], ["532600", 4, 2],
    ["530900", 1, 3], ["530800", 2, 3],
    ["532800", 2, 4]
  ];
  var SHORT = {
    "530100": "昆明", "530300": "曲靖", "530400": "玉溪", "530500": "保山", "530600": "昭通", "530700": "丽江",
    "530800": "普洱", "530900": "临沧", "532300": "楚雄", "532500": "红河", "532600": "文山", "532800": "西双版纳",
    "532900": "大理", "533100": "德宏", "533300": "怒江", "533400": "迪庆", "530000": "省直", "none": "未指明"
  };
  var METRICS = {
    received: {label: "收到投诉", figure: "received"},
    overdue_now: {label: "当前逾期", figure: "overdue"},
    on_time_rate: {label: "按期核实率", figure: "verify_due", rate: true},
    breaches_confirmed: {label: "违约失信", figure: "breaches"}
  };
  var INTAKE_KINDS = ["accepted", "rejected", "merged", "pending"];
  var COLORS = {accepted: "#2e7d32", rejected: "#b71c1c", merged: "#8d6e63", pending: "#f0b429", received: "#0b4f8a"};

  function casesUrl(figure, extra) {
    var url = new URL(root.getAttribute("data-cases-url"), window.location.href);
    url.searchParams.set("figure", figure);
    Object.keys(extra || {}).forEach(function (key) { url.searchParams.set(key, extra[key]); });
    return url.toString();
  }

  function getJson(url) {
    return fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}}).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  function init(id) {
    var el = document.getElementById(id);
    if (!el) { return null; }
    var chart = window.echarts.init(el, null, {renderer: "canvas"});
    charts[id.replace("chart-", "")] = chart;
    return chart;
  }

  function tooltip(trigger) {
    return {trigger: trigger || "item", renderMode: "richText"}; // drawn on the canvas: no inline styles
  }

  function pct(v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%"; }

  function drawMap(ranking, metric) {
    var chart = charts.map || init("chart-map");
    if (!chart) { return; }
    var m = METRICS[metric];
    var byKey = {};
    ranking.rows.forEach(function (row) { byKey[row.key] = row; });
    var data = TILES.map(function (t) {
      var row = byKey[t[0]];
      var value = row ? row[metric] : null;
      return {value: [t[1], t[2], value === null || value === undefined ? "-" : value], code: t[0]};
    });
    var values = data.map(function (d) { return d.value[2]; }).filter(function (v) { return v !== "-"; });
    var max = m.rate ? 1 : Math.max(1, Math.max.apply(null, values.concat([0])));
    chart.setOption({
      tooltip: {trigger: "item", renderMode: "richText", formatter: function (p) {
        var v = p.data.value[2];
        return (SHORT[p.data.code] || p.data.code) + "：" + (v === "-" ? "无数据" : (m.rate ? pct(v) : v));
      }},
      grid: {left: 4, right: 4, top: 4, bottom: 48},
      xAxis: {type: "category", data: ["0", "1", "2", "3", "4"], show: false},
      yAxis: {type: "category", data: ["0", "1", "2", "3", "4"], show: false, inverse: true},
      visualMap: {min: 0, max: max, calculable: false, orient: "horizontal", left: "center", bottom: 0,
                  text: [m.rate ? "100%" : String(max), m.rate ? "0%" : "0"],
                  inRange: {color: m.rate ? ["#fdecea", "#2e7d32"] : ["#e3f2fd", "#0b4f8a"]}},
      series: [{
        name: m.label, type: "heatmap", data: data, itemStyle: {borderColor: "#fff", borderWidth: 3},
        label: {show: true, color: "#102a43", fontSize: 13, fontWeight: "bold", textBorderColor: "#fff",
                textBorderWidth: 3, formatter: function (p) {
          var v = p.data.value[2];
          return (SHORT[p.data.code] || "") + "\n" + (v === "-" ? "—" : (m.rate ? pct(v) : v));
        }}
      }]
    }, true);
    chart.off("click");
    chart.on("click", function (p) {
      if (p.data && p.data.code) { window.location.href = casesUrl(m.figure, {prefecture: p.data.code}); }
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-map-metric]"), function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-map-metric") === metric ? "true" : "false");
    });
  }

  function drawStacked(figures, ranking) {
    var chart = init("chart-stacked");
    if (!chart) { return; }
    var keys = ranking.rows.map(function (r) { return r.key; });
    chart.setOption({
      tooltip: tooltip("axis"), legend: {top: 0},
      grid: {left: 40, right: 10, top: 30, bottom: 60},
      xAxis: {type: "category", data: keys.map(function (k) { return SHORT[k] || k; }), axisLabel: {rotate: 45}},
      yAxis: {type: "value", minInterval: 1},
      series: INTAKE_KINDS.map(function (kind) {
        return {name: figures.labels.intake[kind], type: "bar", stack: "intake", itemStyle: {color: COLORS[kind]},
                data: keys.map(function (k) { return (figures.by_prefecture[k] || {})[kind] || 0; })};
      })
    });
    chart.on("click", function (p) {
      window.location.href = casesUrl(INTAKE_KINDS[p.seriesIndex], {prefecture: keys[p.dataIndex]});
    });
  }

  function drawTrend(figures) {
    var chart = init("chart-trend");
    if (!chart) { return; }
    var months = Object.keys(figures.by_month);
    function series(kind) {
      return {name: figures.labels.intake[kind], type: "line", itemStyle: {color: COLORS[kind]},
              data: months.map(function (m) { return figures.by_month[m][kind]; })};
    }
    chart.setOption({
      tooltip: tooltip("axis"), legend: {top: 0},
      grid: {left: 40, right: 50, top: 30, bottom: 30},
      xAxis: {type: "category", data: months},
      yAxis: [{type: "value", minInterval: 1}, {type: "value", min: 0, max: 100, axisLabel: {formatter: "{value}%"}}],
      series: [series("received"), series("accepted"), series("rejected"), {
        name: "按期核实率", type: "line", yAxisIndex: 1, lineStyle: {type: "dashed"}, itemStyle: {color: "#7b1fa2"},
        data: months.map(function (m) {
          var v = (figures.verification_by_month[m] || {}).rate;
          return v === null || v === undefined ? "-" : Math.round(v * 1000) / 10;
        })
      }]
    });
  }

  function drawChannels(figures) {
    var chart = init("chart-channels");
    if (!chart) { return; }
    var keys = figures.labels.order.channels.filter(function (k) { return figures.by_channel[k]; });
    chart.setOption({
      tooltip: tooltip("axis"), legend: {top: 0},
      grid: {left: 150, right: 20, top: 30, bottom: 20},
      xAxis: {type: "value", minInterval: 1},
      yAxis: {type: "category", inverse: true, data: keys.map(function (k) { return figures.labels.channels[k] || k; }),
              axisLabel: {width: 140, overflow: "truncate"}},
      series: INTAKE_KINDS.map(function (kind) {
        return {name: figures.labels.intake[kind], type: "bar", stack: "intake", itemStyle: {color: COLORS[kind]},
                data: keys.map(function (k) { return figures.by_channel[k][kind]; })};
      })
    });
    chart.on("click", function (p) {
      window.location.href = casesUrl(INTAKE_KINDS[p.seriesIndex], {channel: keys[p.dataIndex]});
    });
  }

  function drawStages(figures) {
    var chart = init("chart-stages");
    if (!chart) { return; }
    var stages = figures.stages;
    chart.setOption({
      tooltip: tooltip("axis"), legend: {top: 0},
      grid: {left: 150, right: 20, top: 30, bottom: 20},
      xAxis: {type: "value", name: "天"},
      yAxis: {type: "category", inverse: true, data: stages.map(function (s) { return s.label; }),
              axisLabel: {width: 140, overflow: "truncate"}},
      series: [
        {name: "中位数", type: "bar", itemStyle: {color: "#0b4f8a"},
         data: stages.map(function (s) { return s.median_days === null ? "-" : s.median_days; })},
        {name: "第 90 百分位", type: "bar", itemStyle: {color: "#f0b429"},
         data: stages.map(function (s) { return s.p90_days === null ? "-" : s.p90_days; })}
      ]
    });
  }

  function drawOverdue(figures) {
    var chart = init("chart-overdue");
    if (!chart) { return; }
    var keys = figures.labels.order.overdue_buckets;
    chart.setOption({
      tooltip: tooltip("axis"),
      grid: {left: 40, right: 10, top: 10, bottom: 30},
      xAxis: {type: "category", data: keys.map(function (k) { return figures.labels.overdue_buckets[k]; })},
      yAxis: {type: "value", minInterval: 1},
      series: [{name: "逾期任务", type: "bar", itemStyle: {color: "#b71c1c"},
                data: keys.map(function (k) { return figures.overdue.buckets[k]; })}]
    });
    chart.on("click", function () { window.location.href = casesUrl("overdue"); });
  }

  function fail(error) {
    Array.prototype.forEach.call(document.querySelectorAll(".chart"), function (el) {
      el.textContent = "";
      var p = document.createElement("p");
      p.className = "chart-error";
      p.textContent = "图表未能加载（" + error.message + "），请参看旁边的表格。";
      el.appendChild(p);
    });
  }

  if (typeof window.echarts === "undefined") {
    fail(new Error("ECharts 未安装，请运行 make vendor"));
    return;
  }
  var embedded = root.getAttribute("data-charts");
  var loading = embedded
    ? Promise.resolve(JSON.parse(embedded)).then(function (d) { return [d.figures, d.ranking]; })
    : Promise.all([getJson(root.getAttribute("data-figures-url")), getJson(root.getAttribute("data-ranking-url"))]);
  loading
    .then(function (results) {
      var figures = results[0], ranking = results[1];
      drawMap(ranking, "received");
      Array.prototype.forEach.call(document.querySelectorAll("[data-map-metric]"), function (b) {
        b.addEventListener("click", function () { drawMap(ranking, b.getAttribute("data-map-metric")); });
      });
      drawStacked(figures, ranking);
      drawTrend(figures);
      drawChannels(figures);
      drawStages(figures);
      drawOverdue(figures);
      root.setAttribute("data-drawn", "true");
      window.addEventListener("resize", function () {
        Object.keys(charts).forEach(function (k) { charts[k].resize(); });
      });
    })
    .catch(fail);
}());
