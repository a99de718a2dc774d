"""Prometheus exposition of the history (/metrics) and of one probe made on request (/probe),
written by prometheus-client (text format, OpenMetrics when the scraper asks for it).

Names are a contract (DESIGN.md "Prometheus metric names"). Labels are bounded: target, model
and site (names from the config and the store, controls made visible), `state` (four values),
`window` (24h, 7d, 30d), `result` (`ok` or an error kind; anything else stored counts as
`unknown`). Never an error text or a URL.

Counters and histograms come from the `all` rollups (totals since a key was first seen), so they
only grow and survive restarts of either the watcher or the server. Histogram buckets are the
rollups' own octave boundaries (2^n ms), so every `le` count is exact.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .. import __version__
from ..safetext import one_line
from ..watch.incidents import parse_iso
from ..watch.rollups import BUCKETS
from ..watch.state import State
from .snapshot import RESULT_KINDS, WINDOWS, Snapshot

INSTALL_HINT = "Prometheus metrics need prometheus-client: pip install 'rollcall[serve]'"
LABELS = ["target", "model", "site"]
# Every fourth rollup bucket ends on a power of two milliseconds: 32 ms ... 131 s, then +Inf.
_LE_INDEXES = tuple(range(20, BUCKETS, 4))[:13]


def available() -> bool:
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return False
    return True


def _le(index: int) -> str:
    return f"{0.001 * 2 ** (index // 4):g}"


def _label(text: str) -> str:
    return one_line(text, 200)


def cumulative(hist: Mapping[int, int]) -> list[tuple[str, float]]:
    """A rollup histogram as Prometheus buckets: counts at or below each `le`, then +Inf."""
    out = []
    items = sorted(hist.items())
    seen = 0
    position = 0
    for index in _LE_INDEXES:
        while position < len(items) and items[position][0] <= index:
            seen += items[position][1]
            position += 1
        out.append((_le(index), float(seen)))
    out.append(("+Inf", float(sum(hist.values()))))
    return out


def _epoch(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        return parse_iso(stamp).timestamp()
    except ValueError:
        return None


class SnapshotCollector:
    """A prometheus-client collector over one Snapshot."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
            InfoMetricFamily,
        )

        rows = self.snap.rows
        success = GaugeMetricFamily("rollcall_probe_success", "Whether the last round's probe answered (1) or not (0).",
                                    labels=LABELS)
        duration = GaugeMetricFamily("rollcall_probe_duration_seconds", "Total time of the last round's probe.",
                                     labels=LABELS)
        ttft = HistogramMetricFamily("rollcall_ttft_seconds", "Time to first token of answered probes.",
                                     labels=LABELS)
        total = HistogramMetricFamily("rollcall_total_seconds", "Total time of answered probes.", labels=LABELS)
        results = CounterMetricFamily("rollcall_probe_results", "Probes by result: ok or the error kind.",
                                      labels=[*LABELS, "result"])
        state = GaugeMetricFamily("rollcall_target_state", "1 for the key's current state (unknown, up, degraded, "
                                  "down), 0 for the others.", labels=[*LABELS, "state"])
        uptime = GaugeMetricFamily("rollcall_uptime_ratio", "Answered probes over judged ones in the window.",
                                   labels=[*LABELS, "window"])
        for row in rows:
            labels = [_label(row.target), _label(row.model), _label(row.site)]
            if row.last_ok is not None:
                success.add_metric(labels, 1.0 if row.last_ok else 0.0)
            if row.last_total_s is not None:
                duration.add_metric(labels, row.last_total_s)
            for s in State:
                state.add_metric([*labels, str(s)], 1.0 if row.state is s else 0.0)
            for window in WINDOWS:
                w = row.windows.get(window)
                if w is not None and w.uptime is not None:
                    uptime.add_metric([*labels, window], w.uptime)
            t = row.totals
            if t is None:
                continue
            ttft.add_metric(labels, buckets=cumulative(t.ttft_hist), sum_value=t.ttft_sum)
            total.add_metric(labels, buckets=cumulative(t.total_hist), sum_value=t.total_sum)
            by_result: dict[str, float] = {"ok": float(t.ok)}
            for kind, n in t.errors.items():
                name = kind if kind in RESULT_KINDS else "unknown"
                by_result[name] = by_result.get(name, 0.0) + n
            if t.cancelled:
                by_result["cancelled"] = by_result.get("cancelled", 0.0) + t.cancelled
            for name, n in sorted(by_result.items()):
                results.add_metric([*labels, name], n)
        yield from (success, duration, ttft, total, results, state, uptime)
        yield GaugeMetricFamily("rollcall_incidents_open", "Incidents open now (every site).",
                                value=float(len(self.snap.open_incidents)))
        last = _epoch(self.snap.last_round_at)
        if last is not None:
            yield GaugeMetricFamily("rollcall_last_round_timestamp_seconds",
                                    "When the newest round started (Unix time).", value=last)
        yield InfoMetricFamily("rollcall_build", "The rollcall serving these metrics.", value={"version": __version__})


def exposition(collector: Any, accept: str) -> tuple[bytes, str]:
    """(body, content type) for `collector`, in the format the Accept header asks for."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.exposition import choose_encoder

    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


class ProbeCollector:
    """blackbox_exporter's shape: the metrics of one probe made for this request."""

    def __init__(self, results: Any, site: str) -> None:
        self.results = results  # ProbeResults of one target x model (several with repeat)
        self.site = site

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        success = GaugeMetricFamily("rollcall_probe_success", "Whether this probe answered (1) or not (0).",
                                    labels=LABELS)
        duration = GaugeMetricFamily("rollcall_probe_duration_seconds", "Total time of this probe.", labels=LABELS)
        ttft = GaugeMetricFamily("rollcall_probe_ttft_seconds", "Time to first token of this probe.", labels=LABELS)
        status = GaugeMetricFamily("rollcall_probe_http_status_code", "HTTP status of this probe's answer.",
                                   labels=LABELS)
        error = GaugeMetricFamily("rollcall_probe_error", "1 for the error kind this probe failed with.",
                                  labels=[*LABELS, "kind"])
        for r in self.results:
            labels = [_label(r.target), _label(r.model), _label(self.site)]
            success.add_metric(labels, 1.0 if r.ok else 0.0)
            if r.total_s is not None:
                duration.add_metric(labels, r.total_s)
            if r.ttft_s is not None:
                ttft.add_metric(labels, r.ttft_s)
            if r.status is not None:
                status.add_metric(labels, float(r.status))
            if not r.ok and r.error_kind:
                kind = str(r.error_kind)
                error.add_metric([*labels, kind if kind in RESULT_KINDS else "unknown"], 1.0)
        yield from (success, duration, ttft, status, error)

