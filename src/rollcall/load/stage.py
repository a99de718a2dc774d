"""A stage's statistics, merged from the records and summaries of any number of shards.

Everything here is bounded: Distributions for latencies (see distribution.py), counters, and a
timeline whose bins coarsen as the run grows. Records are folded in as they arrive and can then
be dropped (they are on disk, in the JSONL, when the user asked for it).
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .distribution import Distribution
from .record import RequestRecord
from .spec import SLO_FIELDS, StageSpec

# A stage whose client fell this far behind is flagged: its latencies include the client's delay.
CLIENT_BOUND_LATENESS_S = 0.010  # p99 of send lateness
CLIENT_BOUND_LAG_S = 0.050  # worst event-loop lag
CLIENT_BOUND_ADVICE = "spread the load over more worker processes or machines, or lower the load"
LATENCIES = ("ttft_s", "ttfo_s", "tpot_s", "itl_s", "e2e_s")


@dataclass(frozen=True, slots=True)
class ShardSummary:
    """What a shard says about itself when its share of a stage is done."""

    stage: int
    shard: int
    loop_lag_max_s: float
    cpu_s: float  # process CPU time spent while the shard ran (user + system)
    sent: int
    finished: int
    cancelled: int = 0  # in flight when the stage was cut short (not counted as requests)
    lost: int = 0  # sent by a shard that died (a worker process or node) and never heard of again
    partial: bool = False
    max_in_flight: int = 0  # the most requests this shard had on the wire at once
    failure: str = ""  # why the shard ended early: its worker died, hung or failed (empty: it did not)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def client_bound_reasons(lateness_p99_s: float | None, loop_lag_max_s: float | None) -> list[str]:
    """Why a stage's numbers cannot be trusted (empty when they can)."""
    reasons = []
    if lateness_p99_s is not None and lateness_p99_s > CLIENT_BOUND_LATENESS_S:
        reasons.append(f"sends were {lateness_p99_s * 1000:.0f} ms late at p99 (limit {CLIENT_BOUND_LATENESS_S * 1000:.0f} ms)")
    if loop_lag_max_s is not None and loop_lag_max_s > CLIENT_BOUND_LAG_S:
        reasons.append(f"the event loop lagged {loop_lag_max_s * 1000:.0f} ms (limit {CLIENT_BOUND_LAG_S * 1000:.0f} ms)")
    return reasons


def meets(record: RequestRecord, name: str, limit: float) -> bool:
    """Whether one request met one SLO. A failed request meets none; an undefined value (TPOT of
    a one-token answer, ITL of a one-chunk answer) cannot break its SLO."""
    if not record.ok:
        return False
    value = getattr(record, SLO_FIELDS[name])
    return value is None or value <= limit


def iso(unix_s: float) -> str:
    stamp = _dt.datetime.fromtimestamp(unix_s, _dt.timezone.utc)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Timeline:
    """Sends, answers and errors per time bin, from `origin` (wall clock, Unix seconds). Bins double
    in width whenever the run outgrows `max_bins`, so a week-long run costs what a short one does."""

    def __init__(self, origin: float, bin_s: float = 1.0, max_bins: int = 600) -> None:
        self.origin = origin
        self.bin_s = bin_s
        self.max_bins = max_bins
        self.bins: dict[int, list[Any]] = {}  # index -> [sent, ok, Counter of error kinds]

    def _bin(self, at: float) -> list[Any]:
        index = int(max(0.0, at - self.origin) // self.bin_s)
        while index >= self.max_bins:
            self._coarsen()
            index //= 2
        found = self.bins.get(index)
        if found is None:
            found = self.bins[index] = [0, 0, Counter()]
        return found

    def _coarsen(self) -> None:
        merged: dict[int, list[Any]] = {}
        for index, (sent, ok, errors) in self.bins.items():
            into = merged.setdefault(index // 2, [0, 0, Counter()])
            into[0] += sent
            into[1] += ok
            into[2].update(errors)
        self.bins = merged
        self.bin_s *= 2

    def add(self, record: RequestRecord) -> None:
        self._bin(record.sent_at)[0] += 1
        done = self._bin(record.sent_at + (record.e2e_s or 0.0))
        if record.ok:
            done[1] += 1
        else:
            done[2][record.error_kind or "unknown"] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "origin": iso(self.origin),
            "bin_s": self.bin_s,
            "bins": [
                {"t_s": index * self.bin_s, "sent": sent, "ok": ok, "errors": dict(errors)}
                for index, (sent, ok, errors) in sorted(self.bins.items())
            ],
        }


class StageStats:
    """Folds records (from any shard, in any order) and shard summaries into a stage's figures."""

    def __init__(self, stage: StageSpec, slo: dict[str, float], started_at: float) -> None:
        self.stage = stage
        self.slo = dict(slo)
        self.started_at = started_at  # wall clock of the stage start
        self.latency = {name: Distribution() for name in LATENCIES}
        self.lateness = Distribution()
        self.ramp_up_s: float | None = None
        self.queue = Distribution()
        self.requests = self.ok = self.warmup = 0
        self.errors: Counter[str] = Counter()
        self.examples: dict[str, str] = {}  # the first message of each error kind
        self.slo_met: Counter[str] = Counter()
        self.good = 0
        self.output_tokens = 0
        self.estimated = 0
        self.first_s: float | None = None  # measurement window on the stage clock
        self.last_s: float | None = None
        self.shards: list[ShardSummary] = []

    def add(self, record: RequestRecord) -> None:
        if record.warmup:
            self.warmup += 1
            return
        self.requests += 1
        if self.first_s is None or record.scheduled_s < self.first_s:
            self.first_s = record.scheduled_s
        end = record.end_s
        if self.last_s is None or end > self.last_s:
            self.last_s = end
        if record.ramp:
            if self.ramp_up_s is None or record.lateness_s > self.ramp_up_s:
                self.ramp_up_s = record.lateness_s
        else:
            self.lateness.add(record.lateness_s)
        self.queue.add(record.queue_s)
        if not record.ok:
            kind = record.error_kind or "unknown"
            self.errors[kind] += 1
            if kind not in self.examples:
                self.examples[kind] = record.error or ""
        else:
            self.ok += 1
            latency = self.latency
            for name in ("ttft_s", "ttfo_s", "tpot_s", "e2e_s"):
                value = getattr(record, name)
                if value is not None:
                    latency[name].add(value)
            latency["itl_s"].extend(record.itl_s)
            if record.output_tokens:
                self.output_tokens += record.output_tokens
            if record.output_tokens_estimated:
                self.estimated += 1
        good = record.ok
        for name, limit in self.slo.items():
            if meets(record, name, limit):
                self.slo_met[name] += 1
            else:
                good = False
        if good:
            self.good += 1

    def add_shard(self, summary: ShardSummary) -> None:
        self.shards.append(summary)

    @property
    def duration_s(self) -> float:
        """From the first measured request's due time to the last one's end."""
        if self.first_s is None or self.last_s is None:
            return 0.0
        return max(0.0, self.last_s - self.first_s)

    def result(self, *, partial: bool = False) -> dict[str, Any]:
        """The stage object of the rollcall.load/1 document."""
        duration = self.duration_s
        per_s = (lambda n: n / duration if duration > 0 else 0.0)
        lateness = self.lateness.summary()
        lag = max((s.loop_lag_max_s for s in self.shards), default=None)
        reasons = client_bound_reasons(lateness["p99"], lag)  # type: ignore[arg-type]
        cpu = sum(s.cpu_s for s in self.shards) if self.shards else None
        sent = sum(s.sent for s in self.shards)
        value: float | int = int(self.stage.value) if self.stage.mode == "concurrency" else self.stage.value
        out: dict[str, Any] = {
            "index": self.stage.index,
            self.stage.mode: value,
            "started_at": iso(self.started_at),
            "partial": partial or any(s.partial for s in self.shards),
            "requests": self.requests,
            "ok": self.ok,
            "failed": self.requests - self.ok,
            "errors": dict(self.errors.most_common()),
            "error_examples": {kind: self.examples.get(kind, "") for kind in self.errors},
            "warmup": self.warmup,
            "cancelled": sum(s.cancelled for s in self.shards),
            "lost": sum(s.lost for s in self.shards),
            "shard_failures": [s.failure for s in sorted(self.shards, key=lambda s: s.shard) if s.failure],
            "duration_s": duration,
            "requests_per_s": per_s(self.ok),
            "output_tokens_per_s": per_s(self.output_tokens),
            "goodput_per_s": per_s(self.good),
            "slo": dict(self.slo),
            "slo_pass": {name: (self.slo_met[name] / self.requests if self.requests else 0.0) for name in self.slo},
            "client_bound": bool(reasons),
            "client_bound_reasons": reasons,
            "send_lateness_s": lateness,
            "ramp_up_s": self.ramp_up_s,
            "loop_lag_max_s": lag,
            "client_cpu_s": cpu,
            "client_cpu_per_request_ms": (cpu / sent * 1000) if cpu is not None and sent else None,
            "queue_s": self.queue.summary(),
            "output_tokens": self.output_tokens,
            "output_tokens_estimated": self.estimated,
            "shards": len(self.shards),
            "max_in_flight": sum(s.max_in_flight for s in self.shards),  # the most at once, per shard, summed
        }
        for name in LATENCIES:
            out[name] = self.latency[name].summary()
        return out

    def cdfs(self, points: int = 101) -> dict[str, list[list[float]]]:
        """CDF points of TTFT, TPOT and E2E (and the rest), for the HTML report."""
        return {name: self.latency[name].cdf(points) for name in LATENCIES}
