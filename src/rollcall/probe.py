"""One probe: call a target once under a deadline, stamp every event, classify the outcome.

No failure escapes a probe: whatever the target does, the caller gets a ProbeResult. The only
thing that propagates is cancellation of the caller itself.
"""

from __future__ import annotations

import asyncio
import time

from . import untrusted
from .classification import read_failure
from .models import ErrorKind, ProbeResult, ServerTimings
from .redact import clip, lookahead
from .targets.base import (
    Content,
    Headers,
    ProbeError,
    ProbeRequest,
    ReasoningDelta,
    Started,
    Target,
    Timings,
    Usage,
    server_timings,
    token_count,
)
from .timing import utc_now_iso

DEFAULT_MAX_OUTPUT_CHARS = 1_000_000
# How much of an answer (and of its reasoning) a result keeps; `output_chars` counts all of it.
# Bounded so a huge answer costs little memory and little time to scrub of secrets. A little more
# is collected (redact.lookahead()) so a secret across the cut is scrubbed whole before cutting.
KEEP_TEXT_CHARS = 100_000


def _plain(text: object) -> str:
    # Targets should yield exact strs; a str subclass from provider code must not run its own
    # __len__ or __add__ on the event loop.
    return text if type(text) is str else untrusted.text(text) or ""


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
        self.server_timings: ServerTimings | None = None
        self.dispatch_s = 0.0  # the target's own start-up delay, reported as queue time
        self.keep = KEEP_TEXT_CHARS + lookahead()

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
            text = _plain(event.text)
            if text:
                self._token_at(at)
                if self.kept_text < self.keep:
                    self.text.append(text)
                    self.kept_text += len(text)
                self.chars += len(text)
                self.chunks += 1
        elif isinstance(event, ReasoningDelta):
            text = _plain(event.text)
            if text:
                self._token_at(at)
                if self.kept_reasoning < self.keep:
                    self.reasoning.append(text)
                    self.kept_reasoning += len(text)
        elif isinstance(event, Headers):
            self.status = event.status
            if self.headers_at is None:
                self.headers_at = at
        elif isinstance(event, Started):
            if self.first_at is None and self.headers_at is None and at > self.t0:
                self.dispatch_s += at - self.t0
                self.t0 = at
        elif isinstance(event, Usage):
            # Checked again here for targets of every kind (plug-ins too): a count out of range
            # is ignored, so the result carries an estimate flagged as one.
            tokens = token_count(event.completion_tokens)
            if tokens is not None:
                self.usage_tokens = tokens
        elif isinstance(event, Timings):
            t = event.server
            if type(t) is ServerTimings:  # checked again: a plug-in kind may pass anything
                self.server_timings = server_timings(
                    total=t.total_s, load=t.load_s, prompt_eval=t.prompt_eval_s, eval=t.eval_s,
                    prompt_tokens=t.prompt_tokens, eval_tokens=t.eval_tokens)

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
    failed: BaseException | None = None
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
    except Exception as exc:  # noqa: BLE001 - a probe turns every failure into a result
        # `except` matches on the real class, so telling the deadline apart runs no provider code.
        if deadline.expired() and issubclass(type(exc), TimeoutError):
            error_kind = ErrorKind.TIMEOUT
            phase = "first token" if m.first_at is None else "end of answer"
            error = f"Timeout: no {phase} within {timeout_s:g} s"
        else:
            failed = exc
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            try:
                async with asyncio.timeout(1.0):
                    await aclose()
            except Exception:  # noqa: BLE001 - closing a broken stream may fail; the result stands
                pass
    if failed is not None:
        # Whatever the target raised is described off the event loop, within what is left of
        # the deadline (see classification.read_failure); the clock stops when it was raised.
        end = time.perf_counter()
        when = deadline.when()
        left = timeout_s if when is None else when - asyncio.get_running_loop().time()
        failure = await read_failure(failed, within_s=left)
        del failed  # its traceback holds the target's frames
        error_kind, error, status, retry_after = failure.kind, failure.error, failure.status, failure.retry_after_s
    else:
        end = time.perf_counter()

    text = clip("".join(m.text), KEEP_TEXT_CHARS) or ""
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
        text=text,
        reasoning=clip("".join(m.reasoning), KEEP_TEXT_CHARS) or "",
        started_at=started_at,
        attempt=attempt,
        retry_after_s=retry_after,
        max_gap_s=m.max_gap,
        server_timings=m.server_timings,
    )
