/* rollcall HTML report: turns the run embedded as JSON into summary cards, Chart.js charts and a
   sortable, filterable table. Provider text is untrusted: it reaches the page only through
   textContent and canvas text, never through HTML parsing (no innerHTML anywhere). */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("rollcall-data").textContent);
  var run = data.run;
  var results = data.results;
  var repeat = run.repeat || 1;

  var COLORS = {
    ttft: "#7aa7f7", total: "#2f6fde", ok: "#1a7f37", bad: "#d92d20", range: "rgba(47,111,222,0.22)",
    kinds: ["#d92d20", "#f79009", "#7a5af8", "#ee46bc", "#0e9384", "#3e4784", "#b54708", "#667085",
            "#155eef", "#c11574", "#98a2b3"],
  };

  // ---- small helpers -------------------------------------------------------------------
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function fmtS(v) { return v === null || v === undefined ? "–" : v.toFixed(2) + " s"; }
  function fmtN(v, digits) { return v === null || v === undefined ? "–" : v.toFixed(digits); }
  function median(values) {
    if (!values.length) return null;
    var s = values.slice().sort(function (a, b) { return a - b; });
    var mid = Math.floor(s.length / 2);
    return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  }
  function oneLine(text, limit) {
    var flat = String(text || "").replace(/\s+/g, " ").trim();
    return flat.length > limit ? flat.slice(0, limit - 1) + "…" : flat;
  }
  function kindColor(kind) {
    var i = data.kinds.indexOf(kind);
    return COLORS.kinds[(i < 0 ? data.kinds.length : i) % COLORS.kinds.length];
  }

  // A target probed with several models is labelled "target · model"; otherwise just "target".
  var modelsPerTarget = {};
  results.forEach(function (r) {
    (modelsPerTarget[r.target] = modelsPerTarget[r.target] || {})[r.model] = true;
  });
  function label(r) {
    return Object.keys(modelsPerTarget[r.target]).length > 1 ? r.target + " · " + (r.model || "default") : r.target;
  }

  // (target, model) groups in first-seen order, with medians over successful attempts.
  var groups = [];
  var byKey = {};
  results.forEach(function (r) {
    var key = JSON.stringify([r.target, r.model]);
    if (!byKey[key]) { byKey[key] = { label: label(r), results: [] }; groups.push(byKey[key]); }
    byKey[key].results.push(r);
  });
  groups.forEach(function (g) {
    var oks = g.results.filter(function (r) { return r.ok; });
    g.ok = oks.length;
    g.ttft = median(oks.filter(function (r) { return r.ttft_s !== null; }).map(function (r) { return r.ttft_s; }));
    g.total = median(oks.filter(function (r) { return r.total_s !== null; }).map(function (r) { return r.total_s; }));
  });

  // ---- header, notices and cards -------------------------------------------------------
  var head = document.getElementById("head");
  var title = el("h1");
  title.appendChild(el("span", "brand", "rollcall"));
  title.appendChild(document.createTextNode(" report"));
  head.appendChild(title);
  var meta = [run.started_at ? "started " + run.started_at.replace("T", " ").replace(/\.\d+/, "") : "",
              "run " + run.id, run.version ? "rollcall " + run.version : ""].filter(Boolean);
  head.appendChild(el("div", "meta", meta.join(" · ")));
  var prompt = el("div", "prompt", run.prompt);
  prompt.title = "prompt";
  head.appendChild(prompt);
  if (!run.complete) head.appendChild(el("div", "notice", "Interrupted run: probes that had not finished are marked cancelled."));
  if (!run.measurements_reliable) {
    head.appendChild(el("div", "notice", "Timings unreliable: the event loop fell " + fmtS(run.loop_lag_max_s) + " behind during the run."));
  }

  var cards = document.getElementById("cards");
  function card(kind, labelText, value, sub) {
    var c = el("div", "card " + kind);
    c.appendChild(el("div", "label", labelText));
    c.appendChild(el("div", "value", value));
    if (sub) c.appendChild(el("div", "sub", sub));
    c.dataset.card = labelText;
    cards.appendChild(c);
  }
  var failed = results.length - run.ok;
  var byKind = {};
  results.forEach(function (r) { if (!r.ok) byKind[r.error_kind || "error"] = (byKind[r.error_kind || "error"] || 0) + 1; });
  var kindsSorted = Object.keys(byKind).sort(function (a, b) { return byKind[b] - byKind[a] || (a < b ? -1 : 1); });
  var fastest = groups.filter(function (g) { return g.total !== null; }).sort(function (a, b) { return a.total - b.total; })[0];
  card("ok", "answered", run.ok, results.length ? Math.round(100 * run.ok / results.length) + "% of " + results.length + " probes" : "no probes");
  card("bad", "failed", failed, kindsSorted.length ? kindsSorted.map(function (k) { return k + " " + byKind[k]; }).join(", ") : "none");
  card("", "wall time", fmtS(run.wall_s), "deadline " + (run.settings.timeout_s || "?") + " s per probe");
  card("", "fastest", fastest ? fmtS(fastest.total) : "–", fastest ? fastest.label : "no answers");
  card("", "targets", groups.length, repeat > 1 ? repeat + " attempts each" : (run.skipped.length ? run.skipped.length + " not loaded" : ""));

  // ---- charts --------------------------------------------------------------------------
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.color = "#475467";
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.plugins.legend.labels.boxWidth = 12;
  var charts = document.getElementById("charts");
  window.rollcallCharts = {};

  function panel(id, heading, hint, height, wide) {
    var p = el("section", "panel" + (wide ? " wide" : ""));
    p.id = id;
    p.appendChild(el("h2", null, heading));
    p.appendChild(el("p", "hint", hint));
    charts.appendChild(p);
    if (height === null) { p.appendChild(el("div", "empty", "Nothing to draw: " + hint)); return null; }
    var box = el("div", "chart-box");
    box.style.height = height + "px";
    var canvas = document.createElement("canvas");
    box.appendChild(canvas);
    p.appendChild(box);
    return canvas;
  }
  function secondsAxis(titleText) {
    return { beginAtZero: true, title: { display: true, text: titleText }, grid: { color: "#eef0f3" } };
  }

  var answered = groups.filter(function (g) { return g.total !== null || g.ttft !== null; })
    .sort(function (a, b) { return (a.total === null ? Infinity : a.total) - (b.total === null ? Infinity : b.total); });
  var latencyCanvas = panel("chart-latency", "Latency per target",
    (repeat > 1 ? "median of successful attempts, " : "successful probes, ") + "fastest first",
    answered.length ? Math.max(200, 28 * answered.length + 70) : null, false);
  if (latencyCanvas) {
    window.rollcallCharts.latency = new Chart(latencyCanvas, {
      type: "bar",
      data: {
        labels: answered.map(function (g) { return g.label; }),
        datasets: [
          { label: "time to first token", data: answered.map(function (g) { return g.ttft; }), backgroundColor: COLORS.ttft,
            maxBarThickness: 18 },
          { label: "total", data: answered.map(function (g) { return g.total; }), backgroundColor: COLORS.total,
            maxBarThickness: 18 },
        ],
      },
      options: {
        indexAxis: "y",
        scales: { x: secondsAxis("seconds"), y: { grid: { display: false } } },
        plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + fmtS(c.parsed.x); } } } },
      },
    });
  }

  var points = results.filter(function (r) { return r.ok && r.ttft_s !== null && r.tokens_per_s !== null; });
  var scatterCanvas = panel("chart-scatter", "Time to first token vs throughput",
    "one point per successful probe: left is quicker to start, up is faster to stream",
    points.length ? 320 : null, false);
  if (scatterCanvas) {
    window.rollcallCharts.scatter = new Chart(scatterCanvas, {
      type: "scatter",
      data: { datasets: [{
        label: "probes",
        data: points.map(function (r) { return { x: r.ttft_s, y: r.tokens_per_s, name: label(r), est: r.output_tokens_estimated }; }),
        backgroundColor: COLORS.total, pointRadius: 5, pointHoverRadius: 7,
      }] },
      options: {
        scales: { x: secondsAxis("time to first token (s)"),
                  y: { beginAtZero: true, title: { display: true, text: "tokens per second" }, grid: { color: "#eef0f3" } } },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: function (c) {
            return c.raw.name + ": " + fmtS(c.raw.x) + ", " + c.raw.y.toFixed(1) + (c.raw.est ? "~" : "") + " tok/s";
          } } },
        },
      },
    });
  }

  var failCanvas = panel("chart-failures", "Failures by error kind",
    kindsSorted.length ? failed + " failed probe(s)" : "no failures",
    kindsSorted.length ? Math.max(160, 34 * kindsSorted.length + 60) : null, false);
  if (failCanvas) {
    window.rollcallCharts.failures = new Chart(failCanvas, {
      type: "bar",
      data: {
        labels: kindsSorted,
        datasets: [{ label: "probes", data: kindsSorted.map(function (k) { return byKind[k]; }),
                     backgroundColor: kindsSorted.map(kindColor), maxBarThickness: 26 }],
      },
      options: {
        indexAxis: "y",
        scales: { x: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "probes" } },
                  y: { grid: { display: false } } },
        plugins: { legend: { display: false } },
      },
    });
  }

  if (repeat > 1) {
    var spread = groups.filter(function (g) { return g.results.some(function (r) { return r.total_s !== null; }); })
      .sort(function (a, b) { return (a.total === null ? Infinity : a.total) - (b.total === null ? Infinity : b.total); });
    var distCanvas = panel("chart-distribution", "Latency distribution per target",
      "total time of every attempt: bar = fastest to slowest answer, dot = one answer, × = a failed attempt",
      spread.length ? Math.max(220, 30 * spread.length + 80) : null, true);
    if (distCanvas) {
      var ranges = spread.map(function (g) {
        var t = g.results.filter(function (r) { return r.ok && r.total_s !== null; }).map(function (r) { return r.total_s; });
        return t.length ? [Math.min.apply(null, t), Math.max.apply(null, t)] : null;
      });
      var okPoints = [], badPoints = [];
      spread.forEach(function (g) {
        g.results.forEach(function (r) {
          if (r.total_s === null) return;
          (r.ok ? okPoints : badPoints).push({ x: r.total_s, y: g.label, attempt: r.attempt, kind: r.error_kind });
        });
      });
      window.rollcallCharts.distribution = new Chart(distCanvas, {
        type: "bar",
        data: {
          labels: spread.map(function (g) { return g.label; }),
          datasets: [
            { type: "bar", label: "range of answers", data: ranges, backgroundColor: COLORS.range, borderColor: COLORS.total,
              borderWidth: 1, borderSkipped: false, barPercentage: 0.6 },
            { type: "scatter", label: "answer", data: okPoints, backgroundColor: COLORS.total, pointRadius: 4 },
            { type: "scatter", label: "failed attempt", data: badPoints, backgroundColor: COLORS.bad, borderColor: COLORS.bad,
              pointStyle: "crossRot", pointRadius: 6, borderWidth: 2 },
          ],
        },
        options: {
          indexAxis: "y",
          scales: { x: secondsAxis("total seconds"), y: { type: "category", grid: { display: false } } },
          plugins: { tooltip: { callbacks: { label: function (c) {
            if (c.dataset.type === "bar") return c.raw ? "answers " + fmtS(c.raw[0]) + " – " + fmtS(c.raw[1]) : "";
            return "#" + c.raw.attempt + ": " + fmtS(c.raw.x) + (c.raw.kind ? " (" + c.raw.kind + ")" : "");
          } } } },
        },
      });
    }
  }

  // An odd half-width panel out spans the whole row instead of leaving half of it empty.
  var halves = charts.querySelectorAll(".panel:not(.wide)");
  if (halves.length % 2 === 1) halves[halves.length - 1].classList.add("wide");

  // ---- results table -------------------------------------------------------------------
  var statusRank = function (r) { return r.ok ? "0" : (r.error_kind === "cancelled" ? "2" : "1") + (r.error_kind || ""); };
  var columns = [
    { key: "status", title: "status", value: statusRank, cell: function (td, r) {
      var pill = el("span", "pill " + (r.ok ? "ok" : r.error_kind === "cancelled" ? "cancelled" : "bad"), r.ok ? "ok" : (r.error_kind || "error"));
      td.appendChild(pill);
    } },
    { key: "target", title: "provider", cls: "target", value: function (r) { return r.target.toLowerCase(); }, text: function (r) { return r.target; } },
    { key: "model", title: "model", value: function (r) { return (r.model || "default").toLowerCase(); }, text: function (r) { return r.model || "default"; } },
    { key: "attempt", title: "#", num: true, hidden: repeat <= 1, value: function (r) { return r.attempt; }, text: function (r) { return r.attempt; } },
    { key: "ttft_s", title: "TTFT", num: true, value: function (r) { return r.ttft_s; }, text: function (r) { return fmtS(r.ttft_s); } },
    { key: "total_s", title: "total", num: true, value: function (r) { return r.total_s; }, text: function (r) { return fmtS(r.total_s); } },
    { key: "tokens_per_s", title: "tok/s", num: true, value: function (r) { return r.tokens_per_s; },
      text: function (r) { return fmtN(r.tokens_per_s, 1) + (r.tokens_per_s !== null && r.output_tokens_estimated ? "~" : ""); } },
    { key: "output_tokens", title: "tokens", num: true, value: function (r) { return r.output_tokens; }, text: function (r) { return fmtN(r.output_tokens, 0); } },
    { key: "status_code", title: "HTTP", num: true, value: function (r) { return r.status; }, text: function (r) { return r.status === null ? "–" : r.status; } },
    { key: "detail", title: "answer / error", value: function (r) { return (r.ok ? r.text : r.error || "").toLowerCase(); }, cell: function (td, r) {
      if (!r.ok) { td.className = "error"; td.textContent = r.error || ""; return; }
      td.className = "answer";
      var details = el("details");
      details.appendChild(el("summary", null, oneLine(r.text, 90) || "(empty)"));
      var full = r.text + (r.text_len > r.text.length ? "\n… (" + (r.text_len - r.text.length) + " more characters not included)" : "");
      details.appendChild(el("pre", null, full));
      if (r.reasoning) {
        details.appendChild(el("div", "hint", "reasoning"));
        details.appendChild(el("pre", null, r.reasoning));
      }
      if (r.server_timings_summary) {
        details.appendChild(el("div", "hint", "server timings: " + r.server_timings_summary));
      }
      td.appendChild(details);
    } },
  ].filter(function (c) { return !c.hidden; });

  var table = document.getElementById("results");
  var headRow = el("tr");
  columns.forEach(function (c) {
    var th = el("th", c.num ? "num" : null, c.title);
    th.dataset.key = c.key;
    th.setAttribute("aria-sort", "none");
    th.tabIndex = 0;
    headRow.appendChild(th);
  });
  table.appendChild(el("thead")).appendChild(headRow);
  var tbody = table.appendChild(el("tbody"));
  var rows = results.map(function (r) {
    var tr = el("tr");
    tr.dataset.ok = r.ok ? "1" : "0";
    tr.dataset.kind = r.error_kind || "";
    columns.forEach(function (c) {
      var td = el("td", (c.num ? "num " : "") + (c.cls || ""));
      td.dataset.col = c.key;
      if (c.cell) c.cell(td, r); else td.textContent = String(c.text(r));
      tr.appendChild(td);
    });
    var hay = [r.target, r.model || "default", r.error_kind || "ok", r.error || "", r.text || ""].join("\n").toLowerCase();
    return { r: r, tr: tr, hay: hay };
  });

  // Sorting: click a header; again to reverse. Missing values always sort last.
  var sortState = { key: null, dir: 1 };
  function compare(a, b, column, dir) {
    var va = column.value(a.r), vb = column.value(b.r);
    var na = va === null || va === undefined, nb = vb === null || vb === undefined;
    if (na || nb) return na === nb ? 0 : na ? 1 : -1;
    if (va < vb) return -dir;
    if (va > vb) return dir;
    return 0;
  }
  function sortBy(key, dir) {
    var column = columns.filter(function (c) { return c.key === key; })[0];
    var total = columns.filter(function (c) { return c.key === "total_s"; })[0];
    rows.sort(function (a, b) { return compare(a, b, column, dir) || compare(a, b, total, 1); });
    rows.forEach(function (row) { tbody.appendChild(row.tr); });
    sortState = { key: key, dir: dir };
    headRow.querySelectorAll("th").forEach(function (th) {
      th.setAttribute("aria-sort", th.dataset.key === key ? (dir > 0 ? "ascending" : "descending") : "none");
    });
  }
  headRow.addEventListener("click", function (event) {
    var th = event.target.closest("th");
    if (!th) return;
    sortBy(th.dataset.key, sortState.key === th.dataset.key ? -sortState.dir : 1);
  });
  headRow.addEventListener("keydown", function (event) {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); event.target.click(); }
  });

  // Filtering: free text over provider, model, kind, error and answer; and a status menu.
  var search = document.getElementById("filter-text");
  var statusMenu = document.getElementById("filter-status");
  [["all", "all results"], ["ok", "answered"], ["failed", "failed"]].forEach(function (o) {
    var option = el("option", null, o[1]);
    option.value = o[0];
    statusMenu.appendChild(option);
  });
  kindsSorted.forEach(function (k) {
    var option = el("option", null, k + " (" + byKind[k] + ")");
    option.value = "kind:" + k;
    statusMenu.appendChild(option);
  });
  var count = document.getElementById("filter-count");
  function applyFilter() {
    var needle = search.value.trim().toLowerCase();
    var want = statusMenu.value;
    var shown = 0;
    rows.forEach(function (row) {
      var match = (!needle || row.hay.indexOf(needle) >= 0) &&
        (want === "all" || (want === "ok" && row.r.ok) || (want === "failed" && !row.r.ok) ||
         (want.indexOf("kind:") === 0 && row.r.error_kind === want.slice(5)));
      row.tr.hidden = !match;
      if (match) shown += 1;
    });
    count.textContent = "showing " + shown + " of " + rows.length;
  }
  search.addEventListener("input", applyFilter);
  statusMenu.addEventListener("change", applyFilter);

  sortBy("status", 1);
  applyFilter();

  // ---- not loaded, footer --------------------------------------------------------------
  if (run.skipped.length) {
    var box = document.getElementById("skipped");
    box.appendChild(el("h2", null, "Not loaded (" + run.skipped.length + ")"));
    var list = el("ul");
    run.skipped.forEach(function (s) {
      var item = el("li");
      item.appendChild(el("strong", null, s.name));
      item.appendChild(document.createTextNode(": " + oneLine(s.reason, 300)));
      list.appendChild(item);
    });
    box.appendChild(list);
  }
  var settings = Object.keys(run.settings).sort().map(function (k) {
    var v = run.settings[k];
    return k + "=" + (typeof v === "string" ? v : JSON.stringify(v));
  });
  var footer = document.getElementById("foot");
  footer.appendChild(el("div", null, "Settings: " + (settings.join(", ") || "none")));
  footer.appendChild(el("div", null, "Generated by rollcall" + (run.version ? " " + run.version : "") +
    " · charts by Chart.js (MIT license, included in this file)"));
  document.body.dataset.ready = "1";
})();
