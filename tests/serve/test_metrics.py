"""/metrics and /probe as Prometheus reads them: parsed with prometheus-client's own parsers
(text and OpenMetrics), the contract's names, bounded labels, values the rounds imply."""

from __future__ import annotations

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families
from serve_helpers import OK, get, record, serving

from rollcall.serve.metrics import cumulative
from rollcall.settings import ProbeSettings
from rollcall.watch.rollups import bucket_of

NAMES = {"rollcall_probe_success", "rollcall_probe_duration_seconds", "rollcall_ttft_seconds", "rollcall_total_seconds",
         "rollcall_probe_results", "rollcall_target_state", "rollcall_uptime_ratio", "rollcall_incidents_open",
         "rollcall_last_round_timestamp_seconds", "rollcall_build"}
KEY_LABELS = {"target", "model", "site"}
EVIL = 'evil"}\n# HELP x y\nbad_metric 1 {'


@pytest.fixture
def server(location: str):
    fail = ("rate_limit", "HTTP 429 " + "x" * 300)
    record(location, "lab", [{("good", "m"): OK, ("bad", "m"): fail, (EVIL, "m"): OK}] * 3)
    with serving(location) as url:
        yield url


def _samples(families):
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def test_text_exposition_parses_and_says_what_happened(server: str) -> None:
    answer = get(f"{server}/metrics")
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = list(text_string_to_metric_families(answer.text))
    names = {f.name for f in families}
    assert names == NAMES - {"rollcall_build"} | {"rollcall_build_info"}
    samples = _samples(families)

    def at(name: str, target: str, **more: str) -> float:
        return samples[(name, tuple(sorted({"target": target, "model": "m", "site": "lab", **more}.items())))]

    assert at("rollcall_probe_success", "good") == 1.0 and at("rollcall_probe_success", "bad") == 0.0
    assert at("rollcall_probe_results_total", "bad", result="rate_limit") == 3.0
    assert at("rollcall_probe_results_total", "good", result="ok") == 3.0
    assert at("rollcall_target_state", "bad", state="down") == 1.0
    assert at("rollcall_target_state", "bad", state="up") == 0.0
    assert at("rollcall_uptime_ratio", "good", window="30d") == 1.0
    assert samples[("rollcall_incidents_open", ())] == 1.0
    assert at("rollcall_ttft_seconds_count", "good") == 3.0
    assert at("rollcall_ttft_seconds_bucket", "good", le="0.128") == 0.0  # 0.2 s answers
    assert at("rollcall_ttft_seconds_bucket", "good", le="0.256") == 3.0
    assert at("rollcall_ttft_seconds_sum", "good") == pytest.approx(0.6)
    # The hostile name is one label value (on one line, as every view shows names), not a new metric.
    assert at("rollcall_probe_success", 'evil"} # HELP x y bad_metric 1 {') == 1.0
    assert "bad_metric" not in names and "x" not in names
    # Bounded labels: never an error text or a URL.
    for f in families:
        for s in f.samples:
            assert set(s.labels) <= KEY_LABELS | {"le", "result", "state", "window", "version"}, s
            assert "429" not in "".join(s.labels.values())


def test_openmetrics_when_asked(server: str) -> None:
    answer = get(f"{server}/metrics", {"Accept": "application/openmetrics-text; version=1.0.0"})
    assert answer.headers["Content-Type"].startswith("application/openmetrics-text")
    families = {f.name: f for f in parse_openmetrics(answer.text)}
    assert families["rollcall_probe_results"].type == "counter" and families["rollcall_build"].type == "info"
    assert families["rollcall_ttft_seconds"].type == "histogram"


def test_histogram_buckets_are_exact_at_their_bounds() -> None:
    hist: dict[int, int] = {}
    for v in (0.031, 0.0319, 0.033, 1.0, 200.0):
        hist[bucket_of(v)] = hist.get(bucket_of(v), 0) + 1
    buckets = dict(cumulative(hist))
    assert buckets["0.032"] == 2 and buckets["0.064"] == 3 and buckets["1.024"] == 4 and buckets["131.072"] == 4
    assert buckets["+Inf"] == 5
    assert list(buckets) == sorted(buckets, key=lambda le: float(le))  # ascending, +Inf last


def test_probe_answers_with_that_probes_metrics(sqlite_location: str) -> None:
    from rollcall.serve.prober import Prober
    from rollcall.sim import Behaviour, Fleet, run_sim_in_thread
    from rollcall.targets.openai import OpenAITarget

    record(sqlite_location, "lab", [{("a", "m"): OK}])
    fleet = Fleet({"swift": Behaviour(ttft_s=0.01, answer_tokens=3, tokens_per_s=0), "down": Behaviour(status=503)})
    with run_sim_in_thread(fleet) as base_url:
        targets = [OpenAITarget("swift", base_url, models=("swift",)), OpenAITarget("down", base_url, models=("down",))]
        prober = Prober(targets, ProbeSettings(timeout_s=5.0), owned=True)
        with serving(sqlite_location, prober=prober, site="probe-site") as url:
            good = _samples(text_string_to_metric_families(get(f"{url}/probe?target=swift").text))
            labels = (("model", "swift"), ("site", "probe-site"), ("target", "swift"))
            assert good[("rollcall_probe_success", labels)] == 1.0
            assert good[("rollcall_probe_http_status_code", labels)] == 200.0
            assert 0 < good[("rollcall_probe_ttft_seconds", labels)] < 5
            bad = _samples(text_string_to_metric_families(get(f"{url}/probe?target=down&model=down").text))
            labels = (("model", "down"), ("site", "probe-site"), ("target", "down"))
            assert bad[("rollcall_probe_success", labels)] == 0.0
            assert bad[("rollcall_probe_error", tuple(sorted((("kind", "http_status"), *labels))))] == 1.0
            assert get(f"{url}/probe?target=nobody").status == 404
            assert get(f"{url}/probe?target=swift&model=other").status == 404
            assert get(f"{url}/probe").status == 400
        with serving(sqlite_location, prober=prober, public=True) as url:
            assert get(f"{url}/probe?target=swift").status == 403  # a public page spends no quotas
    with serving(sqlite_location) as url:
        assert get(f"{url}/probe?target=swift").status == 404  # no targets: says how to get some


def test_without_prometheus_client_metrics_say_how_to_get_it(sqlite_location: str, monkeypatch) -> None:
    import sys

    record(sqlite_location, "lab", [{("a", "m"): OK}])
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # as if not installed
    with serving(sqlite_location) as url:
        answer = get(f"{url}/metrics")
        assert answer.status == 503 and "pip install 'rollcall[serve]'" in answer.text
        assert get(f"{url}/api/v1/status").status == 200  # everything else still works
