// Draws the dashboard's charts with the vendored Chart.js (static/vendor), from the JSON each
// <canvas data-chart> carries (made by service/dashboard/charts.py). Names are drawn with
// fillText, so markup in a name is only ever text. Every chart has its words beside it.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  Chart.defaults.animation = false;
  Chart.defaults.color = "#3d4556";
  Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', sans-serif";

  function read(el) {
    try { return JSON.parse(el.getAttribute("data-chart")); } catch (e) { return null; }
  }

  // Writes the names of the points marked `label` beside them, skipping a name that would
  // cover one already written (the strongest come first, so they win).
  var names = {
    id: "kithNames",
    afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx, area = chart.chartArea, placed = [], marks = [];
      chart.data.datasets.forEach(function (ds, i) {
        if (!chart.isDatasetVisible(i)) { return; }
        chart.getDatasetMeta(i).data.forEach(function (el, j) {
          var p = ds.data[j];
          if (p && p.label) { marks.push({ x: el.x, y: el.y, name: p.name, strength: p.y }); }
        });
      });
      marks.sort(function (a, b) { return b.strength - a.strength; });
      ctx.save();
      ctx.font = "12px " + Chart.defaults.font.family;
      ctx.textBaseline = "middle";
      ctx.lineJoin = "round";
      marks.forEach(function (m) {
        var text = m.name.length > 22 ? m.name.slice(0, 21) + "…" : m.name;
        var w = ctx.measureText(text).width, h = 14;
        var x = m.x + 8 + w > area.right ? m.x - 8 - w : m.x + 8;
        var box = { l: x - 2, r: x + w + 2, t: m.y - h / 2, b: m.y + h / 2 };
        if (box.l < area.left || box.t < area.top || box.b > area.bottom) { return; }
        for (var k = 0; k < placed.length; k++) {
          var o = placed[k];
          if (box.l < o.r && box.r > o.l && box.t < o.b && box.b > o.t) { return; }
        }
        placed.push(box);
        ctx.lineWidth = 3;
        ctx.strokeStyle = "rgba(255,255,255,0.9)";
        ctx.strokeText(text, x, m.y);
        ctx.fillStyle = "#1d2433";
        ctx.fillText(text, x, m.y);
      });
      ctx.restore();
    }
  };

  function scatter(el, d) {
    var radius = d.n > 1500 ? 2.5 : d.n > 300 ? 3.5 : 5;
    var chart = new Chart(el, {
      type: "scatter",
      data: {
        datasets: d.datasets.map(function (ds) {
          return { label: ds.tier, data: ds.points, backgroundColor: ds.colour, borderColor: "#ffffff",
                   borderWidth: 1, pointRadius: radius, pointHoverRadius: 8 };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { min: -100, max: 100, title: { display: true, text: "← they give more · balance · you give more →" } },
          y: { min: 0, max: 100, title: { display: true, text: "strength" } }
        },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: function (c) {
            var p = c.raw;
            return p.name + ": strength " + Math.round(p.y) + ", balance " + (p.x > 0 ? "+" : "") + p.x;
          } } }
        },
        onHover: function (evt, found) { el.style.cursor = found.length ? "pointer" : "default"; },
        onClick: function (evt, found) {
          if (!found.length) { return; }
          var p = chart.data.datasets[found[0].datasetIndex].data[found[0].index];
          window.location.href = "/ties/" + p.id;
        }
      },
      plugins: [names]
    });
    document.querySelectorAll("input.tier-filter").forEach(function (box) {
      box.addEventListener("change", function () {
        chart.data.datasets.forEach(function (ds, i) {
          if (ds.label === box.value) { chart.setDatasetVisibility(i, box.checked); }
        });
        chart.update();
      });
    });
    return chart;
  }

  function spark(el, d) {
    return new Chart(el, {
      type: "line",
      data: { labels: d.data.map(function (_, i) { return i; }),
              datasets: [{ data: d.data, borderColor: "#2f5f9e", backgroundColor: "rgba(47,95,158,0.15)",
                           fill: true, borderWidth: 1.5, pointRadius: 0, tension: 0.3 }] },
      options: { responsive: false, events: [], scales: { x: { display: false }, y: { display: false, beginAtZero: true } },
                 plugins: { legend: { display: false }, tooltip: { enabled: false } } }
    });
  }

  function bucketLabel(iso, unit) {
    var opts = unit === "week" ? { day: "numeric", month: "short", timeZone: "UTC" }
                               : { month: "short", year: "numeric", timeZone: "UTC" };
    return new Intl.DateTimeFormat(undefined, opts).format(new Date(iso + "T00:00:00Z"));
  }

  function history(el, d) {
    return new Chart(el, {
      type: "bar",
      data: {
        labels: d.starts.map(function (s) { return bucketLabel(s, d.unit); }),
        datasets: d.series.map(function (s) {
          return { label: s.name, data: s.data, backgroundColor: s.colour, stack: "all" };
        })
      },
      options: {
        responsive: true, maintainAspectRatio: false,
        scales: { x: { stacked: true, ticks: { maxTicksLimit: 8, maxRotation: 0 } },
                  y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } }
      }
    });
  }

  function strength(el, d) {
    var fmt = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });
    return new Chart(el, {
      type: "line",
      data: { labels: d.at.map(function (t) { return fmt.format(new Date(t)); }),
              datasets: [{ label: "strength", data: d.strength, borderColor: "#1b7f5b", pointRadius: 2, tension: 0.2 }] },
      options: { responsive: true, maintainAspectRatio: false,
                 scales: { y: { min: 0, max: 100 }, x: { ticks: { maxTicksLimit: 6, maxRotation: 0 } } },
                 plugins: { legend: { display: false } } }
    });
  }

  var draw = { scatter: scatter, spark: spark, history: history, strength: strength };

  function start() {
    var drawn = 0;
    document.querySelectorAll("canvas[data-chart]").forEach(function (el) {
      var d = read(el);
      if (d && draw[d.kind]) { el.kithChart = draw[d.kind](el, d); drawn += 1; }
    });
    document.body.setAttribute("data-charts", String(drawn));
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
