"""What every handler shares: the app's keys, JSON bodies, and errors as responses."""

from __future__ import annotations

import json
from typing import Any

import orjson
from aiohttp import web

from .source import Source

SOURCE = web.AppKey("source", Source)
GUARD = web.AppKey("guard", object)
PROBER = web.AppKey("prober", object)
SITE = web.AppKey("site", str)
SSE_COUNT = web.AppKey("sse_count", list)


def dumps(doc: Any) -> bytes:
    """JSON as every rollcall JSON is (safetext.json_text): exact once parsed, with what a terminal
    or a reader would act on (C1 and bidi controls, U+2028/9) \\u-escaped, so `curl` shows it safely."""
    from ..safetext import json_escaped

    try:
        text = orjson.dumps(doc).decode("utf-8")
    except TypeError:  # a lone surrogate in stored text: \\u-escaped, nothing lost
        return json.dumps(doc, ensure_ascii=True).encode("ascii")
    return json_escaped(text).encode("utf-8")


def json_response(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    body = doc if isinstance(doc, bytes) else dumps(doc)
    return web.Response(body=body, status=status, content_type="application/json", headers=headers)


class Problem(Exception):
    """An error answer with a one-line message; the error middleware renders it as JSON or a
    page, whichever the path calls for."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def problem(status: int, message: str, headers: dict[str, str] | None = None) -> Problem:
    return Problem(status, message, headers)
