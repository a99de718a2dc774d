"""Ollama's native API: POST /api/chat (NDJSON, one JSON object a line, streamed unless
`"stream": false`), GET /api/tags.

Tokens come in `message.content`, reasoning in `message.thinking`; the last object has
`done: true`, done_reason and Ollama's own timings in nanoseconds (total_duration,
load_duration, prompt_eval_count/_duration, eval_count/_duration), measured on the simulator's
clock, a cold load (the `load` behaviour) reported as load_duration. That last object is the
stream's end marker. Errors are `{"error": "..."}`, as a body or as a line of the stream.
Ollama has no safety signal: `filtered` ends the answer early with done_reason stop.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from datetime import datetime, timezone
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
    quoted,
    retry_seconds,
    with_key,
)

NDJSON_CONTENT_TYPE = "application/x-ndjson"
_DONE_REASON = {"stop": "stop", "length": "length", "filtered": "stop", "blocked": "stop"}
_WARM_LOAD_S = 0.001  # finding an already loaded model: about a millisecond
_NS = 1_000_000_000
_ERRORS = {
    400: "invalid request",
    401: "unauthorized",
    403: "forbidden",
    404: "not found",
    429: "too many requests",
    500: "llama runner process has terminated: exit status 2",
    503: "server busy, please try again.  maximum pending requests exceeded",
}


def created_at(unix_s: float) -> str:
    """RFC 3339 with nanoseconds, as Ollama writes `created_at`."""
    whole = int(unix_s)
    stamp = datetime.fromtimestamp(whole, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{int((unix_s - whole) * _NS):09d}Z"


def _error(status: int, message: str | None = None, key: str | None = None) -> bytes:
    return dumps({"error": with_key(message or _ERRORS.get(status, f"simulated HTTP {status}"), key)})


class OllamaFrames(Frames):
    event_end = b"\n"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._head = b'{"model":' + quoted(ctx.plan.model) + b',"created_at":"'
        head = self._head + created_at(ctx.created).encode() + b'","message":{"role":"assistant","content":"'
        self.content = (head, b'"},"done":false}\n')
        self.reasoning = (head + b'","thinking":"', b'"},"done":false}\n')
        self._whole_head = head

    def _done(self) -> bytes:
        """`done: true` and the timings, measured now."""
        plan = self.ctx.plan
        total_s = max(0.0, time.perf_counter() - self.ctx.arrived)
        waited_s = min(plan.ttft_s, total_s)  # before the first token
        load_s = plan.load_s if plan.load_s else min(_WARM_LOAD_S, waited_s / 10)
        stats = {
            "done_reason": _DONE_REASON[plan.finish_reason],
            "total_duration": int(total_s * _NS),
            "load_duration": int(load_s * _NS),
            "prompt_eval_count": self.ctx.prompt_tokens,
            "prompt_eval_duration": int(max(0.0, waited_s - load_s) * _NS),
            "eval_count": len(plan.content) + len(plan.reasoning),
            "eval_duration": int((total_s - waited_s) * _NS),
        }
        return b'"done":true,' + dumps(stats)[1:]

    def end(self) -> bytes:
        return (self._head + created_at(time.time()).encode()
                + b'","message":{"role":"assistant","content":""},' + self._done() + b"\n")

    def error_event(self, status: int) -> bytes:
        return _error(status, key=self.ctx.key) + b"\n"

    def whole(self, content: bytes, reasoning: bytes) -> bytes:
        thinking = b'","thinking":"' + reasoning if reasoning else b""
        return (self._head + created_at(time.time()).encode() + b'","message":{"role":"assistant","content":"'
                + content + thinking + b'"},' + self._done())

    def whole_head(self) -> bytes:
        return self._whole_head


class Ollama(Protocol):
    name = "ollama"
    base_path = ""
    routes = (Route("POST", "/api/chat", "chat"), Route("GET", "/api/tags", "models"))
    stream_content_type = NDJSON_CONTENT_TYPE
    trickle = (b"", b" ")  # spaces and never a newline: a line that never completes

    def parse(self, incoming: Incoming) -> ChatRequest:
        body = json_object(incoming.body)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise RequestError(400, "model is required")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise RequestError(400, "messages must be a non-empty array")
        options = body.get("options")
        predict = options.get("num_predict") if isinstance(options, dict) else None
        if predict is not None and (isinstance(predict, bool) or not isinstance(predict, int)):
            raise RequestError(400, "json: cannot unmarshal options.num_predict: not an integer")
        max_tokens = predict if predict is not None and predict > 0 else None  # -1, -2: no limit
        stream = body.get("stream") is not False  # Ollama streams unless told not to
        return ChatRequest(model, stream, max_tokens, estimate_tokens(message_texts(messages)),
                           api_key=bearer(incoming.headers))

    def frames(self, ctx: Context) -> Frames:
        return OllamaFrames(ctx)

    def error(self, status: int, message: str | None = None, *, key: str | None = None,
              retry_after_s: float | None = None, **detail: Any) -> Reply:
        # Ollama itself sends no Retry-After; the proxies in front of it that rate-limit do.
        headers = {} if retry_after_s is None else {"Retry-After": retry_seconds(retry_after_s)}
        return Reply(status, _error(status, message, key), headers, charset="utf-8")

    def unknown_model(self, model: str) -> Reply:
        return self.error(404, f'model "{model}" not found, try pulling it first')

    def models(self, names: Sequence[str]) -> bytes:
        models = [{"name": name, "model": name, "modified_at": "2025-01-01T00:00:00Z", "size": 0,
                   "digest": hashlib.sha256(name.encode()).hexdigest(),
                   "details": {"parent_model": "", "format": "gguf", "family": "rollcall-sim",
                               "families": ["rollcall-sim"], "parameter_size": "0B",
                               "quantization_level": "Q4_K_M"}} for name in names]
        return dumps({"models": models})
