"""A real Prometheus (Debian's `prometheus`, started here on a free loopback port) scrapes
/metrics and /probe with the bearer token; PromQL through its HTTP API sees the targets with the
right values. Missing Prometheus skips locally and fails in CI (ROLLCALL_CI_STRICT=1)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from serve_helpers import OK, record, serving

from services import require_or_skip

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
TOKEN = "prometheus-scrape-token-0123456789"


def dashboard_queries() -> list[str]:
    """docs/grafana-dashboard.json's PromQL, with its variables as Grafana would fill them."""
    doc = json.loads((Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json").read_text())
    assert doc["__inputs"][0]["pluginId"] == "prometheus"
    assert [v["name"] for v in doc["templating"]["list"]] == ["target", "model", "site"]
    exprs = [t["expr"] for p in doc["panels"] for t in p["targets"]]
    return [e.replace("$target", ".*").replace("$model", ".*").replace("$site", ".*")
             .replace("$__rate_interval", "1m") for e in exprs]


def test_dashboard_uses_only_the_contract_names() -> None:
    import re

    from test_metrics import NAMES

    for expr in dashboard_queries():
        for name in re.findall(r"rollcall_[a-z_]+", expr):
            assert name.removesuffix("_bucket").removesuffix("_total").removesuffix("_info") in NAMES, name


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _query(prom: str, promql: str) -> list[dict]:
    url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=10) as response:
        doc = json.loads(response.read())
    assert doc["status"] == "success", doc
    return doc["data"]["result"]


def _ready(prom: str, proc: subprocess.Popen, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, "prometheus exited at start"
        try:
            with urllib.request.urlopen(f"{prom}/-/ready", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"prometheus not ready after {timeout_s:g} s")


def _until(prom: str, promql: str, count: int, timeout_s: float = 60.0) -> list[dict]:
    # Target discovery publishes new targets every 5 s: the first scrape lands 5-6 s after start.
    deadline = time.monotonic() + timeout_s
    found: list[dict] = []
    while time.monotonic() < deadline:
        found = _query(prom, promql)
        if len(found) >= count:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{promql}: {len(found)} series after {timeout_s:g} s, wanted {count}: {found}")


def test_prometheus_scrapes_metrics_and_probes(tmp_path: Path) -> None:
    require_or_skip(Path(PROMETHEUS).exists(), f"Prometheus not found at {PROMETHEUS} (apt-get install prometheus)")
    from rollcall.serve.prober import Prober
    from rollcall.settings import ProbeSettings
    from rollcall.sim import Behaviour, Fleet, run_sim_in_thread
    from rollcall.targets.openai import OpenAITarget

    location = str(tmp_path / "history.sqlite3")
    record(location, "eu", [{("good", "m"): OK, ("bad", "m"): ("connect", "refused")}] * 3)
    fleet = Fleet({"swift": Behaviour(ttft_s=0.01, answer_tokens=3, tokens_per_s=0)})
    with run_sim_in_thread(fleet) as base_url:
        prober = Prober([OpenAITarget("swift", base_url, models=("swift",))], ProbeSettings(timeout_s=5.0), owned=True)
        with serving(location, token=TOKEN, prober=prober, site="eu") as url:
            address = url.removeprefix("http://")
            auth = {"type": "Bearer", "credentials": TOKEN}
            config = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s"}, "scrape_configs": [
                {"job_name": "rollcall", "authorization": auth, "static_configs": [{"targets": [address]}]},
                {"job_name": "rollcall_probe", "metrics_path": "/probe", "params": {"target": ["swift"]},
                 "scrape_interval": "2s", "scrape_timeout": "2s", "authorization": auth,
                 "static_configs": [{"targets": [address]}]},
            ]}
            (tmp_path / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
            check = subprocess.run(["promtool", "check", "config", str(tmp_path / "prometheus.yml")],
                                   capture_output=True, text=True, timeout=60)
            assert check.returncode == 0, check.stdout + check.stderr
            port = _port()
            prom = subprocess.Popen(
                [PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
                 f"--web.listen-address=127.0.0.1:{port}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            try:
                api = f"http://127.0.0.1:{port}"
                _ready(api, prom)
                found = _until(api, 'rollcall_probe_success{job="rollcall"}', 2)
                values = {s["metric"]["target"]: float(s["value"][1]) for s in found}
                assert values == {"good": 1.0, "bad": 0.0}
                assert {s["metric"]["site"] for s in found} == {"eu"}
                down = _query(api, 'rollcall_target_state{state="down"} == 1')
                assert [s["metric"]["target"] for s in down] == ["bad"]
                p50 = _query(api, 'histogram_quantile(0.5, rollcall_ttft_seconds_bucket{target="good"})')
                assert 0.128 <= float(p50[0]["value"][1]) <= 0.256  # the answers took 0.2 s
                probed = _until(api, 'rollcall_probe_success{job="rollcall_probe"}', 1)
                assert [(s["metric"]["target"], float(s["value"][1])) for s in probed] == [("swift", 1.0)]
                up = _query(api, "up")
                assert {s["metric"]["job"]: s["value"][1] for s in up} == {"rollcall": "1", "rollcall_probe": "1"}
                # Every query of the shipped Grafana dashboard parses and finds the metrics it names.
                for expr in dashboard_queries():
                    assert isinstance(_query(api, expr), list), expr
            finally:
                prom.terminate()
                try:
                    prom.wait(20)
                except subprocess.TimeoutExpired:
                    prom.kill()
                    prom.wait(10)
