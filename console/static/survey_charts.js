// Survey result charts from each element's data-survey-chart JSON: {kind: bar|line|stack, labels, values
// or series, nps, axis}. ?animation=0 draws them without animation (the screenshot script uses it).
(function () {
  var animate = !/[?&]animation=0/.test(location.search);
  var npsColour = function (label) { var n = +label; return n >= 9 ? "#2e7d32" : n >= 7 ? "#9e9e9e" : "#c62828"; };
  document.querySelectorAll("[data-survey-chart]").forEach(function (el) {
    var d = JSON.parse(el.dataset.surveyChart);
    var series;
    if (d.kind === "stack") {
      series = d.series.map(function (s) { return {name: s.name, type: "bar", stack: "all", data: s.values}; });
    } else {
      var data = d.nps ? d.values.map(function (v, i) { return {value: v, itemStyle: {color: npsColour(d.labels[i])}}; }) : d.values;
      series = [{name: d.axis || "人数", type: d.kind === "line" ? "line" : "bar", data: data, barMaxWidth: 64, label: {show: d.kind !== "line", position: "top"}}];
    }
    echarts.init(el).setOption({
      animation: animate,
      tooltip: {trigger: "axis"},
      legend: d.kind === "stack" ? {} : undefined,
      grid: {left: 8, right: 16, top: d.kind === "stack" ? 32 : 24, bottom: 8, containLabel: true},
      xAxis: {type: "category", data: d.labels, axisLabel: {interval: 0, overflow: "truncate", width: 90}},
      yAxis: {type: "value", minInterval: 1},
      series: series
    });
  });
})();
