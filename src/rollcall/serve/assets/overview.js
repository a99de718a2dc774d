/* rollcall serve: the overview, one row per target x model x site, redrawn after every round (after serve-common.js). */
(function () {
  "use strict";

  var R = window.rollcallPage;
  var data = R.data;
  var COLORS = R.COLORS;
  var shown = R.shown;
  var oneLine = R.oneLine;
  var el = R.el;
  var link = R.link;
  var api = R.api;
  var targetPath = R.targetPath;
  var fmtS = R.fmtS;
  var fmtPct = R.fmtPct;
  var fmtTime = R.fmtTime;
  var fmtAgo = R.fmtAgo;
  var pill = R.pill;
  var clear = R.clear;
  var option = R.option;
  var nav = R.nav;
  var subscribe = R.subscribe;
  var footer = R.footer;
  var fail = R.fail;

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


  overviewPage();
})();
