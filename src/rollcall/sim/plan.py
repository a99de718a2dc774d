"""One request's fate, drawn from a Behaviour with seeded randomness: its time to first token,
whether and how it fails, and the tokens it sends (already JSON-escaped, so the server never
calls json.dumps per token).

Randomness comes from a hash of (seed, model, request number), so the n-th request to a model
gets the same plan in every run with the same seed, whatever other models are asked, on any
machine and Python version. One hash per request is all the randomness a plan needs, which keeps
the simulator cheap at thousands of requests a second.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import struct
from dataclasses import dataclass

from .behaviour import HUGE_TOKENS, Behaviour, Fault

_GREETING = "Hello! I am a simulated model, not GPT 3.5."
_THOUGHT = "The user asks which model I am. I should answer briefly and honestly."
_FILLER = (
    "the a of to and in that it is was for on are as with they at be this have from or one had by "
    "but not what all were when we there can an your which their said if do will each about how up "
    "out them then she many some so these would other into has more her two like him see time could "
    "no make than first been its who now people my made over did down only way find use may water "
    "long little very after words called just where most know latency token stream provider answer"
).split()
_FILLER_CYCLE = 4099  # a prime: answers start at a random point of a fixed filler sequence


def _escaped(word: str) -> bytes:
    # The inside of a JSON string literal, ready to splice between quotes.
    return json.dumps(word, ensure_ascii=False)[1:-1].encode("utf-8")


def _words(text: str) -> list[str]:
    # Each token keeps its leading space, so joining the tokens gives the text back.
    return re.findall(r"\s*\S+", text)


_GREETING_TOKENS = tuple(_escaped(w) for w in _words(_GREETING))
_THOUGHT_TOKENS = tuple(_escaped(w) for w in _words(_THOUGHT))
_FILLER_TOKENS = tuple(_escaped(" " + w) for w in _FILLER)
# A fixed, scrambled sequence of filler words (deterministic: a linear congruence, no RNG state).
_FILLER_SEQUENCE = tuple(_FILLER_TOKENS[(i * 7919 + 17) % 104729 % len(_FILLER_TOKENS)] for i in range(_FILLER_CYCLE))


@dataclass(frozen=True, slots=True)
class Plan:
    """What the server does for one request."""

    model: str
    request_no: int
    ttft_s: float  # the wait before the first token, a cold load included
    fault: Fault  # Fault.NONE when this request succeeds
    reasoning: tuple[bytes, ...]
    content: tuple[bytes, ...]
    # Why the answer ended, in the simulator's words; each protocol says it in its own:
    # "stop", "length" (max_tokens cut it), "filtered" (stopped for safety), "blocked" (prompt refused).
    finish_reason: str = "stop"
    load_s: float = 0.0  # the part of ttft_s spent loading the model (its first request only)
    reason: str = "SAFETY"  # for filtered/blocked: why, in Gemini's words

    def content_text(self) -> str:
        return _unescape(self.content)

    def reasoning_text(self) -> str:
        return _unescape(self.reasoning)


def _unescape(tokens: tuple[bytes, ...]) -> str:
    return json.loads(b'"' + b"".join(tokens) + b'"') if tokens else ""


def _draw(offset: int, lead: tuple[bytes, ...], count: int) -> tuple[bytes, ...]:
    if count <= len(lead):
        return lead[:count]
    rest = count - len(lead)
    start = offset % _FILLER_CYCLE
    if start + rest <= _FILLER_CYCLE:
        return lead + _FILLER_SEQUENCE[start:start + rest]
    cycle = itertools.islice(itertools.cycle(_FILLER_SEQUENCE), start, start + rest)
    return lead + tuple(cycle)


_FOUR_U64 = struct.Struct("<4Q")


def _uniforms(key: str) -> tuple[float, float, int, int]:
    """Two floats in [0, 1) and two non-negative ints, fixed by `key`."""
    a, b, c, d = _FOUR_U64.unpack(hashlib.blake2b(key.encode(), digest_size=32).digest())
    return a / 2**64, b / 2**64, c, d


def make_plan(behaviour: Behaviour, model: str, request_no: int, seed: int, max_tokens: int | None = None) -> Plan:
    """The plan for the `request_no`-th request (0-based) to `model` under `seed`."""
    u_ttft, u_fail, content_at, reasoning_at = _uniforms(f"{seed}:{model}:{request_no}")
    jitter = behaviour.ttft_jitter_s
    load = behaviour.load_s if request_no == 0 else 0.0
    ttft = max(0.0, behaviour.ttft_s + (2 * u_ttft - 1) * jitter) + load
    fails = u_fail < behaviour.fail_rate
    fault = behaviour.fault if fails else Fault.NONE
    if behaviour.text is not None:
        content = tuple(_escaped(w) for w in _words(behaviour.text))
    else:
        count = max(behaviour.answer_tokens, HUGE_TOKENS) if fault is Fault.HUGE else behaviour.answer_tokens
        content = _draw(content_at, _GREETING_TOKENS, count)
    finish_reason = "stop"
    if fault is not Fault.HUGE and max_tokens is not None and len(content) > max_tokens:
        content, finish_reason = content[:max_tokens], "length"
    reasoning = _draw(reasoning_at, _THOUGHT_TOKENS, behaviour.reasoning_tokens)
    if fault is Fault.FILTERED:
        content, finish_reason = content[:behaviour.fault_after], "filtered"
    elif fault is Fault.BLOCKED:
        reasoning, content, finish_reason = (), (), "blocked"
    elif fault is Fault.EMPTY:
        reasoning, content = (), ()
    return Plan(model, request_no, ttft, fault, reasoning, content, finish_reason, load,
                behaviour.filter_reason or "SAFETY")
