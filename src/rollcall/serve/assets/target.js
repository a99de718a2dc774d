/* rollcall serve: one target x model: charts over the range shown, sites, incidents, latest results (after serve-common.js). */
(function () {
  "use strict";

  var R = window.rollcallPage;
  var data = R.data;
  var root = R.root;
  var COLORS = R.COLORS;
  var STATE_COLOR = R.STATE_COLOR;
  var shown = R.shown;
  var oneLine = R.oneLine;
  var el = R.el;
  var link = R.link;
  var api = R.api;
  var enc = R.enc;
  var fmtS = R.fmtS;
  var fmtPct = R.fmtPct;
  var parse = R.parse;
  var fmtTime = R.fmtTime;
  var fmtAgo = R.fmtAgo;
  var pill = R.pill;
  var kindColor = R.kindColor;
  var clear = R.clear;
  var option = R.option;
  var nav = R.nav;
  var subscribe = R.subscribe;
  var footer = R.footer;
  var fail = R.fail;
  var incidentRow = R.incidentRow;

  // ---- target page ---------------------------------------------------------------------
  function baseChartDefaults() {
    Chart.defaults.animation = false;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.color = "#475467";
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.plugins.legend.labels.boxWidth = 12;
  }
  function timeTick(spanMs) {
    return function (value) {
      var d = new Date(value);
      var pad = function (n) { return ("0" + n).slice(-2); };
      var hm = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
      return spanMs <= 86400000 ? hm : pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + (spanMs <= 8 * 86400000 ? " " + hm : "");
    };
  }

  function targetPage() {
    nav();
    baseChartDefaults();
    var target = data.target, model = data.model;
    var key = enc(target) + "/" + enc(model);
    var head = document.getElementById("head");
    var h1 = el("h1");
    h1.appendChild(el("span", "brand", target));
    if (model && model !== target) h1.appendChild(document.createTextNode(" · " + shown(model)));
    head.appendChild(h1);
    var meta = el("div", "meta");
    head.appendChild(meta);
    var badgeUrl = location.origin + root.replace(/^\.\//, "/").replace(/^(\.\.\/)+/, "/") + "badge/" + key + ".svg";
    var pageUrl = location.origin + location.pathname;
    head.appendChild(el("div", "badge-snippet", "README badge: [![" + oneLine(target, 60) + "](" + badgeUrl + ")](" +
      pageUrl + ")"));

    var ranges = [["1h", "1 hour"], ["6h", "6 hours"], ["24h", "24 hours"], ["7d", "7 days"], ["30d", "30 days"]];
    var current = { since: "24h", site: "" };
    var rangeBox = document.getElementById("range");
    ranges.forEach(function (r) {
      var b = el("button", null, r[1]);
      b.type = "button";
      b.dataset.since = r[0];
      b.setAttribute("aria-pressed", r[0] === current.since ? "true" : "false");
      b.addEventListener("click", function () {
        current.since = r[0];
        rangeBox.querySelectorAll("button").forEach(function (x) {
          x.setAttribute("aria-pressed", x.dataset.since === current.since ? "true" : "false");
        });
        load();
      });
      rangeBox.appendChild(b);
    });
    var siteMenu = el("select");
    siteMenu.id = "filter-site";
    siteMenu.setAttribute("aria-label", "site");
    option(siteMenu, "", "every site");
    siteMenu.addEventListener("change", function () { current.site = siteMenu.value; load(); });
    rangeBox.appendChild(siteMenu);
    var sitesKnown = {};

    var chartsBox = document.getElementById("charts");
    window.rollcallCharts = {};
    function panel(id, heading, hint) {
      var p = el("section", "panel");
      p.id = id;
      p.appendChild(el("h2", null, heading));
      p.appendChild(el("p", "hint", hint));
      var box = el("div", "chart-box");
      box.style.height = "260px";
      var canvas = document.createElement("canvas");
      box.appendChild(canvas);
      p.appendChild(box);
      chartsBox.appendChild(p);
      return canvas;
    }
    var latencyCanvas = panel("chart-latency", "Latency over time", "p50 and p95 per bucket, answered probes");
    var outcomeCanvas = panel("chart-outcomes", "Answers and failures over time", "probes per bucket, by result");

    function drawCharts(history) {
      // Every bucket of the range, empty ones included, so both charts share one time axis.
      var step = history.bucket_s * 1000;
      var first = parse(history.since) || Date.now() - 86400000;
      var slots = [];
      for (var t = first; t <= Date.now() && slots.length < 2500; t += step) slots.push(t);
      var byTime = {};
      history.points.forEach(function (p) { byTime[parse(p.at)] = p; });
      var spanMs = Date.now() - first;
      var labels = slots.map(function (t) { return timeTick(spanMs)(t); });
      var at = slots.map(function (t) { return byTime[t] || null; });
      function series(label, pick, color, dash) {
        return { label: label, data: at.map(function (p) { return p ? pick(p) : null; }), borderColor: color,
          backgroundColor: color, borderDash: dash || [], pointRadius: slots.length > 60 ? 1 : 3, tension: 0.2,
          spanGaps: false };
      }
      var xAxis = { ticks: { maxTicksLimit: 10, autoSkip: true, maxRotation: 0 }, grid: { color: "#eef0f3" } };
      if (window.rollcallCharts.latency) window.rollcallCharts.latency.destroy();
      window.rollcallCharts.latency = new Chart(latencyCanvas, {
        type: "line",
        data: { labels: labels, datasets: [
          series("TTFT p50", function (p) { return p.ttft_s.p50; }, COLORS.ttft),
          series("TTFT p95", function (p) { return p.ttft_s.p95; }, COLORS.ttft95, [4, 3]),
          series("total p50", function (p) { return p.total_s.p50; }, COLORS.total),
          series("total p95", function (p) { return p.total_s.p95; }, COLORS.total95, [4, 3]),
        ] },
        options: { scales: { x: xAxis, y: { beginAtZero: true, title: { display: true, text: "seconds" } } },
          plugins: { tooltip: { callbacks: {
            title: function (items) { return items.length ? fmtTime(new Date(slots[items[0].dataIndex]).toISOString()) : ""; },
            label: function (c) { return c.dataset.label + ": " + fmtS(c.parsed.y); } } } } },
      });
      var kinds = [];
      history.points.forEach(function (p) { Object.keys(p.errors).forEach(function (k) { if (kinds.indexOf(k) < 0) kinds.push(k); }); });
      kinds.sort();
      var datasets = [{ label: "ok", data: at.map(function (p) { return p ? p.ok : 0; }), backgroundColor: COLORS.ok }];
      kinds.forEach(function (k) {
        datasets.push({ label: k, data: at.map(function (p) { return p ? p.errors[k] || 0 : 0; }),
                        backgroundColor: kindColor(k, kinds) });
      });
      if (window.rollcallCharts.outcomes) window.rollcallCharts.outcomes.destroy();
      window.rollcallCharts.outcomes = new Chart(outcomeCanvas, {
        type: "bar",
        data: { labels: labels, datasets: datasets },
        options: { scales: { x: Object.assign({ stacked: true }, xAxis),
                             y: { stacked: true, beginAtZero: true, ticks: { precision: 0 },
                                  title: { display: true, text: "probes" } } },
          plugins: { tooltip: { callbacks: {
            title: function (items) { return items.length ? fmtTime(new Date(slots[items[0].dataIndex]).toISOString()) : ""; } } } } },
      });
    }

    function drawSites(history) {
      var table = clear(document.getElementById("sites"));
      var headRow = el("tr");
      ["site", "state", "since", "uptime 24h", "7d", "30d", "last round", "last error"].forEach(function (c, i) {
        headRow.appendChild(el("th", i >= 3 && i <= 5 ? "num" : null, c));
      });
      table.appendChild(el("thead")).appendChild(headRow);
      var body = table.appendChild(el("tbody"));
      history.states.forEach(function (s) {
        var tr = el("tr");
        tr.dataset.site = s.site;
        tr.dataset.state = s.state;
        tr.appendChild(el("td", null, s.site));
        tr.appendChild(el("td")).appendChild(pill(s.state));
        tr.appendChild(el("td", null, s.since ? fmtAgo(s.since) : "–"));
        ["24h", "7d", "30d"].forEach(function (w) { tr.appendChild(el("td", "num", fmtPct(s.uptime[w]))); });
        tr.appendChild(el("td", null, fmtAgo(s.last_at)));
        var e = el("td", "error", s.last_error ? (s.last_error.kind || "slow") + ": " + oneLine(s.last_error.text, 200) : "");
        tr.appendChild(e);
        body.appendChild(tr);
      });
    }

    var timelineCanvas = document.getElementById("timeline");
    function drawIncidents(doc, history) {
      var list = doc.incidents;
      document.getElementById("incidents-hint").textContent = list.length ?
        list.length + " incident(s) in this range" : "no incidents in this range";
      var start = parse(history.since) || Date.now() - 86400000;
      var now = Date.now();
      var sites = history.sites.slice();
      var bars = list.map(function (i) {
        var a = Math.max(parse(i.opened_at) || start, start);
        var b = i.resolved_at ? parse(i.resolved_at) : now;
        return { x: [a, Math.max(b, a + (now - start) / 250)], y: i.site, state: i.state, id: i.id };
      });
      if (window.rollcallCharts.timeline) window.rollcallCharts.timeline.destroy();
      document.getElementById("timeline-box").style.height = Math.max(90, 34 * Math.max(1, sites.length) + 60) + "px";
      window.rollcallCharts.timeline = new Chart(timelineCanvas, {
        type: "bar",
        data: { labels: sites, datasets: [{ label: "incidents", data: bars, borderSkipped: false, barPercentage: 0.6,
          backgroundColor: bars.map(function (b) { return STATE_COLOR[b.state] || COLORS.bad; }) }] },
        options: { indexAxis: "y",
          scales: { x: { type: "linear", min: start, max: now, ticks: { callback: timeTick(now - start), maxTicksLimit: 8 } },
                    y: { type: "category", grid: { display: false } } },
          plugins: { legend: { display: false }, tooltip: { callbacks: {
            label: function (c) { return c.raw.state + " " + fmtTime(new Date(c.raw.x[0]).toISOString()) + " → " +
              fmtTime(new Date(c.raw.x[1]).toISOString()); } } } } },
      });
      var table = clear(document.getElementById("incidents"));
      var headRow = el("tr");
      ["state", "site", "opened", "resolved", "duration", "failed rounds", "first error", "last error"].forEach(function (c) {
        headRow.appendChild(el("th", null, c));
      });
      table.appendChild(el("thead")).appendChild(headRow);
      var body = table.appendChild(el("tbody"));
      list.forEach(function (i) { body.appendChild(incidentRow(i, false)); });
    }

    function drawResults(doc) {
      var table = clear(document.getElementById("results"));
      var headRow = el("tr");
      ["time", "site", "status", "TTFT", "total", "tok/s", "HTTP", "answer / error"].forEach(function (c, i) {
        headRow.appendChild(el("th", i >= 3 && i <= 6 ? "num" : null, c));
      });
      table.appendChild(el("thead")).appendChild(headRow);
      var body = table.appendChild(el("tbody"));
      doc.results.forEach(function (r) {
        var tr = el("tr");
        tr.dataset.ok = r.ok ? "1" : "0";
        tr.appendChild(el("td", null, fmtTime(r.started_at)));
        tr.appendChild(el("td", null, r.site));
        tr.appendChild(el("td")).appendChild(el("span", "pill " + (r.ok ? "ok" : r.error_kind === "cancelled" ? "cancelled" : "bad"),
          r.ok ? "ok" : (r.error_kind || "error")));
        tr.appendChild(el("td", "num", fmtS(r.ttft_s)));
        tr.appendChild(el("td", "num", fmtS(r.total_s)));
        tr.appendChild(el("td", "num", r.tokens_per_s === null ? "–" : r.tokens_per_s.toFixed(1)));
        tr.appendChild(el("td", "num", r.status === null ? "–" : r.status));
        var detail = el("td", r.ok ? "answer" : "error");
        detail.dataset.col = "detail";
        if (!r.ok) detail.textContent = shown(r.error || "");
        else {
          var d = el("details");
          d.appendChild(el("summary", null, oneLine(r.text, 90) || "(empty)"));
          d.appendChild(el("pre", null, r.text + (r.text_chars > r.text.length ? "\n… (" + (r.text_chars - r.text.length) + " more characters)" : "")));
          detail.appendChild(d);
        }
        var run = el("a", "muted", " run");
        run.href = link("runs/" + enc(r.run_id));
        detail.appendChild(run);
        tr.appendChild(detail);
        body.appendChild(tr);
      });
    }

    function drawCards(history) {
      var cards = clear(document.getElementById("cards"));
      var s = history.summary;
      function card(cls, label, value, sub) {
        var c = el("div", "card " + cls);
        c.dataset.card = label;
        c.appendChild(el("div", "label", label));
        c.appendChild(el("div", "value", value));
        if (sub) c.appendChild(el("div", "sub", sub));
        cards.appendChild(c);
      }
      card(s && s.uptime !== null && s.uptime < 0.99 ? "bad" : "ok", "uptime", s ? fmtPct(s.uptime) : "–",
        s ? s.ok + " of " + (s.ok + s.failed) + " probes answered" : "no probes");
      card("", "TTFT p50", s ? fmtS(s.ttft_s.p50) : "–", s ? "p95 " + fmtS(s.ttft_s.p95) : "");
      card("", "total p50", s ? fmtS(s.total_s.p50) : "–", s ? "p95 " + fmtS(s.total_s.p95) : "");
      var worst = history.states.length ? history.states[0].state : "unknown";
      card(worst, "state", worst, history.states.length + " site(s)");
    }

    function load() {
      var site = current.site ? "&site=" + enc(current.site) : "";
      return api("api/v1/targets/" + key + "/history?since=" + current.since + site).then(function (history) {
        history.sites.forEach(function (s) { if (!sitesKnown[s]) { sitesKnown[s] = true; option(siteMenu, s, s); } });
        meta.textContent = "bucket " + history.bucket + " · since " + fmtTime(history.since) + " · sites: " +
          oneLine(history.sites.join(", "), 200);
        drawCards(history);
        drawCharts(history);
        drawSites(history);
        return Promise.all([
          api("api/v1/incidents?target=" + enc(target) + "&model=" + enc(model) + "&since=" + current.since + site +
              "&limit=200"),
          api("api/v1/targets/" + key + "/results?limit=50" + site),
        ]).then(function (docs) {
          drawIncidents(docs[0], history);
          drawResults(docs[1]);
          document.body.dataset.ready = "1";
        });
      }).catch(fail);
    }
    footer("Latency buckets follow the range shown");
    load();
    subscribe(load);
  }


  targetPage();
})();
