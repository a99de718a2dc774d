/* rollcall serve: every incident, open ones first (after serve-common.js). */
(function () {
  "use strict";

  var R = window.rollcallPage;
  var data = R.data;
  var el = R.el;
  var api = R.api;
  var enc = R.enc;
  var clear = R.clear;
  var option = R.option;
  var nav = R.nav;
  var subscribe = R.subscribe;
  var footer = R.footer;
  var fail = R.fail;
  var incidentRow = R.incidentRow;

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


  incidentsPage();
})();
