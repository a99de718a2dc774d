"""The Gemini API as a target: `POST {base_url}/{api_version}/models/{model}:streamGenerateContent?alt=sse`.

Only what is Gemini's lives here (the reading is rollcall.http_stream's): the request (key in
`x-goog-api-key`, the prompt as `contents`, `generationConfig.maxOutputTokens`), the chunks
(GenerateContentResponse: text parts, `thought: true` parts as reasoning, `usageMetadata` with
candidates and thoughts tokens, `finishReason`; the chunk with the finish reason is the end) and
the errors (`{"error": {"code", "message", "status", "details"}}`, a 429's RetryInfo giving the
retry delay). A blocked prompt (`promptFeedback.blockReason`) or an answer stopped for SAFETY,
RECITATION and the like is a ContentFiltered failure that names the reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from ..http import BadResponse, ContentFiltered, ErrorInfo, HttpClient
from ..http_stream import (
    HttpRequest,
    dumps,
    error_event,
    expect_object,
    get_json,
    invalid_json,
    loads,
    parse_json,
)
from ..urls import with_query
from .base import Content, Event, ProbeRequest, ReasoningDelta, Usage, token_count
from .http_target import HttpTarget

__all__ = ["GeminiTarget"]

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"
# Finish reasons of an answer that ended as asked; any other (SAFETY, RECITATION, LANGUAGE,
# BLOCKLIST, PROHIBITED_CONTENT, SPII, OTHER...) stopped it short and is reported as such.
_DONE = frozenset({"STOP", "MAX_TOKENS", "FINISH_REASON_UNSPECIFIED"})
_DELAY = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")  # a google.protobuf.Duration in JSON: "7s", "1.5s"
_MAX_PAGES = 50


class GeminiTarget(HttpTarget):
    """One Gemini API endpoint (or a server that speaks it); each of `models` ("gemini-2.5-flash"
    or "models/gemini-2.5-flash") is probed separately."""

    kind = "gemini"
    article = "a Gemini"
    needs_model = True

    def __init__(
        self,
        name: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        models: Sequence[str],
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        api_version: str = API_VERSION,
        stream: bool = True,
        client: HttpClient | None = None,
        kind: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(api_version, str) or not re.fullmatch(r"[A-Za-z0-9._-]+", api_version):
            raise ValueError(f"target {name!r}: api_version must be a path segment such as {API_VERSION!r}")
        self.api_version = api_version
        super().__init__(name, base_url, models=models, api_key=api_key, headers=headers, stream=stream,
                         client=client, kind=kind, extra_body=extra_body)
        self.models_path = f"{api_version}/models"

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"x-goog-api-key": api_key}

    def http_request(self, request: ProbeRequest) -> HttpRequest:
        model = request.model if "/" in request.model else f"models/{request.model}"
        method = "streamGenerateContent" if self.streaming else "generateContent"
        url = self.url(f"{self.api_version}/{quote(model, safe='/-._~')}:{method}")
        if self.streaming:
            url = with_query(url, alt="sse")
        body: dict[str, Any] = {**self.extra_body, "contents": [{"role": "user", "parts": [{"text": request.prompt}]}]}
        if request.max_tokens is not None:
            config = body.get("generationConfig")
            body["generationConfig"] = {**(config if isinstance(config, dict) else {}),
                                        "maxOutputTokens": request.max_tokens}
        return self.post(url, dumps(body))

    def mapper(self, request: ProbeRequest) -> _Chunks:
        return _Chunks(self.read_error)

    def read_error(self, doc: Any) -> ErrorInfo:
        error = doc.get("error") if isinstance(doc, dict) else None
        if not isinstance(error, dict):
            return ErrorInfo()
        code, message, status = error.get("code"), error.get("message"), error.get("status")
        code = code if isinstance(code, int) and not isinstance(code, bool) and 100 <= code <= 599 else None
        message = message if isinstance(message, str) and message else None
        status = status if isinstance(status, str) and status else None
        text = f"{status}: {message}" if status and message else status or message
        return ErrorInfo(text, code, _retry_delay(error.get("details")))

    async def list_models(self) -> list[str]:
        """Every model the endpoint lists (GET /{api_version}/models, following its pages), as
        the ids a target's `models` takes (without the "models/" prefix)."""
        headers = {k: v for k, v in self._headers.items() if k != "Content-Type"}
        headers["Accept"] = "application/json"
        ids: list[str] = []
        token: str | None = None
        for _ in range(_MAX_PAGES):
            params = {"pageSize": "1000", **({"pageToken": token} if token else {})}
            doc = await get_json(self.client, with_query(self.url(self.models_path), **params), headers=headers,
                                 read_error=self.read_error, what="model list")
            page = self.model_ids(doc)
            ids += page
            token = doc.get("nextPageToken")
            if not (page and isinstance(token, str) and token):
                break
        return ids

    def model_ids(self, doc: Any) -> list[str]:
        items = doc.get("models") if isinstance(doc, dict) else None
        if items is None and isinstance(doc, dict) and not doc:
            return []  # an empty listing is `{}`
        if not isinstance(items, list):
            raise BadResponse("model list has no 'models' array")
        return [m["name"].removeprefix("models/") for m in items if isinstance(m, dict) and isinstance(m.get("name"), str)]


class _Chunks:
    """One answer's GenerateContentResponse chunks as rollcall events."""

    __slots__ = ("read_error", "finished", "ended", "error")
    end_marker = "chunk with a finishReason"

    def __init__(self, read_error: Any) -> None:
        self.read_error = read_error
        self.finished = self.ended = False
        self.error: Exception | None = None

    def frame(self, event: Any, at: float) -> Sequence[Event]:
        data = event.data
        try:
            doc = loads(data)
        except (ValueError, RecursionError):
            raise invalid_json(data, "a stream event") from None
        return self._response(expect_object(doc), at)

    def whole(self, body: bytes, at: float) -> Sequence[Event]:
        doc = parse_json(body, "the response")
        if type(doc) is list:  # streamGenerateContent without alt=sse: one array of the same chunks
            return [event for item in doc for event in self._response(expect_object(item), at)]
        return self._response(expect_object(doc), at)

    def _response(self, doc: dict[str, Any], at: float) -> Sequence[Event]:
        if "error" in doc:
            raise error_event(doc, self.read_error)
        events: list[Event] = []
        candidates = doc.get("candidates")
        if candidates:
            try:
                candidate = candidates[0]
                content = candidate.get("content")
                parts = content.get("parts") if content else None
                for part in parts or ():
                    text = part.get("text")
                    if type(text) is str and text:
                        events.append(ReasoningDelta(text, at) if part.get("thought") is True else Content(text, at))
                reason = candidate.get("finishReason")
            except (AttributeError, KeyError, IndexError, TypeError):
                raise BadResponse("unexpected shape of 'candidates' in a response chunk") from None
            if isinstance(reason, str) and reason:
                self.finished = self.ended = True
                if reason not in _DONE:
                    self.error = ContentFiltered(f"Gemini stopped the answer: finishReason {reason}")
        else:
            feedback = doc.get("promptFeedback")
            blocked = feedback.get("blockReason") if isinstance(feedback, dict) else None
            if blocked:
                raise ContentFiltered(f"Gemini blocked the prompt: promptFeedback.blockReason {str(blocked)[:80]}")
        usage = doc.get("usageMetadata")
        if type(usage) is dict:
            events.append(_usage(usage, at))
        return events


def _usage(usage: dict[str, Any], at: float) -> Usage:
    # Output tokens are the answer's and the thoughts' (billed alike); either may be missing.
    answer, thoughts = token_count(usage.get("candidatesTokenCount")), token_count(usage.get("thoughtsTokenCount"))
    output = None if answer is None and thoughts is None else (answer or 0) + (thoughts or 0)
    return Usage(token_count(usage.get("promptTokenCount")), output, at)


def _retry_delay(details: Any) -> float | None:
    """The retryDelay of a google.rpc.RetryInfo detail ("7s"), in seconds."""
    if not isinstance(details, list):
        return None
    for detail in details:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = _DELAY.match(str(detail.get("retryDelay", ""))[:40])
            if match:
                return float(match.group(1))
    return None
