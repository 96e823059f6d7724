// Charts from each element's data-chart JSON: {rows, series: [{name, data}], horizontal, type}: bars,
// stacked when horizontal, or lines with type "line" (series over days).
// ?animation=0 draws them without animation (the screenshot script uses it).
(function () {
  var animate = !/[?&]animation=0/.test(location.search);
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var d = JSON.parse(el.dataset.chart);
    var categories = {type: "category", data: d.rows}, values = {type: "value", minInterval: 1};
    echarts.init(el).setOption({
      animation: animate,
      tooltip: {trigger: "axis"},
      legend: {top: 0, data: d.series.map(function (s) { return s.name; })},
      grid: {top: 36, left: 8, right: 16, bottom: 8, containLabel: true},
      xAxis: d.horizontal ? values : categories,
      yAxis: d.horizontal ? categories : values,
      series: d.series.map(function (s) {
        return {name: s.name, type: d.type || "bar", data: s.data, stack: d.horizontal ? "total" : undefined};
      })
    });
  });
})();
