"""OpenAI chat completions: POST /v1/chat/completions (SSE chunks ending in `data: [DONE]`, or
one chat.completion object), GET /v1/models, errors as `{"error": {message, type, param, code}}`.

Reasoning goes in `delta.reasoning_content` (DeepSeek, vLLM, OpenRouter and most compatible
servers); usage comes last, in a chunk with no choices, when the request asked for it.
"""

from __future__ import annotations

import json
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

DONE = b"data: [DONE]\n\n"
_TOKEN_END = b'"},"finish_reason":null}]}\n\n'
_FINISH = {"stop": b"stop", "length": b"length", "filtered": b"content_filter", "blocked": b"content_filter"}

# OpenAI's error objects per status (message, type, code).
_ERRORS: dict[int, tuple[str, str, str | None]] = {
    400: ("Invalid request.", "invalid_request_error", None),
    401: ("Incorrect API key provided. You can find your API key at your provider's dashboard.",
          "invalid_request_error", "invalid_api_key"),
    403: ("You are not allowed to use this model in your region.", "permission_error", "unsupported_country_region_territory"),
    404: ("Not found.", "invalid_request_error", "not_found"),
    429: ("Rate limit reached for requests. Please try again later.", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request. Sorry about that!", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", "overloaded"),
}


def error_body(status: int, message: str | None = None, *, code: str | None = None,
               param: str | None = None, key: str | None = None) -> bytes:
    """`{"error": {...}}` as OpenAI sends it for `status`."""
    default_message, kind, default_code = _ERRORS.get(status, (f"Simulated HTTP {status}.", "server_error", None))
    error = {"message": with_key(message or default_message, key), "type": kind, "param": param,
             "code": code or default_code}
    return json.dumps({"error": error}).encode()


def usage(ctx: Context) -> dict[str, object]:
    plan = ctx.plan
    completion = len(plan.content) + len(plan.reasoning)
    return {
        "prompt_tokens": ctx.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": ctx.prompt_tokens + completion,
        "completion_tokens_details": {"reasoning_tokens": len(plan.reasoning)},
    }


class OpenAIFrames(Frames):
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.id = "chatcmpl-" + ctx.request_id
        self._meta = (
            b'{"id":"' + self.id.encode() + b'","object":"chat.completion.chunk","created":'
            + str(int(ctx.created)).encode() + b',"model":' + quoted(ctx.plan.model)
        )
        self._head = b"data: " + self._meta + b',"choices":[{"index":0,"delta":{'
        self.start = self._head + b'"role":"assistant","content":""},"finish_reason":null}]}\n\n'
        self.reasoning = (self._head + b'"reasoning_content":"', _TOKEN_END)
        self.content = (self._head + b'"content":"', _TOKEN_END)

    def tail(self) -> bytes:
        finish = self._head + b'},"finish_reason":"' + _FINISH[self.ctx.plan.finish_reason] + b'"}]}\n\n'
        if not self.ctx.include_usage:
            return finish
        return finish + b"data: " + self._meta + b',"choices":[],"usage":' + dumps(usage(self.ctx)) + b"}\n\n"

    def end(self) -> bytes:
        return DONE

    def error_event(self, status: int) -> bytes:
        return b"event: error\ndata: " + error_body(status, key=self.ctx.key) + b"\n\n"

    def error_chunk(self, status: int) -> bytes:
        return b"data: " + error_body(status, key=self.ctx.key) + b"\n\n" + DONE

    def whole(self, content: bytes, reasoning: bytes) -> bytes:
        message = b'{"role":"assistant","content":"' + content + b'"'
        if reasoning:
            message += b',"reasoning_content":"' + reasoning + b'"'
        return (
            b'{"id":"' + self.id.encode() + b'","object":"chat.completion","created":'
            + str(int(self.ctx.created)).encode() + b',"model":' + quoted(self.ctx.plan.model)
            + b',"choices":[{"index":0,"message":' + message + b'},"logprobs":null,"finish_reason":"'
            + _FINISH[self.ctx.plan.finish_reason] + b'"}],"usage":' + dumps(usage(self.ctx)) + b"}"
        )

    def whole_head(self) -> bytes:
        return (b'{"id":"' + self.id.encode() + b'","object":"chat.completion","created":'
                + str(int(self.ctx.created)).encode() + b',"model":' + quoted(self.ctx.plan.model)
                + b',"choices":[{"index":0,"message":{"role":"assistant","content":"')


class OpenAI(Protocol):
    name = "openai"
    base_path = "/v1"
    routes = (Route("POST", "/v1/chat/completions", "chat"), Route("GET", "/v1/models", "models"))

    def parse(self, incoming: Incoming) -> ChatRequest:
        body = json_object(incoming.body)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise RequestError(400, "you must provide a model parameter", param="model")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise RequestError(400, "messages must be a non-empty array", param="messages")
        max_tokens = positive_int(body.get("max_completion_tokens", body.get("max_tokens")), "max_tokens")
        stream = body.get("stream") is True
        options = body.get("stream_options")
        include_usage = stream and isinstance(options, dict) and options.get("include_usage") is True
        return ChatRequest(model, stream, max_tokens, estimate_tokens(message_texts(messages)),
                           include_usage=include_usage, api_key=bearer(incoming.headers))

    def frames(self, ctx: Context) -> Frames:
        return OpenAIFrames(ctx)

    def error(self, status: int, message: str | None = None, *, key: str | None = None,
              retry_after_s: float | None = None, **detail: Any) -> Reply:
        headers = {} if retry_after_s is None else {"Retry-After": retry_seconds(retry_after_s)}
        return Reply(status, error_body(status, message, key=key, **detail), headers)

    def unknown_model(self, model: str) -> Reply:
        return self.error(404, f"The model `{model}` does not exist or you do not have access to it.",
                          code="model_not_found", param="model")

    def models(self, names: Sequence[str]) -> bytes:
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "rollcall-sim"} for name in names]
        return dumps({"object": "list", "data": data})
