"""OpenAI-compatible HTTP endpoints as targets: streaming chat completions through the shared reader.

Works with anything that speaks `POST {base_url}/chat/completions` (OpenAI, OpenRouter, Groq,
vLLM, llama.cpp, Ollama, LiteLLM, `g4f api`, rollcall's own simulator). This module holds only
what is OpenAI's: the request body, how its chunks map to events and how its errors read; the
reading itself (caps, stamps, HTML, draining, status errors) is rollcall.http_stream's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..http import BadResponse, ContentFiltered, HttpClient, openai_error
from ..http_stream import HttpRequest, error_event, error_event_of_data, invalid_json, parse_json, text_of
from ..http_stream import dumps as _dumps_bytes
from ..http_stream import loads as _loads
from ..sse import DONE
from .base import Content, Event, ProbeRequest, ReasoningDelta, Usage, token_count
from .http_target import HttpTarget

__all__ = ["HttpClient", "OpenAITarget"]  # HttpClient re-exported: targets are built with one


class OpenAITarget(HttpTarget):
    """One OpenAI-compatible endpoint; each of `models` is probed separately ("" = server default)."""

    kind = "openai"
    article = "an OpenAI"

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
        super().__init__(name, base_url, models=models, api_key=api_key, headers=headers, stream=stream,
                         client=client, kind=kind, extra_body=extra_body)
        self._chat_url = self.url("chat/completions")

    def http_request(self, request: ProbeRequest) -> HttpRequest:
        body: dict[str, Any] = {**self.extra_body, "messages": request.messages}
        if request.model:  # no model field lets single-model servers pick their default
            body["model"] = request.model
        if self.streaming:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        return self.post(self._chat_url, _dumps_bytes(body))

    def mapper(self, request: ProbeRequest) -> _Chunks:
        return _Chunks()

    def model_ids(self, doc: Any) -> list[str]:
        items = doc.get("data", doc.get("models")) if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise BadResponse("model list has no 'data' array")
        return [m["id"] for m in items if isinstance(m, dict) and isinstance(m.get("id"), str)]


class _Chunks:
    """One answer's chat.completion.chunk events (or one chat.completion) as rollcall events."""

    __slots__ = ("finished", "ended", "error")
    end_marker = "[DONE] and no finish_reason"

    def __init__(self) -> None:
        self.finished = self.ended = False
        self.error: Exception | None = None

    def frame(self, event: Any, at: float) -> Sequence[Event]:
        data = event.data
        if event.event == "error":
            raise error_event_of_data(data, openai_error)
        if data == DONE:
            self.finished = self.ended = True
            return ()
        try:
            doc = _loads(data)
        except (ValueError, RecursionError):  # json (not orjson) recurses on deep nesting
            if event.event != "message":
                return ()  # a named side event (e.g. `event: ping`) need not be JSON
            raise invalid_json(data, "a stream event") from None
        # The common chunk, one token and nothing else, read without the general path's calls:
        # {"choices": [{"delta": {"content": "..."}, "finish_reason": null}]} (any other fields).
        if type(doc) is dict and "usage" not in doc and not doc.get("error"):
            choices = doc.get("choices")
            if type(choices) is list and choices:
                choice = choices[0]
                if type(choice) is dict and not choice.get("finish_reason"):
                    delta = choice.get("delta")
                    if type(delta) is dict and delta and not (delta.get("reasoning_content") or delta.get("reasoning")):
                        content = delta.get("content")
                        if type(content) is str:
                            return (Content(content, at),) if content else ()
                        if not content:
                            return ()
        content, reasoning, fin, usage = _parse_chunk(doc, "delta")
        if fin:
            self.finished = True
            if fin == "content_filter":  # the usage chunk may still follow: fail at the end
                self.error = _filtered()
        if usage is None and not reasoning:
            return (Content(content, at),) if content else ()  # the common chunk: one token
        return _events(content, reasoning, usage, at)

    def whole(self, body: bytes, at: float) -> Sequence[Event]:
        content, reasoning, fin, usage = _parse_chunk(parse_json(body, "the response"), "message")
        if fin == "content_filter":
            self.error = _filtered()
        return _events(content, reasoning, usage, at)


def _filtered() -> ContentFiltered:
    return ContentFiltered("the provider's content filter stopped the answer (finish_reason content_filter)")


def _events(content: str, reasoning: str, usage: dict[str, Any] | None, at: float) -> list[Event]:
    events: list[Event] = []
    if reasoning:
        events.append(ReasoningDelta(reasoning, at))
    if content:
        events.append(Content(content, at))
    if usage is not None:
        events.append(_usage(usage, at))
    return events


def _usage(usage: Mapping[str, Any], at: float) -> Usage:
    # The server's numbers enter here: anything but a plausible whole count becomes "not given".
    return Usage(token_count(usage.get("prompt_tokens")), token_count(usage.get("completion_tokens")), at)


def _parse_chunk(doc: Any, key: str) -> tuple[str, str, Any, dict[str, Any] | None]:
    """(content, reasoning, finish_reason, usage) of one chunk (key "delta") or a whole reply ("message");
    finish_reason is falsy until the answer finished."""
    if type(doc) is not dict:
        raise BadResponse(f"expected a JSON object, got {type(doc).__name__}")
    if doc.get("error"):
        raise error_event(doc, openai_error)
    content = reasoning = ""
    finish = None
    choices = doc.get("choices")
    if choices:
        try:
            choice = choices[0]
            delta = choice.get(key) or choice.get("delta") or choice.get("message") or {}
            value = delta.get("content")
            if value:
                content = value if type(value) is str else text_of(value, "content")
            value = delta.get("reasoning_content") or delta.get("reasoning")
            if value:
                reasoning = value if type(value) is str else text_of(value, "reasoning")
            finish = choice.get("finish_reason")
        except (AttributeError, KeyError, IndexError, TypeError):
            raise BadResponse("unexpected shape of 'choices' in a response chunk") from None
    usage = doc.get("usage")
    return content, reasoning, finish, usage if type(usage) is dict else None
