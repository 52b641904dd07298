// Draws every <canvas data-chart="ID"> from the JSON in <script id="ID">, on load and after each
// htmx swap (a new window), replacing the charts it drew before.
(function () {
  "use strict";

  function percentTicks(config) {
    // Axis ticks written as {"format": {"style": "percent"}} in the JSON: show 12%, not 0.12.
    var scales = (config.options && config.options.scales) || {};
    Object.keys(scales).forEach(function (axis) {
      var ticks = scales[axis].ticks;
      if (ticks && ticks.format && ticks.format.style === "percent") {
        ticks.callback = function (value) { return Math.round(value * 1000) / 10 + "%"; };
      }
    });
    if (config.type === "sankey") { return config; }
    config.options.plugins = config.options.plugins || {};
    config.options.plugins.tooltip = {
      callbacks: {
        label: function (ctx) {
          var axis = ctx.dataset.yAxisID || (config.options.indexAxis === "y" ? "x" : "y");
          var ticks = scales[axis] && scales[axis].ticks;
          var value = ctx.raw;
          if (Array.isArray(value)) {
            return ctx.dataset.label + ": " + value.map(function (v) { return (v * 100).toFixed(1) + " pp"; }).join(" to ");
          }
          if (ticks && ticks.format && ticks.format.style === "percent" && value !== null) {
            return ctx.dataset.label + ": " + (value * 100).toFixed(1) + "%";
          }
          return ctx.dataset.label + ": " + (value === null ? "–" : value.toLocaleString());
        },
      },
    };
    return config;
  }

  function draw(root) {
    if (!window.Chart) { return; }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) { return; }
      var existing = window.Chart.getChart(canvas);
      if (existing) { existing.destroy(); }
      var chart = new window.Chart(canvas, percentTicks(JSON.parse(source.textContent)));
      canvas.dataset.drawn = String(chart.data.datasets.reduce(function (n, d) { return n + d.data.length; }, 0));
    });
  }

  function syncTabs() {
    // Section tabs keep the window chosen on the page.
    document.querySelectorAll(".analytics-tabs a").forEach(function (link) {
      if (link.pathname.indexOf("/alerts/") !== -1) { return; }
      link.search = window.location.search;
    });
  }

  // Choosing a preset window redraws at once; "Custom…" waits for the dates and Apply. A custom
  // event rather than an htmx trigger filter, which htmx would evaluate (CSP allows no eval).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.name === "window" && target.value !== "custom" && target.form &&
        target.form.classList.contains("window-form") && window.htmx) {
      window.htmx.trigger(target.form, "window-change");
    }
  });

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); syncTabs(); });
  document.addEventListener("htmx:historyRestore", function () { draw(document); syncTabs(); });
})();
