// The dashboard's charts with Apache ECharts (served from node_modules); a click opens the cases behind a figure.
(function () {
  var source = document.getElementById("report-charts");
  if (!source || typeof echarts === "undefined") return;
  var data = JSON.parse(source.textContent);
  var texts = data.texts;

  function draw(id, option, urlOf) {
    var box = document.getElementById(id);
    if (!box) return;
    var chart = echarts.init(box, null, { renderer: "canvas" });
    option.animation = false;  // drawn at once: a screenshot or a printout shows the figures, not a transition
    option.tooltip = option.tooltip || { trigger: "item" };
    option.grid = option.grid || { left: 48, right: 16, top: 32, bottom: 40, containLabel: true };
    chart.setOption(option);
    chart.on("click", function (params) {
      var url = urlOf(params);
      if (url) window.location.href = url;
    });
    box.setAttribute("data-rendered", "yes");
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function bars(id, points) {
    draw(id, {
      xAxis: { type: "category", data: points.map(function (p) { return p.name; }), axisLabel: { interval: 0, rotate: points.length > 6 ? 30 : 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "bar", data: points.map(function (p) { return p.value; }) }]
    }, function (params) { return points[params.dataIndex] && points[params.dataIndex].url; });
  }

  var trend = data.trend;
  var names = ["opened", "resolved", "resolve_missed"];
  draw("chart-trend", {
    tooltip: { trigger: "axis" },
    legend: { data: names.map(function (n) { return texts[n]; }) },
    xAxis: { type: "category", data: trend.map(function (row) { return row.bucket; }) },
    yAxis: { type: "value", minInterval: 1 },
    series: names.map(function (n, i) {
      return { name: texts[n], type: i === 0 ? "bar" : "line", data: trend.map(function (row) { return row[n]; }) };
    })
  }, function (params) { var row = trend[params.dataIndex]; return row && row.urls[names[params.seriesIndex]]; });

  var sla = data.sla;
  var targets = ["respond", "resolve"];
  draw("chart-sla", {
    tooltip: { trigger: "axis" },
    legend: { data: targets.map(function (t) { return texts[t]; }) },
    xAxis: { type: "category", data: sla.levels },
    yAxis: { type: "value", min: 0, max: 100 },
    series: targets.map(function (t) {
      return { name: texts[t], type: "bar", data: sla.series[t].map(function (p) { return p.value; }) };
    })
  }, function (params) { var p = sla.series[targets[params.seriesIndex]][params.dataIndex]; return p && p.url; });

  bars("chart-satisfaction", data.satisfaction);
  bars("chart-breakdown", data.breakdown);
  bars("chart-backlog", data.backlog);
})();
