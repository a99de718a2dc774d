"""What every HTTP target kind shares: a checked name, base URL, models, key and headers (secrets
registered, never echoed), the shared HttpClient, and `stream` through the one reader
(rollcall.http_stream). A kind is a subclass that supplies its request, its frame mapper and
how its errors read; see targets/openai.py, anthropic.py, gemini.py, ollama.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, ClassVar

from .. import __version__
from ..http import ErrorInfo, HttpClient, openai_error
from ..http_stream import NDJSON, SSE, FrameMapper, HttpRequest, get_json, read_events
from ..redact import display_url, register_secret, register_url_secrets
from ..urls import check_base_url, endpoint_url, normalize_base_url
from .base import Event, ProbeRequest

__all__ = ["HttpClient", "HttpTarget"]

_SECRET_HEADER_WORDS = ("auth", "key", "token", "secret", "cookie", "session")
_ACCEPT = {SSE: "text/event-stream, application/json", NDJSON: "application/x-ndjson, application/json"}


class HttpTarget:
    """One HTTP endpoint; each of `models` is probed separately ("" = the server's default, for
    kinds whose API has one)."""

    kind: str = "http"
    framing: ClassVar[str] = SSE
    article: ClassVar[str] = "an HTTP"  # how messages name the kind: "an OpenAI target needs a name"
    needs_model: ClassVar[bool] = False  # the API has no default model, so "" is refused
    models_path: ClassVar[str] = "models"  # GET {base_url}/{models_path} lists the models

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
        kind: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> None:
        if not name:
            raise ValueError(f"{self.article} target needs a name")
        try:
            check_base_url(base_url)
        except ValueError as exc:
            raise ValueError(f"target {name!r}: base_url {exc}") from None
        if isinstance(models, str):  # models="gpt-4o" would otherwise become one probe per letter
            models = (models,)
        if not models:
            raise ValueError(f'target {name!r}: models must not be empty (use [""] for the server\'s default model)')
        self.name = name
        self.kind = kind or type(self).kind
        if self.needs_model and not all(isinstance(m, str) and m for m in models):
            raise ValueError(f"target {name!r}: models must name each model (the {self.kind} API has no default model)")
        self.models = tuple(models)
        self.base_url = normalize_base_url(base_url)
        register_url_secrets(self.base_url)  # a token in the userinfo or query is a secret
        self.meta = {"base_url": display_url(self.base_url)}  # for reports (TargetInfo)
        self.streaming = stream
        self.client = client if client is not None else HttpClient()
        self._headers = self._build_headers(api_key, headers)
        # Extra JSON fields for every request (e.g. g4f api's "provider", Anthropic's "thinking",
        # Ollama's "options"); the fields rollcall itself sets (messages, model, stream...) win.
        self.extra_body = dict(extra_body or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {display_url(self.base_url)!r}, models={self.models!r})"

    # ---- what a kind supplies --------------------------------------------------------------

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """The headers that carry the key (Bearer by default)."""
        return {"Authorization": f"Bearer {api_key}"}

    def http_request(self, request: ProbeRequest) -> HttpRequest:
        raise NotImplementedError

    def mapper(self, request: ProbeRequest) -> FrameMapper:
        raise NotImplementedError

    def read_error(self, doc: Any) -> ErrorInfo:
        """What one of the kind's error objects says (OpenAI's shape by default)."""
        return openai_error(doc)

    def model_ids(self, doc: Any) -> list[str]:
        """The model ids in the kind's model listing."""
        raise NotImplementedError

    # ---- shared ----------------------------------------------------------------------------

    def stream(self, request: ProbeRequest) -> AsyncIterator[Event]:
        return read_events(self.client, self, request)

    def url(self, path: str) -> str:
        """`path` under the base URL (its query kept)."""
        return endpoint_url(self.base_url, path)

    def post(self, url: str, body: bytes) -> HttpRequest:
        """A POST of the kind's JSON body with the target's headers."""
        return HttpRequest("POST", url, self._headers, body, self.streaming)

    async def list_models(self) -> list[str]:
        """The model ids the endpoint lists (GET {base_url}/{models_path})."""
        headers = {k: v for k, v in self._headers.items() if k != "Content-Type"}
        headers["Accept"] = "application/json"
        doc = await get_json(self.client, self.url(self.models_path), headers=headers, read_error=self.read_error,
                             what="model list")
        return self.model_ids(doc)

    async def aclose(self) -> None:
        # Safe even when the client is shared: closing is idempotent and the runner closes
        # targets only after every probe finished.
        await self.client.aclose()

    def _build_headers(self, api_key: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": _ACCEPT[self.framing] if self.streaming else "application/json",
            "User-Agent": f"rollcall/{__version__}",
        }
        if api_key:
            if any(c in api_key for c in "\r\n\0") or api_key != api_key.strip():
                # Never echo the key itself, not even in an error.
                raise ValueError(f"target {self.name!r}: api_key contains whitespace, a line break or NUL")
            register_secret(api_key)
            headers.update(self.auth_headers(api_key))
        for key, value in (extra or {}).items():
            if not isinstance(key, str) or not isinstance(value, str) or not key.strip():
                raise ValueError(f"target {self.name!r}: header names and values must be text")
            if any(c in key + value for c in "\r\n\0") or ":" in key:
                raise ValueError(f"target {self.name!r}: header {key!r} contains a line break, NUL or colon")
            if any(word in key.lower() for word in _SECRET_HEADER_WORDS):
                register_secret(value)
                _, _, token = value.partition(" ")
                register_secret(token)  # "Bearer <token>": the bare token is a secret too
            headers[key] = value
        return headers
