"""The result model: what one probe measured and what one run found (DESIGN.md contracts)."""

from __future__ import annotations

import dataclasses
import enum
import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .settings import ProbeSettings

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
class ServerTimings:
    """What the server measured itself (Ollama's load_duration, prompt_eval_duration,
    eval_count/eval_duration), kept beside rollcall's own clocks so a cold model load shows as
    `load_s` rather than as a slow first token. Seconds; None when the server did not say."""

    total_s: float | None = None
    load_s: float | None = None
    prompt_eval_s: float | None = None
    eval_s: float | None = None
    prompt_tokens: int | None = None
    eval_tokens: int | None = None

    @property
    def eval_tokens_per_s(self) -> float | None:
        """The server's own generation speed (eval tokens / eval time)."""
        if self.eval_tokens and self.eval_s:
            return self.eval_tokens / self.eval_s
        return None

    def summary(self) -> str:
        """One line for people: "load 2.00 s, prompt 0.10 s, eval 0.30 s (10.0 tok/s), total 2.50 s"."""
        parts = [f"{label} {value:.2f} s" for label, value in (("load", self.load_s), ("prompt", self.prompt_eval_s),
                                                              ("eval", self.eval_s)) if value is not None]
        rate = self.eval_tokens_per_s
        if rate is not None and parts and parts[-1].startswith("eval"):
            parts[-1] += f" ({rate:.1f} tok/s)"
        if self.total_s is not None:
            parts.append(f"total {self.total_s:.2f} s")
        return ", ".join(parts)

    @classmethod
    def from_dict(cls, data: Any, where: str = "server_timings") -> ServerTimings:
        return cls(**_checked_fields(cls, data, where))


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
    server_timings: ServerTimings | None = None  # the server's own durations (Ollama), when it reports them

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["error_kind"] = str(self.error_kind) if self.error_kind else None
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "result") -> ProbeResult:
        """A result from its JSON object (or a stored row); ValueError naming `where` and the
        field when a value has the wrong type. Unknown fields are ignored (additive schema)."""
        return cls(**_checked_fields(cls, data, where))

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
class TargetInfo:
    """A planned target as reports show it: what the kind says about it (`link`: a homepage,
    `meta`: short facts such as an endpoint's base URL shown without secrets)."""

    name: str
    kind: str
    models: tuple[str, ...] = ()
    link: str | None = None
    meta: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "models": list(self.models), "link": self.link,
                "meta": dict(self.meta)}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> TargetInfo:
        values = _checked_fields(cls, data, where)
        models, meta = data.get("models", []), data.get("meta", {})
        if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
            raise ValueError(f"{where}: field 'models' must be an array of strings")
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise ValueError(f"{where}: field 'meta' must be an object of strings")
        return cls(**{**values, "models": tuple(models), "meta": dict(meta)})

    @classmethod
    def of(cls, target: Any) -> TargetInfo:
        """What a target says about itself: name, kind, models, and the optional `link` and
        `meta` a kind gives its targets (plain strings only: a target may be anyone's object)."""
        from . import untrusted

        link = untrusted.text(getattr(target, "link", None))
        meta = getattr(target, "meta", None)
        facts = {k: v for k, v in meta.items() if type(k) is str and type(v) is str} if type(meta) is dict else {}
        return cls(target.name, target.kind, tuple(target.models), link or None, facts)


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What every sink is told when a run starts (Sink.start): the run's id, start, prompt, typed
    settings, how many probes are planned and the planned targets."""

    id: str
    started_at: str
    prompt: str
    settings: ProbeSettings
    planned: int
    targets: tuple[TargetInfo, ...] = ()

    @classmethod
    def of(cls, run: RunResult) -> RunInfo:
        """The start of a run already made (replaying it into sinks)."""
        return cls(run.id, run.started_at, run.prompt, run.settings, len(run.results), run.targets)


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
    settings: ProbeSettings = field(default_factory=ProbeSettings)
    loop_lag_max_s: float | None = None
    version: str = ""
    targets: tuple[TargetInfo, ...] = ()  # as planned: what each kind said about its targets

    def __post_init__(self) -> None:
        if isinstance(self.settings, Mapping):  # a document's `run.settings` (its prompt is the run's own)
            object.__setattr__(self, "settings", ProbeSettings.from_json(self.settings, "run.settings"))

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
            "settings": self.settings.to_json(),
            "skipped": [dataclasses.asdict(s) for s in self.skipped],
            "targets": [t.to_dict() for t in self.targets],
            "loop_lag_max_s": self.loop_lag_max_s,
            "measurements_reliable": self.measurements_reliable,
            "version": self.version,
        }
        return {"schema": SCHEMA, "run": run, "results": [r.to_dict() for r in self.results]}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> RunResult:
        """Rebuild a run from its JSON document; ValueError naming the place and field of the
        first value of the wrong type (the document may be hand-edited: every type is checked)."""
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            got = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
            raise ValueError(f"not a rollcall run document (schema {_shown(got)}, expected {SCHEMA!r})")
        run = doc.get("run", {})
        if not isinstance(run, dict):
            raise ValueError(f"'run' must be an object, got {_json_type(run)}")
        results, skipped, targets = doc.get("results", []), run.get("skipped", []), run.get("targets", [])
        for name, value in (("results", results), ("run.skipped", skipped), ("run.targets", targets)):
            if not isinstance(value, list):
                raise ValueError(f"{name!r} must be an array, got {_json_type(value)}")
        fields = {"id": "", "started_at": "", "ended_at": "", "wall_s": 0.0, "prompt": "", "complete": True,
                  "settings": {}, "loop_lag_max_s": None, "version": ""}
        values = _checked_fields(cls, {k: run.get(k, default) for k, default in fields.items()}, "run")
        values["settings"] = dict(values["settings"] or {})  # checked by ProbeSettings.from_json
        values["results"] = tuple(ProbeResult.from_dict(r, f"results[{i}]") for i, r in enumerate(results))
        values["skipped"] = tuple(Skipped(**_checked_fields(Skipped, s, f"run.skipped[{i}]"))
                                  for i, s in enumerate(skipped))
        values["targets"] = tuple(TargetInfo.from_dict(t, f"run.targets[{i}]") for i, t in enumerate(targets))
        return cls(**values)


# -- reading documents people may have edited -------------------------------------------------
# The annotation of each dataclass field says which JSON values it takes; checking them here
# means every report, store and view downstream can trust a loaded result's types.
_JSON_TYPES: dict[str, tuple[str, Any]] = {
    "str": ("a string", lambda v: isinstance(v, str)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "int": ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "float": ("a finite number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)
              and _finite(v)),
    "ErrorKind": (f"one of {', '.join(k.value for k in ErrorKind)}", lambda v: v in _ERROR_KINDS),
    "dict[str, Any]": ("an object", lambda v: isinstance(v, dict)),
    "ProbeSettings": ("an object", lambda v: isinstance(v, dict)),
    "ServerTimings": ("an object", lambda v: isinstance(v, dict)),
    "None": ("null", lambda v: v is None),
}
_ERROR_KINDS = {k.value for k in ErrorKind}


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str | int | float | bool | type(None)) else _json_type(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _checked_fields(cls: type, data: Any, where: str) -> dict[str, Any]:
    """The keyword arguments for `cls` from `data`, each value checked against its field's type."""
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be an object, got {_json_type(data)}")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ValueError(f"{where}: field {f.name!r} is missing")
            continue
        value = data[f.name]
        alternatives = [t.strip() for t in str(f.type).split(" | ")]
        checks = [_JSON_TYPES[t] for t in alternatives if t in _JSON_TYPES]
        if checks and not any(accepts(value) for _, accepts in checks):
            wanted = " or ".join(name for name, _ in checks)
            raise ValueError(f"{where}: field {f.name!r} must be {wanted}, got {_shown(value)}")
        if f.name == "error_kind" and value is not None:
            value = ErrorKind(value)
        elif "ServerTimings" in alternatives and value is not None:
            value = ServerTimings.from_dict(value, f"{where}: field {f.name!r}")
        elif "float" in alternatives and isinstance(value, int):
            value = float(value)
        kwargs[f.name] = value
    return kwargs
