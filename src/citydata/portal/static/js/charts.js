// Dataset page charts (ECharts, /static/vendor/echarts.min.js): the lineage graph and the quality
// trend. Each container names its JSON in data-src; without JavaScript the text lists and tables
// beside them say the same.
(function () {
  "use strict";

  var LAYER_ORDER = ["source", "topic", "raw", "staging", "intermediate", "mart", "seed"];
  var ROW = 34; // px between stacked nodes
  var LABEL_ROOM = 170; // px right of the last column for its labels
  var LAYER_COLORS = {
    source: "#8d6e63", topic: "#7e57c2", raw: "#78909c", staging: "#26a69a",
    intermediate: "#42a5f5", mart: "#0b5cad", seed: "#bdbdbd"
  };

  function datasetUrl(fqn) {
    return "/datasets/" + encodeURIComponent(fqn);
  }

  function load(el, draw) {
    if (!el || !window.echarts) { return; }
    fetch(el.dataset.src, { headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) { throw new Error(r.status + " " + r.statusText); }
        return r.json();
      })
      .then(function (data) {
        var chart = window.echarts.init(el);
        chart.on("finished", function () { el.dataset.ready = "true"; });
        draw(chart, data, el);
        window.addEventListener("resize", function () { chart.resize(); });
      })
      .catch(function (err) {
        el.dataset.error = String(err);
        el.classList.add("chart-failed");
      });
  }

  // Lineage: the dataset in the middle, upstream to the left and downstream to the right by hops;
  // nodes in one column stacked by layer. A click opens that dataset's page.
  function drawLineage(chart, data, el) {
    var centre = data.entity;
    var nodes = [{ fqn: centre.fullyQualifiedName, name: centre.displayName || centre.name, layer: centre.layer, column: 0 }];
    data.nodes.forEach(function (n) {
      nodes.push({
        fqn: n.fullyQualifiedName, name: n.displayName || n.name, layer: n.layer,
        column: n.direction === "upstream" ? -n.depth : n.depth
      });
    });
    var columns = {};
    nodes.forEach(function (n) { (columns[n.column] = columns[n.column] || []).push(n); });
    var keys = Object.keys(columns).map(Number);
    var first = Math.min.apply(null, keys);
    var span = Math.max(1, Math.max.apply(null, keys) - first);
    var tallest = Math.max.apply(null, keys.map(function (c) { return columns[c].length; }));
    // coordinates in pixels of the box the graph fills, so ECharts keeps them as laid out
    var xStep = Math.max(110, (el.clientWidth - LABEL_ROOM - 40) / span);
    keys.forEach(function (c) {
      columns[c].sort(function (a, b) {
        return LAYER_ORDER.indexOf(a.layer) - LAYER_ORDER.indexOf(b.layer) || a.name.localeCompare(b.name);
      });
      columns[c].forEach(function (n, i) { n.x = (c - first) * xStep; n.y = (i - (columns[c].length - 1) / 2) * ROW; });
    });
    el.style.height = Math.max(240, tallest * ROW + 60) + "px";
    chart.resize();
    var known = {};
    nodes.forEach(function (n) { known[n.fqn] = true; });
    var seen = {};
    var links = [];
    data.edges.forEach(function (e) {
      var key = e.fromEntity.fullyQualifiedName + "→" + e.toEntity.fullyQualifiedName;
      if (seen[key] || !known[e.fromEntity.fullyQualifiedName] || !known[e.toEntity.fullyQualifiedName]) { return; }
      seen[key] = true;
      links.push({ source: e.fromEntity.fullyQualifiedName, target: e.toEntity.fullyQualifiedName });
    });
    chart.setOption({
      tooltip: {
        formatter: function (p) {
          var esc = window.echarts.format.encodeHTML;
          return p.dataType === "node" ? esc(p.data.name) + "<br>" + esc(p.data.id) : "";
        }
      },
      series: [{
        type: "graph", layout: "none", roam: true, edgeSymbol: ["none", "arrow"], edgeSymbolSize: 7,
        left: 20, right: LABEL_ROOM, top: 30, bottom: 30,
        label: { show: true, position: "right", fontSize: 11, width: Math.min(LABEL_ROOM, xStep - 20), overflow: "truncate" },
        lineStyle: { color: "#9aa5b1", curveness: 0.15, opacity: 0.8 },
        data: nodes.map(function (n) {
          return {
            id: n.fqn, name: n.name, x: n.x, y: n.y, symbolSize: n.column === 0 ? 18 : 11,
            itemStyle: { color: LAYER_COLORS[n.layer] || "#607d8b", borderColor: n.column === 0 ? "#1f2933" : "#fff" }
          };
        }),
        links: links
      }]
    });
    chart.on("click", function (p) {
      if (p.dataType === "node" && p.data.id !== centre.fullyQualifiedName) { window.location.href = datasetUrl(p.data.id); }
    });
  }

  // Quality trend: one line per dimension (shares as %), oldest run first.
  function drawQuality(chart, data, el) {
    var dims = ["completeness", "validity", "uniqueness", "consistency"];
    var runs = data.runs || [];
    chart.setOption({
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v.toFixed(1) + "%"; } },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 36, bottom: 32 },
      xAxis: { type: "category", data: runs.map(function (r) { return (r.run_at || "").slice(0, 16).replace("T", " "); }) },
      yAxis: { type: "value", min: function (v) { return Math.max(0, Math.floor(v.min - 5)); }, max: 100,
               axisLabel: { formatter: "{value}%" } },
      series: dims.map(function (d) {
        return {
          name: el.dataset["label" + d.charAt(0).toUpperCase() + d.slice(1)] || d, type: "line", connectNulls: true,
          symbolSize: 6, data: runs.map(function (r) { return r[d] == null ? null : Math.round(r[d] * 1000) / 10; })
        };
      })
    });
  }

  load(document.getElementById("lineage-graph"), drawLineage);
  load(document.getElementById("quality-trend"), drawQuality);
})();
