"""What a load run asks for, parsed and validated where it enters: stage lists, durations, SLOs,
synthetic prompt sizes. Every error is a SpecError whose message names the flag and the value.

Pure parsing, no I/O: the command line and other programs build a LoadSpec through here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..settings import SWITCH, TEXT, Declared, ValueType, count, setting

# Per-request SLOs a user can set, and the record field each one bounds (seconds).
SLO_FIELDS = {"ttft": "ttft_s", "ttfo": "ttfo_s", "tpot": "tpot_s", "itl": "itl_max_s", "e2e": "e2e_s"}
MODES = ("concurrency", "rate")
DEFAULT_REQUESTS = 100
DEFAULT_TIMEOUT_S = 60.0
MAX_STAGES = 64
MAX_CONCURRENCY = 100_000
MAX_RATE = 1_000_000.0



class SpecError(ValueError):
    """A load setting that cannot be used; str() is one line naming the flag: `--rate: ...`."""


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a number") from None


NUMBER = ValueType("number", _number, (int, float), "B")
SEED = ValueType("integer", lambda v: int(count(-(2**63), 2**63 - 1).parse(v)), (int,), "N")


CLIENTS = ("aiohttp", "wire")  # rollcall.wire.make_client builds them


def _client(value: Any) -> str:
    if value not in CLIENTS:
        raise ValueError(f"{value!r} is not a client: choose {' or '.join(CLIENTS)}")
    return str(value)


@dataclass(frozen=True, slots=True)
class LoadOptions(Declared):
    """The options of `rollcall load run` that are its own (it shares --prompt, -m, --timeout,
    the HTTP deadlines and the outputs with `run`: the same declarations). Lists and specs are
    kept as given here and parsed into a LoadSpec, where they meet (`--rate` or `--concurrency`)."""

    concurrency: str | None = setting(None, flag="--concurrency", type=TEXT, metavar="LIST",
                                      help="Closed loop: keep N requests in flight, one stage per value "
                                           "(e.g. 1,8,32,128).")
    rate: str | None = setting(None, flag="--rate", type=TEXT, metavar="LIST",
                               help="Open loop: send requests at R per second on a schedule, one stage per value "
                                    "(e.g. 1,5,20).")
    burstiness: float | None = setting(None, flag="--burstiness", type=NUMBER, metavar="B",
                                       help="Open loop: gamma arrivals of shape B (1 = Poisson, the default; below 1 "
                                            "burstier; large B nearly evenly spaced).")
    max_concurrency: int | None = setting(None, flag="--max-concurrency", type=count(1, MAX_CONCURRENCY),
                                          help="Open loop: at most N requests in flight; waits are reported as "
                                               "queue time.")
    requests: int | None = setting(None, flag="-n/--requests", type=count(1),
                                   help="Requests per stage after the warm-up [default: 100 unless --duration].")
    duration: str | None = setting(None, flag="-d/--duration", type=TEXT, metavar="DURATION",
                                   help="Length of each stage instead (30s, 5m, 1h).")
    warmup: int = setting(0, flag="--warmup", type=count(0), show_default=True,
                          help="Requests per stage whose results are dropped (chosen by send time, before the "
                               "stage's own).")
    slo: str | None = setting(None, flag="--slo", type=TEXT, metavar="SPEC",
                              help="Per-request targets for goodput: ttft, ttfo, tpot, itl (largest gap), e2e in "
                                   "seconds, e.g. ttft=0.5,tpot=50ms.")
    prompts: str | None = setting(None, flag="--prompts", type=TEXT, metavar="FILE.jsonl",
                                  help='Prompts in turn, one per line ({"prompt": "..."} or a JSON string).')
    input_tokens: str | None = setting(None, flag="--input-tokens", type=TEXT, metavar="N[:SPREAD]",
                                       help="Synthetic prompts of about N tokens (± SPREAD, uniform), seeded.")
    max_tokens: int | None = setting(None, flag="--max-tokens", type=count(1), help="max_tokens of each request.")
    ignore_eos: bool = setting(False, flag="--ignore-eos", type=SWITCH,
                               help='Send "ignore_eos": true (vLLM and others: always answer max-tokens tokens).')
    extra_body: str | None = setting(None, flag="--extra-body", type=TEXT, metavar="JSON",
                                     help="JSON object of extra request fields for HTTP targets.")
    kind: str = setting("openai", flag="--kind", type=TEXT, metavar="KIND",
                        help="Kind of a TARGET given as a base URL (any kind with a base_url; `rollcall kinds`).")
    api_key_env: str | None = setting(None, flag="--api-key-env", type=TEXT, metavar="VAR",
                                      help="For a base URL: read the API key from this environment variable.")
    client: str = setting("wire", flag="--client", type=ValueType("client", _client, (str,), "aiohttp|wire"),
                          show_default=True,
                          help="HTTP client of the load: wire (rollcall's lean HTTP/1.1 client, about half aiohttp's "
                               "CPU per request in bench/load_peers.py; through a proxy it hands over to "
                               "aiohttp) or aiohttp (what probes use).")
    seed: int = setting(0, flag="--seed", type=SEED, show_default=True,
                        help="Seed of the arrival schedule and prompts.")
    workers: int | None = setting(None, flag="-w/--workers", type=count(1, 4096),
                                  help="Worker processes, each with its own event loop and connections; a stage's "
                                       "users or arrivals are split among them [default: this machine's cores; 1 "
                                       "runs in this process]. With --ray: actors [default: one per CPU of the "
                                       "cluster].")
    ray_address: str | None = setting(None, flag="--ray", type=TEXT, metavar="[ADDRESS]", flag_value="default",
                                      help="Run the workers as Ray actors across a cluster (pip install "
                                           "'rollcall[ray]'): ADDRESS is auto (a cluster started with `ray start`), "
                                           "host:port, ray://host:port or local; alone, Ray's own discovery "
                                           "(RAY_ADDRESS, else a new local Ray).")


def parse_duration(text: str, flag: str) -> float:
    """`30`, `30s`, `500ms`, `5m`, `1h`, `7d`, `1h30m` -> seconds (rollcall.durations), longer than 0."""
    from ..durations import parse_duration as parse

    try:
        seconds = parse(text, flag)
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    if not seconds > 0:
        raise SpecError(f"{flag}: {text!r} must be longer than 0")
    return seconds


def _items(text: str, flag: str) -> list[str]:
    items = [item.strip() for item in str(text).split(",")]
    if not any(items):
        raise SpecError(f"{flag}: give a comma-separated list such as 1,8,32")
    if any(not item for item in items):
        raise SpecError(f"{flag}: {text!r} has an empty item")
    if len(items) > MAX_STAGES:
        raise SpecError(f"{flag}: at most {MAX_STAGES} stages, got {len(items)}")
    return items


def _no_duplicates(values: list[Any], flag: str) -> None:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise SpecError(f"{flag}: {value:g} is given twice (each stage needs its own value)")
        seen.add(value)


def parse_concurrency_list(text: str, flag: str = "--concurrency") -> list[int]:
    """`1,8,32,128` -> [1, 8, 32, 128]: whole numbers from 1 to MAX_CONCURRENCY, each once."""
    values = []
    for item in _items(text, flag):
        if not item.isdigit() or not 1 <= int(item) <= MAX_CONCURRENCY:
            raise SpecError(f"{flag}: {item!r} is not a whole number from 1 to {MAX_CONCURRENCY:,}")
        values.append(int(item))
    _no_duplicates(values, flag)
    return values


def parse_rate_list(text: str, flag: str = "--rate") -> list[float]:
    """`0.5,5,20` -> requests per second: finite numbers greater than 0, each once."""
    values = []
    for item in _items(text, flag):
        try:
            rate = float(item)
        except ValueError:
            rate = math.nan
        if not (0 < rate <= MAX_RATE):
            raise SpecError(f"{flag}: {item!r} is not a rate in requests per second (0 < rate <= {MAX_RATE:,.0f})")
        values.append(rate)
    _no_duplicates(values, flag)
    return values


def parse_slo(text: str, flag: str = "--slo") -> dict[str, float]:
    """`ttft=0.5,tpot=50ms` -> {"ttft": 0.5, "tpot": 0.05}; names from SLO_FIELDS."""
    slos: dict[str, float] = {}
    for item in _items(text, flag):
        name, sep, value = item.partition("=")
        name = name.strip().lower()
        if not sep:
            raise SpecError(f"{flag}: expected NAME=SECONDS such as ttft=0.5, got {item!r}")
        if name not in SLO_FIELDS:
            raise SpecError(f"{flag}: unknown SLO {name!r} (known: {', '.join(SLO_FIELDS)})")
        if name in slos:
            raise SpecError(f"{flag}: {name} is given twice")
        slos[name] = parse_duration(value, f"{flag} {name}")
    return slos


def parse_input_tokens(text: str, flag: str = "--input-tokens") -> tuple[int, int]:
    """`512` or `512:64` -> (mean, spread): prompts of mean ± spread tokens, uniformly drawn."""
    mean, sep, spread = str(text).partition(":")
    mean, spread = mean.strip(), spread.strip() if sep else "0"
    if not mean.isdigit() or not 1 <= int(mean) <= 1_000_000:
        raise SpecError(f"{flag}: {text!r} needs a whole number of tokens from 1 to 1,000,000 (e.g. 512 or 512:64)")
    if not spread.isdigit() or int(spread) >= int(mean):
        raise SpecError(f"{flag}: the spread in {text!r} must be a whole number below the mean (e.g. 512:64)")
    return int(mean), int(spread)


def parse_burstiness(value: float, flag: str = "--burstiness") -> float:
    if not (0 < value < math.inf):
        raise SpecError(f"{flag}: {value!r} must be a number greater than 0 (1 = Poisson)")
    return float(value)


@dataclass(frozen=True, slots=True)
class StageSpec:
    """One stage: a closed loop of `concurrency` users, or an open loop at `rate` requests/s."""

    index: int
    mode: str
    value: float  # the concurrency (a whole number) or the rate

    @property
    def label(self) -> str:
        return f"concurrency {self.value:g}" if self.mode == "concurrency" else f"rate {self.value:g}/s"


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """Everything a load run does, validated. `requests` or `duration_s` bounds each stage."""

    mode: str
    values: tuple[float, ...]
    requests: int | None = DEFAULT_REQUESTS
    duration_s: float | None = None
    warmup: int = 0
    burstiness: float = 1.0
    max_concurrency: int | None = None  # open loop: in-flight cap (waits count as queue time)
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_tokens: int | None = None
    slo: dict[str, float] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SpecError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if not self.values:
            raise SpecError(f"--{self.mode}: give at least one value")
        if (self.requests is None) == (self.duration_s is None):
            raise SpecError("--requests/--duration: give exactly one of them per stage")
        if self.requests is not None and self.requests < 1:
            raise SpecError("--requests: must be at least 1")
        if self.warmup < 0:
            raise SpecError("--warmup: must be 0 or more")
        if not (0 < self.timeout_s < math.inf):
            raise SpecError("--timeout: must be a number of seconds greater than 0")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise SpecError("--max-tokens: must be at least 1")
        if self.max_concurrency is not None and self.max_concurrency < 1:
            raise SpecError("--max-concurrency: must be at least 1")
        if self.max_concurrency is not None and self.mode != "rate":
            raise SpecError("--max-concurrency: only for --rate stages (--concurrency already is the cap)")
        parse_burstiness(self.burstiness)
        for name in self.slo:
            if name not in SLO_FIELDS:
                raise SpecError(f"--slo: unknown SLO {name!r}")

    @property
    def stages(self) -> list[StageSpec]:
        return [StageSpec(i, self.mode, v) for i, v in enumerate(self.values)]

    @property
    def max_in_flight(self) -> int:
        """The most requests ever in flight at once: what the connection pool must allow so that
        no request waits for a connection unseen."""
        if self.mode == "concurrency":
            return int(max(self.values))
        return self.max_concurrency or 10_000

    def settings(self) -> dict[str, Any]:
        """The run's settings as they appear in the JSON document."""
        return {
            "mode": self.mode,
            "values": list(self.values),
            "requests": self.requests,
            "duration_s": self.duration_s,
            "warmup": self.warmup,
            "burstiness": self.burstiness if self.mode == "rate" else None,
            "max_concurrency": self.max_concurrency,
            "timeout_s": self.timeout_s,
            "max_tokens": self.max_tokens,
            "slo": dict(self.slo),
            "seed": self.seed,
        }
