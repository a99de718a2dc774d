"""The result model: what one probe measured and what one run found (DESIGN.md contracts)."""

from __future__ import annotations

import dataclasses
import enum
import statistics
from dataclasses import dataclass, field
from typing import Any

SCHEMA = "rollcall.run/1"
# Event-loop lag beyond which timings are flagged: every stamp may read this late.
LAG_UNRELIABLE_S = 0.1


class ErrorKind(enum.StrEnum):
    """Why a probe failed. The string values are a stable contract in every output."""

    TIMEOUT = "timeout"
    CONNECT = "connect"
    AUTH = "auth"
    RATE_LIMIT = "rate_limit"
    HTTP_STATUS = "http_status"
    BAD_RESPONSE = "bad_response"
    EMPTY = "empty"
    MISSING_DEPENDENCY = "missing_dependency"
    PROVIDER_ERROR = "provider_error"
    CHECK_FAILED = "check_failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One call to one target with one model: timings in seconds, counts, the answer or why not."""

    target: str
    kind: str
    model: str
    ok: bool
    error_kind: ErrorKind | None = None
    error: str | None = None
    status: int | None = None
    queue_s: float = 0.0
    headers_s: float | None = None
    ttft_s: float | None = None
    total_s: float | None = None
    output_chars: int = 0
    output_tokens: int | None = None
    output_tokens_estimated: bool = False
    tokens_per_s: float | None = None
    text: str = ""
    reasoning: str = ""
    started_at: str = ""
    # Additive fields (schema rollcall.run/1 allows additions).
    attempt: int = 1
    retry_after_s: float | None = None
    max_gap_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["error_kind"] = str(self.error_kind) if self.error_kind else None
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeResult:
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        if kwargs.get("error_kind"):
            kwargs["error_kind"] = ErrorKind(kwargs["error_kind"])
        return cls(**kwargs)

    @property
    def key(self) -> tuple[str, str]:
        """(target, model): what repeats of the same probe share."""
        return (self.target, self.model)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A target that could not even be prepared (e.g. a g4f provider that fails to import)."""

    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class TargetStats:
    """Repeat statistics for one (target, model)."""

    target: str
    model: str
    runs: int
    ok: int
    ttft_p50_s: float | None
    ttft_p90_s: float | None
    total_p50_s: float | None
    total_p90_s: float | None
    last_error_kind: ErrorKind | None

    @property
    def success_rate(self) -> float:
        return self.ok / self.runs if self.runs else 0.0


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100); None for no values."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, round(q) - 1))]


@dataclass(frozen=True, slots=True)
class RunResult:
    """One run: when, with which settings, every result, and what was skipped."""

    id: str
    started_at: str
    ended_at: str
    wall_s: float
    prompt: str
    results: tuple[ProbeResult, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    complete: bool = True
    settings: dict[str, Any] = field(default_factory=dict)
    loop_lag_max_s: float | None = None
    version: str = ""

    @property
    def ok_count(self) -> int:
        return sum(1 for r in self.results if r.ok)

    @property
    def failed_count(self) -> int:
        return len(self.results) - self.ok_count

    @property
    def measurements_reliable(self) -> bool:
        """False when the event loop fell behind enough to skew timings (see timing.LagMonitor)."""
        return self.loop_lag_max_s is None or self.loop_lag_max_s < LAG_UNRELIABLE_S

    def failures_by_kind(self) -> dict[ErrorKind, list[ProbeResult]]:
        groups: dict[ErrorKind, list[ProbeResult]] = {}
        for r in self.results:
            if not r.ok and r.error_kind is not None:
                groups.setdefault(r.error_kind, []).append(r)
        return dict(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0].value)))

    def stats(self) -> list[TargetStats]:
        """Per (target, model) statistics, in first-seen order."""
        groups: dict[tuple[str, str], list[ProbeResult]] = {}
        for r in self.results:
            groups.setdefault(r.key, []).append(r)
        out = []
        for (target, model), rs in groups.items():
            oks = [r for r in rs if r.ok]
            ttfts = sorted(r.ttft_s for r in oks if r.ttft_s is not None)
            totals = sorted(r.total_s for r in oks if r.total_s is not None)
            failed = [r for r in rs if not r.ok]
            out.append(
                TargetStats(
                    target=target,
                    model=model,
                    runs=len(rs),
                    ok=len(oks),
                    ttft_p50_s=percentile(ttfts, 50),
                    ttft_p90_s=percentile(ttfts, 90),
                    total_p50_s=percentile(totals, 50),
                    total_p90_s=percentile(totals, 90),
                    last_error_kind=failed[-1].error_kind if failed else None,
                )
            )
        return out

    def summary_line(self) -> str:
        return f"{self.ok_count} ok, {self.failed_count} failed in {self.wall_s:.2f} s"

    def to_dict(self) -> dict[str, Any]:
        run = {
            "id": self.id,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "wall_s": self.wall_s,
            "prompt": self.prompt,
            "complete": self.complete,
            "ok": self.ok_count,
            "failed": self.failed_count,
            "settings": self.settings,
            "skipped": [dataclasses.asdict(s) for s in self.skipped],
            "loop_lag_max_s": self.loop_lag_max_s,
            "measurements_reliable": self.measurements_reliable,
            "version": self.version,
        }
        return {"schema": SCHEMA, "run": run, "results": [r.to_dict() for r in self.results]}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> RunResult:
        """Rebuild a run from its JSON document; raises ValueError with a clear reason."""
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            got = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
            raise ValueError(f"not a rollcall run document (schema {got!r}, expected {SCHEMA!r})")
        run = doc.get("run") or {}
        try:
            return cls(
                id=run.get("id", ""),
                started_at=run.get("started_at", ""),
                ended_at=run.get("ended_at", ""),
                wall_s=float(run.get("wall_s", 0.0)),
                prompt=run.get("prompt", ""),
                results=tuple(ProbeResult.from_dict(r) for r in doc.get("results", [])),
                skipped=tuple(Skipped(**s) for s in run.get("skipped", [])),
                complete=bool(run.get("complete", True)),
                settings=dict(run.get("settings") or {}),
                loop_lag_max_s=run.get("loop_lag_max_s"),
                version=run.get("version", ""),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"malformed rollcall run document: {exc}") from None
