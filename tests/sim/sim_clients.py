"""Raw clients for each simulator protocol: how a test builds a request and reads the bytes
back (events, text, reasoning, the end marker, errors), with nothing but aiohttp and json, so
the tests check the wire itself rather than an SDK's reading of it. One class per protocol."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from rollcall.sim import SimServer

BOUND_S = 10.0  # generous bound on any wait that should end far sooner
PROMPT = "Hello, are you GPT 3.5?"
KEY = "sk-sim-test-5ecret-0123456789"
MESSAGES = [{"role": "user", "content": PROMPT}]
Doc = dict[str, Any]


def sse_events(raw: bytes) -> list[tuple[str | None, bytes]]:
    """(event name, data) per SSE event, CRLF or LF line ends; the data stays bytes."""
    out = []
    for block in raw.replace(b"\r\n", b"\n").split(b"\n\n"):
        name, data = None, []
        for line in block.split(b"\n"):
            if line.startswith(b"event: "):
                name = line[7:].decode()
            elif line.startswith(b"data: "):
                data.append(line[6:])
        if data:
            out.append((name, b"\n".join(data)))
    return out


class Client:
    """One protocol as a test speaks it; subclasses fill in the protocol's shapes."""

    name = ""

    def request(self, server: SimServer, model: str, *, stream: bool = True, max_tokens: int | None = None,
                key: str = KEY) -> tuple[str, dict[str, str], Doc]:
        """(url, headers, json body) of a chat request."""
        raise NotImplementedError

    async def fetch(self, session: aiohttp.ClientSession, server: SimServer, model: str, **kw: Any
                    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, whole body) of one request."""
        url, headers, body = self.request(server, model, **kw)
        async with asyncio.timeout(BOUND_S):
            async with session.post(url, json=body, headers=headers) as r:
                return r.status, dict(r.headers), await r.read()

    # ---- reading a stream ----------------------------------------------------------------

    def frames(self, raw: bytes) -> list[bytes]:
        """Each event's data, unparsed (SSE by default)."""
        return [data for _, data in sse_events(raw)]

    def docs(self, raw: bytes) -> list[Doc]:
        return [json.loads(f) for f in self.frames(raw)]

    def pieces(self, doc: Doc) -> list[tuple[str, str]]:
        """(kind, text) for the content and reasoning one streamed doc carries."""
        raise NotImplementedError

    def text(self, docs: list[Doc], kind: str = "content") -> str:
        return "".join(t for d in docs for k, t in self.pieces(d) if k == kind)

    def kinds(self, docs: list[Doc]) -> list[str]:
        return [k for d in docs for k, _ in self.pieces(d)]

    def ended(self, raw: bytes) -> bool:
        """Whether the stream carries its protocol's end marker, last."""
        raise NotImplementedError

    def finish_reason(self, docs: list[Doc]) -> str | None:
        """The stream's stop reason in its protocol's words."""
        raise NotImplementedError

    def output_tokens(self, docs: list[Doc]) -> int | None:
        """The output token count the stream reports (reasoning included)."""
        raise NotImplementedError

    def whole_text(self, doc: Doc, kind: str = "content") -> str:
        raise NotImplementedError

    def error_of(self, doc: Doc) -> tuple[str, str]:
        """(the error's type or status name, its message) from an error body or event."""
        raise NotImplementedError

    def is_error(self, doc: Doc) -> bool:
        return "error" in doc


class OpenAIClient(Client):
    name = "openai"

    def request(self, server: SimServer, model: str, *, stream: bool = True, max_tokens: int | None = None,
                key: str = KEY) -> tuple[str, dict[str, str], Doc]:
        body: Doc = {"model": model, "messages": MESSAGES, "stream": stream}
        if stream:
            body["stream_options"] = {"include_usage": True}
        if max_tokens:
            body["max_tokens"] = max_tokens
        return server.url_for("openai") + "/chat/completions", {"Authorization": f"Bearer {key}"}, body

    def frames(self, raw: bytes) -> list[bytes]:
        return [f for f in super().frames(raw) if f != b"[DONE]"]

    def pieces(self, doc: Doc) -> list[tuple[str, str]]:
        delta = doc["choices"][0]["delta"] if doc.get("choices") else {}
        return ([("reasoning", delta["reasoning_content"])] if delta.get("reasoning_content") else []) + (
            [("content", delta["content"])] if delta.get("content") else [])

    def ended(self, raw: bytes) -> bool:
        return raw.endswith(b"data: [DONE]\n\n")

    def finish_reason(self, docs: list[Doc]) -> str | None:
        return next((d["choices"][0]["finish_reason"] for d in reversed(docs)
                     if d.get("choices") and d["choices"][0].get("finish_reason")), None)

    def output_tokens(self, docs: list[Doc]) -> int | None:
        return next((d["usage"]["completion_tokens"] for d in reversed(docs) if d.get("usage")), None)

    def whole_text(self, doc: Doc, kind: str = "content") -> str:
        return doc["choices"][0]["message"].get("reasoning_content" if kind == "reasoning" else "content") or ""

    def error_of(self, doc: Doc) -> tuple[str, str]:
        return doc["error"]["type"], doc["error"]["message"]


class AnthropicClient(Client):
    name = "anthropic"
    VERSION = "2023-06-01"

    def request(self, server: SimServer, model: str, *, stream: bool = True, max_tokens: int | None = None,
                key: str = KEY) -> tuple[str, dict[str, str], Doc]:
        body = {"model": model, "messages": MESSAGES, "stream": stream, "max_tokens": max_tokens or 1024}
        return (server.root_url + "/v1/messages", {"x-api-key": key, "anthropic-version": self.VERSION}, body)

    def pieces(self, doc: Doc) -> list[tuple[str, str]]:
        delta = doc.get("delta", {}) if doc.get("type") == "content_block_delta" else {}
        if delta.get("type") == "thinking_delta":
            return [("reasoning", delta["thinking"])]
        if delta.get("type") == "text_delta":
            return [("content", delta["text"])]
        return []

    def ended(self, raw: bytes) -> bool:
        events = sse_events(raw)
        return bool(events) and events[-1][0] == "message_stop"

    def finish_reason(self, docs: list[Doc]) -> str | None:
        return next((d["delta"]["stop_reason"] for d in reversed(docs) if d.get("type") == "message_delta"), None)

    def output_tokens(self, docs: list[Doc]) -> int | None:
        return next((d["usage"]["output_tokens"] for d in reversed(docs) if d.get("type") == "message_delta"), None)

    def whole_text(self, doc: Doc, kind: str = "content") -> str:
        block = "thinking" if kind == "reasoning" else "text"
        return "".join(b[block] for b in doc["content"] if b["type"] == block)

    def error_of(self, doc: Doc) -> tuple[str, str]:
        assert doc["type"] == "error"
        return doc["error"]["type"], doc["error"]["message"]

    def is_error(self, doc: Doc) -> bool:
        return doc.get("type") == "error"


class GeminiClient(Client):
    name = "gemini"

    def request(self, server: SimServer, model: str, *, stream: bool = True, max_tokens: int | None = None,
                key: str = KEY) -> tuple[str, dict[str, str], Doc]:
        action = "streamGenerateContent?alt=sse" if stream else "generateContent"
        body: Doc = {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]}
        if max_tokens:
            body["generationConfig"] = {"maxOutputTokens": max_tokens}
        return f"{server.root_url}/v1beta/models/{model}:{action}", {"x-goog-api-key": key}, body

    def pieces(self, doc: Doc) -> list[tuple[str, str]]:
        return [("reasoning" if part.get("thought") else "content", part["text"])
                for candidate in doc.get("candidates", []) for part in candidate.get("content", {}).get("parts", [])
                if part.get("text")]

    def ended(self, raw: bytes) -> bool:
        frames = self.frames(raw)
        return bool(frames) and self.finish_reason([json.loads(frames[-1])]) is not None

    def finish_reason(self, docs: list[Doc]) -> str | None:
        for doc in reversed(docs):
            if "promptFeedback" in doc:
                return "blocked:" + doc["promptFeedback"]["blockReason"]
            if doc.get("candidates") and doc["candidates"][0].get("finishReason"):
                return doc["candidates"][0]["finishReason"]
        return None

    def output_tokens(self, docs: list[Doc]) -> int | None:
        usage = next((d["usageMetadata"] for d in reversed(docs) if d.get("usageMetadata")), None)
        return None if usage is None else usage.get("candidatesTokenCount", 0) + usage.get("thoughtsTokenCount", 0)

    def whole_text(self, doc: Doc, kind: str = "content") -> str:
        parts = doc["candidates"][0].get("content", {}).get("parts", []) if doc.get("candidates") else []
        return "".join(p["text"] for p in parts if bool(p.get("thought")) == (kind == "reasoning"))

    def error_of(self, doc: Doc) -> tuple[str, str]:
        return doc["error"]["status"], doc["error"]["message"]


class OllamaClient(Client):
    name = "ollama"

    def request(self, server: SimServer, model: str, *, stream: bool = True, max_tokens: int | None = None,
                key: str = KEY) -> tuple[str, dict[str, str], Doc]:
        body: Doc = {"model": model, "messages": MESSAGES, "stream": stream}
        if max_tokens:
            body["options"] = {"num_predict": max_tokens}
        return server.root_url + "/api/chat", {"Authorization": f"Bearer {key}"}, body

    def frames(self, raw: bytes) -> list[bytes]:
        return [line for line in raw.split(b"\n") if line.strip()]

    def pieces(self, doc: Doc) -> list[tuple[str, str]]:
        message = doc.get("message", {})
        return ([("reasoning", message["thinking"])] if message.get("thinking") else []) + (
            [("content", message["content"])] if message.get("content") else [])

    def ended(self, raw: bytes) -> bool:
        frames = self.frames(raw)
        return bool(frames) and json.loads(frames[-1]).get("done") is True and raw.endswith(b"\n")

    def finish_reason(self, docs: list[Doc]) -> str | None:
        return next((d["done_reason"] for d in reversed(docs) if d.get("done")), None)

    def output_tokens(self, docs: list[Doc]) -> int | None:
        return next((d["eval_count"] for d in reversed(docs) if d.get("done")), None)

    def whole_text(self, doc: Doc, kind: str = "content") -> str:
        return doc["message"].get("thinking" if kind == "reasoning" else "content") or ""

    def error_of(self, doc: Doc) -> tuple[str, str]:
        assert isinstance(doc["error"], str)
        return "error", doc["error"]


CLIENTS = [OpenAIClient(), AnthropicClient(), GeminiClient(), OllamaClient()]
IDS = [c.name for c in CLIENTS]
