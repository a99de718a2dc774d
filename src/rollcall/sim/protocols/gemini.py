"""The Gemini API: POST /v1beta/models/{model}:streamGenerateContent?alt=sse (SSE, `data:` lines
ending in CRLF CRLF as Google sends them) and :generateContent, key in `x-goog-api-key` or
`?key=`; GET /v1beta/models. The same under /v1.

Each chunk is a GenerateContentResponse: candidates[0].content.parts[] with `text` (a part with
`thought: true` is reasoning); the last carries finishReason (STOP, MAX_TOKENS, or the safety
reason of the `filtered` fault) and usageMetadata (promptTokenCount, candidatesTokenCount,
thoughtsTokenCount, totalTokenCount). A blocked prompt is one chunk with promptFeedback.blockReason
and no candidates. Gemini has no end marker beyond that last chunk, so `no_done` leaves it out.
Errors are `{"error": {"code", "message", "status"}}`, in a body or as a `data:` chunk; a 429
says when to retry in a RetryInfo detail, not a header. Streaming without alt=sse (a JSON array)
is not simulated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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
    dumps,
    estimate_tokens,
    json_object,
    positive_int,
    quoted,
    with_key,
)

EVENT_END = b"\r\n\r\n"
_FINISH = {"stop": "STOP", "length": "MAX_TOKENS"}
_ACTIONS = {"generateContent": False, "streamGenerateContent": True}

# google.rpc status names and Gemini's messages per HTTP status.
_ERRORS: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, "
          "login cookie or other valid authentication credential."),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: ("NOT_FOUND", "Requested entity was not found."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: ("INTERNAL", "An internal error has occurred. Please retry or report in "
          "https://developers.generativeai.google/guide/troubleshooting"),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "The request timed out. Please try again."),
}
_NO_KEY = ("Method doesn't allow unregistered callers (callers without established identity). "
           "Please use API Key or other form of API consumer identity to call this API.")


def error_object(status: int, message: str | None = None, key: str | None = None,
                 retry_after_s: float | None = None) -> dict[str, Any]:
    name, default = _ERRORS.get(status, ("INTERNAL" if status >= 500 else "FAILED_PRECONDITION",
                                         f"Simulated HTTP {status}."))
    error: dict[str, Any] = {"code": status, "message": with_key(message or default, key), "status": name}
    if retry_after_s is not None:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                             "retryDelay": f"{max(0, round(retry_after_s))}s"}]
    return {"error": error}


def _safety_ratings(blocked: bool) -> list[dict[str, Any]]:
    rating: dict[str, Any] = {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}
    if blocked:
        rating["blocked"] = True
    return [rating, {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}]


class GeminiFrames(Frames):
    event_end = EVENT_END

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._meta = b',"modelVersion":' + quoted(ctx.plan.model) + b',"responseId":"' + ctx.request_id.encode() + b'"}'
        before = b'data: {"candidates":[{"content":{"parts":[{"text":"'
        candidate_end = b'],"role":"model"},"index":0}]' + self._meta + EVENT_END
        self.content = (before, b'"}' + candidate_end)
        self.reasoning = (before, b'","thought":true}' + candidate_end)

    def _usage(self) -> dict[str, int]:
        plan, prompt = self.ctx.plan, self.ctx.prompt_tokens
        usage = {"promptTokenCount": prompt, "candidatesTokenCount": len(plan.content)}
        if plan.reasoning:
            usage["thoughtsTokenCount"] = len(plan.reasoning)
        usage["totalTokenCount"] = prompt + len(plan.content) + len(plan.reasoning)
        return usage

    def _last(self, parts: list[bytes]) -> bytes:
        """The final GenerateContentResponse: the finish reason and the usage (or the block)."""
        plan = self.ctx.plan
        usage = b',"usageMetadata":' + dumps(self._usage())
        if plan.finish_reason == "blocked":
            feedback = {"blockReason": plan.reason, "safetyRatings": _safety_ratings(True)}
            return b'{"promptFeedback":' + dumps(feedback) + usage + self._meta
        if plan.finish_reason == "filtered":
            candidate = b'{"finishReason":"' + plan.reason.encode() + b'","index":0'
            if plan.reason == "SAFETY":
                candidate += b',"safetyRatings":' + dumps(_safety_ratings(True))
            if parts:
                candidate += b',"content":{"parts":[' + b",".join(parts) + b'],"role":"model"}'
            candidate += b"}"
        else:
            candidate = (b'{"content":{"parts":[' + b",".join(parts or [b'{"text":""}']) + b'],"role":"model"},'
                         b'"finishReason":"' + _FINISH[plan.finish_reason].encode() + b'","index":0}')
        return b'{"candidates":[' + candidate + b"]" + usage + self._meta

    def end(self) -> bytes:
        return b"data: " + self._last([]) + EVENT_END

    def error_event(self, status: int) -> bytes:
        return b"data: " + dumps(error_object(status, key=self.ctx.key)) + EVENT_END

    def whole(self, content: bytes, reasoning: bytes) -> bytes:
        parts = [b'{"text":"' + reasoning + b'","thought":true}'] if reasoning else []
        if content or self.ctx.plan.finish_reason != "filtered":
            parts.append(b'{"text":"' + content + b'"}')
        return self._last(parts)

    def whole_head(self) -> bytes:
        return b'{"candidates":[{"content":{"parts":[{"text":"'


def _texts(contents: Iterable[object]) -> Iterable[str]:
    for content in contents:
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts if isinstance(parts, list) else ():
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                yield part["text"]


class Gemini(Protocol):
    name = "gemini"
    base_path = ""
    # v1beta as documented, and v1, the google-genai SDK's default in its 3.x releases; GET /v1/models is
    # shared with OpenAI and Anthropic, told apart by the key header (or ?key=).
    routes = (Route("POST", "/v1beta/models/{target:.+}", "chat"), Route("GET", "/v1beta/models", "models"),
              Route("POST", "/v1/models/{target:.+}", "chat"), Route("GET", "/v1/models", "models"))
    marker_headers = ("x-goog-api-key",)

    def claims(self, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        return "x-goog-api-key" in headers or "key" in query

    def parse(self, incoming: Incoming) -> ChatRequest:
        model, _, action = incoming.path.get("target", "").rpartition(":")
        stream = _ACTIONS.get(action)
        if stream is None or not model:
            raise RequestError(404, f"models/{incoming.path.get('target', '')} is not a method this "
                                    "simulator serves (generateContent, streamGenerateContent)")
        key = incoming.headers.get("x-goog-api-key") or incoming.query.get("key")
        if not key:
            raise RequestError(403, _NO_KEY)
        if stream and incoming.query.get("alt") != "sse":
            raise RequestError(400, "the simulator streams only server-sent events: add ?alt=sse")
        body = json_object(incoming.body)
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            raise RequestError(400, "* GenerateContentRequest.contents: contents is not specified")
        config = body.get("generationConfig")
        config = config if isinstance(config, dict) else {}
        try:
            max_tokens = positive_int(config.get("maxOutputTokens"), "maxOutputTokens")
        except RequestError:
            raise RequestError(400, "* GenerateContentRequest.generation_config.max_output_tokens: "
                                    "must be a positive integer") from None
        texts = list(_texts(contents))
        system = body.get("systemInstruction")
        texts += _texts([system])
        return ChatRequest(model.removeprefix("models/"), stream, max_tokens, estimate_tokens(texts), api_key=key)

    def frames(self, ctx: Context) -> Frames:
        return GeminiFrames(ctx)

    def error(self, status: int, message: str | None = None, *, key: str | None = None,
              retry_after_s: float | None = None, **detail: Any) -> Reply:
        return Reply(status, dumps(error_object(status, message, key, retry_after_s)))

    def unknown_model(self, model: str) -> Reply:
        return self.error(404, f"models/{model} is not found for API version v1beta, or is not supported for "
                               "generateContent. Call ListModels to see the list of available models and their "
                               "supported methods.")

    def models(self, names: Sequence[str]) -> bytes:
        models = [{"name": f"models/{name}", "version": "001", "displayName": name,
                   "description": "A simulated model (rollcall sim).", "inputTokenLimit": 1048576,
                   "outputTokenLimit": 65536, "supportedGenerationMethods": ["generateContent", "countTokens"]}
                  for name in names]
        return dumps({"models": models})
