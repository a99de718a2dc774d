"""LiteLLM as a target kind: any provider LiteLLM reaches by its model string (`bedrock/...`,
`vertex_ai/...`, `azure/...`, `mistral/...`, `openai/...` with an `api_base`...).

LiteLLM is heavy (seconds to import) and optional (`pip install 'rollcall[litellm]'`): it is
imported on its own thread the first time a LiteLLM target is built, never by `import rollcall`.
Every call runs on that thread's event loop (isolation.LoopThread): LiteLLM caches its HTTP
clients per loop, and nothing it does there can stall the caller's loop or delay a deadline.
Credentials come from the environment as LiteLLM documents them (or `api_key`); their values are
registered with rollcall.redact, so LiteLLM's error texts are scrubbed before anyone sees them.

Timing: LiteLLM parses the wire itself, so events are stamped when LiteLLM hands rollcall each
chunk, not when its bytes arrive (TIMING; `meta["timing"]` on every target says so), and
"headers" is when LiteLLM handed over the open stream. Failures are mapped to rollcall's error
kinds by LITELLM_ERRORS and CAUSES below, on LiteLLM's thread; what crosses to the caller is a
plain LiteLLMError.
"""

from __future__ import annotations

import gc
import importlib.util
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from .. import untrusted
from ..classification import kind_for_status
from ..http import retry_after_of
from ..isolation import STARTED, LoopThread
from ..models import ErrorKind
from ..redact import display_url, register_secret, register_url_secrets
from ..urls import check_base_url
from .base import Content, Event, Headers, ProbeError, ProbeRequest, ReasoningDelta, Started, Usage, token_count

__all__ = ["CAUSES", "INSTALL_HINT", "LITELLM_ERRORS", "TIMING", "LiteLLMError", "LiteLLMTarget", "map_failure",
           "missing_reason", "ready"]

INSTALL_HINT = "pip install 'rollcall[litellm]'"
TIMING = "stamped when LiteLLM hands rollcall each chunk (after LiteLLM's own parsing), not when bytes arrive"

# Set (unless the user set them) before LiteLLM is imported: without them `import litellm`
# fetches its model cost map (and other catalogs) from the internet, retrying for seconds offline.
OFFLINE_ENV = {
    "LITELLM_OFFLINE_MODE": "true",  # every catalog, check and tokenizer from its bundled copy
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # the same for the cost map, in versions before offline mode
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
}
IMPORT_TIMEOUT_S = 60.0  # `import litellm` takes seconds (5-10 s seen on a loaded 2-core machine)
_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy")
# Fields rollcall sets on every call; `extra` may not replace them.
RESERVED = frozenset({"model", "messages", "stream", "stream_options", "api_base", "api_key",
                      "num_retries", "max_retries"})
_CREDENTIAL_NAME = re.compile(r"(?i)key|token|secret|password|credential|auth")


class LiteLLMError(ProbeError, plain=True):
    """A LiteLLM failure, already classified (its fields are plain data)."""


# ---- error mapping -----------------------------------------------------------------------------
# LiteLLM's exception classes (litellm.exceptions) -> rollcall's error kinds. The first name in
# the exception's class hierarchy found here decides. HTTP_STATUS means "by the status the server
# really sent" (classification.kind_for_status: 401/403 auth, 429 rate_limit, else http_status,
# the status kept: Anthropic's 529 stays 529 where LiteLLM says 500); with no server response
# behind it, LiteLLM refused the call itself (an unknown provider, a missing key) and it is a
# provider_error, or auth when LiteLLM says credentials are missing.
LITELLM_ERRORS: dict[str, ErrorKind] = {
    "Timeout": ErrorKind.TIMEOUT,
    "AuthenticationError": ErrorKind.AUTH,
    "PermissionDeniedError": ErrorKind.AUTH,
    "RateLimitError": ErrorKind.RATE_LIMIT,
    "UnsupportedParamsError": ErrorKind.PROVIDER_ERROR,  # LiteLLM's own check, nothing was sent
    "LiteLLMUnknownProvider": ErrorKind.PROVIDER_ERROR,
    "ContentPolicyViolationError": ErrorKind.HTTP_STATUS,
    "ContextWindowExceededError": ErrorKind.HTTP_STATUS,
    "BadRequestError": ErrorKind.HTTP_STATUS,
    "UnprocessableEntityError": ErrorKind.HTTP_STATUS,
    "NotFoundError": ErrorKind.HTTP_STATUS,
    "ServiceUnavailableError": ErrorKind.HTTP_STATUS,
    "InternalServerError": ErrorKind.HTTP_STATUS,
    "BadGatewayError": ErrorKind.HTTP_STATUS,
    "APIResponseValidationError": ErrorKind.BAD_RESPONSE,
    "APIError": ErrorKind.HTTP_STATUS,
    # LiteLLM's catch-all, also for broken streams and provider SDK errors: a connect failure
    # only when a transport error lies beneath it (CAUSES).
    "APIConnectionError": ErrorKind.PROVIDER_ERROR,
    "BudgetExceededError": ErrorKind.PROVIDER_ERROR,
}
# What lies beneath LiteLLM's wrapper (its exceptions chain the transport's), keyed by the root
# package and class name; checked first, outermost cause first, most derived class first, so a
# reset under "InternalServerError (500)" is the connect failure it was.
CAUSES: dict[str, ErrorKind] = {
    "httpx.TimeoutException": ErrorKind.TIMEOUT,
    "openai.APITimeoutError": ErrorKind.TIMEOUT,
    "aiohttp.ServerTimeoutError": ErrorKind.TIMEOUT,
    "aiohttp.ConnectionTimeoutError": ErrorKind.TIMEOUT,
    "aiohttp.SocketTimeoutError": ErrorKind.TIMEOUT,
    "builtins.TimeoutError": ErrorKind.TIMEOUT,
    "httpx.DecodingError": ErrorKind.BAD_RESPONSE,
    "httpx.TransportError": ErrorKind.CONNECT,  # connect, read, write, protocol, proxy errors
    "openai.APIConnectionError": ErrorKind.CONNECT,
    "aiohttp.ClientConnectionError": ErrorKind.CONNECT,
    "aiohttp.ClientPayloadError": ErrorKind.BAD_RESPONSE,
    "builtins.ConnectionError": ErrorKind.CONNECT,
    "socket.gaierror": ErrorKind.CONNECT,
    "ssl.SSLError": ErrorKind.CONNECT,
    "json.JSONDecodeError": ErrorKind.BAD_RESPONSE,
    "builtins.UnicodeDecodeError": ErrorKind.BAD_RESPONSE,
    "botocore.NoCredentialsError": ErrorKind.AUTH,
    "botocore.PartialCredentialsError": ErrorKind.AUTH,
    "google.DefaultCredentialsError": ErrorKind.AUTH,
    "builtins.ImportError": ErrorKind.MISSING_DEPENDENCY,  # a provider's optional SDK
}
_MISSING_CREDENTIALS = re.compile(
    r"(?i)missing credentials|missing \w+ api key|no (?:api )?key is set|credentials were not found"
    r"|unable to locate credentials|api[_ ]key (?:is )?(?:required|missing|not (?:set|provided))")
_HINT = re.compile(r"\s*Handle with `litellm\.\w+`\.?")
_MESSAGE_CHARS = 4096
# The built-in slots, which no class can override (see rollcall.untrusted).
_type_mro = type.__dict__["__mro__"].__get__
_type_dict = type.__dict__["__dict__"].__get__
_CHAIN_DEPTH = 10


def _names(cls: type) -> list[str]:
    """`package.Name` of each class in cls's hierarchy, most derived first."""
    names = []
    for base in _type_mro(cls):
        module = untrusted.text(_type_dict(base).get("__module__")) or ""
        names.append(f"{module.partition('.')[0]}.{untrusted.type_name(base)}")
    return names


def _chain(exc: BaseException) -> list[BaseException]:
    """exc and what it wraps (LiteLLM's `original_exception`, then __cause__, __context__)."""
    found: list[BaseException] = []
    seen: set[int] = set()
    current: object = exc
    while issubclass(type(current), BaseException) and id(current) not in seen and len(found) < _CHAIN_DEPTH:
        seen.add(id(current))
        found.append(current)  # type: ignore[arg-type]
        inner = getattr(current, "original_exception", None)
        if not issubclass(type(inner), BaseException):
            inner = current.__cause__ or current.__context__  # type: ignore[union-attr]
        current = inner
    return found


def _server_response(chain: list[BaseException]) -> Any:
    """The deepest HTTP response in the chain that a server sent. LiteLLM invents responses
    (a status, no headers) for failures that never reached a server; those do not count."""
    for exc in reversed(chain):
        response = getattr(exc, "response", None)
        status = untrusted.integer(getattr(response, "status_code", None))
        headers = getattr(response, "headers", None)
        if status is not None and 100 <= status <= 599 and headers is not None and len(headers) > 0:
            return response
    return None


def _message(exc: BaseException) -> str:
    try:
        text = untrusted.text(str(exc)) or ""
    except Exception:  # noqa: BLE001 - an unreadable message is reported by its class alone
        text = ""
    text = _HINT.sub("", " ".join(text[:_MESSAGE_CHARS].split()))
    return text or untrusted.type_name(type(exc))


def map_failure(exc: BaseException, *, mid_stream: bool) -> LiteLLMError:
    """The LiteLLMError for what LiteLLM raised; `mid_stream` when the answer had begun (HTTP
    200 already): then only auth, rate limits and transport failures keep their kind, anything
    else is the stream breaking (bad_response), as for the native HTTP kinds. Never raises."""
    try:
        return _map_failure(exc, mid_stream=mid_stream)
    except Exception as failed:  # noqa: BLE001 - an exception that cannot be read is still a result
        why = untrusted.type_name(type(failed))
        return LiteLLMError(ErrorKind.PROVIDER_ERROR, f"{untrusted.type_name(type(exc))} (could not be read: {why})")


def _map_failure(exc: BaseException, *, mid_stream: bool) -> LiteLLMError:
    if mid_stream and "MidStreamFallbackError" in untrusted.mro_names(type(exc)):
        inner = getattr(exc, "original_exception", None)
        exc = inner if issubclass(type(inner), BaseException) else exc
    chain = _chain(exc)
    message = _message(exc)
    cause = None
    for link in chain:
        names = _names(type(link))
        if names[0].startswith("litellm."):
            continue  # LiteLLM's own classes subclass openai's (APIConnectionError): not evidence
        cause = next((CAUSES[n] for n in names if n in CAUSES), None)
        if cause is not None:
            break
    wrapper = next((LITELLM_ERRORS[n.partition(".")[2]] for link in chain for n in _names(type(link))
                    if n.startswith("litellm.") and n.partition(".")[2] in LITELLM_ERRORS), None)
    response = None if mid_stream else _server_response(chain)
    status = untrusted.integer(response.status_code) if response is not None else None
    if cause is not None:
        kind = cause
    elif mid_stream:
        ok_kinds = (ErrorKind.AUTH, ErrorKind.RATE_LIMIT, ErrorKind.TIMEOUT)
        kind = wrapper if wrapper in ok_kinds else ErrorKind.BAD_RESPONSE
    elif _MISSING_CREDENTIALS.search(message):
        kind = ErrorKind.AUTH
    elif status is not None and wrapper in (ErrorKind.HTTP_STATUS, ErrorKind.PROVIDER_ERROR, None):
        kind = kind_for_status(status)
    elif wrapper is ErrorKind.HTTP_STATUS or wrapper is None:
        kind = ErrorKind.PROVIDER_ERROR  # no server said so: LiteLLM's own refusal
    else:
        kind = wrapper
    retry_after = None
    if response is not None and status in (429, 503):
        headers = getattr(response, "headers", None)
        retry_after = retry_after_of(headers) if headers is not None else None
        if retry_after is not None:
            message += f" (retry after {retry_after:g} s)"
    return LiteLLMError(kind, message, status=status, retry_after_s=retry_after)


# ---- LiteLLM's thread --------------------------------------------------------------------------

_module: dict[str, Any] = {}


def missing_reason() -> str | None:
    """Why LiteLLM cannot be used here (not installed), without importing it; None when it can."""
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):  # a broken or shadowed package
        spec = None
    if spec is None:
        return f"LiteLLM is not installed ({INSTALL_HINT})"
    return None


def _import_litellm() -> None:
    """On LiteLLM's thread, once: import and quieten it (its failure is kept for the calls)."""
    try:
        import litellm
    except ImportError as exc:
        _module["error"] = (ErrorKind.MISSING_DEPENDENCY, f"LiteLLM is not installed ({INSTALL_HINT}): {exc}")
        return
    except Exception as exc:  # noqa: BLE001 - a broken install is still a classified failure
        _module["error"] = (ErrorKind.PROVIDER_ERROR, f"importing LiteLLM failed: {_message(exc)}")
        return
    litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banner on every error
    litellm.disable_streaming_logging = True  # no logging job per chunk: rollcall has no callbacks
    litellm.telemetry = False  # older versions' usage reporting
    if not os.environ.get("LITELLM_LOG"):  # LiteLLM's own switch for its logs, left to the user
        for name in _LOGGERS:
            logging.getLogger(name).disabled = True  # its handlers write to the real stderr
    _module["litellm"] = litellm


async def _close_clients() -> None:
    """At exit, on LiteLLM's loop: close the HTTP clients LiteLLM cached there and drop them, so
    none is left for its finalizer during interpreter shutdown (which can hang the exit)."""
    litellm = _module.get("litellm")
    if litellm is None:
        return
    close = getattr(litellm, "close_litellm_async_clients", None)  # LiteLLM's own clean-up
    if close is not None:
        try:
            await close()
        except Exception:  # noqa: BLE001 - dropping them below still helps
            pass
    flush = getattr(getattr(litellm, "in_memory_llm_clients_cache", None), "flush_cache", None)
    if flush is not None:
        flush()
    gc.collect()  # the clients' finalizers run now, on this loop, with the interpreter whole


_THREAD = LoopThread("litellm", setup=_import_litellm, teardown=_close_clients)


def _start() -> None:
    for name, value in OFFLINE_ENV.items():  # here, on the caller's thread, before the import
        os.environ.setdefault(name, value)
    _THREAD.start()


def ready(timeout_s: float = IMPORT_TIMEOUT_S) -> str | None:
    """Import LiteLLM now (blocking, at most `timeout_s`): None when it can be called, else why
    not, e.g. for a plan to report the targets as skipped. Probes do not need it (they wait for
    the import, counted as queue time), but the import's seconds then count against their deadlines."""
    reason = missing_reason()
    if reason is not None:
        return reason
    _start()
    if not _THREAD.wait_ready(timeout_s):
        return f"importing LiteLLM took longer than {timeout_s:g} s"
    error = _module.get("error")
    return error[1] if error else None


def _register_environment_secrets() -> None:
    """LiteLLM reads keys from variables like OPENAI_API_KEY, AZURE_API_KEY, AWS_SECRET_ACCESS_KEY,
    VERTEXAI_CREDENTIALS; every variable with a credential-like name is scrubbed from output."""
    for name, value in os.environ.items():
        if _CREDENTIAL_NAME.search(name):
            register_secret(value)


def _chunk_events(chunk: Any, at: float) -> list[Event]:
    """Events of one LiteLLM stream chunk (a ModelResponseStream), as plain data."""
    events: list[Event] = []
    choices = getattr(chunk, "choices", None)
    if choices:
        delta = getattr(choices[0], "delta", None)
        reasoning = untrusted.text(getattr(delta, "reasoning_content", None))
        if reasoning:
            events.append(ReasoningDelta(reasoning, at))
        content = untrusted.text(getattr(delta, "content", None))
        if content:
            events.append(Content(content, at))
    usage = getattr(chunk, "usage", None)
    if usage is not None:
        prompt = token_count(getattr(usage, "prompt_tokens", None))
        completion = token_count(getattr(usage, "completion_tokens", None))
        if prompt is not None or completion is not None:
            events.append(Usage(prompt, completion, at))
    return events


def _content_type(stream: Any) -> str:
    hidden = getattr(stream, "_hidden_params", None)
    headers = hidden.get("additional_headers") if type(hidden) is dict else None
    value = headers.get("llm_provider-content-type") if type(headers) is dict else None
    return (untrusted.text(value) or "").lower()


class LiteLLMTarget:
    """One LiteLLM configuration; each of `models` (LiteLLM model strings) is probed separately."""

    kind = "litellm"

    def __init__(
        self,
        name: str,
        models: Sequence[str],
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        if not name:
            raise ValueError("a LiteLLM target needs a name")
        if isinstance(models, str):
            models = (models,)
        if not models or not all(isinstance(m, str) and m.strip() for m in models):
            raise ValueError(f"target {name!r}: models must be LiteLLM model strings, e.g. 'mistral/mistral-small'")
        if api_base:
            try:
                check_base_url(api_base)
            except ValueError as exc:
                raise ValueError(f"target {name!r}: api_base {exc}") from None
            register_url_secrets(api_base)
        extra = dict(extra or {})
        reserved = sorted(k for k in extra if k in RESERVED)
        if reserved or not all(isinstance(k, str) for k in extra):
            raise ValueError(f"target {name!r}: extra may not set {', '.join(reserved) or 'non-text keys'} "
                             "(rollcall sets them; use api_base/api_key/models)")
        for key, value in extra.items():
            if _CREDENTIAL_NAME.search(key) and isinstance(value, str):
                register_secret(value)
        register_secret(api_key)
        _register_environment_secrets()
        self.name = name
        self.models = tuple(models)
        self.api_base = api_base or None
        self._api_key = api_key or None
        self.extra = extra
        self.meta = {"timing": TIMING, "via": "litellm"}  # shown with the planned target (run.targets)
        _start()  # the import takes seconds: begin it now, while the run is being planned

    def __repr__(self) -> str:
        base = f", api_base={display_url(self.api_base)!r}" if self.api_base else ""
        return f"LiteLLMTarget({self.name!r}, models={self.models!r}{base})"

    def _kwargs(self, request: ProbeRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = {**self.extra, "model": request.model, "messages": request.messages,
                                  "stream": True, "stream_options": {"include_usage": True},
                                  # a probe reports the first failure; rollcall's --retries retry
                                  "num_retries": 0, "max_retries": 0}
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self._api_key:
            kwargs["api_key"] = self._api_key
        if request.max_tokens is not None:
            kwargs["max_tokens"] = request.max_tokens
        return kwargs

    async def _events(self, request: ProbeRequest) -> AsyncIterator[Event]:
        """Runs on LiteLLM's thread: call, stamp each chunk as LiteLLM hands it over, map failures."""
        litellm = _module.get("litellm")
        if litellm is None:
            kind, message = _module.get("error", (ErrorKind.MISSING_DEPENDENCY, f"LiteLLM is not available ({INSTALL_HINT})"))
            raise LiteLLMError(kind, message)
        failure: LiteLLMError | None = None
        try:
            stream = await litellm.acompletion(**self._kwargs(request))
        except Exception as exc:  # noqa: BLE001 - every failure leaves classified
            failure = map_failure(exc, mid_stream=False)
        if failure is not None:
            raise failure  # outside the except block: no reference to LiteLLM's exception remains
        yield Headers(200, at=time.perf_counter())
        if "html" in _content_type(stream):
            raise LiteLLMError(ErrorKind.BAD_RESPONSE, "HTTP 200 sent an HTML page where an answer was "
                               "expected (a challenge or login page?)")
        chunks = stream.__aiter__()
        while True:
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                break
            except Exception as exc:  # noqa: BLE001 - every failure leaves classified
                failure = map_failure(exc, mid_stream=True)
                break
            for event in _chunk_events(chunk, time.perf_counter()):
                yield event
        if failure is not None:
            raise failure

    async def stream(self, request: ProbeRequest) -> AsyncIterator[Event]:
        async for stamp, event in _THREAD.stream(lambda: self._events(request)):
            yield Started(at=stamp) if event is STARTED else event

    async def list_models(self) -> list[str]:
        """The configured model strings: LiteLLM has no one way to ask every provider."""
        return list(self.models)

    async def aclose(self) -> None:
        return None  # LiteLLM's clients live on its thread, cached by LiteLLM for the next run
