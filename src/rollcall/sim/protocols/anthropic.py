"""Anthropic's Messages API: POST /v1/messages (headers `x-api-key`, `anthropic-version`),
streamed as named SSE events or answered as one message; GET /v1/models.

A stream is message_start, a ping, one content block per kind (a `thinking` block first when the
behaviour reasons, closed with a signature_delta; then the `text` block), message_delta with the
stop_reason and the output token count, and message_stop, the end marker. Errors are
`{"type": "error", "error": {"type", "message"}}`, in a body (529 overloaded_error, 429
rate_limit_error with retry-after...) or as an `event: error` mid-stream.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from .base import (
    ChatRequest,
    Context,
    Frames,
    Incoming,
    Protocol,
    Reply,
    RequestError,
    Route,
    bearer,
    dumps,
    estimate_tokens,
    json_object,
    message_texts,
    positive_int,
    quoted,
    retry_seconds,
    with_key,
)

# Anthropic's error types and messages per status (https://docs.anthropic.com/en/api/errors).
_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "There was an issue with the format or content of your request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "The requested resource could not be found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out"),
    529: ("overloaded_error", "Overloaded"),
}
_STOP = {"stop": b"end_turn", "length": b"max_tokens", "filtered": b"refusal", "blocked": b"refusal"}
_TOKEN_END = b'"}}\n\n'
_SIGNATURE = "rollcall-sim-signature-"


def error_object(status: int, message: str | None = None, key: str | None = None) -> dict[str, Any]:
    kind, default = _ERRORS.get(status, ("api_error" if status >= 500 else "invalid_request_error",
                                         f"Simulated HTTP {status}."))
    return {"type": "error", "error": {"type": kind, "message": with_key(message or default, key)}}


def _event(name: bytes, doc: bytes) -> bytes:
    return b"event: " + name + b"\ndata: " + doc + b"\n\n"


def _block_start(index: int, block: bytes) -> bytes:
    return _event(b"content_block_start", b'{"type":"content_block_start","index":' + str(index).encode()
                  + b',"content_block":' + block + b"}")


def _block_stop(index: int) -> bytes:
    return _event(b"content_block_stop", b'{"type":"content_block_stop","index":' + str(index).encode() + b"}")


def _delta_prefix(index: int, kind: bytes, field: bytes) -> bytes:
    return (b'event: content_block_delta\ndata: {"type":"content_block_delta","index":' + str(index).encode()
            + b',"delta":{"type":"' + kind + b'","' + field + b'":"')


class AnthropicFrames(Frames):
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        plan = ctx.plan
        self.id = "msg_" + ctx.request_id
        self.headers = {"request-id": "req_" + ctx.request_id}
        self.signature = base64.b64encode((_SIGNATURE + ctx.request_id).encode()).decode()
        thinks = bool(plan.reasoning)
        self.text_index = 1 if thinks else 0
        message = {"id": self.id, "type": "message", "role": "assistant", "model": plan.model, "content": [],
                   "stop_reason": None, "stop_sequence": None,
                   "usage": {"input_tokens": ctx.prompt_tokens, "cache_creation_input_tokens": 0,
                             "cache_read_input_tokens": 0, "output_tokens": 1}}
        first = _block_start(0, b'{"type":"thinking","thinking":"","signature":""}' if thinks
                             else b'{"type":"text","text":""}')
        self.start = (_event(b"message_start", b'{"type":"message_start","message":' + dumps(message) + b"}")
                      + first + _event(b"ping", b'{"type":"ping"}'))
        self.reasoning = (_delta_prefix(0, b"thinking_delta", b"thinking"), _TOKEN_END)
        self.content = (_delta_prefix(self.text_index, b"text_delta", b"text"), _TOKEN_END)
        if thinks:
            signature = _event(b"content_block_delta", b'{"type":"content_block_delta","index":0,"delta":'
                               b'{"type":"signature_delta","signature":' + quoted(self.signature) + b"}}")
            self.switch = signature + _block_stop(0) + _block_start(1, b'{"type":"text","text":""}')

    def _usage(self) -> dict[str, int]:
        plan = self.ctx.plan
        return {"output_tokens": len(plan.content) + len(plan.reasoning)}

    def tail(self) -> bytes:
        delta = (b'{"type":"message_delta","delta":{"stop_reason":"' + _STOP[self.ctx.plan.finish_reason]
                 + b'","stop_sequence":null},"usage":' + dumps(self._usage()) + b"}")
        return _block_stop(self.text_index) + _event(b"message_delta", delta)

    def end(self) -> bytes:
        return _event(b"message_stop", b'{"type":"message_stop"}')

    def error_event(self, status: int) -> bytes:
        return _event(b"error", dumps(error_object(status, key=self.ctx.key)))

    def error_chunk(self, status: int) -> bytes:
        # The error object without its event name: what a proxy that drops `event:` lines sends.
        return b"data: " + dumps(error_object(status, key=self.ctx.key)) + b"\n\n"

    def _head(self) -> bytes:
        return (b'{"id":"' + self.id.encode() + b'","type":"message","role":"assistant","model":'
                + quoted(self.ctx.plan.model) + b',"content":[')

    def whole(self, content: bytes, reasoning: bytes) -> bytes:
        blocks = b""
        if reasoning:
            blocks = (b'{"type":"thinking","thinking":"' + reasoning + b'","signature":'
                      + quoted(self.signature) + b"},")
        usage = {"input_tokens": self.ctx.prompt_tokens, "cache_creation_input_tokens": 0,
                 "cache_read_input_tokens": 0, **self._usage()}
        return (self._head() + blocks + b'{"type":"text","text":"' + content + b'"}],"stop_reason":"'
                + _STOP[self.ctx.plan.finish_reason] + b'","stop_sequence":null,"usage":' + dumps(usage) + b"}")

    def whole_head(self) -> bytes:
        return self._head() + b'{"type":"text","text":"'


class Anthropic(Protocol):
    name = "anthropic"
    base_path = ""
    routes = (Route("POST", "/v1/messages", "chat"), Route("GET", "/v1/models", "models"))
    marker_headers = ("anthropic-version", "x-api-key")
    id_prefix = "msg_"

    def parse(self, incoming: Incoming) -> ChatRequest:
        headers = incoming.headers
        key = headers.get("x-api-key") or bearer(headers)
        if not key:
            raise RequestError(401, "x-api-key header is required")
        if not headers.get("anthropic-version"):
            raise RequestError(400, "anthropic-version: header is required")
        body = json_object(incoming.body)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise RequestError(400, "model: Field required")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise RequestError(400, "messages: at least one message is required")
        if body.get("max_tokens") is None:
            raise RequestError(400, "max_tokens: Field required")
        try:
            max_tokens = positive_int(body.get("max_tokens"), "max_tokens")
        except RequestError:
            raise RequestError(400, "max_tokens: Input should be a valid positive integer") from None
        texts = list(message_texts(messages))
        system = body.get("system")
        texts += [system] if isinstance(system, str) else list(message_texts([{"content": system}]))
        return ChatRequest(model, body.get("stream") is True, max_tokens, estimate_tokens(texts), api_key=key)

    def frames(self, ctx: Context) -> Frames:
        return AnthropicFrames(ctx)

    def error(self, status: int, message: str | None = None, *, key: str | None = None,
              retry_after_s: float | None = None, **detail: Any) -> Reply:
        headers = {} if retry_after_s is None else {"retry-after": retry_seconds(retry_after_s)}
        return Reply(status, dumps(error_object(status, message, key)), headers)

    def unknown_model(self, model: str) -> Reply:
        return self.error(404, f"model: {model}")

    def models(self, names: Sequence[str]) -> bytes:
        data = [{"type": "model", "id": name, "display_name": name, "created_at": "2025-01-01T00:00:00Z",
                 "lifecycle": "active"} for name in names]
        return dumps({"data": data, "has_more": False, "first_id": names[0] if names else None,
                      "last_id": names[-1] if names else None})
