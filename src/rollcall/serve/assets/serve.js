/* rollcall serve: the status pages (overview, target, incidents), drawn from the JSON API.
   Everything from outside (names, errors, answers) is untrusted: it reaches the page only through
   textContent, attribute values set from code, and canvas text, never through HTML parsing (no
   innerHTML anywhere); controls and bidi overrides are shown as escapes, as in the HTML report. */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("page-data").textContent);
  var root = data.root || "./";
  var token = new URLSearchParams(location.search).get("token");
  var COLORS = { ttft: "#7aa7f7", ttft95: "#b9cffb", total: "#2f6fde", total95: "#8fb0ee", ok: "#1a7f37",
    bad: "#d92d20", warn: "#f79009", unknown: "#98a2b3",
    kinds: ["#d92d20", "#f79009", "#7a5af8", "#ee46bc", "#0e9384", "#3e4784", "#b54708", "#667085",
            "#155eef", "#c11574", "#98a2b3"] };
  var STATE_COLOR = { up: COLORS.ok, degraded: COLORS.warn, down: COLORS.bad, unknown: COLORS.unknown };

  // ---- helpers -------------------------------------------------------------------------
  var UNSAFE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|\r(?!\n)/g;
  function shown(text) {
    return String(text === null || text === undefined ? "" : text).replace(UNSAFE, function (c) {
      var n = c.charCodeAt(0);
      return n < 256 ? "\\x" + ("0" + n.toString(16)).slice(-2) : "\\u" + ("000" + n.toString(16)).slice(-4);
    });
  }
  function oneLine(text, limit) {
    var flat = shown(text).replace(/\s+/g, " ").trim();
    return limit && flat.length > limit ? flat.slice(0, limit - 1) + "…" : flat;
  }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = shown(text);
    return node;
  }
  function withToken(url) {
    return token ? url + (url.indexOf("?") < 0 ? "?" : "&") + "token=" + encodeURIComponent(token) : url;
  }
  function link(path) { return withToken(root + path.replace(/^\//, "")); }
  function api(path) {
    return fetch(link(path), { headers: { Accept: "application/json" }, cache: "no-store" }).then(function (r) {
      return r.json().then(function (doc) {
        if (!r.ok) throw new Error((doc.error && doc.error.message) || ("HTTP " + r.status));
        return doc;
      });
    });
  }
  function enc(text) { return encodeURIComponent(text); }
  function targetPath(t, m) { return "targets/" + enc(t) + "/" + enc(m); }
  function fmtS(v) { return v === null || v === undefined ? "–" : v.toFixed(2) + " s"; }
  function fmtPct(v) {
    if (v === null || v === undefined) return "–";
    return v >= 1 ? "100%" : (Math.floor(v * 10000) / 100).toFixed(2) + "%";
  }
  function parse(stamp) { var t = Date.parse(stamp); return isNaN(t) ? null : t; }
  function fmtTime(stamp) {
    return stamp ? String(stamp).replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC") : "–";
  }
  function fmtDuration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    var units = [["d", 86400], ["h", 3600], ["m", 60]];
    for (var i = 0; i < units.length; i++) {
      if (seconds >= units[i][1]) return Math.floor(seconds / units[i][1]) + units[i][0];
    }
    return Math.max(0, Math.round(seconds)) + "s";
  }
  function fmtAgo(stamp) {
    var t = parse(stamp);
    if (t === null) return "never";
    var s = (Date.now() - t) / 1000;
    return s < 5 ? "just now" : fmtDuration(s) + " ago";
  }
  function pill(state) { return el("span", "pill " + (STATE_COLOR[state] ? state : "unknown"), state); }
  function kindColor(kind, kinds) {
    var i = kinds.indexOf(kind);
    return COLORS.kinds[(i < 0 ? kinds.length : i) % COLORS.kinds.length];
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function option(select, value, text) {
    var o = el("option", null, text);
    o.value = value;
    select.appendChild(o);
    return o;
  }

  function nav() {
    var box = document.getElementById("nav");
    var brand = el("a", null, "rollcall");
    brand.href = link("");
    brand.className = "brand";
    box.appendChild(brand);
    [["", "overview"], ["incidents", "incidents"], ["api/v1/status", "status API"], ["metrics", "metrics"]]
      .forEach(function (pair) {
        var a = el("a", null, pair[1]);
        a.href = link(pair[0]);
        box.appendChild(a);
      });
    var live = el("span", "live", "connecting");
    live.id = "live";
    box.appendChild(live);
  }
  function setLive(on, text) {
    var live = document.getElementById("live");
    live.className = "live " + (on ? "on" : "off");
    live.textContent = text;
  }

  // A new snapshot on the server (after each stored round) reloads the page's data in place.
  function subscribe(reload) {
    var seen = null;
    function poll() { reload(); }
    if (!window.EventSource) { setLive(true, "polling"); setInterval(poll, 15000); return; }
    var source = new EventSource(link("api/v1/events"));
    source.addEventListener("snapshot", function (event) {
      var version = JSON.parse(event.data).version;
      setLive(true, "live");
      if (seen !== null && version !== seen) reload();
      seen = version;
    });
    source.onerror = function () { setLive(false, "reconnecting"); };
    setInterval(poll, 60000); // a proxy that buffers event streams still gets fresh data
  }

  function sparkline(recent) {
    var ns = "http://www.w3.org/2000/svg";
    var w = 120, h = 24;
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "spark");
    svg.setAttribute("width", w);
    svg.setAttribute("height", h);
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    if (!recent || !recent.length) return svg;
    var values = recent.map(function (r) { return r.verdict === "failed" ? null : r.ttft_s; });
    var known = values.filter(function (v) { return v !== null; });
    var max = known.length ? Math.max.apply(null, known) : 1;
    max = max > 0 ? max : 1;
    var step = recent.length > 1 ? (w - 4) / (recent.length - 1) : 0;
    var path = "";
    recent.forEach(function (r, i) {
      var x = 2 + i * step;
      var v = values[i];
      if (v === null) {
        var dot = document.createElementNS(ns, "circle");
        dot.setAttribute("cx", x.toFixed(1));
        dot.setAttribute("cy", String(h - 3));
        dot.setAttribute("r", "2");
        dot.setAttribute("fill", COLORS.bad);
        svg.appendChild(dot);
        path += " ";
        return;
      }
      var y = h - 3 - (v / max) * (h - 6);
      path += (path && path.slice(-1) !== " " ? " L" : " M") + x.toFixed(1) + " " + y.toFixed(1);
      if (r.verdict === "slow") {
        var slow = document.createElementNS(ns, "circle");
        slow.setAttribute("cx", x.toFixed(1));
        slow.setAttribute("cy", y.toFixed(1));
        slow.setAttribute("r", "2");
        slow.setAttribute("fill", COLORS.warn);
        svg.appendChild(slow);
      }
    });
    var line = document.createElementNS(ns, "path");
    line.setAttribute("d", path.trim().replace(/^L/, "M"));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", COLORS.total);
    line.setAttribute("stroke-width", "1.5");
    svg.insertBefore(line, svg.firstChild);
    var title = document.createElementNS(ns, "title");
    title.textContent = "time to first token, last " + recent.length + " rounds (red: failed)";
    svg.appendChild(title);
    return svg;
  }

  function footer(text) {
    document.getElementById("foot").appendChild(el("div", null, text + " · rollcall " + data.version +
      " · charts by Chart.js (MIT license)"));
  }
  function fail(error) {
    var main = document.querySelector("main");
    var notice = el("div", "notice", "Could not load: " + error.message);
    notice.id = "load-error";
    main.insertBefore(notice, main.children[1] || null);
    document.body.dataset.ready = "1";
  }

  // ---- overview ------------------------------------------------------------------------
  function overviewPage() {
    nav();
    var head = document.getElementById("head");
    var h1 = el("h1");
    h1.appendChild(el("span", "brand", "rollcall"));
    h1.appendChild(document.createTextNode(" status"));
    head.appendChild(h1);
    var meta = el("div", "meta");
    head.appendChild(meta);
    var search = document.getElementById("filter-text");
    var siteMenu = document.getElementById("filter-site");
    var stateMenu = document.getElementById("filter-state");
    option(stateMenu, "", "every state");
    ["down", "degraded", "up", "unknown"].forEach(function (s) { option(stateMenu, s, s); });
    option(siteMenu, "", "every site");
    var table = document.getElementById("overview");
    var columns = ["state", "target", "model", "site", "uptime 24h", "7d", "30d", "TTFT p50 / p95", "recent rounds",
                   "last success", "last error", "incident"];
    var headRow = el("tr");
    columns.forEach(function (c, i) { headRow.appendChild(el("th", i >= 4 && i <= 7 ? "num" : null, c)); });
    table.appendChild(el("thead")).appendChild(headRow);
    var tbody = table.appendChild(el("tbody"));
    var rows = [];
    var sitesKnown = {};
    var loads = 0;

    function row(t) {
      var tr = el("tr");
      tr.dataset.target = t.target;
      tr.dataset.model = t.model;
      tr.dataset.site = t.site;
      tr.dataset.state = t.state;
      var cells = [];
      function td(cls, text) { var c = el("td", cls, text); tr.appendChild(c); cells.push(c); return c; }
      td("kind").appendChild(pill(t.state));
      var name = td("target");
      var a = el("a", null, t.target);
      a.href = link(targetPath(t.target, t.model));
      name.appendChild(a);
      td("model", t.model || "default");
      td("site", t.site);
      td("num", fmtPct(t.uptime["24h"]));
      td("num", fmtPct(t.uptime["7d"]));
      td("num", fmtPct(t.uptime["30d"]));
      td("num", t.ttft_s.p50 === null ? "–" : t.ttft_s.p50.toFixed(2) + " / " + fmtS(t.ttft_s.p95));
      td("spark").appendChild(sparkline(t.recent));
      var last = td(null, fmtAgo(t.last_ok_at));
      if (t.last_ok_at) last.title = fmtTime(t.last_ok_at);
      var err = td("error");
      if (t.last_error) {
        err.appendChild(el("span", "pill bad", t.last_error.kind || "slow"));
        err.appendChild(document.createTextNode(" " + oneLine(t.last_error.text, 110)));
        err.title = shown(t.last_error.text || "");
      }
      var inc = td(null);
      if (t.incident) {
        inc.appendChild(pill(t.incident.state));
        inc.appendChild(document.createTextNode(" since " + fmtAgo(t.incident.opened_at).replace(" ago", "")));
        inc.title = "opened " + fmtTime(t.incident.opened_at);
      } else {
        inc.className = "muted";
        inc.textContent = "–";
      }
      var hay = [t.target, t.model, t.site, t.state, t.last_error ? t.last_error.kind + " " + t.last_error.text : ""]
        .join("\n").toLowerCase();
      return { tr: tr, t: t, hay: hay };
    }

    function applyFilter() {
      var needle = search.value.trim().toLowerCase();
      var site = siteMenu.value, state = stateMenu.value, shownRows = 0;
      rows.forEach(function (r) {
        var match = (!needle || r.hay.indexOf(needle) >= 0) && (!site || r.t.site === site) &&
          (!state || r.t.state === state);
        r.tr.hidden = !match;
        if (match) shownRows += 1;
      });
      document.getElementById("filter-count").textContent = "showing " + shownRows + " of " + rows.length;
    }

    function render(targets, status) {
      var banner = document.getElementById("banner");
      banner.className = "banner " + status.status.indicator;
      banner.textContent = status.status.description;
      banner.dataset.indicator = status.status.indicator;
      meta.textContent = "last round " + fmtTime(targets.last_round_at) + " · " + targets.targets.length +
        " target(s) · " + targets.sites.length + " site(s): " + oneLine(targets.sites.join(", "), 200);
      var cards = clear(document.getElementById("cards"));
      ["up", "degraded", "down", "unknown"].forEach(function (s) {
        var c = el("div", "card " + s);
        c.dataset.card = s;
        c.appendChild(el("div", "label", s));
        c.appendChild(el("div", "value", targets.counts[s]));
        cards.appendChild(c);
      });
      var ic = el("div", "card" + (targets.open_incidents ? " down" : ""));
      ic.dataset.card = "incidents";
      ic.appendChild(el("div", "label", "open incidents"));
      ic.appendChild(el("div", "value", targets.open_incidents));
      cards.appendChild(ic);
      targets.sites.forEach(function (s) {
        if (!sitesKnown[s]) { sitesKnown[s] = true; option(siteMenu, s, s); }
      });
      var order = { down: 0, degraded: 1, unknown: 2, up: 3 };
      var sorted = targets.targets.slice().sort(function (a, b) {
        return (order[a.state] - order[b.state]) || (a.target.toLowerCase() < b.target.toLowerCase() ? -1 :
          a.target.toLowerCase() > b.target.toLowerCase() ? 1 : (a.model < b.model ? -1 : a.model > b.model ? 1 :
          (a.site < b.site ? -1 : a.site > b.site ? 1 : 0)));
      });
      clear(tbody);
      rows = sorted.map(row);
      rows.forEach(function (r) { tbody.appendChild(r.tr); });
      if (!rows.length) {
        var empty = el("tr");
        var cell = el("td", "empty", "Nothing watched yet: start `rollcall watch` with this history store.");
        cell.colSpan = columns.length;
        empty.appendChild(cell);
        tbody.appendChild(empty);
      }
      applyFilter();
      loads += 1;
      document.body.dataset.version = String(targets.version);
      document.body.dataset.loads = String(loads);
      document.body.dataset.ready = "1";
    }

    function load() {
      return Promise.all([api("api/v1/targets"), api("api/v1/status")]).then(function (docs) {
        var old = document.getElementById("load-error");
        if (old) old.remove();
        render(docs[0], docs[1]);
      }).catch(fail);
    }
    search.addEventListener("input", applyFilter);
    siteMenu.addEventListener("change", applyFilter);
    stateMenu.addEventListener("change", applyFilter);
    footer("Updates itself after every round");
    load();
    subscribe(load);
  }

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

  // ---- incidents -----------------------------------------------------------------------
  function incidentRow(i, withName) {
    var tr = el("tr");
    tr.dataset.id = i.id;
    tr.dataset.state = i.state;
    tr.appendChild(el("td")).appendChild(pill(i.resolved_at ? "up" : i.state));
    tr.lastChild.lastChild.textContent = i.resolved_at ? "resolved" : i.state;
    if (withName) {
      var name = el("td", "target");
      var a = el("a", null, i.target + (i.model && i.model !== i.target ? " · " + i.model : ""));
      a.href = link(targetPath(i.target, i.model));
      name.appendChild(a);
      tr.appendChild(name);
    }
    tr.appendChild(el("td", null, i.site));
    tr.appendChild(el("td", null, fmtTime(i.opened_at)));
    tr.appendChild(el("td", null, i.resolved_at ? fmtTime(i.resolved_at) : "open"));
    var dur = i.duration_s !== null ? i.duration_s : (Date.now() - (parse(i.opened_at) || Date.now())) / 1000;
    tr.appendChild(el("td", null, fmtDuration(dur)));
    tr.appendChild(el("td", "num", i.failed_rounds + " / " + i.rounds));
    tr.appendChild(el("td", "error", (i.first_error_kind || "slow") + ": " + oneLine(i.first_error, 160)));
    tr.appendChild(el("td", "error", (i.last_error_kind || "slow") + ": " + oneLine(i.last_error, 160)));
    return tr;
  }

  function incidentsPage() {
    nav();
    var head = document.getElementById("head");
    var h1 = el("h1");
    h1.appendChild(el("span", "brand", "rollcall"));
    h1.appendChild(document.createTextNode(" incidents"));
    head.appendChild(h1);
    var openMenu = document.getElementById("filter-open");
    option(openMenu, "0", "open and resolved");
    option(openMenu, "1", "open only");
    var sinceMenu = document.getElementById("filter-since");
    [["24h", "last 24 hours"], ["7d", "last 7 days"], ["30d", "last 30 days"], ["all", "all time"]].forEach(function (s) {
      option(sinceMenu, s[0], s[1]);
    });
    sinceMenu.value = "7d";
    var siteMenu = document.getElementById("filter-site");
    option(siteMenu, "", "every site");
    var sitesKnown = {};
    var table = document.getElementById("incidents");
    function load() {
      var q = "api/v1/incidents?limit=1000&open=" + openMenu.value + "&since=" + sinceMenu.value +
        (siteMenu.value ? "&site=" + enc(siteMenu.value) : "");
      return api(q).then(function (doc) {
        clear(table);
        var headRow = el("tr");
        ["state", "target", "site", "opened", "resolved", "duration", "failed rounds", "first error", "last error"]
          .forEach(function (c) { headRow.appendChild(el("th", null, c)); });
        table.appendChild(el("thead")).appendChild(headRow);
        var body = table.appendChild(el("tbody"));
        var list = doc.incidents.slice().sort(function (a, b) {
          return (a.resolved_at ? 1 : 0) - (b.resolved_at ? 1 : 0) || (a.opened_at < b.opened_at ? 1 : -1);
        });
        list.forEach(function (i) {
          if (!sitesKnown[i.site]) { sitesKnown[i.site] = true; option(siteMenu, i.site, i.site); }
          body.appendChild(incidentRow(i, true));
        });
        document.getElementById("filter-count").textContent = list.length + " incident(s)";
        document.body.dataset.ready = "1";
      }).catch(fail);
    }
    [openMenu, sinceMenu, siteMenu].forEach(function (m) { m.addEventListener("change", load); });
    footer("Newest first, open ones on top");
    load();
    subscribe(load);
  }

  var pages = { overview: overviewPage, target: targetPage, incidents: incidentsPage };
  (pages[data.page] || function () {})();
})();
