// Bar charts from each element's data-chart JSON ({rows, sent, opened}). ?animation=0 draws them
// without animation (the screenshot script uses it).
(function () {
  var animate = !/[?&]animation=0/.test(location.search);
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var d = JSON.parse(el.dataset.chart);
    echarts.init(el).setOption({
      animation: animate,
      tooltip: {trigger: "axis"},
      legend: {data: ["已发送", "已打开"]},
      grid: {left: 8, right: 16, bottom: 8, containLabel: true},
      xAxis: {type: "category", data: d.rows},
      yAxis: {type: "value"},
      series: [{name: "已发送", type: "bar", data: d.sent}, {name: "已打开", type: "bar", data: d.opened}]
    });
  });
})();
