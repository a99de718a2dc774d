"""Reading an HTTP answer as rollcall events, written once for every HTTP kind.

A kind (an `HttpDialect`) supplies only what is its own: the request (`http_request`: method,
URL, headers, body), a `FrameMapper` per request that turns its protocol's frames into rollcall's
events, and how its error objects read (`read_error`). Everything else lives here: status errors
and HTML pages, the byte caps, stamping every read with the time its bytes arrived (before any
parsing), the fair yield every 64 KiB, the framing (server-sent events or NDJSON lines as the
kind says; one whole JSON body when not streaming, or when a server answers a stream request
with JSON), draining after the end marker so the connection goes back to the pool, and turning
aiohttp's failures into classified ProbeErrors (rollcall.http).

The client is an HttpClient: aiohttp's (probes) or rollcall.wire's (load mode), whose responses
offer the same reading interface, raise ProbeErrors themselves and carry the time each chunk's
bytes arrived (`stamps_arrival`), which the reader then uses instead of its own clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .classification import kind_for_error_code
from .http import (
    SNIPPET_BYTES,
    BadResponse,
    ErrorEvent,
    ErrorInfo,
    HttpClient,
    ReadError,
    body_snippet,
    read_capped,
    read_error_safely,
    snippet,
    status_error,
    translate_client_error,
)
from .ndjson import NDJSONDecoder, NDJSONError
from .sse import SSEDecoder, SSEError
from .targets.base import Event, Headers, ProbeError, ProbeRequest

if TYPE_CHECKING:
    from .ndjson import Line
    from .sse import SSEEvent

try:  # orjson parses stream chunks several times faster; the standard library is the fallback
    from orjson import dumps, loads
except ImportError:  # pragma: no cover - depends on what is installed
    import json as _json
    from json import loads

    def dumps(obj: Any) -> bytes:
        return _json.dumps(obj, separators=(",", ":")).encode()

SSE = "sse"  # text/event-stream (OpenAI, Anthropic, Gemini with ?alt=sse)
NDJSON = "ndjson"  # one JSON object a line (Ollama)
FRAMINGS = (SSE, NDJSON)
YIELD_EVERY_BYTES = 65536
_DRAIN_S = 0.05  # how long to wait for the end of a body after the end marker
_DRAIN_BYTES = 64 << 10


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request as a kind builds it. `stream=False`: the answer is one whole JSON body."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None
    stream: bool = True


class FrameMapper(Protocol):
    """One answer's frames as rollcall events; made per request, so it may keep the stream's state."""

    end_marker: str  # what ends this protocol's stream, for "stream ended early: no <end_marker>"
    finished: bool  # the answer is complete (a finish reason or the end marker was read)
    ended: bool  # the end marker was read: stop reading (what follows is drained)
    # Set when the answer is to fail once what arrived is kept (a safety stop in the chunk that
    # also carries the last words): raised at the end marker (`ended`) or at the end of the body.
    error: Exception | None

    def frame(self, frame: SSEEvent | Line, at: float) -> Sequence[Event]:
        """The events of one SSE event or NDJSON line whose bytes arrived at `at`; a ProbeError
        for an error frame or one that breaks the protocol."""
        ...

    def whole(self, body: bytes, at: float) -> Sequence[Event]:
        """The events of one whole JSON body (a non-streamed reply, or JSON where a stream was
        asked for: usually an error object)."""
        ...


class HttpDialect(Protocol):
    """What an HTTP kind gives the reader."""

    framing: str  # SSE or NDJSON

    def http_request(self, request: ProbeRequest) -> HttpRequest: ...

    def mapper(self, request: ProbeRequest) -> FrameMapper: ...

    def read_error(self, doc: Any) -> ErrorInfo: ...


async def read_events(client: HttpClient, dialect: HttpDialect, request: ProbeRequest) -> AsyncIterator[Event]:
    """Send `dialect`'s request for `request` and yield the answer's events as they arrive.

    An async generator: nothing is built or sent until it is iterated, so a kind's own failure
    to build the request is raised inside the probe like any other.
    """
    import aiohttp

    http = dialect.http_request(request)
    mapper = dialect.mapper(request)
    response = await client.request(http.method, http.url, headers=http.headers, data=http.body)
    # A transport that stamps its reads (rollcall.wire: when the bytes arrived, in the protocol)
    # is read by its stamps; aiohttp's reads are stamped here, when the reader runs.
    stamped = getattr(response, "stamps_arrival", False)
    at = response.at if stamped else time.perf_counter()
    async with response:
        yield Headers(response.status, at=at)
        status = response.status
        if not 200 <= status < 300:
            body = await _error_body(response)
            raise status_error(status, response.reason or "", response.headers, body, dialect.read_error)
        content_type = response.headers.get("Content-Type", "").lower()
        if "html" in content_type:
            raise html_error(status, await _error_body(response), content_type)
        sse = dialect.framing == SSE
        try:
            if not http.stream or (sse and content_type.startswith("application/json")):
                for event in await _read_whole(response, b"", client.max_response_bytes, mapper):
                    yield event
                if mapper.error is not None:
                    raise mapper.error
                return
            # The hot loop, kept in one frame: stamp each read, then decode, then map.
            content = response.content
            read = content.readany
            perf_counter = time.perf_counter
            decoder = SSEDecoder(client.max_event_bytes) if sse else NDJSONDecoder(client.max_event_bytes)
            framing_errors = (SSEError, NDJSONError)
            what = "event stream" if sse else "NDJSON stream"
            frame = mapper.frame
            max_bytes = client.max_response_bytes
            received = 0
            yield_at = YIELD_EVERY_BYTES
            sniffed = eof = over_cap = False
            while not eof:
                chunk = await read()
                at = content.at if stamped else perf_counter()
                if chunk:
                    received += len(chunk)
                    if received >= yield_at:
                        # readany() returns at once while bytes are buffered, so a server that
                        # streams flat out would keep the loop to itself and make every other
                        # probe's clock read late. Let the others run every 64 KiB.
                        yield_at = received + YIELD_EVERY_BYTES
                        await asyncio.sleep(0)
                        if not stamped:
                            at = perf_counter()
                    if received > max_bytes:
                        # Keep what arrived up to the cap (its whole frames are mapped), then fail.
                        chunk = chunk[: len(chunk) - (received - max_bytes)]
                        over_cap = True
                    if not sniffed:
                        head = chunk.lstrip()[:1]
                        if head == b"<":
                            raise html_error(status, chunk + await _error_body(response))
                        if sse and head == b"{":  # JSON where a stream was asked for: an error or a whole reply
                            for event in await _read_whole(response, chunk, max_bytes, mapper):
                                yield event
                            if mapper.error is not None:
                                raise mapper.error
                            return
                        sniffed = bool(head)
                    try:
                        frames = decoder.feed(chunk)
                    except framing_errors as exc:
                        raise BadResponse(f"invalid {what}: {exc}", status=status) from None
                else:
                    frames = decoder.close()
                    eof = True
                for item in frames:
                    for event in frame(item, at):
                        yield event
                    if mapper.ended:
                        if not response.content.at_eof():
                            await _drain(response.content)
                        if mapper.error is not None:
                            raise mapper.error
                        return
                if over_cap:
                    raise BadResponse(f"response exceeded the cap of {max_bytes:,} bytes", status=status)
            if mapper.error is not None:
                raise mapper.error
            if not mapper.finished:
                raise BadResponse(f"stream ended early: no {mapper.end_marker} after {received:,} bytes")
        except aiohttp.ClientError as exc:
            raise translate_client_error(exc, received=response.content.total_bytes) from None


async def get_json(client: HttpClient, url: str, *, headers: Mapping[str, str], read_error: ReadError,
                   what: str) -> Any:
    """GET a JSON document (a model listing) within the client's caps; ProbeErrors as a probe's."""
    import aiohttp

    response = await client.request("GET", url, headers=headers)
    async with response:
        if not 200 <= response.status < 300:
            body = await _error_body(response)
            raise status_error(response.status, response.reason or "", response.headers, body, read_error)
        try:
            body, over = await read_capped(response.content, client.max_response_bytes)
        except aiohttp.ClientError as exc:
            raise translate_client_error(exc, received=response.content.total_bytes) from None
    if over:
        raise BadResponse(f"{what} exceeded the cap of {client.max_response_bytes:,} bytes")
    return parse_json(body, what)


async def _read_whole(response: Any, head: bytes, max_bytes: int, mapper: FrameMapper) -> Sequence[Event]:
    """The events of a whole JSON body (`head` is what was already read of it)."""
    rest, over = await read_capped(response.content, max_bytes - len(head))
    at = response.content.at if getattr(response, "stamps_arrival", False) else time.perf_counter()
    if over:
        raise BadResponse(f"response exceeded the cap of {max_bytes:,} bytes", status=response.status)
    body = head + rest
    if body.lstrip()[:1] == b"<":
        raise html_error(response.status, body)
    return mapper.whole(body, at)


async def _drain(content: Any) -> None:
    """Read what follows the end marker (usually just the chunked-encoding terminator, a moment
    later) so the connection goes back to the pool; a server that keeps sending gets its
    connection closed.

    Without this, most connections are dropped and every probe pays for a new TCP handshake.
    """
    import aiohttp

    left = _DRAIN_BYTES
    try:
        async with asyncio.timeout(_DRAIN_S):
            while left > 0:
                chunk = await content.readany()
                if not chunk:
                    return
                left -= len(chunk)
    except (TimeoutError, aiohttp.ClientError, ProbeError):  # ProbeError: rollcall.wire's failures
        pass  # the answer is complete; only the connection's reuse is lost


async def _error_body(response: Any) -> bytes:
    """The start of an error body, to explain the failure; a body that breaks off is not news."""
    import aiohttp

    try:
        body, _ = await read_capped(response.content, SNIPPET_BYTES)
    except (aiohttp.ClientError, ProbeError):  # ProbeError: rollcall.wire's failures
        return b""
    return body


# ---- what the kinds' mappers share ---------------------------------------------------------

def html_error(status: int, body: bytes, content_type: str = "text/html") -> BadResponse:
    what = body_snippet(body, content_type) or "an HTML page"
    return BadResponse(f"HTTP {status} sent {what} where JSON was expected (a challenge or login page?)", status=status)


def parse_json(data: str | bytes, what: str) -> Any:
    """`data` parsed, or BadResponse quoting its start ("invalid JSON in <what>: ...")."""
    try:
        return loads(data)
    except (ValueError, RecursionError):  # json (not orjson) recurses on deep nesting
        raise invalid_json(data, what) from None


def invalid_json(data: str | bytes, what: str) -> BadResponse:
    head = data[: 64 << 10]  # snippet() reads far less than this
    text = head.decode("utf-8", "replace") if isinstance(head, bytes) else head
    return BadResponse(f"invalid JSON in {what}: {snippet(text)!r}")


def error_event(doc: Any, read_error: ReadError, where: str = "inside a 200 response") -> ErrorEvent:
    """An error the server reported in a 2xx answer (an error event or error object): auth or
    rate_limit when it gives a 401/403/429 code, else bad_response."""
    info = read_error_safely(read_error, doc)
    code = info.status
    message = snippet(info.message or "no message")
    suffix = f" (code {code})" if code else ""
    return ErrorEvent(kind_for_error_code(code), f"the server reported an error {where}: {message}{suffix}",
                      retry_after_s=info.retry_after_s)


def error_event_of_data(data: str, read_error: ReadError) -> ErrorEvent:
    """error_event() for an event's data, which may not even be JSON."""
    try:
        doc = loads(data)
    except (ValueError, RecursionError):
        doc = None
    if not isinstance(doc, dict):
        doc = {"error": {"message": data or "no message"}}
    return error_event(doc, read_error)


def text_of(value: Any, field: str) -> str:
    """A field as text: a string, or a list of content parts ({"type": "text", "text": ...})."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(p.get("text") or "" for p in value if isinstance(p, dict) and isinstance(p.get("text"), str))
    raise BadResponse(f"'{field}' is a {type(value).__name__}, not text")


def expect_object(doc: Any) -> dict[str, Any]:
    if type(doc) is not dict:
        raise BadResponse(f"expected a JSON object, got {type(doc).__name__}")
    return doc
