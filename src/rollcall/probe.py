"""One probe: call a target once under a deadline, stamp every event, classify the outcome.

No failure escapes a probe: whatever the target does, the caller gets a ProbeResult. The only
thing that propagates is cancellation of the caller itself.
"""

from __future__ import annotations

import asyncio
import time

from .classification import classify, describe
from .fdlimit import OUT_OF_FILES, exhausted_locally
from .models import ErrorKind, ProbeResult
from .redact import redact
from .targets.base import Content, Headers, ProbeError, ProbeRequest, ReasoningDelta, Started, Target, Usage
from .timing import utc_now_iso

DEFAULT_MAX_OUTPUT_CHARS = 1_000_000
# How much of an answer (and of its reasoning) a result keeps; `output_chars` counts all of it.
# Bounded so a huge answer costs little memory and little time to scrub of secrets.
KEEP_TEXT_CHARS = 100_000


def estimate_tokens(chars: int, chunks: int) -> int:
    """Token count when the server gives none: streams send about one token per chunk, and
    whole answers in one chunk average about four characters per token; take the larger."""
    return max(chunks, round(chars / 4))


class _Measurement:
    """Accumulates what a stream produced and when, relative to t0."""

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.status: int | None = None
        self.headers_at: float | None = None
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.max_gap: float | None = None
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.kept_text = self.kept_reasoning = 0
        self.chars = 0
        self.chunks = 0
        self.usage_tokens: int | None = None
        self.dispatch_s = 0.0  # the target's own start-up delay, reported as queue time

    def _token_at(self, at: float) -> None:
        if self.first_at is None:
            self.first_at = at
        elif self.last_at is not None:
            gap = at - self.last_at
            if self.max_gap is None or gap > self.max_gap:
                self.max_gap = gap
        self.last_at = at

    def add(self, event: object, at: float) -> None:
        if isinstance(event, Content):
            if event.text:
                self._token_at(at)
                if self.kept_text < KEEP_TEXT_CHARS:
                    self.text.append(event.text)
                    self.kept_text += len(event.text)
                self.chars += len(event.text)
                self.chunks += 1
        elif isinstance(event, ReasoningDelta):
            if event.text:
                self._token_at(at)
                if self.kept_reasoning < KEEP_TEXT_CHARS:
                    self.reasoning.append(event.text)
                    self.kept_reasoning += len(event.text)
        elif isinstance(event, Headers):
            self.status = event.status
            if self.headers_at is None:
                self.headers_at = at
        elif isinstance(event, Started):
            if self.first_at is None and self.headers_at is None and at > self.t0:
                self.dispatch_s += at - self.t0
                self.t0 = at
        elif isinstance(event, Usage):
            if event.completion_tokens is not None:
                self.usage_tokens = event.completion_tokens

    def rel(self, at: float | None) -> float | None:
        return None if at is None else max(0.0, at - self.t0)


async def run_probe(
    target: Target,
    request: ProbeRequest,
    *,
    timeout_s: float,
    queue_s: float = 0.0,
    attempt: int = 1,
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
) -> ProbeResult:
    """Probe `target` once. The deadline covers the whole call, connect to last token."""
    started_at = utc_now_iso()
    t0 = time.perf_counter()
    m = _Measurement(t0)
    error_kind: ErrorKind | None = None
    error: str | None = None
    status: int | None = None
    retry_after: float | None = None
    deadline = asyncio.timeout(timeout_s)
    stream = target.stream(request)
    try:
        async with deadline:
            async for event in stream:
                m.add(event, getattr(event, "at", None) or time.perf_counter())
                if m.chars > max_output_chars:
                    raise ProbeError(
                        ErrorKind.BAD_RESPONSE, f"answer exceeded the cap of {max_output_chars:,} characters"
                    )
    except TimeoutError as exc:
        if deadline.expired():
            error_kind = ErrorKind.TIMEOUT
            phase = "first token" if m.first_at is None else "end of answer"
            error = f"Timeout: no {phase} within {timeout_s:g} s"
        else:
            error_kind, status, retry_after = classify(exc)
            error = describe(exc)
    except Exception as exc:  # noqa: BLE001 - a probe turns every failure into a result
        if exhausted_locally(exc):  # our descriptor limit, not the provider's fault
            error_kind, error = ErrorKind.CANCELLED, OUT_OF_FILES
        else:
            error_kind, status, retry_after = classify(exc)
            error = describe(exc)
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            try:
                async with asyncio.timeout(1.0):
                    await aclose()
            except Exception:  # noqa: BLE001 - closing a broken stream may fail; the result stands
                pass
    end = time.perf_counter()

    text = "".join(m.text)[:KEEP_TEXT_CHARS]
    if error_kind is None and not text.strip():
        error_kind = ErrorKind.EMPTY
        error = "Empty: the call succeeded but produced no answer" + (
            " (reasoning only)" if m.reasoning else ""
        )
    if m.usage_tokens is not None:
        tokens, estimated = m.usage_tokens, False
    elif text:
        tokens, estimated = estimate_tokens(m.chars, m.chunks), True
    else:
        tokens, estimated = None, False
    tokens_per_s = None
    if tokens and tokens > 1 and m.first_at is not None and m.last_at is not None and m.last_at > m.first_at:
        tokens_per_s = (tokens - 1) / (m.last_at - m.first_at)

    return ProbeResult(
        target=target.name,
        kind=target.kind,
        model=request.model,
        ok=error_kind is None,
        error_kind=error_kind,
        error=error,
        status=status if status is not None else m.status,
        queue_s=queue_s + m.dispatch_s,
        headers_s=m.rel(m.headers_at),
        ttft_s=m.rel(m.first_at),
        total_s=end - m.t0,
        output_chars=m.chars,
        output_tokens=tokens,
        output_tokens_estimated=estimated,
        tokens_per_s=tokens_per_s,
        text=redact(text) or "",
        reasoning=redact("".join(m.reasoning)[:KEEP_TEXT_CHARS]) or "",
        started_at=started_at,
        attempt=attempt,
        retry_after_s=retry_after,
        max_gap_s=m.max_gap,
    )
