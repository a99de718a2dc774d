"""OpenAI-compatible HTTP endpoints as targets: streaming chat completions over the shared HttpClient.

Works with anything that speaks `POST {base_url}/chat/completions` (OpenAI, OpenRouter, Groq,
vLLM, llama.cpp, Ollama, LiteLLM, `g4f api`, rollcall's own simulator). Every event is stamped
with the time its bytes arrived, before any JSON is parsed; every failure leaves as a classified
ProbeError (see rollcall.http), never as a raw library exception.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from .. import __version__
from ..http import (
    SNIPPET_BYTES,
    BadResponse,
    ErrorEvent,
    HttpClient,
    body_snippet,
    error_message,
    error_status,
    read_capped,
    snippet,
    status_error,
    translate_client_error,
)
from ..models import ErrorKind
from ..redact import display_url, register_secret, register_url_secrets
from ..sse import DONE, SSEDecoder, SSEError
from ..urls import check_base_url, endpoint_url, normalize_base_url
from .base import Content, Event, Headers, ProbeRequest, ReasoningDelta, Usage, token_count

try:  # orjson parses stream chunks several times faster; the standard library is the fallback
    from orjson import dumps as _dumps_bytes, loads as _loads
except ImportError:  # pragma: no cover - depends on what is installed
    import json as _json

    _loads = _json.loads

    def _dumps_bytes(obj: Any) -> bytes:
        return _json.dumps(obj, separators=(",", ":")).encode()


__all__ = ["HttpClient", "OpenAITarget"]  # HttpClient re-exported: targets are built with one

_SECRET_HEADER_WORDS = ("auth", "key", "token", "secret", "cookie", "session")
_DRAIN_S = 0.05  # how long to wait for the end of a body after [DONE]
_DRAIN_BYTES = 64 << 10



class OpenAITarget:
    """One OpenAI-compatible endpoint; each of `models` is probed separately ("" = server default)."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        models: Sequence[str] = ("",),
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = True,
        client: HttpClient | None = None,
        kind: str = "openai",
        extra_body: Mapping[str, Any] | None = None,
    ) -> None:
        if not name:
            raise ValueError("an OpenAI target needs a name")
        try:
            check_base_url(base_url)
        except ValueError as exc:
            raise ValueError(f"target {name!r}: base_url {exc}") from None
        if isinstance(models, str):  # models="gpt-4o" would otherwise become one probe per letter
            models = (models,)
        if not models:
            raise ValueError(f'target {name!r}: models must not be empty (use [""] for the server\'s default model)')
        self.name = name
        self.kind = kind
        self.models = tuple(models)
        self.base_url = normalize_base_url(base_url)
        register_url_secrets(self.base_url)  # a token in the userinfo or query is a secret
        self.meta = {"base_url": display_url(self.base_url)}  # for reports (TargetInfo)
        self.streaming = stream
        self.client = client if client is not None else HttpClient()
        self._chat_url = endpoint_url(self.base_url, "chat/completions")
        self._models_url = endpoint_url(self.base_url, "models")
        self._headers = self._build_headers(api_key, headers)
        # Extra JSON fields for every request (e.g. g4f api's "provider", vLLM sampling options);
        # the fields rollcall itself sets (messages, model, stream...) win.
        self.extra_body = dict(extra_body or {})

    def __repr__(self) -> str:
        return f"OpenAITarget({self.name!r}, {display_url(self.base_url)!r}, models={self.models!r})"

    def _build_headers(self, api_key: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream, application/json" if self.streaming else "application/json",
            "User-Agent": f"rollcall/{__version__}",
        }
        if api_key:
            if any(c in api_key for c in "\r\n\0") or api_key != api_key.strip():
                # Never echo the key itself, not even in an error.
                raise ValueError(f"target {self.name!r}: api_key contains whitespace, a line break or NUL")
            register_secret(api_key)
            headers["Authorization"] = f"Bearer {api_key}"
        for key, value in (extra or {}).items():
            if not isinstance(key, str) or not isinstance(value, str) or not key.strip():
                raise ValueError(f"target {self.name!r}: header names and values must be text")
            if any(c in key + value for c in "\r\n\0") or ":" in key:
                raise ValueError(f"target {self.name!r}: header {key!r} contains a line break, NUL or colon")
            if any(word in key.lower() for word in _SECRET_HEADER_WORDS):
                register_secret(value)
                _, _, token = value.partition(" ")
                register_secret(token)  # "Bearer <token>": the bare token is a secret too
            headers[key] = value
        return headers

    def _body(self, request: ProbeRequest) -> bytes:
        body: dict[str, Any] = {**self.extra_body, "messages": request.messages}
        if request.model:  # no model field lets single-model servers pick their default
            body["model"] = request.model
        if self.streaming:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        return _dumps_bytes(body)

    async def stream(self, request: ProbeRequest) -> AsyncIterator[Event]:
        import aiohttp

        client = self.client
        response = await client.request("POST", self._chat_url, headers=self._headers, data=self._body(request))
        at = time.perf_counter()
        async with response:
            yield Headers(response.status, at=at)
            status = response.status
            if not 200 <= status < 300:
                raise status_error(status, response.reason or "", response.headers, await _error_body(response))
            content_type = response.headers.get("Content-Type", "").lower()
            if "html" in content_type:
                raise _html_error(status, await _error_body(response), content_type)
            try:
                if not self.streaming or content_type.startswith("application/json"):
                    for event in await _read_whole(response, b"", client.max_response_bytes):
                        yield event
                    return
                # The hot loop, kept in one frame: stamp each read, then decode and parse.
                read = response.content.readany
                perf_counter = time.perf_counter
                decoder = SSEDecoder(client.max_event_bytes)
                max_bytes = client.max_response_bytes
                received = 0
                yield_at = 65536
                sniffed = finished = eof = False
                while not eof:
                    chunk = await read()
                    at = perf_counter()
                    if chunk:
                        received += len(chunk)
                        if received >= yield_at:
                            # readany() returns at once while bytes are buffered, so a server that
                            # streams flat out would keep the loop to itself and make every other
                            # probe's clock read late. Let the others run every 64 KiB.
                            yield_at = received + 65536
                            await asyncio.sleep(0)
                            at = perf_counter()
                        if received > max_bytes:
                            raise BadResponse(f"response exceeded the cap of {max_bytes:,} bytes", status=status)
                        if not sniffed:
                            head = chunk.lstrip()[:1]
                            if head == b"<":
                                raise _html_error(status, chunk + await _error_body(response))
                            if head == b"{":  # JSON where a stream was asked for: an error or a whole reply
                                for event in await _read_whole(response, chunk, max_bytes):
                                    yield event
                                return
                            sniffed = bool(head)
                        try:
                            events = decoder.feed(chunk)
                        except SSEError as exc:
                            raise BadResponse(f"invalid event stream: {exc}", status=status) from None
                    else:
                        events = decoder.close()
                        eof = True
                    for event in events:
                        data = event.data
                        if event.event == "error":
                            raise _error_event(data)
                        if data == DONE:
                            if not response.content.at_eof():
                                await _drain(response.content)
                            return
                        try:
                            doc = _loads(data)
                        except (ValueError, RecursionError):  # json (not orjson) recurses on deep nesting
                            if event.event != "message":
                                continue  # a named side event (e.g. `event: ping`) need not be JSON
                            raise _invalid_json(data, "a stream event") from None
                        content, reasoning, fin, usage = _parse_chunk(doc, "delta")
                        if reasoning:
                            yield ReasoningDelta(reasoning, at)
                        if content:
                            yield Content(content, at)
                        if usage is not None:
                            yield _usage(usage, at)
                        if fin:
                            finished = True
                if not finished:
                    raise BadResponse(f"stream ended early: no [DONE] and no finish_reason after {received:,} bytes")
            except aiohttp.ClientError as exc:
                raise translate_client_error(exc, received=response.content.total_bytes) from None

    async def list_models(self) -> list[str]:
        """The model ids the endpoint lists (GET {base_url}/models)."""
        import aiohttp

        headers = {k: v for k, v in self._headers.items() if k != "Content-Type"}
        headers["Accept"] = "application/json"
        response = await self.client.request("GET", self._models_url, headers=headers)
        async with response:
            if not 200 <= response.status < 300:
                body = await _error_body(response)
                raise status_error(response.status, response.reason or "", response.headers, body)
            try:
                body, over = await read_capped(response.content, self.client.max_response_bytes)
            except aiohttp.ClientError as exc:
                raise translate_client_error(exc, received=response.content.total_bytes) from None
        if over:
            raise BadResponse(f"model list exceeded the cap of {self.client.max_response_bytes:,} bytes")
        doc = _parse_json(body, "model list")
        items = doc.get("data", doc.get("models")) if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise BadResponse("model list has no 'data' array")
        return [m["id"] for m in items if isinstance(m, dict) and isinstance(m.get("id"), str)]

    async def aclose(self) -> None:
        # Safe even when the client is shared: closing is idempotent and the runner closes
        # targets only after every probe finished.
        await self.client.aclose()


async def _drain(content: Any) -> None:
    """Read what follows [DONE] (usually just the chunked-encoding terminator, a moment later) so
    the connection goes back to the pool; a server that keeps sending gets its connection closed.

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
    except (TimeoutError, aiohttp.ClientError):
        pass  # the answer is complete; only the connection's reuse is lost


async def _error_body(response: Any) -> bytes:
    """The start of an error body, to explain the failure; a body that breaks off is not news."""
    import aiohttp

    try:
        body, _ = await read_capped(response.content, SNIPPET_BYTES)
    except aiohttp.ClientError:
        return b""
    return body


def _html_error(status: int, body: bytes, content_type: str = "text/html") -> BadResponse:
    what = body_snippet(body, content_type) or "an HTML page"
    return BadResponse(f"HTTP {status} sent {what} where JSON was expected (a challenge or login page?)", status=status)


def _parse_json(data: str | bytes, what: str) -> Any:
    try:
        return _loads(data)
    except (ValueError, RecursionError):
        raise _invalid_json(data, what) from None


def _invalid_json(data: str | bytes, what: str) -> BadResponse:
    head = data[: 64 << 10]  # snippet() reads far less than this
    text = head.decode("utf-8", "replace") if isinstance(head, bytes) else head
    return BadResponse(f"invalid JSON in {what}: {snippet(text)!r}")


def _error_object(doc: Mapping[str, Any]) -> ErrorEvent:
    """An error reported inside a 200 response; a 401/403/429 code in it picks auth/rate_limit."""
    code = error_status(doc)
    message = snippet(error_message(doc) or "no message")
    kind = {401: ErrorKind.AUTH, 403: ErrorKind.AUTH, 429: ErrorKind.RATE_LIMIT}.get(code or 0, ErrorKind.BAD_RESPONSE)
    suffix = f" (code {code})" if code else ""
    return ErrorEvent(kind, f"the server reported an error inside a 200 response: {message}{suffix}")


def _error_event(data: str) -> ErrorEvent:
    try:
        doc = _loads(data)
    except (ValueError, RecursionError):
        doc = None
    if not isinstance(doc, dict):
        doc = {"error": {"message": data or "no message"}}
    return _error_object(doc)


def _text(value: Any, field: str) -> str:
    """A delta field as text: a string, or a list of content parts ({"type": "text", "text": ...})."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(p.get("text") or "" for p in value if isinstance(p, dict) and isinstance(p.get("text"), str))
    raise BadResponse(f"'{field}' is a {type(value).__name__}, not text")


def _usage(usage: Mapping[str, Any], at: float) -> Usage:
    # The server's numbers enter here: anything but a plausible whole count becomes "not given".
    return Usage(token_count(usage.get("prompt_tokens")), token_count(usage.get("completion_tokens")), at)


def _parse_chunk(doc: Any, key: str) -> tuple[str, str, bool, dict[str, Any] | None]:
    """(content, reasoning, finished, usage) of one chunk (key "delta") or a whole reply ("message")."""
    if type(doc) is not dict:
        raise BadResponse(f"expected a JSON object, got {type(doc).__name__}")
    if doc.get("error"):
        raise _error_object(doc)
    content = reasoning = ""
    finished = False
    choices = doc.get("choices")
    if choices:
        try:
            choice = choices[0]
            delta = choice.get(key) or choice.get("delta") or choice.get("message") or {}
            value = delta.get("content")
            if value:
                content = value if type(value) is str else _text(value, "content")
            value = delta.get("reasoning_content") or delta.get("reasoning")
            if value:
                reasoning = value if type(value) is str else _text(value, "reasoning")
            finished = bool(choice.get("finish_reason"))
        except (AttributeError, KeyError, IndexError, TypeError):
            raise BadResponse("unexpected shape of 'choices' in a response chunk") from None
    usage = doc.get("usage")
    return content, reasoning, finished, usage if type(usage) is dict else None


async def _read_whole(response: Any, head: bytes, max_bytes: int) -> list[Event]:
    """Events of a non-streamed JSON reply (or a JSON body where a stream was asked for)."""
    rest, over = await read_capped(response.content, max_bytes - len(head))
    at = time.perf_counter()
    if over:
        raise BadResponse(f"response exceeded the cap of {max_bytes:,} bytes", status=response.status)
    body = head + rest
    if body.lstrip()[:1] == b"<":
        raise _html_error(response.status, body)
    content, reasoning, _, usage = _parse_chunk(_parse_json(body, "the response"), "message")
    events: list[Event] = []
    if reasoning:
        events.append(ReasoningDelta(reasoning, at))
    if content:
        events.append(Content(content, at))
    if usage is not None:
        events.append(_usage(usage, at))
    return events
