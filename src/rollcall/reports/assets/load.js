/* rollcall load report: turns the load run (schema rollcall.load/1) embedded as JSON into cards,
   Chart.js charts (CDFs per stage, throughput against load, latency against throughput, a
   timeline of sends and errors) and a table per stage. Names, model ids and error messages are
   untrusted: they reach the page only through textContent and canvas text, never innerHTML. */
(function () {
  "use strict";

  var doc = JSON.parse(document.getElementById("rollcall-data").textContent);
  var stages = doc.stages || [];
  var mode = doc.mode;
  var PALETTE = ["#2f6fde", "#f79009", "#1a7f37", "#7a5af8", "#d92d20", "#0e9384", "#ee46bc", "#3e4784",
                 "#b54708", "#155eef", "#c11574", "#667085"];
  var KIND_COLORS = ["#d92d20", "#f79009", "#7a5af8", "#ee46bc", "#0e9384", "#3e4784", "#b54708", "#667085",
                     "#155eef", "#c11574", "#98a2b3"];

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function fmtDur(v) {
    if (v === null || v === undefined) return "–";
    if (v < 0.01) return (v * 1000).toFixed(1) + " ms";
    if (v < 1) return (v * 1000).toFixed(0) + " ms";
    return v.toFixed(2) + " s";
  }
  function fmtNum(v) {
    if (v === null || v === undefined) return "–";
    return v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(1);
  }
  function pair(s) { return fmtDur(s && s.p50) + " / " + fmtDur(s && s.p99); }
  function stageName(s) { return mode === "concurrency" ? "concurrency " + s[mode] : "rate " + s[mode] + "/s"; }
  function color(i) { return PALETTE[i % PALETTE.length]; }
  function oneLine(text, limit) {
    var flat = String(text || "").replace(/\s+/g, " ").trim();
    return flat.length > limit ? flat.slice(0, limit - 1) + "…" : flat;
  }

  // ---- header and notices ----------------------------------------------------------------
  var head = document.getElementById("head");
  var title = el("h1");
  title.appendChild(el("span", "brand", "rollcall"));
  title.appendChild(document.createTextNode(" load: "));
  title.appendChild(el("span", "target", doc.target));
  head.appendChild(title);
  var meta = ["model " + (doc.model || "default"), doc.kind, doc.settings.prompts || "",
              doc.started_at ? "started " + doc.started_at.replace("T", " ").replace(/\.\d+/, "") : "",
              doc.site ? "from " + doc.site : "", "run " + doc.id, doc.version ? "rollcall " + doc.version : ""];
  head.appendChild(el("div", "meta", meta.filter(Boolean).join(" · ")));
  if (doc.interrupted) {
    head.appendChild(el("div", "notice", "Interrupted (" + doc.interrupted + "): the cut stage is marked partial; " +
      "requests in flight were cancelled and are not counted."));
  }
  stages.forEach(function (s) {
    if (!s.client_bound) return;
    var note = el("div", "notice client-bound", stageName(s) + ": client-bound, numbers unreliable — " +
      s.client_bound_reasons.join("; ") + ". Spread the load over more worker processes or machines, or lower it.");
    note.dataset.stage = String(s.index);
    head.appendChild(note);
  });
  if (doc.knee) head.appendChild(el("div", "notice knee", "Knee at " + stageName(doc.knee) + ": " + doc.knee.reason + "."));

  // ---- cards -----------------------------------------------------------------------------
  var cards = document.getElementById("cards");
  function card(kind, labelText, value, sub) {
    var c = el("div", "card " + kind);
    c.appendChild(el("div", "label", labelText));
    c.appendChild(el("div", "value", value));
    if (sub) c.appendChild(el("div", "sub", sub));
    c.dataset.card = labelText;
    cards.appendChild(c);
  }
  function best(key) {
    var top = null;
    stages.forEach(function (s) { if (top === null || s[key] > top[key]) top = s; });
    return top;
  }
  var totals = doc.totals;
  var errorsByKind = {};
  stages.forEach(function (s) { Object.keys(s.errors).forEach(function (k) { errorsByKind[k] = (errorsByKind[k] || 0) + s.errors[k]; }); });
  var kinds = Object.keys(errorsByKind).sort(function (a, b) { return errorsByKind[b] - errorsByKind[a] || (a < b ? -1 : 1); });
  card("ok", "answered", totals.ok, totals.requests ? Math.round(100 * totals.ok / totals.requests) + "% of " + totals.requests + " requests" : "no requests");
  card("bad", "failed", totals.failed, kinds.length ? kinds.map(function (k) { return k + " " + errorsByKind[k]; }).join(", ") : "none");
  var topRps = best("requests_per_s"), topTok = best("output_tokens_per_s"), topGood = best("goodput_per_s");
  card("", "peak req/s", topRps ? fmtNum(topRps.requests_per_s) : "–", topRps ? stageName(topRps) : "");
  card("", "peak tok/s", topTok ? fmtNum(topTok.output_tokens_per_s) : "–", topTok ? stageName(topTok) : "");
  var slo = doc.settings.slo || {};
  var sloText = Object.keys(slo).map(function (k) { return k + " ≤ " + fmtDur(slo[k]); }).join(", ");
  card("", "peak goodput/s", sloText && topGood ? fmtNum(topGood.goodput_per_s) : "–", sloText || "no --slo given");
  card("", "wall time", fmtDur(doc.wall_s), stages.length + " stage(s)");

  // ---- charts ------------------------------------------------------------------------------
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.color = "#475467";
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.plugins.legend.labels.boxWidth = 12;
  var charts = document.getElementById("charts");
  window.rollcallCharts = {};

  function panel(id, heading, hint, drawable, wide) {
    var p = el("section", "panel" + (wide ? " wide" : ""));
    p.id = id;
    p.appendChild(el("h2", null, heading));
    p.appendChild(el("p", "hint", hint));
    charts.appendChild(p);
    if (!drawable) { p.appendChild(el("div", "empty", "Nothing to draw yet.")); return null; }
    var box = el("div", "chart-box");
    box.style.height = "300px";
    var canvas = document.createElement("canvas");
    box.appendChild(canvas);
    p.appendChild(box);
    return canvas;
  }
  function axis(text, extra) {
    var a = { beginAtZero: true, title: { display: true, text: text }, grid: { color: "#eef0f3" } };
    Object.keys(extra || {}).forEach(function (k) { a[k] = extra[k]; });
    return a;
  }

  [["ttft_s", "time to first token"], ["tpot_s", "time per output token"], ["e2e_s", "end-to-end latency"]].forEach(function (m) {
    var key = m[0], name = m[1];
    var withData = stages.filter(function (s) { return s.cdf && s.cdf[key] && s.cdf[key].length; });
    var canvas = panel("chart-cdf-" + key.replace("_s", ""), "CDF of " + name,
      "fraction of answered requests at or below each latency, one line per stage", withData.length > 0, false);
    if (!canvas) return;
    window.rollcallCharts["cdf_" + key.replace("_s", "")] = new Chart(canvas, {
      type: "line",
      data: { datasets: withData.map(function (s) {
        return { label: stageName(s), data: s.cdf[key].map(function (p) { return { x: p[0], y: p[1] }; }),
                 borderColor: color(s.index), backgroundColor: color(s.index), pointRadius: 0, borderWidth: 2 };
      }) },
      options: {
        parsing: false,
        scales: { x: axis("seconds", { type: "linear" }), y: axis("fraction", { max: 1 }) },
        plugins: { tooltip: { callbacks: { label: function (c) {
          return c.dataset.label + ": " + Math.round(100 * c.parsed.y) + "% ≤ " + fmtDur(c.parsed.x);
        } } } },
      },
    });
  });

  var loadLabel = mode === "concurrency" ? "concurrency (requests in flight)" : "offered rate (requests/s)";
  var throughputCanvas = panel("chart-throughput", "Throughput and goodput against " + (mode === "concurrency" ? "concurrency" : "rate"),
    "answered requests/s, requests/s meeting every SLO, and output tokens/s (right axis)", stages.length > 0, false);
  if (throughputCanvas) {
    var ordered = stages.slice().sort(function (a, b) { return a[mode] - b[mode]; });
    // Concurrency levels usually grow geometrically (1, 8, 32, 128): evenly spaced categories
    // read better than a log axis's own ticks; rates are drawn to scale.
    var categorical = mode === "concurrency";
    function series(key) {
      return ordered.map(function (s) { return categorical ? s[key] : { x: s[mode], y: s[key] }; });
    }
    var sets = [
      { label: "requests/s", data: series("requests_per_s"), borderColor: PALETTE[0], backgroundColor: PALETTE[0], yAxisID: "y" },
      { label: "output tokens/s", data: series("output_tokens_per_s"), borderColor: PALETTE[1], backgroundColor: PALETTE[1],
        yAxisID: "y1", borderDash: [5, 4] },
    ];
    if (sloText) sets.splice(1, 0, { label: "goodput/s", data: series("goodput_per_s"), borderColor: PALETTE[2],
                                     backgroundColor: PALETTE[2], yAxisID: "y" });
    window.rollcallCharts.throughput = new Chart(throughputCanvas, {
      type: "line",
      data: { labels: categorical ? ordered.map(function (s) { return String(s[mode]); }) : undefined, datasets: sets },
      options: {
        scales: {
          x: axis(loadLabel, { type: categorical ? "category" : "linear", beginAtZero: !categorical }),
          y: axis("requests per second"),
          y1: axis("tokens per second", { position: "right", grid: { display: false } }),
        },
      },
    });
  }

  var latencyCanvas = panel("chart-latency", "Latency against throughput",
    "each point is a stage: how long users wait at the throughput that stage reached", stages.some(function (s) { return s.ok; }), false);
  if (latencyCanvas) {
    var byThroughput = stages.filter(function (s) { return s.ok; }).sort(function (a, b) { return a.requests_per_s - b.requests_per_s; });
    function points(key, q) {
      return byThroughput.map(function (s) { return { x: s.requests_per_s, y: s[key][q], stage: stageName(s) }; })
        .filter(function (p) { return p.y !== null; });
    }
    window.rollcallCharts.latency = new Chart(latencyCanvas, {
      type: "scatter",
      data: { datasets: [
        { label: "TTFT p50", data: points("ttft_s", "p50"), borderColor: PALETTE[0], backgroundColor: PALETTE[0], showLine: true },
        { label: "TTFT p99", data: points("ttft_s", "p99"), borderColor: PALETTE[0], backgroundColor: PALETTE[0], showLine: true,
          borderDash: [5, 4] },
        { label: "E2E p50", data: points("e2e_s", "p50"), borderColor: PALETTE[3], backgroundColor: PALETTE[3], showLine: true },
        { label: "E2E p99", data: points("e2e_s", "p99"), borderColor: PALETTE[3], backgroundColor: PALETTE[3], showLine: true,
          borderDash: [5, 4] },
      ] },
      options: {
        scales: { x: axis("answered requests per second"), y: axis("seconds") },
        plugins: { tooltip: { callbacks: { label: function (c) {
          return c.dataset.label + " " + fmtDur(c.parsed.y) + " at " + fmtNum(c.parsed.x) + " req/s (" + c.raw.stage + ")";
        } } } },
      },
    });
  }

  var timeline = doc.timeline || { bins: [], bin_s: 1 };
  var timelineCanvas = panel("chart-timeline", "Timeline of sends and errors",
    "per " + fmtDur(timeline.bin_s) + " since the run started: requests sent (line), answers and errors by kind (bars)",
    timeline.bins.length > 0, true);
  if (timelineCanvas) {
    var timelineKinds = {};
    timeline.bins.forEach(function (b) { Object.keys(b.errors).forEach(function (k) { timelineKinds[k] = true; }); });
    var kindList = Object.keys(timelineKinds).sort();
    var labels = timeline.bins.map(function (b) { return b.t_s; });
    var datasets = [
      { type: "line", label: "sent", data: timeline.bins.map(function (b) { return b.sent; }), borderColor: PALETTE[0],
        backgroundColor: PALETTE[0], pointRadius: 0, borderWidth: 2, order: 0 },
      { type: "bar", label: "answered", data: timeline.bins.map(function (b) { return b.ok; }), backgroundColor: "#9ad6a8",
        stack: "done", order: 1 },
    ];
    kindList.forEach(function (k, i) {
      datasets.push({ type: "bar", label: k, data: timeline.bins.map(function (b) { return b.errors[k] || 0; }),
                      backgroundColor: KIND_COLORS[i % KIND_COLORS.length], stack: "done", order: 1 });
    });
    window.rollcallCharts.timeline = new Chart(timelineCanvas, {
      type: "bar",
      data: { labels: labels, datasets: datasets },
      options: {
        scales: { x: axis("seconds since start", { stacked: true, ticks: { maxTicksLimit: 20 } }),
                  y: axis("requests", { stacked: true, ticks: { precision: 0 } }) },
      },
    });
  }
  var halves = charts.querySelectorAll(".panel:not(.wide)");
  if (halves.length % 2 === 1) halves[halves.length - 1].classList.add("wide");

  // ---- stage table ---------------------------------------------------------------------------
  var columns = [
    [mode === "concurrency" ? "concurrency" : "rate/s", function (s) { return s[mode]; }],
    ["requests", function (s) { return s.requests; }],
    ["ok", function (s) { return s.ok; }],
    ["failed", function (s) { return s.failed; }],
    ["req/s", function (s) { return fmtNum(s.requests_per_s); }],
    ["tok/s", function (s) { return fmtNum(s.output_tokens_per_s); }],
    ["goodput/s", function (s) { return sloText ? fmtNum(s.goodput_per_s) : "–"; }],
    ["TTFT p50 / p99", function (s) { return pair(s.ttft_s); }],
    ["TTFO p50 / p99", function (s) { return pair(s.ttfo_s); }],
    ["TPOT p50 / p99", function (s) { return pair(s.tpot_s); }],
    ["ITL p50 / p99", function (s) { return pair(s.itl_s); }],
    ["E2E p50 / p99", function (s) { return pair(s.e2e_s); }],
    ["late p99", function (s) { return fmtDur(s.send_lateness_s.p99); }],
    ["loop lag", function (s) { return fmtDur(s.loop_lag_max_s); }],
  ];
  var table = document.getElementById("stages");
  var headRow = el("tr");
  columns.forEach(function (c, i) { headRow.appendChild(el("th", i ? "num" : null, c[0])); });
  headRow.appendChild(el("th", null, "notes"));
  table.appendChild(el("thead")).appendChild(headRow);
  var tbody = table.appendChild(el("tbody"));
  stages.forEach(function (s) {
    var tr = el("tr");
    tr.dataset.stage = String(s.index);
    columns.forEach(function (c, i) {
      var td = el("td", i ? "num" : null, c[1](s));
      td.dataset.col = c[0];
      tr.appendChild(td);
    });
    var notes = el("td", "notes");
    if (s.client_bound) notes.appendChild(el("span", "pill bad", "client-bound"));
    if (s.partial) notes.appendChild(el("span", "pill cancelled", "partial"));
    if (s.shard_failures && s.shard_failures.length) {
      var lost = el("span", "pill bad", (s.lost || 0) + " lost");
      lost.title = s.shard_failures.join("\n");  // text, never markup
      notes.appendChild(lost);
    }
    if (doc.knee && doc.knee.index === s.index) notes.appendChild(el("span", "pill ok", "knee"));
    tr.appendChild(notes);
    tbody.appendChild(tr);
  });

  // Errors by stage, with the first message of each kind (server text, shown as text).
  var errorBox = document.getElementById("errors");
  stages.forEach(function (s) {
    var kindsHere = Object.keys(s.errors);
    if (!kindsHere.length) return;
    var item = el("div", "stage-errors");
    item.dataset.stage = String(s.index);
    item.appendChild(el("h3", null, stageName(s) + ": " + s.failed + " failed"));
    var list = el("ul");
    kindsHere.forEach(function (k) {
      var li = el("li");
      li.appendChild(el("strong", null, k + " ×" + s.errors[k]));
      var example = (s.error_examples || {})[k];
      if (example) li.appendChild(document.createTextNode(" — e.g. " + oneLine(example, 300)));
      list.appendChild(li);
    });
    item.appendChild(list);
    errorBox.appendChild(item);
  });

  var settings = Object.keys(doc.settings).sort().map(function (k) {
    var v = doc.settings[k];
    return k + "=" + (typeof v === "string" ? v : JSON.stringify(v));
  });
  var footer = document.getElementById("foot");
  footer.appendChild(el("div", null, "Settings: " + (settings.join(", ") || "none")));
  footer.appendChild(el("div", null, "Percentiles from raw samples (linear interpolation). Generated by rollcall" +
    (doc.version ? " " + doc.version : "") + " · charts by Chart.js (MIT license, included in this file)"));
  document.body.dataset.ready = "1";
})();
