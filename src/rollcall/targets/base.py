"""The target interface: one async method that streams events, plus close.

A target knows how to call one provider; it knows nothing of deadlines (the runner owns them),
timing (the probe stamps events as they arrive) or reports.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .. import untrusted
from ..models import ErrorKind, ServerTimings
from ..settings import DEFAULT_PROMPT


@dataclass(frozen=True, slots=True)
class ProbeRequest:
    """What to ask: one user message to one model ("" means the target's default model)."""

    prompt: str = DEFAULT_PROMPT
    model: str = ""
    max_tokens: int | None = None

    @property
    def messages(self) -> list[dict[str, str]]:
        return [{"role": "user", "content": self.prompt}]


# Events a target yields. `at` is a time.perf_counter() stamp taken where the bytes arrived
# (e.g. on a worker thread); None means "stamp it when the probe sees it".
@dataclass(frozen=True, slots=True)
class Started:
    """The call really began at `at`, after the target's own dispatch delay (e.g. waiting for a
    worker thread). Time before it is counted as queue time, not as provider latency."""

    at: float | None = None


@dataclass(frozen=True, slots=True)
class Headers:
    status: int
    at: float | None = None


@dataclass(frozen=True, slots=True)
class Content:
    text: str
    at: float | None = None


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    text: str
    at: float | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the provider reported them; pass outside numbers through token_count."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    at: float | None = None


# No answer is a billion tokens long: a larger count is bad data, not a measurement (and a
# 2**63 would not fit any store).
MAX_TOKENS = 10**9


def token_count(value: object) -> int | None:
    """A token count from outside (a server's usage, a provider's object): a whole number in
    0..MAX_TOKENS, else None. The probe then estimates the count and marks it estimated."""
    if type(value) is float:  # exactly a float: a subclass's methods are provider code
        value = int(value) if value.is_integer() else None
    count = untrusted.integer(value)  # an exact int, read without running the object's code
    return count if count is not None and 0 <= count <= MAX_TOKENS else None


@dataclass(frozen=True, slots=True)
class Timings:
    """What the server measured of this answer itself (models.ServerTimings); build it with
    server_timings() so outside numbers are checked."""

    server: ServerTimings
    at: float | None = None


# No answer takes four months: a longer "duration" is bad data, not a measurement.
MAX_SERVER_S = 1e7


def server_seconds(value: object, per_second: float = 1.0) -> float | None:
    """A duration from outside in units of 1/per_second s (1e9: nanoseconds): a finite number of
    seconds in 0..MAX_SERVER_S, else None."""
    if type(value) is float:  # exactly a float: a subclass's methods are provider code
        number = value
    else:
        whole = untrusted.integer(value)
        if whole is None:
            return None
        number = float(whole) if abs(whole) < 2**1023 else float("inf")
    seconds = number / per_second
    return seconds if 0 <= seconds <= MAX_SERVER_S else None  # NaN fails both comparisons


def server_timings(*, total: object = None, load: object = None, prompt_eval: object = None, eval: object = None,
                   prompt_tokens: object = None, eval_tokens: object = None, per_second: float = 1.0) -> ServerTimings:
    """ServerTimings from a server's raw numbers (durations in 1/per_second s); implausible ones are None."""
    def s(value: object) -> float | None:
        return server_seconds(value, per_second)

    return ServerTimings(s(total), s(load), s(prompt_eval), s(eval), token_count(prompt_tokens), token_count(eval_tokens))


Event = Started | Headers | Content | ReasoningDelta | Usage | Timings


# Exception classes whose instances hold only plain data (see ProbeError): the probe reads them on
# the event loop. Any other exception is the provider's object and is read off the loop.
_PLAIN_ERRORS: list[type] = []


class ProbeError(Exception):
    """A failure the target has already classified (e.g. an HTTP 429 with Retry-After).

    The constructor stores plain values only (an exact str message, an ErrorKind, int/float or
    None), so reading a ProbeError can never run provider code. A subclass that keeps to that
    (no properties, no `__str__` override) says so with `class X(ProbeError, plain=True)`; other
    subclasses are treated like any foreign exception (described on a worker thread).
    """

    def __init_subclass__(cls, *, plain: bool = False, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if plain:
            _PLAIN_ERRORS.append(cls)

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        plain = untrusted.text(message)
        super().__init__(plain if plain is not None else untrusted.text(str(message)) or "")
        self.kind = ErrorKind(kind)
        self.status = None if status is None else int(status)
        self.retry_after_s = None if retry_after_s is None else float(retry_after_s)


_PLAIN_ERRORS.append(ProbeError)


def is_plain_error(exc: BaseException) -> bool:
    """True for rollcall's own ProbeErrors, whose fields are plain data (checked by identity of
    the class, which an object cannot fake)."""
    cls = type(exc)
    return any(cls is plain for plain in _PLAIN_ERRORS)


@runtime_checkable
class Target(Protocol):
    """Anything that can be probed. `models` lists what to ask ("" = the target's default)."""

    name: str
    kind: str
    models: tuple[str, ...]

    def stream(self, request: ProbeRequest) -> AsyncIterator[Event]: ...

    async def aclose(self) -> None: ...
