"""Ollama's native API as a target: `POST {base_url}/api/chat`, streamed as NDJSON lines.

Only what is Ollama's lives here (the reading is rollcall.http_stream's): the request (`options.
num_predict` for max_tokens; no key unless a proxy in front wants a Bearer one), the lines
(`message.content`, `message.thinking` as reasoning; the `done: true` line is the end and carries
done_reason, the counts and Ollama's own durations in nanoseconds), and the errors (`{"error":
"..."}`, as a body or as a line). The durations become the result's `server_timings`, beside
rollcall's clocks: a cold model load shows as `load_s`. `GET /api/tags` lists the models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..http import BadResponse, HttpClient
from ..http_stream import NDJSON, HttpRequest, dumps, error_event, expect_object, invalid_json, loads, parse_json
from .base import Content, Event, ProbeRequest, ReasoningDelta, Timings, Usage, server_timings, token_count
from .http_target import HttpTarget

__all__ = ["OllamaTarget"]

DEFAULT_BASE_URL = "http://localhost:11434"
_NS_PER_S = 1e9  # Ollama's durations are nanoseconds


class OllamaTarget(HttpTarget):
    """One Ollama server (or a proxy that speaks its API); each of `models` is probed separately."""

    kind = "ollama"
    article = "an Ollama"
    framing = NDJSON
    needs_model = True
    models_path = "api/tags"

    def __init__(
        self,
        name: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        models: Sequence[str],
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = True,
        client: HttpClient | None = None,
        kind: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(name, base_url, models=models, api_key=api_key, headers=headers, stream=stream,
                         client=client, kind=kind, extra_body=extra_body)
        self._chat_url = self.url("api/chat")

    def http_request(self, request: ProbeRequest) -> HttpRequest:
        body: dict[str, Any] = {**self.extra_body, "model": request.model, "messages": request.messages,
                                "stream": self.streaming}  # Ollama streams unless told not to
        if request.max_tokens is not None:
            options = body.get("options")
            body["options"] = {**(options if isinstance(options, dict) else {}), "num_predict": request.max_tokens}
        return self.post(self._chat_url, dumps(body))

    def mapper(self, request: ProbeRequest) -> _Lines:
        return _Lines(self.read_error)

    def model_ids(self, doc: Any) -> list[str]:
        items = doc.get("models") if isinstance(doc, dict) else None
        if not isinstance(items, list):
            raise BadResponse("model list has no 'models' array")
        return [m["name"] for m in items if isinstance(m, dict) and isinstance(m.get("name"), str)]


class _Lines:
    """One answer's /api/chat lines as rollcall events."""

    __slots__ = ("read_error", "finished", "ended")
    end_marker = "line with done: true"
    error = None

    def __init__(self, read_error: Any) -> None:
        self.read_error = read_error
        self.finished = self.ended = False

    def frame(self, line: Any, at: float) -> Sequence[Event]:
        data = line.data
        try:
            doc = loads(data)
        except (ValueError, RecursionError):
            raise invalid_json(data, "a stream line") from None
        if type(doc) is dict and doc.get("done") is False and "error" not in doc:
            message = doc.get("message")
            if type(message) is dict and "thinking" not in message:  # one token: the hot path
                text = message.get("content")
                if type(text) is str:
                    return (Content(text, at),) if text else ()
        return self._reply(expect_object(doc), at)

    def whole(self, body: bytes, at: float) -> Sequence[Event]:
        doc = expect_object(parse_json(body, "the response"))
        if doc.get("done") is not True and "error" not in doc:
            raise BadResponse("the reply is not done (no 'done': true)")
        return self._reply(doc, at)

    def _reply(self, doc: dict[str, Any], at: float) -> Sequence[Event]:
        if "error" in doc:
            raise error_event(doc, self.read_error)
        events: list[Event] = []
        message = doc.get("message")
        if message is not None:
            if not isinstance(message, dict):
                raise BadResponse("'message' is not an object")
            for key, event in (("thinking", ReasoningDelta), ("content", Content)):
                text = message.get(key)
                if text is not None and not isinstance(text, str):
                    raise BadResponse(f"'message.{key}' is a {type(text).__name__}, not text")
                if text:
                    events.append(event(text, at))
        if doc.get("done") is True:
            self.finished = self.ended = True
            prompt, output = doc.get("prompt_eval_count"), doc.get("eval_count")
            events.append(Usage(token_count(prompt), token_count(output), at))
            events.append(Timings(server_timings(
                total=doc.get("total_duration"), load=doc.get("load_duration"),
                prompt_eval=doc.get("prompt_eval_duration"), eval=doc.get("eval_duration"),
                prompt_tokens=prompt, eval_tokens=output, per_second=_NS_PER_S), at))
        return events
