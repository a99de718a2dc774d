"""One request's fate, drawn from a Behaviour with seeded randomness: its time to first token,
whether and how it fails, and the tokens it sends (already JSON-escaped, so the server never
calls json.dumps per token).

The random generator is seeded from (seed, model, request number), so the n-th request to a
model gets the same plan in every run with the same seed, whatever other models are asked.
"""

from __future__ import annotations

import itertools
import json
import random
import re
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
_CYCLE = 512  # longer answers repeat a drawn block of this many filler words


def _escaped(word: str) -> bytes:
    # The inside of a JSON string literal, ready to splice between quotes.
    return json.dumps(word, ensure_ascii=False)[1:-1].encode("utf-8")


def _words(text: str) -> list[str]:
    # Each token keeps its leading space, so joining the tokens gives the text back.
    return re.findall(r"\s*\S+", text)


_GREETING_TOKENS = tuple(_escaped(w) for w in _words(_GREETING))
_THOUGHT_TOKENS = tuple(_escaped(w) for w in _words(_THOUGHT))
_FILLER_TOKENS = tuple(_escaped(" " + w) for w in _FILLER)


@dataclass(frozen=True, slots=True)
class Plan:
    """What the server does for one request."""

    model: str
    request_no: int
    ttft_s: float
    fault: Fault  # Fault.NONE when this request succeeds
    reasoning: tuple[bytes, ...]
    content: tuple[bytes, ...]
    finish_reason: str = "stop"  # "length" when the request's max_tokens cut the answer

    def content_text(self) -> str:
        return _unescape(self.content)

    def reasoning_text(self) -> str:
        return _unescape(self.reasoning)


def _unescape(tokens: tuple[bytes, ...]) -> str:
    return json.loads(b'"' + b"".join(tokens) + b'"') if tokens else ""


def _draw(rng: random.Random, lead: tuple[bytes, ...], count: int) -> tuple[bytes, ...]:
    if count <= len(lead):
        return lead[:count]
    block = tuple(rng.choice(_FILLER_TOKENS) for _ in range(min(count - len(lead), _CYCLE)))
    return lead + tuple(itertools.islice(itertools.cycle(block), count - len(lead)))


def make_plan(behaviour: Behaviour, model: str, request_no: int, seed: int, max_tokens: int | None = None) -> Plan:
    """The plan for the `request_no`-th request (0-based) to `model` under `seed`."""
    rng = random.Random(f"{seed}:{model}:{request_no}")
    jitter = behaviour.ttft_jitter_s
    ttft = max(0.0, behaviour.ttft_s + (rng.uniform(-jitter, jitter) if jitter else 0.0))
    fails = rng.random() < behaviour.fail_rate
    fault = behaviour.fault if fails else Fault.NONE
    if behaviour.text is not None:
        content = tuple(_escaped(w) for w in _words(behaviour.text))
    else:
        count = max(behaviour.answer_tokens, HUGE_TOKENS) if fault is Fault.HUGE else behaviour.answer_tokens
        content = _draw(rng, _GREETING_TOKENS, count)
    finish_reason = "stop"
    if fault is not Fault.HUGE and max_tokens is not None and len(content) > max_tokens:
        content, finish_reason = content[:max_tokens], "length"
    reasoning = _draw(rng, _THOUGHT_TOKENS, behaviour.reasoning_tokens)
    if fault is Fault.EMPTY:
        reasoning, content = (), ()
    return Plan(model, request_no, ttft, fault, reasoning, content, finish_reason)
