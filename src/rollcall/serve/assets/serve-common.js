/* rollcall serve: what every status page shares (serve-common.js, loaded first): the page's JSON
   block, the API (with the page's ?token= carried along), formatting, the navigation, the event
   stream. Everything from outside (names, errors, answers) is untrusted: it reaches the page only
   through textContent, attribute values set from code, and canvas text, never through HTML parsing
   (no innerHTML anywhere); controls and bidi overrides are shown as escapes, as in the HTML report. */
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


  window.rollcallPage = {
    data: data,
    root: root,
    COLORS: COLORS,
    STATE_COLOR: STATE_COLOR,
    shown: shown,
    oneLine: oneLine,
    el: el,
    link: link,
    api: api,
    enc: enc,
    targetPath: targetPath,
    fmtS: fmtS,
    fmtPct: fmtPct,
    parse: parse,
    fmtTime: fmtTime,
    fmtDuration: fmtDuration,
    fmtAgo: fmtAgo,
    pill: pill,
    kindColor: kindColor,
    clear: clear,
    option: option,
    nav: nav,
    setLive: setLive,
    subscribe: subscribe,
    footer: footer,
    fail: fail,
    incidentRow: incidentRow,
  };
})();
