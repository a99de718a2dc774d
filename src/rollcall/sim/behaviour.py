"""How one simulated model behaves: timing, answer length, and the way it fails (a Behaviour),
plus the `sim:key=value,...` model-name syntax that sets a behaviour per request.

Pure data and parsing; the server (server.py) turns a Behaviour into bytes on the wire.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SPEC_PREFIX = "sim:"


class BehaviourError(ValueError):
    """A behaviour setting that cannot be used; the message names the field and the value."""


class Fault(enum.StrEnum):
    """How a failing request fails. `none` answers normally."""

    NONE = "none"
    DROP = "drop"  # close the connection before any response byte
    RESET_MID_STREAM = "reset_mid_stream"  # TCP reset after `after` tokens
    HANG = "hang"  # accept the request, never send a byte
    TRICKLE = "trickle"  # headers, then one byte every TRICKLE_INTERVAL_S forever, never an event
    STATUS = "status"  # the protocol's JSON error with `status` (401/403/429/500/503, 529...)
    HTML = "html"  # a Cloudflare-style challenge page with `status` 200 (default) or 403
    INVALID_JSON = "invalid_json"  # a chunk (or body) that is not JSON
    INVALID_UTF8 = "invalid_utf8"  # a chunk (or body) with bytes that are not UTF-8
    ERROR_EVENT = "error_event"  # the protocol's in-stream error (`event: error`...) after `after` tokens
    ERROR_CHUNK = "error_chunk"  # a plain `data: {"error": ...}` chunk (OpenRouter style); 200 + error body unstreamed
    NO_DONE = "no_done"  # the whole answer, then the stream ends without its end marker (`data: [DONE]`...)
    EMPTY = "empty"  # success with no content at all
    ENDLESS = "endless"  # valid tokens forever, never finishes
    HUGE = "huge"  # a very long answer (at least HUGE_TOKENS tokens) as fast as possible
    FILTERED = "filtered"  # the answer stops after `after` tokens for a safety `reason` (Gemini SAFETY...)
    BLOCKED = "blocked"  # the prompt is refused, 200 and no answer (Gemini promptFeedback.blockReason)


# Faults that happen after some tokens were sent; `after` says how many (default below).
MID_STREAM = frozenset({Fault.RESET_MID_STREAM, Fault.INVALID_JSON, Fault.INVALID_UTF8,
                        Fault.ERROR_EVENT, Fault.ERROR_CHUNK})
# Faults that replace the whole response, so the answer settings never matter.
WHOLE_REQUEST = frozenset({Fault.DROP, Fault.HANG, Fault.TRICKLE, Fault.STATUS, Fault.HTML})
HUGE_TOKENS = 250_000
DEFAULT_STATUS = {Fault.STATUS: 500, Fault.HTML: 200}
DEFAULT_RETRY_AFTER_S = 7.0
# Why an answer was filtered or a prompt blocked, in Gemini's words (its FinishReason and
# BlockReason enums); the protocols without such a vocabulary send their one safety signal.
FINISH_REASONS = frozenset({"SAFETY", "RECITATION", "LANGUAGE", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "OTHER"})
BLOCK_REASONS = frozenset({"SAFETY", "BLOCKLIST", "PROHIBITED_CONTENT", "IMAGE_SAFETY", "OTHER"})
DEFAULT_REASON = "SAFETY"


@dataclass(frozen=True, slots=True)
class Behaviour:
    """One simulated model.

    Each request draws its own time to first token uniformly from ttft_s ± ttft_jitter_s, and
    fails with probability `fail_rate` in the way `fault` says. `fail_rate` defaults to 1 when a
    fault is given and 0 otherwise; a fail_rate with no fault fails with HTTP 500.
    """

    ttft_s: float = 0.1
    ttft_jitter_s: float = 0.0
    tokens_per_s: float = 100.0  # 0 means as fast as the socket takes them
    answer_tokens: int = 20
    reasoning_tokens: int = 0  # reasoning sent before the answer, whatever the request's thinking settings
    fault: Fault = Fault.NONE
    fail_rate: float | None = None
    status: int | None = None  # for fault status/html (and error_event's type); alone it implies fault=status
    retry_after_s: float | None = None  # Retry-After header on errors; default 7 s on 429
    after_tokens: int | None = None  # tokens before a mid-stream fault; default half the answer
    text: str | None = None  # a fixed answer (split on spaces into tokens) instead of filler words
    load_s: float = 0.0  # a cold model load: the first request to this model waits this much more
    filter_reason: str | None = None  # for fault filtered/blocked: SAFETY (default), RECITATION...
    echo_key: bool = False  # error messages quote the API key the request carried (as some providers do)

    def __post_init__(self) -> None:
        # Normalise so that two spellings of the same behaviour compare equal.
        fault = _fault(self.fault, "fault")
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        set_("ttft_s", _number(self.ttft_s, "ttft", minimum=0.0))
        set_("ttft_jitter_s", _number(self.ttft_jitter_s, "jitter", minimum=0.0))
        set_("tokens_per_s", _number(self.tokens_per_s, "tps", minimum=0.0))
        set_("answer_tokens", _integer(self.answer_tokens, "tokens", minimum=0))
        set_("reasoning_tokens", _integer(self.reasoning_tokens, "reasoning", minimum=0))
        if self.status is not None:
            set_("status", _integer(self.status, "status", minimum=100, maximum=599))
            if fault is Fault.NONE:
                fault = Fault.STATUS
        if fault in DEFAULT_STATUS and self.status is None:
            set_("status", DEFAULT_STATUS[fault])
        if self.fail_rate is None:
            rate = 0.0 if fault is Fault.NONE else 1.0
        else:
            rate = _number(self.fail_rate, "fail_rate", minimum=0.0, maximum=1.0)
        if rate > 0 and fault is Fault.NONE:
            fault = Fault.STATUS
            set_("status", DEFAULT_STATUS[Fault.STATUS])
        set_("fault", fault)
        set_("fail_rate", rate)
        if self.retry_after_s is not None:
            set_("retry_after_s", _number(self.retry_after_s, "retry_after", minimum=0.0))
        elif fault is Fault.STATUS and self.status == 429:
            set_("retry_after_s", DEFAULT_RETRY_AFTER_S)
        if self.after_tokens is not None:
            set_("after_tokens", _integer(self.after_tokens, "after", minimum=0))
        if self.text is not None and not isinstance(self.text, str):
            raise BehaviourError(f"text must be a string, got {self.text!r}")
        set_("load_s", _number(self.load_s, "load", minimum=0.0))
        set_("echo_key", _boolean(self.echo_key, "echo_key"))
        if self.filter_reason is not None or fault in (Fault.FILTERED, Fault.BLOCKED):
            set_("filter_reason", _reason(self.filter_reason, fault))

    @property
    def fault_after(self) -> int:
        """Content tokens sent before a mid-stream fault."""
        return self.after_tokens if self.after_tokens is not None else self.answer_tokens // 2

    def describe(self) -> str:
        """One line for people, e.g. `ttft 0.2±0.05 s, 50 tok/s, 20 tokens, reset_mid_stream`."""
        ttft = f"ttft {self.ttft_s:g}" + (f"±{self.ttft_jitter_s:g}" if self.ttft_jitter_s else "") + " s"
        fault = str(self.fault) + (f" {self.status}" if self.fault in DEFAULT_STATUS else "")
        if self.fail_rate >= 1 and self.fault in WHOLE_REQUEST:
            # The answer settings never show; say only what the client sees.
            return fault if self.fault in (Fault.HANG, Fault.TRICKLE) else f"{fault} after {self.ttft_s:g} s"
        huge = self.fault is Fault.HUGE
        parts = [ttft, f"{self.tokens_per_s:g} tok/s" if self.tokens_per_s and not huge else "unpaced"]
        parts.append("huge answer" if huge and self.fail_rate >= 1 else f"{self.answer_tokens} tokens")
        if self.reasoning_tokens:
            parts.append(f"{self.reasoning_tokens} reasoning first")
        if self.load_s:
            parts.append(f"cold load {self.load_s:g} s")
        if self.fault in (Fault.FILTERED, Fault.BLOCKED):
            fault += f" {self.filter_reason}"
        if self.fault is not Fault.NONE and not (huge and self.fail_rate >= 1):
            parts.append(fault + (f" {self.fail_rate:.0%} of the time" if self.fail_rate < 1 else ""))
        return ", ".join(parts)


# Short names (the model-name syntax and fleet files) for the Behaviour fields.
ALIASES: Mapping[str, str] = {
    "ttft": "ttft_s",
    "jitter": "ttft_jitter_s",
    "tps": "tokens_per_s",
    "tokens": "answer_tokens",
    "reasoning": "reasoning_tokens",
    "fault": "fault",
    "fail": "fail_rate",
    "fail_rate": "fail_rate",
    "status": "status",
    "retry_after": "retry_after_s",
    "after": "after_tokens",
    "text": "text",
    "load": "load_s",
    "reason": "filter_reason",
    "echo_key": "echo_key",
}
FIELDS = frozenset(f.name for f in dataclasses.fields(Behaviour))


def field_name(key: str) -> str | None:
    """The Behaviour field a fleet-file or model-name key sets (short or full name), or None."""
    key = key.strip().lower().replace("-", "_")
    return ALIASES.get(key) or (key if key in FIELDS else None)


def from_mapping(values: Mapping[str, Any], where: str) -> Behaviour:
    """Build a Behaviour from short or full key names; errors start with `where`."""
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        name = field_name(str(key))
        if name is None:
            known = ", ".join(sorted(ALIASES))
            raise BehaviourError(f"{where}: unknown setting {key!r} (known: {known})")
        if name == "fault" and isinstance(value, (int, str)) and str(value).strip().isdigit():
            # `fault=429` is shorthand for `status=429`.
            name, value = "status", int(str(value).strip())
        elif name == "fault" and str(value).strip().lower() == "reasoning":
            # "reasoning then content" is a behaviour, not a failure; keep the spelling working.
            kwargs.setdefault("reasoning_tokens", 16)
            continue
        kwargs[name] = value
    try:
        return Behaviour(**kwargs)
    except BehaviourError as exc:
        raise BehaviourError(f"{where}: {exc}") from None


def parse_spec(model: str) -> Behaviour:
    """`sim:ttft=0.2,tps=50,tokens=20,fault=reset_mid_stream` -> Behaviour (BehaviourError if bad).

    Everything after the prefix is comma-separated key=value pairs; `sim:` alone is the default
    behaviour. Values are numbers, fault names, or (for text) words without commas.
    """
    if not model.startswith(SPEC_PREFIX):
        raise BehaviourError(f"model {model!r} does not start with {SPEC_PREFIX!r}")
    values: dict[str, str] = {}
    for item in model[len(SPEC_PREFIX):].split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise BehaviourError(f"model {model!r}: expected key=value, got {item!r}")
        values[key.strip()] = value.strip()
    return from_mapping(values, f"model {model!r}")


def _fault(value: object, name: str) -> Fault:
    try:
        return Fault(str(value).strip().lower())
    except ValueError:
        known = ", ".join(f.value for f in Fault)
        raise BehaviourError(f"{name} must be one of {known}; got {value!r}") from None


def _reason(value: object, fault: Fault) -> str:
    reason = DEFAULT_REASON if value is None else str(value).strip().upper()
    known = BLOCK_REASONS if fault is Fault.BLOCKED else FINISH_REASONS
    if reason not in known:
        what = "a blocked prompt's reason" if fault is Fault.BLOCKED else "reason"
        raise BehaviourError(f"{what} must be one of {', '.join(sorted(known))}; got {value!r}")
    return reason


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _boolean(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise BehaviourError(f"{name} must be true or false, got {value!r}")


def _number(value: object, name: str, *, minimum: float, maximum: float = math.inf) -> float:
    try:
        number = float(value) if not isinstance(value, bool) else math.nan  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    if not (minimum <= number <= maximum) or math.isinf(number):
        bound = f"between {minimum:g} and {maximum:g}" if maximum != math.inf else f"a number >= {minimum:g}"
        raise BehaviourError(f"{name} must be {bound}, got {value!r}")
    return number


def _integer(value: object, name: str, *, minimum: int, maximum: int | None = None) -> int:
    number = _number(value, name, minimum=minimum, maximum=math.inf if maximum is None else maximum)
    if number != int(number):
        raise BehaviourError(f"{name} must be a whole number, got {value!r}")
    return int(number)
