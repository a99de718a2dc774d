"""The shared HTTP client for HTTP targets, and turning HTTP failures into classified ProbeErrors.

One `HttpClient` owns one aiohttp session (connection pool sized to the run's concurrency, TLS
verified, proxies from the environment) shared by every target that is given it. It applies only
its own caps (connect, first byte, response size); the probe deadline belongs to the runner.
aiohttp is imported when the first HttpClient is built, never at module import, so `import rollcall`
stays fast.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import email.utils
import math
import os
import re
import select
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .classification import kind_for_status
from .inputs import is_finite_positive
from .models import ErrorKind
from .redact import clip, display_url, lookahead, redact_urls
from .targets.base import ProbeError

if TYPE_CHECKING:
    import aiohttp

MiB = 1 << 20
SNIPPET_BYTES = 4096  # how much of an error body we read to explain a failure
SNIPPET_CHARS = 200  # how much of it goes into the one-line message
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)


class HttpClient:
    """A lazily opened aiohttp session plus the caps every request through it obeys.

    The session is created on first use inside the running event loop and belongs to that loop;
    `aclose()` is idempotent, and a closed client opens a fresh session when used again (e.g. in
    the next run's loop). Several targets may share one client and each may close it.
    """

    def __init__(
        self,
        limit: int = 64,
        *,
        max_response_bytes: int = 8 * MiB,
        max_event_bytes: int = 1 * MiB,
        connect_timeout_s: float | None = 10,
        first_byte_timeout_s: float | None = None,
        trust_env: bool = True,
    ) -> None:
        if limit < 1:
            raise ValueError("HttpClient limit must be at least 1 connection")
        if max_response_bytes < 1 or max_event_bytes < 1:
            raise ValueError("HttpClient byte caps must be positive")
        for name, value in (("connect_timeout_s", connect_timeout_s), ("first_byte_timeout_s", first_byte_timeout_s)):
            if value is not None and not is_finite_positive(value):
                raise ValueError(f"HttpClient {name} must be a finite number of seconds above 0, or None")
        self.limit = limit
        self.max_response_bytes = max_response_bytes
        self.max_event_bytes = max_event_bytes
        self.connect_timeout_s = connect_timeout_s
        self.first_byte_timeout_s = first_byte_timeout_s
        self.trust_env = trust_env
        # Import aiohttp now, while the caller builds its targets: importing it on the first
        # request would stall the running event loop for a third of a second and inflate the
        # timings of every probe in flight.
        import aiohttp  # noqa: F401

        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._proxies: dict[str, tuple[Any, Any]] = {}  # by request URL: targets reuse theirs

    @property
    def closed(self) -> bool:
        return self._session is None or self._session.closed

    def session(self) -> aiohttp.ClientSession:
        """The session for the running loop, created on first use."""
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and not session.closed:
            if self._loop is not loop:
                raise RuntimeError("this HttpClient is open in another event loop; aclose() it there first")
            return session
        import aiohttp

        from .http_pool import CleanConnector

        # Keep-alive, but a connection that received bytes nobody asked for is never reused
        # (see http_pool): a probe's answer is the response to its own request.
        connector = CleanConnector(limit=self.limit, limit_per_host=0, ttl_dns_cache=300)
        # Only the socket connect is capped here: waiting for a pooled connection is our own
        # queueing, and reading is bounded by the runner's deadline.
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout_s)
        # trust_env is applied by us (see _proxy_for), not by aiohttp: aiohttp would look up the
        # proxy and ~/.netrc on a worker thread for every request, two thread hops per probe
        # that cost throughput and, with the executor's few threads, add queueing to TTFT.
        # No cookie jar: a cookie one provider sets must not change what the next probe sees
        # (and filtering cookies is work on every request).
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            trust_env=False,
            raise_for_status=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        self._loop = loop
        return self._session

    async def request(
        self, method: str, url: str, *, headers: Mapping[str, str] | None = None, data: bytes | None = None
    ) -> aiohttp.ClientResponse:
        """Send a request and return the response once its headers arrived (use `async with`).

        Failures before the headers become ProbeErrors: `connect` for refused/reset/DNS/TLS,
        `timeout` when the connect or first-byte cap passes.
        """
        import aiohttp

        session = self.session()
        proxy, proxy_auth = self._proxy_for(url) if self.trust_env else (None, None)
        cap = self.first_byte_timeout_s
        deadline = asyncio.timeout(cap)
        try:
            async with deadline:
                return await session.request(
                    method, url, headers=headers, data=data, allow_redirects=False, proxy=proxy, proxy_auth=proxy_auth
                )
        except aiohttp.ConnectionTimeoutError:
            raise ResponseTimeout(f"no connection within {self.connect_timeout_s:g} s") from None
        except TimeoutError:
            if deadline.expired():
                raise ResponseTimeout(f"no response headers within {cap:g} s") from None
            raise
        except aiohttp.ClientError as exc:
            raise translate_client_error(exc) from None

    def _proxy_for(self, url: str) -> tuple[Any, Any]:
        """(proxy URL, proxy auth) from HTTP(S)_PROXY/NO_PROXY for this URL, looked up once."""
        found = self._proxies.get(url)
        if found is None:
            from aiohttp.helpers import get_env_proxy_for_url
            from yarl import URL

            try:
                found = get_env_proxy_for_url(URL(url))
            except (LookupError, ValueError):
                found = (None, None)
            if len(self._proxies) > 1024:  # many distinct URLs: keep the cache small
                self._proxies.clear()
            self._proxies[url] = found
        return found

    async def aclose(self) -> None:
        """Close the session (idempotent; safe to call from every target sharing this client)."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()


def _reason(exc: BaseException | str) -> str:
    # aiohttp's messages quote the request URL with its query: shown as display_url shows it.
    text = " ".join(str(exc).split()) or type(exc).__name__
    return clip(redact_urls(text), 300) or type(exc).__name__


# Named ProbeErrors: results show errors as "ExcType: message" (classify.describe), so the class
# name is the first word a user reads. `plain=True`: they hold plain data, read on the event loop.
class ConnectError(ProbeError, plain=True):
    """No usable connection: refused, reset, DNS, TLS, or dropped mid-stream."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorKind.CONNECT, message)


class ResponseTimeout(ProbeError, plain=True):
    """The client's own connect or first-byte cap passed (the run deadline is the runner's)."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorKind.TIMEOUT, message)


class BadResponse(ProbeError, plain=True):
    """The server answered but broke the protocol (HTML, invalid JSON or SSE, caps exceeded)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(ErrorKind.BAD_RESPONSE, message, status=status)


class HTTPStatusError(ProbeError, plain=True):
    """A non-2xx response: auth (401/403), rate_limit (429) or http_status."""


class ErrorEvent(ProbeError, plain=True):
    """A 200 response whose stream reported an error (`event: error` or an error object)."""


class ContentFiltered(ProbeError, plain=True):
    """The provider stopped the answer, or refused the prompt, for a policy reason (Gemini's
    finishReason SAFETY/RECITATION... and promptFeedback.blockReason, Anthropic's `refusal`).
    A `provider_error` that says so plainly; what arrived before the stop is kept."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorKind.PROVIDER_ERROR, message)


def translate_client_error(exc: Exception, *, received: int | None = None) -> Exception:
    """A ProbeError for an aiohttp failure (other exceptions come back unchanged).

    `received` is the number of body bytes read so far; None means no response yet.
    """
    import aiohttp

    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return ConnectError(f"DNS lookup failed for {exc.host}: {_os_reason(exc)}")
    if isinstance(exc, (aiohttp.ClientSSLError, aiohttp.ServerFingerprintMismatch)):
        return ConnectError(f"TLS failed: {_reason(exc)}")
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return ConnectError(f"cannot connect to the proxy {exc.host}:{exc.port}: {_os_reason(exc)}")
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return ConnectError(f"the proxy refused the connection: {exc.status} {_reason(exc.message)}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ConnectError(f"cannot connect to {exc.host}:{exc.port}: {_os_reason(exc)}")
    if isinstance(exc, aiohttp.ClientPayloadError):
        message = str(exc)
        if "not completed" in message:
            # aiohttp's words for a body cut short: the peer closed or reset the connection.
            how = "reset" if "ConnectionResetError" in message else "closed"
            after = f" after {received:,} bytes" if received is not None else ""
            return ConnectError(f"connection {how} mid-stream{after}")
        return BadResponse(f"malformed HTTP body: {_reason(exc)}")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        where = "mid-stream" if received is not None else "before responding"
        return ConnectError(f"server closed the connection {where}")
    if isinstance(exc, (aiohttp.ClientConnectionError, ConnectionError)):
        where = " mid-stream" if received is not None else ""
        return ConnectError(f"connection failed{where}: {_reason(exc)}")
    if isinstance(exc, aiohttp.InvalidURL):
        return ConnectError(f"invalid URL: {_reason(exc)}")
    if isinstance(exc, aiohttp.ClientResponseError):
        # A malformed status line or headers: the server did not speak HTTP properly.
        return BadResponse(f"invalid HTTP response: {_reason(exc)}")
    return exc  # classify.py knows the rest by name


def _os_reason(exc: Any) -> str:
    os_error = getattr(exc, "os_error", None)
    errno = getattr(os_error, "errno", None)
    if isinstance(errno, int) and errno > 0:
        return os.strerror(errno)
    return _reason(os_error or exc)


async def read_capped(content: Any, cap: int) -> tuple[bytes, bool]:
    """Read a body up to `cap` bytes: (bytes, True when the body was longer than the cap)."""
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = await content.readany()
        if not chunk:
            return b"".join(parts), False
        size += len(chunk)
        if size > cap:
            parts.append(chunk[: len(chunk) - (size - cap)])
            return b"".join(parts), True
        parts.append(chunk)


def socket_readable(transport: Any) -> bool:
    """True when the kernel holds bytes (or an EOF) for this socket that the loop has not read:
    bytes sent after our last response, which must not be taken as the next one's."""
    sock = transport.get_extra_info("socket") if transport is not None else None
    fileno = getattr(sock, "fileno", None)
    if fileno is None:
        return False
    try:
        fd = fileno()
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):
        return True  # cannot tell: do not reuse


def parse_retry_after(value: str | None, *, now: _dt.datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; None when unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a zone-less date means the same
        when = when.replace(tzinfo=_dt.timezone.utc)
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return max(0.0, (when - now).total_seconds())


def retry_after_of(headers: Mapping[str, str]) -> float | None:
    """Retry-After, or OpenAI's `retry-after-ms` when only that is sent."""
    seconds = parse_retry_after(headers.get("Retry-After"))
    if seconds is None:
        ms = parse_retry_after(headers.get("retry-after-ms"))
        seconds = None if ms is None else ms / 1000
    return seconds


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What one error object says, as a kind reads it (its `read_error`): the human message, an
    HTTP-like code given inside it (it picks auth/rate_limit for errors inside a 200 response)
    and a retry hint from the body (Gemini's RetryInfo) when no Retry-After header came."""

    message: str | None = None
    status: int | None = None
    retry_after_s: float | None = None


ReadError = Callable[[Any], ErrorInfo]


def openai_error(doc: Any) -> ErrorInfo:
    """An OpenAI-style error object ({"error": {"message", "code"...}}, {"error": "..."}, {"detail"})."""
    if not isinstance(doc, Mapping):
        return ErrorInfo()
    return ErrorInfo(error_message(doc), error_status(doc))


def body_snippet(body: bytes, content_type: str = "", read_error: ReadError = openai_error) -> str:
    """A short, one-line, redacted description of an error body (an HTML page by its title)."""
    if not body.strip():
        return ""
    if "html" in content_type or body.lstrip()[:1] == b"<":
        title = _TITLE.search(body)
        name = " ".join(title.group(1).decode("utf-8", "replace").split()) if title else ""
        return f"an HTML page{f' titled {name[:80]!r}' if name else ''}"
    text = body.decode("utf-8", "replace")
    message = error_info_of_json(text, read_error).message
    if message is None:
        message = text
    return snippet(message)


def snippet(text: str) -> str:
    """`text` on one line, secrets scrubbed, then cut to SNIPPET_CHARS (… when cut). Scrubbed
    before cutting, over enough text past the cut that a secret across it goes whole."""
    line = redact_urls(" ".join(text[: 4 * SNIPPET_CHARS + lookahead()].split())) or ""
    return line[:SNIPPET_CHARS] + "…" if len(line) > SNIPPET_CHARS else line


def error_info_of_json(text: str, read_error: ReadError = openai_error) -> ErrorInfo:
    """What an error body says when it is JSON (an empty ErrorInfo when it is not)."""
    import json

    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):  # error bodies are untrusted: deep nesting is an attack too
        return ErrorInfo()
    return read_error_safely(read_error, doc)


def read_error_safely(read_error: ReadError, doc: Any) -> ErrorInfo:
    """read_error(doc), or an empty ErrorInfo when the document's shape surprised it."""
    try:
        info = read_error(doc)
    except (AttributeError, KeyError, IndexError, TypeError, ValueError, RecursionError):
        return ErrorInfo()
    message = info.message if isinstance(info.message, str) and info.message else None
    return ErrorInfo(message, info.status, info.retry_after_s)


def error_message(doc: Mapping[str, Any]) -> str | None:
    """The human message of an OpenAI-style error object ({"error": {...}} or {"error": "..."})."""
    error = doc.get("error", doc)
    if isinstance(error, str):
        return error
    if isinstance(error, Mapping):
        for key in ("message", "detail", "error", "msg"):
            value = error.get(key)
            if isinstance(value, str) and value:
                return value
    detail = doc.get("detail") or doc.get("message")
    return detail if isinstance(detail, str) else None


def error_status(doc: Mapping[str, Any]) -> int | None:
    """An HTTP-like status given inside an error object (`status` or a numeric `code`)."""
    error = doc.get("error", doc)
    if not isinstance(error, Mapping):
        return None
    for key in ("status", "code", "status_code"):
        value = error.get(key)
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
            return value
    return None


def status_error(status: int, reason: str, headers: Mapping[str, str], body: bytes,
                 read_error: ReadError = openai_error) -> HTTPStatusError:
    """The ProbeError for a non-2xx response: auth, rate_limit (with Retry-After, or the body's
    retry hint) or http_status; the body read by the kind's `read_error`."""
    kind = kind_for_status(status)
    content_type = headers.get("Content-Type", "")
    detail = body_snippet(body, content_type, read_error)
    head = f"HTTP {status} {snippet(reason)}".rstrip()
    if 300 <= status < 400 and headers.get("Location"):
        detail = f"redirect to {display_url(headers['Location'])}" + (f"; {detail}" if detail else "")
    retry_after = None
    if status in (429, 503, 529):  # 529: Anthropic's overloaded_error
        retry_after = retry_after_of(headers)
        if retry_after is None and "html" not in content_type:
            hint = error_info_of_json(body.decode("utf-8", "replace"), read_error).retry_after_s
            retry_after = hint if hint is None or (math.isfinite(hint) and hint >= 0) else None
    message = f"{head}: {detail}" if detail else head
    if retry_after is not None:
        message += f" (retry after {retry_after:g} s)"
    return HTTPStatusError(kind, message, status=status, retry_after_s=retry_after)
