"""One load request, measured: the call on the same targets, classification and caps as a probe,
timed from each event's arrival stamp (`at`, taken where the bytes arrived).

Definitions (DESIGN.md, "Load runs"): TTFT = first content or reasoning token minus send time;
TTFO = first content token minus send time; ITL = the gaps between consecutive content/reasoning
events by arrival stamp (events read in one network read are 0 apart: that is what the client
saw); E2E = end of the response minus send; TPOT = (E2E - TTFT) / (output tokens - 1) for more
than one token. Output tokens are the server's usage count when given, else estimated (marked).
"""

from __future__ import annotations

import asyncio
import time
import types
from dataclasses import dataclass, field
from typing import Any

from .. import untrusted
from ..classification import read_failure
from ..models import ErrorKind
from ..probe import DEFAULT_MAX_OUTPUT_CHARS, estimate_tokens
from ..targets.base import Content, Headers, ProbeError, ProbeRequest, ReasoningDelta, Started, Target, Usage

SCHEMA = "rollcall.load.request/1"


@dataclass(slots=True)
class Measurement:
    """What one call did, on the shard's monotonic clock (time.perf_counter stamps)."""

    sent: float
    end: float = 0.0
    dispatch_s: float = 0.0  # the target's own start-up delay (e.g. a worker thread), queue time
    first: float | None = None
    first_content: float | None = None
    gaps: list[float] = field(default_factory=list)
    chars: int = 0
    reasoning_chars: int = 0
    chunks: int = 0
    has_text: bool = False
    usage_tokens: int | None = None
    prompt_tokens: int | None = None
    status: int | None = None
    error_kind: ErrorKind | None = None
    error: str | None = None


async def measure(
    target: Target, request: ProbeRequest, *, timeout_s: float, max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS
) -> Measurement:
    """Call `target` once under a deadline; every failure becomes an error kind, never an exception
    (cancellation of the caller still propagates). As in a probe (probe.py), what the target
    raised is read off the event loop within the deadline (classification.read_failure), and
    text that is not an exact str is copied without running its code (rollcall.untrusted)."""
    perf_counter = time.perf_counter
    m = Measurement(sent=perf_counter())
    last: float | None = None
    gaps = m.gaps
    chunks = chars = 0  # m.chunks and m.chars, kept in locals on the per-token path
    failed: BaseException | None = None
    deadline = asyncio.timeout(timeout_s)
    stream = target.stream(request)
    try:
        async with deadline:
            async for event in stream:
                at = event.at or perf_counter()
                kind = type(event)
                if kind is Content or kind is ReasoningDelta:
                    text = event.text
                    if type(text) is not str:
                        text = untrusted.text(text) or ""
                    if not text:
                        continue
                    if last is None:
                        m.first = at
                    else:
                        gaps.append(at - last if at > last else 0.0)
                    last = at
                    chunks += 1
                    if kind is Content:
                        if m.first_content is None:
                            m.first_content = at
                        chars += len(text)
                        if not m.has_text and not text.isspace():
                            m.has_text = True
                        if chars > max_output_chars:
                            raise ProbeError(
                                ErrorKind.BAD_RESPONSE, f"answer exceeded the cap of {max_output_chars:,} characters"
                            )
                    else:
                        m.reasoning_chars += len(text)
                elif kind is Usage:
                    if event.completion_tokens is not None:
                        m.usage_tokens = untrusted.integer(event.completion_tokens)
                    if event.prompt_tokens is not None:
                        m.prompt_tokens = untrusted.integer(event.prompt_tokens)
                elif kind is Headers:
                    m.status = untrusted.integer(event.status)
                elif kind is Started:
                    # Time before the call really began is the target's dispatch, not the server's.
                    if m.first is None and at > m.sent:
                        m.dispatch_s += at - m.sent
                        m.sent = at
    except Exception as exc:  # noqa: BLE001 - a request turns every failure into a record
        # `except` matches on the real class, so telling the deadline apart runs no target code.
        if deadline.expired() and issubclass(type(exc), TimeoutError):
            m.error_kind = ErrorKind.TIMEOUT
            phase = "first token" if m.first is None else "end of answer"
            m.error = f"Timeout: no {phase} within {timeout_s:g} s"
        else:
            failed = exc
    finally:
        m.end = perf_counter()
        m.chunks, m.chars = chunks, chars
        # An async generator that ran to its end has nothing to close (and its timer would cost
        # every request a few microseconds): a finished one has no frame.
        done = type(stream) is types.AsyncGeneratorType and stream.ag_frame is None
        aclose = None if done else getattr(stream, "aclose", None)
        try:
            if aclose is not None:
                async with asyncio.timeout(1.0):
                    await aclose()
        except Exception:  # noqa: BLE001 - closing a broken stream may fail; the record stands
            pass
    if failed is not None:
        when = deadline.when()
        left = timeout_s if when is None else when - asyncio.get_running_loop().time()
        failure = await read_failure(failed, within_s=left)
        del failed  # its traceback holds the target's frames
        m.error_kind, m.error = failure.kind, failure.error
        if failure.status is not None:
            m.status = failure.status
    if m.error_kind is None and not m.has_text:
        m.error_kind = ErrorKind.EMPTY
        m.error = "Empty: the call succeeded but produced no answer" + (" (reasoning only)" if m.reasoning_chars else "")
    return m


@dataclass(slots=True)
class RequestRecord:
    """One request of a load stage, as kept in the per-request JSONL. Times in seconds: offsets
    from the stage start on the shard's own monotonic clock, except `sent_at` (wall clock, Unix
    seconds), which is only for timelines that merge shards from several machines."""

    stage: int
    shard: int
    number: int  # the request's number in its stage (the arrival number in an open loop)
    warmup: bool
    scheduled_s: float  # when it was due: its arrival time, or when its user's last request ended
    sent_s: float
    queue_s: float  # waiting for an in-flight slot (--max-concurrency) and the target's dispatch
    lateness_s: float  # how late the client sent it, queueing aside: sent - scheduled - queue
    sent_at: float
    ok: bool
    error_kind: str | None = None
    error: str | None = None
    status: int | None = None
    ttft_s: float | None = None
    ttfo_s: float | None = None
    e2e_s: float | None = None
    tpot_s: float | None = None
    itl_s: list[float] = field(default_factory=list)
    output_tokens: int | None = None
    output_tokens_estimated: bool = False
    output_chars: int = 0
    reasoning_chars: int = 0
    input_tokens: int | None = None
    # The first request of a closed-loop user, due at the stage start: its lateness is the ramp-up
    # (how long the client took to get every user going), not a delay in re-sending.
    ramp: bool = False

    @property
    def itl_max_s(self) -> float | None:
        return max(self.itl_s) if self.itl_s else None

    @property
    def end_s(self) -> float:
        return self.sent_s + (self.e2e_s or 0.0)

    @classmethod
    def from_measurement(
        cls, m: Measurement, *, stage: int, shard: int, number: int, warmup: bool, scheduled: float,
        queue_s: float, t0: float, wall0: float, ramp: bool = False,
    ) -> RequestRecord:
        """`scheduled` and `m`'s stamps are perf_counter values; t0 is the stage start on that clock
        and wall0 the wall-clock time at t0."""
        sent = m.sent - t0
        queue = queue_s + m.dispatch_s
        ttft = None if m.first is None else m.first - m.sent
        ttfo = None if m.first_content is None else m.first_content - m.sent
        e2e = m.end - m.sent
        if m.usage_tokens is not None:
            tokens, estimated = m.usage_tokens, False
        elif m.chunks:
            tokens, estimated = estimate_tokens(m.chars + m.reasoning_chars, m.chunks), True
        else:
            tokens, estimated = None, False
        ok = m.error_kind is None
        tpot = None
        if ok and tokens is not None and tokens > 1 and ttft is not None:
            tpot = max(0.0, e2e - ttft) / (tokens - 1)
        return cls(
            stage=stage, shard=shard, number=number, warmup=warmup, scheduled_s=scheduled - t0, sent_s=sent,
            queue_s=queue, lateness_s=max(0.0, m.sent - scheduled - queue), sent_at=wall0 + sent, ok=ok,
            error_kind=None if ok else str(m.error_kind), error=m.error, status=m.status,
            ttft_s=ttft, ttfo_s=ttfo, e2e_s=e2e, tpot_s=tpot, itl_s=m.gaps, output_tokens=tokens,
            output_tokens_estimated=estimated, output_chars=m.chars, reasoning_chars=m.reasoning_chars,
            input_tokens=m.prompt_tokens, ramp=ramp,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSONL line's object; times rounded to microseconds (the clocks are no finer)."""
        d: dict[str, Any] = {}
        for name in _FIELDS:
            value = getattr(self, name)
            if type(value) is float:
                value = round(value, 6)
            d[name] = value
        d["itl_s"] = [round(g, 6) for g in self.itl_s]
        d["sent_at"] = round(self.sent_at, 6)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestRecord:
        return cls(**{k: data[k] for k in _FIELDS if k in data})

    def __reduce__(self) -> tuple[Any, ...]:
        # Records cross from workers to the coordinator by the thousand: as the constructor's
        # arguments they pickle smaller and load in half the time of a slotted object's state.
        return (RequestRecord, tuple([getattr(self, name) for name in _FIELDS]))


_FIELDS = tuple(RequestRecord.__dataclass_fields__)
