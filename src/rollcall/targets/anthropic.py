"""Anthropic's Messages API as a target: `POST {base_url}/v1/messages`, streamed as named events.

Only what is Anthropic's lives here (the reading is rollcall.http_stream's): the request
(`x-api-key`, `anthropic-version`, `max_tokens`, which the API requires), the events
(message_start, content_block_start/delta/stop with text and thinking deltas, thinking being
reasoning, message_delta with the stop reason and the output token count, message_stop, the end
marker, ping, error) and the error objects (`{"type": "error", "error": {"type", "message"}}`,
e.g. overloaded_error with HTTP 529). A `refusal` stop is a ContentFiltered failure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..http import BadResponse, ContentFiltered, ErrorInfo, HttpClient
from ..http_stream import HttpRequest, dumps, error_event, expect_object, get_json, invalid_json, loads, parse_json
from ..urls import with_query
from .base import Content, Event, ProbeRequest, ReasoningDelta, Usage, token_count
from .http_target import HttpTarget

__all__ = ["AnthropicTarget"]

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"  # the Messages API's one stable version
DEFAULT_MAX_TOKENS = 1024  # the API requires max_tokens; a greeting needs far fewer
# Anthropic's error types and the statuses it sends them with (docs.anthropic.com/en/api/errors):
# an error event names only its type, and the type picks auth/rate_limit like a status would.
ERROR_STATUS = {
    "invalid_request_error": 400, "authentication_error": 401, "billing_error": 402, "permission_error": 403,
    "not_found_error": 404, "request_too_large": 413, "rate_limit_error": 429, "api_error": 500,
    "timeout_error": 504, "overloaded_error": 529,
}
_MAX_PAGES = 50  # model listing pages followed (1,000 ids each)


class AnthropicTarget(HttpTarget):
    """One Anthropic Messages API endpoint (or a server that speaks it); each of `models` is
    probed separately. `max_tokens` is sent when the run sets none (the API requires it)."""

    kind = "anthropic"
    article = "an Anthropic"
    needs_model = True
    models_path = "v1/models"

    def __init__(
        self,
        name: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        models: Sequence[str],
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        anthropic_version: str = API_VERSION,
        stream: bool = True,
        client: HttpClient | None = None,
        kind: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise ValueError(f"target {name!r}: max_tokens must be a whole number of at least 1")
        if not isinstance(anthropic_version, str) or not anthropic_version.strip() or any(
                c in anthropic_version for c in "\r\n\0"):
            raise ValueError(f"target {name!r}: anthropic_version must be a version string such as {API_VERSION!r}")
        self.max_tokens = max_tokens
        self.anthropic_version = anthropic_version
        super().__init__(name, base_url, models=models, api_key=api_key, headers=headers, stream=stream,
                         client=client, kind=kind, extra_body=extra_body)
        self._messages_url = self.url("v1/messages")

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"x-api-key": api_key}

    def _build_headers(self, api_key: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
        return {"anthropic-version": self.anthropic_version, **super()._build_headers(api_key, extra)}

    def http_request(self, request: ProbeRequest) -> HttpRequest:
        body: dict[str, Any] = {**self.extra_body, "model": request.model, "messages": request.messages,
                                "max_tokens": request.max_tokens or self.max_tokens}
        if self.streaming:
            body["stream"] = True
        return self.post(self._messages_url, dumps(body))

    def mapper(self, request: ProbeRequest) -> _Events:
        return _Events(self.read_error)

    def read_error(self, doc: Any) -> ErrorInfo:
        error = doc.get("error") if isinstance(doc, dict) else None
        if not isinstance(error, dict):
            return ErrorInfo()
        kind, message = error.get("type"), error.get("message")
        kind = kind if isinstance(kind, str) and kind else None
        message = message if isinstance(message, str) and message else None
        text = f"{kind}: {message}" if kind and message else kind or message
        return ErrorInfo(text, ERROR_STATUS.get(kind or ""))

    async def list_models(self) -> list[str]:
        """Every model id the endpoint lists (GET /v1/models, following its pages)."""
        headers = {k: v for k, v in self._headers.items() if k != "Content-Type"}
        headers["Accept"] = "application/json"
        ids: list[str] = []
        after: str | None = None
        for _ in range(_MAX_PAGES):
            params = {"limit": "1000", **({"after_id": after} if after else {})}
            doc = await get_json(self.client, with_query(self.url(self.models_path), **params), headers=headers,
                                 read_error=self.read_error, what="model list")
            page = self.model_ids(doc)
            ids += page
            last = doc.get("last_id")
            if not (doc.get("has_more") is True and page and isinstance(last, str) and last):
                break
            after = last
        return ids

    def model_ids(self, doc: Any) -> list[str]:
        items = doc.get("data") if isinstance(doc, dict) else None
        if not isinstance(items, list):
            raise BadResponse("model list has no 'data' array")
        return [m["id"] for m in items if isinstance(m, dict) and isinstance(m.get("id"), str)]


class _Events:
    """One answer's Messages API events as rollcall events."""

    __slots__ = ("read_error", "finished", "ended", "error", "input_tokens", "stop_reason")
    end_marker = "message_stop"

    def __init__(self, read_error: Any) -> None:
        self.read_error = read_error
        self.finished = self.ended = False
        self.error: Exception | None = None
        self.input_tokens: int | None = None
        self.stop_reason: str | None = None

    def frame(self, event: Any, at: float) -> Sequence[Event]:
        data = event.data
        try:
            doc = loads(data)
        except (ValueError, RecursionError):
            if event.event == "error":
                raise error_event({"error": {"message": data}}, self.read_error) from None
            raise invalid_json(data, f"a {event.event} event") from None
        doc = expect_object(doc)
        kind = doc.get("type")
        if kind == "content_block_delta":  # one token: the hot path
            delta = doc.get("delta")
            if type(delta) is dict:
                dtype = delta.get("type")
                if dtype == "text_delta":
                    text = delta.get("text")
                    return (Content(text, at),) if type(text) is str and text else ()
                if dtype == "thinking_delta":
                    text = delta.get("thinking")
                    return (ReasoningDelta(text, at),) if type(text) is str and text else ()
                return ()  # signature_delta, input_json_delta, citations_delta: not the answer
            raise BadResponse("a content_block_delta event has no 'delta' object")
        if kind == "error" or event.event == "error":
            raise error_event(doc, self.read_error)
        if kind == "message_start":
            message = doc.get("message")
            usage = message.get("usage") if isinstance(message, dict) else None
            if isinstance(usage, dict):
                self.input_tokens = token_count(usage.get("input_tokens"))
            return ()
        if kind == "content_block_start":
            return _block_events(doc.get("content_block"), at)
        if kind == "message_delta":
            return self._message_delta(doc, at)
        if kind == "message_stop":
            self.finished = self.ended = True
            return ()
        return ()  # ping, content_block_stop, and event types added after this was written

    def _message_delta(self, doc: dict[str, Any], at: float) -> Sequence[Event]:
        delta = doc.get("delta")
        reason = delta.get("stop_reason") if isinstance(delta, dict) else None
        if isinstance(reason, str):
            self.stop_reason = reason
            if reason == "refusal":  # the last event that matters: drain the rest, then fail
                self.ended, self.error = True, _refused()
        usage = doc.get("usage")
        if not isinstance(usage, dict):
            return ()
        prompt = token_count(usage.get("input_tokens"))
        prompt = prompt if prompt is not None else self.input_tokens
        return (Usage(prompt, token_count(usage.get("output_tokens")), at),)

    def whole(self, body: bytes, at: float) -> Sequence[Event]:
        doc = expect_object(parse_json(body, "the response"))
        if doc.get("type") == "error" or "error" in doc:
            raise error_event(doc, self.read_error)
        blocks = doc.get("content")
        if not isinstance(blocks, list):
            raise BadResponse("the message has no 'content' list")
        events: list[Event] = []
        for block in blocks:
            events += _block_events(block, at)
        usage = doc.get("usage")
        if isinstance(usage, dict):
            events.append(Usage(token_count(usage.get("input_tokens")), token_count(usage.get("output_tokens")), at))
        if doc.get("stop_reason") == "refusal":
            self.error = _refused()
        return events


def _block_events(block: Any, at: float) -> list[Event]:
    """The text a content block starts with (usually none: its deltas carry it)."""
    if not isinstance(block, dict):
        return []
    if block.get("type") == "text" and isinstance(block.get("text"), str) and block["text"]:
        return [Content(block["text"], at)]
    if block.get("type") == "thinking" and isinstance(block.get("thinking"), str) and block["thinking"]:
        return [ReasoningDelta(block["thinking"], at)]
    return []


def _refused() -> ContentFiltered:
    return ContentFiltered("the model refused to answer (stop_reason refusal)")
