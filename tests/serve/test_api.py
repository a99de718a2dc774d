"""The JSON API against a real server over a history written the way watchers write it (two
sites): values, the documented shapes (docs/api/*.schema.json, and the examples of
docs/serve-api.md against them), bounded and checked queries, errors without tracebacks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import jsonschema
import pytest
from serve_helpers import OK, get, record, serving

DOCS = Path(__file__).resolve().parents[2] / "docs"
HOSTILE_T, HOSTILE_M = "we/ird <b>\u202e", "m/😀 ?#"
DOWN = ("http_status", "HTTPStatusError: HTTP 503 <script>alert(1)</script>")


def schema(name: str) -> dict:
    return json.loads((DOCS / "api" / f"{name}.schema.json").read_text())


def check(doc: object, name: str) -> None:
    jsonschema.validate(doc, schema(name), cls=jsonschema.Draft202012Validator)


def two_sites(location: str) -> None:
    eu = [{("alpha", "m1"): OK, ("beta", "m1"): OK, (HOSTILE_T, HOSTILE_M): OK},
          {("alpha", "m1"): OK, ("beta", "m1"): OK, (HOSTILE_T, HOSTILE_M): OK},
          {("alpha", "m1"): OK, ("beta", "m1"): DOWN, (HOSTILE_T, HOSTILE_M): OK},
          {("alpha", "m1"): OK, ("beta", "m1"): DOWN, (HOSTILE_T, HOSTILE_M): OK}]
    us = [{("alpha", "m1"): OK, ("beta", "m1"): OK}] * 4
    record(location, "eu", eu)
    record(location, "us", us)


@pytest.fixture
def server(location: str):
    two_sites(location)
    with serving(location) as url:
        yield url


def test_targets_and_status_say_what_the_rounds_did(server: str) -> None:
    raw = get(f"{server}/api/v1/targets").body
    assert b"\\u202e" in raw and "\u202e".encode() not in raw  # escaped for terminals, exact once parsed
    doc = json.loads(raw)
    check(doc, "targets")
    rows = {(r["target"], r["model"], r["site"]): r for r in doc["targets"]}
    assert doc["sites"] == ["eu", "us"] and doc["counts"] == {"unknown": 0, "up": 4, "degraded": 0, "down": 1}
    beta = rows[("beta", "m1", "eu")]
    assert beta["state"] == "down" and beta["uptime"]["24h"] == 0.5 and beta["probes"]["24h"] == 4
    assert beta["last_error"] == {"kind": "http_status", "text": DOWN[1]}  # exact text in JSON
    assert beta["incident"]["state"] == "down" and [p["verdict"] for p in beta["recent"]] == ["good", "good", "failed", "failed"]
    assert rows[("alpha", "m1", "us")]["uptime"] == {"24h": 1.0, "7d": 1.0, "30d": 1.0}
    assert 0.15 < rows[("alpha", "m1", "us")]["ttft_s"]["p50"] < 0.25  # 0.2 s, through the histogram
    weird = rows[(HOSTILE_T, HOSTILE_M, "eu")]
    assert weird["links"]["page"] == f"/targets/{quote(HOSTILE_T, safe='')}/{quote(HOSTILE_M, safe='')}"

    status = get(f"{server}/api/v1/status").json()
    check(status, "status")
    components = {c["id"]: c for c in status["components"]}
    assert components["beta/m1"]["status"] == "partial_outage" and components["beta/m1"]["state"] == "down"
    assert components["alpha/m1"]["status"] == "operational"
    assert status["status"] == {"indicator": "minor", "description": "Some targets are degraded or partly down"}
    assert [i["target"] for i in status["incidents"]] == ["beta"]

    only_eu = get(f"{server}/api/v1/targets?site=eu&state=down").json()
    assert [(r["target"], r["site"]) for r in only_eu["targets"]] == [("beta", "eu")]


def test_history_results_incidents_runs(server: str) -> None:
    key = f"{quote(HOSTILE_T, safe='')}/{quote(HOSTILE_M, safe='')}"
    history = get(f"{server}/api/v1/targets/{key}/history?since=6h").json()
    check(history, "history")
    assert (history["target"], history["model"], history["bucket"]) == (HOSTILE_T, HOSTILE_M, "5m")
    assert sum(p["ok"] for p in history["points"]) == 4 and history["sites"] == ["eu"]
    beta = get(f"{server}/api/v1/targets/beta/m1/history?since=30d").json()
    check(beta, "history")
    assert beta["bucket"] == "day" and set(beta["by_site"]) == {"eu", "us"}
    assert beta["summary"]["ok"] == 6 and beta["summary"]["errors"] == {"http_status": 2}
    assert beta["states"][0] == {**beta["states"][0], "site": "eu", "state": "down"}  # worst first
    assert get(f"{server}/api/v1/targets/beta/m1/history?since=7d&site=us").json()["summary"]["failed"] == 0

    results = get(f"{server}/api/v1/targets/beta/m1/results?limit=3&site=eu").json()
    check(results, "results")
    assert [r["ok"] for r in results["results"]] == [False, False, True]  # newest first

    incidents = get(f"{server}/api/v1/incidents?open=1").json()
    check(incidents, "incidents")
    assert [(i["target"], i["site"], i["state"]) for i in incidents["incidents"]] == [("beta", "eu", "down")]
    assert get(f"{server}/api/v1/incidents?target=alpha").json()["incidents"] == []

    runs = get(f"{server}/api/v1/runs?limit=5").json()
    check(runs, "runs")
    assert len(runs["runs"]) == 5
    one = get(f"{server}/api/v1/runs/{runs['runs'][0]['id']}").json()
    check(one, "run")
    assert one["run"]["id"] == runs["runs"][0]["id"]


def test_slashes_in_names_resolve_either_way(server: str) -> None:
    # Encoded slashes are exact; unencoded ones are matched against the names the history knows.
    assert get(f"{server}/api/v1/targets/we%2Fird%20%3Cb%3E%E2%80%AE/m%2F%F0%9F%98%80%20%3F%23/history").status == 200
    assert get(f"{server}/api/v1/targets/we/ird%20%3Cb%3E%E2%80%AE/m/%F0%9F%98%80%20%3F%23/results").status == 200


@pytest.mark.parametrize(("path", "status", "needle"), [
    ("/api/v1/targets?state=sideways", 400, "'state'"),
    ("/api/v1/incidents?limit=99999", 400, "'limit'"),
    ("/api/v1/incidents?since=yesterday-ish", 400, "'since'"),
    ("/api/v1/targets/beta/m1/history?since=30d&bucket=5m", 400, "'bucket'"),
    ("/api/v1/targets/beta/m1/history?bucket=fortnight", 400, "'bucket'"),
    ("/api/v1/targets/nobody/none/history", 404, "no such target"),
    ("/api/v1/runs/zzzz", 404, "zzzz"),
    ("/api/v1/nothing", 404, "nothing here"),
    ("/api/v1/targets?" + "&".join(f"p{i}=1" for i in range(20)), 400, "query parameters"),
    ("/api/v1/targets?site=" + "x" * 600, 400, "query parameters"),
])
def test_bad_requests_are_one_line_json_errors(server: str, path: str, status: int, needle: str) -> None:
    answer = get(server + path)
    assert answer.status == status
    doc = answer.json()
    check(doc, "error")
    assert needle in doc["error"]["message"] and "Traceback" not in answer.text


def test_only_get_no_bodies_no_files_but_the_packaged_ones(server: str) -> None:
    assert get(f"{server}/api/v1/status", method="POST", data=b"{}").status == 405
    assert get(f"{server}/api/v1/status", method="DELETE").status == 405
    for path in ("/static/", "/static/../../../etc/passwd", "/static/%2e%2e/pyproject.toml", "/static/report.js",
                 "/static/serve.py", "/../etc/passwd"):
        answer = get(server + path)
        assert answer.status == 404, path
        assert b"root:" not in answer.body and b"[project]" not in answer.body
    css = get(f"{server}/static/report.css")
    assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")
    assert get(f"{server}/static/report.css", {"If-None-Match": css.headers["ETag"]}).status == 304


def test_every_answer_has_the_security_headers(server: str) -> None:
    for path in ("/", "/api/v1/status", "/metrics", "/badge/alpha.svg", "/nothing"):
        headers = get(server + path).headers
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"
        assert "default-src 'none'" in headers["Content-Security-Policy"], path
    page = get(server + "/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in page and "unsafe" not in page


def test_documented_examples_match_the_schemas() -> None:
    text = (DOCS / "serve-api.md").read_text()
    examples = re.findall(r"<!-- schema: (\w+) -->\s*```json\n(.*?)```", text, re.S)
    assert {name for name, _ in examples} >= {"status", "targets", "history", "results", "incidents", "runs", "error",
                                               "badge"}
    for name, body in examples:
        check(json.loads(body), name)
