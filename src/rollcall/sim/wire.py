"""The bytes the simulator sends: OpenAI chat-completion chunks, whole completions, error bodies
and challenge pages.

Per-request prefixes are built once, so each streamed token costs a few byte concatenations and
no json.dumps (the tokens in a Plan are already JSON-escaped).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

from .plan import Plan

DONE = b"data: [DONE]\n\n"
SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
JSON_CONTENT_TYPE = "application/json"

_CONTENT = b'"content":"'
_REASONING = b'"reasoning_content":"'
_TOKEN_END = b'"},"finish_reason":null}]}\n\n'

# OpenAI-style error objects per status (message, type, code).
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

CHALLENGE_PAGE = (
    b"<!DOCTYPE html><html lang=\"en-US\"><head><title>Just a moment...</title>"
    b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\">"
    b"<meta name=\"robots\" content=\"noindex,nofollow\"></head><body>"
    b"<div class=\"main-wrapper\" role=\"main\"><h1>Checking your browser before accessing the site.</h1>"
    b"<p>Enable JavaScript and cookies to continue.</p>"
    b"<noscript>Please enable JavaScript.</noscript></div>"
    b"<script src=\"/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1\"></script></body></html>"
)


def error_body(status: int, message: str | None = None, *, code: str | None = None,
               param: str | None = None) -> bytes:
    """`{"error": {...}}` as OpenAI sends it for `status`."""
    default_message, kind, default_code = _ERRORS.get(status, (f"Simulated HTTP {status}.", "server_error", None))
    error = {"message": message or default_message, "type": kind, "param": param, "code": code or default_code}
    return json.dumps({"error": error}).encode()


def usage(plan: Plan, prompt_tokens: int) -> dict[str, object]:
    completion = len(plan.content) + len(plan.reasoning)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
        "completion_tokens_details": {"reasoning_tokens": len(plan.reasoning)},
    }


class Chunks:
    """The SSE events of one streamed completion."""

    def __init__(self, plan: Plan, request_id: str, created: int) -> None:
        self.plan = plan
        self._meta = (
            b'{"id":"' + request_id.encode() + b'","object":"chat.completion.chunk","created":'
            + str(created).encode() + b',"model":' + json.dumps(plan.model).encode()
        )
        self._head = b"data: " + self._meta + b',"choices":[{"index":0,"delta":{'

    def role(self) -> bytes:
        return self._head + b'"role":"assistant","content":""},"finish_reason":null}]}\n\n'

    def tokens(self, *, endless: bool = False) -> Iterator[bytes]:
        """One event per token: reasoning first, then the answer (repeated forever if endless)."""
        head = self._head
        for token in self.plan.reasoning:
            yield head + _REASONING + token + _TOKEN_END
        if not endless:
            for token in self.plan.content:
                yield head + _CONTENT + token + _TOKEN_END
            return
        events = [head + _CONTENT + token + _TOKEN_END for token in self.plan.content or (b" ...",)]
        yield from itertools.cycle(events)

    def finish(self) -> bytes:
        return self._head + b'},"finish_reason":"' + self.plan.finish_reason.encode() + b'"}]}\n\n'

    def usage(self, prompt_tokens: int) -> bytes:
        return (b"data: " + self._meta + b',"choices":[],"usage":'
                + json.dumps(usage(self.plan, prompt_tokens)).encode() + b"}\n\n")

    def invalid_json(self) -> bytes:
        # A chunk cut off inside a string: the event ends, the JSON does not.
        return self._head + _CONTENT + b"this chunk is cut off\n\n"

    def invalid_utf8(self) -> bytes:
        return self._head + _CONTENT + b" \xff\xfe\xc3\x28" + _TOKEN_END

    @staticmethod
    def error_event() -> bytes:
        return b"event: error\ndata: " + error_body(500) + b"\n\n"

    @staticmethod
    def error_chunk() -> bytes:
        return b"data: " + error_body(500) + b"\n\n"


def completion(plan: Plan, request_id: str, created: int, prompt_tokens: int, *, utf8_ok: bool = True) -> bytes:
    """A whole (non-streamed) chat completion; with utf8_ok=False its content holds invalid UTF-8."""
    content = b"".join(plan.content) + (b"" if utf8_ok else b" \xff\xfe\xc3\x28")
    message = b'{"role":"assistant","content":"' + content + b'"'
    if plan.reasoning:
        message += b',"reasoning_content":"' + b"".join(plan.reasoning) + b'"'
    return (
        b'{"id":"' + request_id.encode() + b'","object":"chat.completion","created":' + str(created).encode()
        + b',"model":' + json.dumps(plan.model).encode()
        + b',"choices":[{"index":0,"message":' + message + b'},"logprobs":null,"finish_reason":"'
        + plan.finish_reason.encode() + b'"}],"usage":' + json.dumps(usage(plan, prompt_tokens)).encode() + b"}"
    )


def completion_head(plan: Plan, request_id: str, created: int) -> bytes:
    """The start of a completion whose content never ends (the endless and trickle faults)."""
    return (b'{"id":"' + request_id.encode() + b'","object":"chat.completion","created":' + str(created).encode()
            + b',"model":' + json.dumps(plan.model).encode()
            + b',"choices":[{"index":0,"message":{"role":"assistant","content":"')
