"""The target interface: one async method that streams events, plus close.

A target knows how to call one provider; it knows nothing of deadlines (the runner owns them),
timing (the probe stamps events as they arrive) or reports.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..models import ErrorKind

DEFAULT_PROMPT = "Hello, are you GPT 3.5?"


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
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    at: float | None = None


Event = Started | Headers | Content | ReasoningDelta | Usage


class ProbeError(Exception):
    """A failure the target has already classified (e.g. an HTTP 429 with Retry-After)."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after_s = retry_after_s


@runtime_checkable
class Target(Protocol):
    """Anything that can be probed. `models` lists what to ask ("" = the target's default)."""

    name: str
    kind: str
    models: tuple[str, ...]

    def stream(self, request: ProbeRequest) -> AsyncIterator[Event]: ...

    async def aclose(self) -> None: ...
