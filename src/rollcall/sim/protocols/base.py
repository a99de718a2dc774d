"""The interface a simulator protocol implements, and what the protocols share.

A protocol owns only its bytes: its routes, how it reads a chat request, and the pieces of its
answers (stream start, one token event, usage, end marker, in-stream error, error body, whole
reply, model listing). Timing, seeding and every fault mode live once in the server, which
assembles these pieces; a protocol never sleeps, never reads a socket and never sees aiohttp.

Tokens arrive already JSON-escaped (see plan.py), so a token event is `before + token + after`:
two byte concatenations per token and no json.dumps on the hot path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Literal

from ..plan import Plan

JSON_CONTENT_TYPE = "application/json"
SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
INVALID_UTF8 = b" \xff\xfe\xc3\x28"  # spliced into a JSON string: valid JSON syntax, invalid UTF-8
CUT_OFF = b"this chunk is cut off"  # a token event that ends inside its JSON string

CHALLENGE_PAGE = (
    b"<!DOCTYPE html><html lang=\"en-US\"><head><title>Just a moment...</title>"
    b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\">"
    b"<meta name=\"robots\" content=\"noindex,nofollow\"></head><body>"
    b"<div class=\"main-wrapper\" role=\"main\"><h1>Checking your browser before accessing the site.</h1>"
    b"<p>Enable JavaScript and cookies to continue.</p>"
    b"<noscript>Please enable JavaScript.</noscript></div>"
    b"<script src=\"/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1\"></script></body></html>"
)


@dataclass(frozen=True, slots=True)
class Route:
    """One path a protocol serves: `chat` answers a request, `models` lists the fleet."""

    method: str
    path: str  # an aiohttp route pattern
    action: Literal["chat", "models"]


@dataclass(slots=True)  # not frozen: built per request, and a frozen __init__ costs ~1 us
class Incoming:
    """What a protocol reads a chat request from (plain data, no aiohttp types)."""

    body: bytes
    path: Mapping[str, str]  # the route's path variables
    query: Mapping[str, str]
    headers: Mapping[str, str]  # case-insensitive


@dataclass(slots=True)  # not frozen: built per request, and a frozen __init__ costs ~1 us
class ChatRequest:
    """A chat request as every protocol reads it."""

    model: str
    stream: bool
    max_tokens: int | None
    prompt_tokens: int
    include_usage: bool = True  # OpenAI sends usage in a stream only when asked
    api_key: str | None = None  # the credential it carried, for behaviours that echo it


class RequestError(Exception):
    """A request the protocol refuses; the server renders it with the protocol's `error`."""

    def __init__(self, status: int, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Reply:
    """A whole HTTP response: an error, or a listing."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = JSON_CONTENT_TYPE
    charset: str | None = None


@dataclass(slots=True)  # not frozen: built per request, and a frozen __init__ costs ~1 us
class Context:
    """What one request's frames are built from."""

    plan: Plan
    request_id: str  # unique per process; protocols prefix it (chatcmpl-, msg_...)
    created: float  # Unix time the request arrived
    arrived: float  # perf_counter() when it arrived, for protocols that report durations
    prompt_tokens: int
    include_usage: bool
    key: str | None  # the request's API key when its behaviour echoes keys in errors, else None


class Frames:
    """The bytes of one answer, in the order the server sends them:

        start, reasoning tokens, switch, content tokens, tail(), end()

    Each token is `before + token + after` from `reasoning` or `content`; `switch` goes just
    before the first content token (or before the tail when there is none). `end()` is the end
    marker the `no_done` fault leaves out; `tail()` and `end()` are called when they are sent,
    so they can report durations. `event_end` closes an event (the invalid_json fault cuts an
    event's JSON short and closes it).
    """

    start: bytes = b""
    reasoning: tuple[bytes, bytes]
    content: tuple[bytes, bytes]
    switch: bytes = b""
    event_end: bytes = b"\n\n"
    headers: Mapping[str, str] = MappingProxyType({})  # extra headers on every response to this request

    def tail(self) -> bytes:
        return b""

    def end(self) -> bytes:
        raise NotImplementedError

    def error_event(self, status: int) -> bytes:
        """The protocol's own in-stream error (after which the stream ends)."""
        raise NotImplementedError

    def error_chunk(self, status: int) -> bytes:
        """An error object in a plain data chunk, and whatever the stream sends after it."""
        return self.error_event(status)

    def whole(self, content: bytes, reasoning: bytes) -> bytes:
        """A whole non-streamed reply; `content` and `reasoning` are JSON-escaped text."""
        raise NotImplementedError

    def whole_head(self) -> bytes:
        """A whole reply up to the inside of its content string (which then never ends)."""
        raise NotImplementedError


class Protocol:
    """One API the simulator speaks. Subclasses set the class attributes and the methods."""

    name: ClassVar[str]
    base_path: ClassVar[str]  # what a client's base URL adds to the server root ("/v1", "")
    routes: ClassVar[tuple[Route, ...]]
    # On a path several protocols share (GET /v1/models), a request carrying any of these
    # headers is this protocol's; the protocol without marker headers takes the rest.
    marker_headers: ClassVar[tuple[str, ...]] = ()
    stream_content_type: ClassVar[str] = SSE_CONTENT_TYPE
    # A trickling stream: `start`, then one `filler` byte now and then, never a whole event.
    trickle: ClassVar[tuple[bytes, bytes]] = (b": ", b".")
    id_prefix: ClassVar[str] = ""

    def claims(self, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        """Whether a request on a shared path is this protocol's: it carries a marker header."""
        return any(h in headers for h in self.marker_headers)

    def parse(self, incoming: Incoming) -> ChatRequest:
        """Read a chat request (RequestError if the protocol refuses it)."""
        raise NotImplementedError

    def frames(self, ctx: Context) -> Frames:
        raise NotImplementedError

    def error(self, status: int, message: str | None = None, *, key: str | None = None,
              retry_after_s: float | None = None, **detail: Any) -> Reply:
        """An error response for `status` as this protocol sends it (its default message when
        none is given; `key` quoted in it when set; a retry hint when `retry_after_s` is set)."""
        raise NotImplementedError

    def unknown_model(self, model: str) -> Reply:
        raise NotImplementedError

    def models(self, names: Sequence[str]) -> bytes:
        """The protocol's model listing for the fleet's model names."""
        raise NotImplementedError


# ---- helpers the protocols share ----------------------------------------------------------

def json_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or RequestError(400)."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RequestError(400, "We could not parse the JSON body of your request.") from None
    if not isinstance(doc, dict):
        raise RequestError(400, "The request body must be a JSON object.")
    return doc


def positive_int(value: object, name: str) -> int | None:
    """An optional positive whole number from a request, or RequestError(400) naming it."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RequestError(400, f"{name} must be a positive integer", param=name)
    return value


def estimate_tokens(texts: Iterable[str]) -> int:
    # A rough count (about four characters a token) is all a simulator needs to report.
    return max(1, round(sum(len(t) for t in texts) / 4))


def message_texts(messages: Sequence[object], key: str = "content") -> Iterable[str]:
    """The text of chat messages whose content is a string or a list of text blocks."""
    for message in messages:
        content = message.get(key) if isinstance(message, dict) else None
        if isinstance(content, str):
            yield content
        elif isinstance(content, list):
            yield from (b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str))


_BEARER = re.compile(r"\s*bearer\s+(\S+)", re.IGNORECASE)


def bearer(headers: Mapping[str, str]) -> str | None:
    match = _BEARER.match(headers.get("Authorization", ""))
    return match.group(1) if match else None


def with_key(message: str, key: str | None) -> str:
    """`message`, quoting the key as careless providers do (the `echo_key` behaviour)."""
    return message if key is None else f"{message} (API key: {key})"


def dumps(doc: object) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def quoted(text: str) -> bytes:
    """A JSON string literal, quotes included."""
    return json.dumps(text, ensure_ascii=False).encode()


def retry_seconds(retry_after_s: float) -> str:
    return str(max(0, round(retry_after_s)))
