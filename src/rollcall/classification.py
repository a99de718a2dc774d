"""Turn any exception a provider raised into a Failure (ErrorKind, one-line message, status),
without importing the libraries it came from.

Exceptions are matched by the names in their class hierarchy (e.g. ``g4f.errors.MissingAuthError``),
so classifying never imports g4f, aiohttp or requests, and works for whichever of them is present.

A provider's exception is an untrusted object: its `__str__`, its `status` property or its
`__cause__` may raise, stall or lie. `explain()` reads it defensively and never raises, but it
does run that code, so the probe calls it through `read_failure()`: on a worker thread, bounded by
the probe's deadline. Only rollcall's own ProbeErrors (plain data) are read on the event loop.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import ssl
import threading
from dataclasses import dataclass

from . import untrusted
from .fdlimit import OUT_OF_FILES, exhausted_locally
from .models import ErrorKind
from .redact import clip, redact_urls
from .targets.base import ProbeError, is_plain_error

_BY_NAME: dict[str, ErrorKind] = {
    # g4f
    "MissingAuthError": ErrorKind.AUTH,
    "RateLimitError": ErrorKind.RATE_LIMIT,
    "MissingRequirementsError": ErrorKind.MISSING_DEPENDENCY,
    "CloudflareError": ErrorKind.BAD_RESPONSE,
    "ResponseStatusError": ErrorKind.HTTP_STATUS,
    "PaymentRequiredError": ErrorKind.HTTP_STATUS,
    "NoValidHarFileError": ErrorKind.AUTH,
    # aiohttp
    "ServerTimeoutError": ErrorKind.TIMEOUT,
    "ConnectionTimeoutError": ErrorKind.TIMEOUT,
    "SocketTimeoutError": ErrorKind.TIMEOUT,
    "ClientConnectorError": ErrorKind.CONNECT,
    "ClientConnectorDNSError": ErrorKind.CONNECT,
    "ClientProxyConnectionError": ErrorKind.CONNECT,
    "ClientSSLError": ErrorKind.CONNECT,
    "ServerDisconnectedError": ErrorKind.CONNECT,
    "ClientOSError": ErrorKind.CONNECT,
    "InvalidURL": ErrorKind.CONNECT,
    "InvalidUrlClientError": ErrorKind.CONNECT,
    "ClientPayloadError": ErrorKind.BAD_RESPONSE,
    "ContentTypeError": ErrorKind.BAD_RESPONSE,
    "ClientResponseError": ErrorKind.HTTP_STATUS,
    # requests / urllib3 / curl_cffi
    "ReadTimeout": ErrorKind.TIMEOUT,
    "ConnectTimeout": ErrorKind.TIMEOUT,
    "Timeout": ErrorKind.TIMEOUT,
    "TimeoutError": ErrorKind.TIMEOUT,
    "ConnectionError": ErrorKind.CONNECT,
    "SSLError": ErrorKind.CONNECT,
    "ProxyError": ErrorKind.CONNECT,
    "NewConnectionError": ErrorKind.CONNECT,
    "NameResolutionError": ErrorKind.CONNECT,
    "MaxRetryError": ErrorKind.CONNECT,
    "HTTPError": ErrorKind.HTTP_STATUS,
    "JSONDecodeError": ErrorKind.BAD_RESPONSE,
    "ChunkedEncodingError": ErrorKind.BAD_RESPONSE,
    "UnicodeDecodeError": ErrorKind.BAD_RESPONSE,
    # the standard library
    "ModuleNotFoundError": ErrorKind.MISSING_DEPENDENCY,
    "ImportError": ErrorKind.MISSING_DEPENDENCY,
}

_STATUS_IN_MESSAGE = re.compile(r"\b(?:Response|status(?: code)?|HTTP(?:/\d\.\d)?)[ :=]*([1-5]\d\d)\b", re.I)
_MISSING_BROWSER = re.compile(r"(chrome|chromium|edge|browser|webdriver|nodriver|executable).{0,40}not (found|installed)", re.I)
ERROR_CHARS = 500  # an error line is cut here (after secrets were scrubbed)
_MESSAGE_READ_CHARS = 8192  # how much of a provider's message we look at
# Built-in classes matched by real subclassing (issubclass(type(exc), ...) never runs provider code).
_BY_CLASS: tuple[tuple[tuple[type, ...], ErrorKind], ...] = (
    ((asyncio.TimeoutError, TimeoutError, socket.timeout), ErrorKind.TIMEOUT),
    ((socket.gaierror, ConnectionError, ssl.SSLError), ErrorKind.CONNECT),
    ((json.JSONDecodeError,), ErrorKind.BAD_RESPONSE),
)


@dataclass(frozen=True, slots=True)
class Failure:
    """What a failed probe reports: plain data, safe to read anywhere."""

    kind: ErrorKind
    error: str  # `ExcType: message`, one line, secrets scrubbed
    status: int | None = None
    retry_after_s: float | None = None


class _Unreadable(Exception):
    """Reading the message of a provider's exception failed."""


def _read(read: object) -> object:
    """read() or None when it raises anything: an optional attribute that cannot be read is absent."""
    try:
        return read()  # type: ignore[operator]
    except BaseException as exc:  # noqa: BLE001 - provider properties may raise anything
        _reraise_interrupt(exc)
        return None


def _reraise_interrupt(exc: BaseException) -> None:
    # On the main thread a KeyboardInterrupt is the user's Ctrl-C, not the provider's doing.
    if isinstance(exc, KeyboardInterrupt) and threading.current_thread() is threading.main_thread():
        raise exc


def _kind_by_hierarchy(names: list[str]) -> ErrorKind | None:
    for name in names:
        kind = _BY_NAME.get(name)
        if kind is not None:
            # The builtin TimeoutError/ConnectionError names are reused by g4f and requests with the
            # same meaning, so one table serves all of them.
            return kind
    return None


def _http_status(value: object) -> int | None:
    status = untrusted.integer(value)
    return status if status is not None and 100 <= status <= 599 else None


def _status_of(exc: BaseException, message: str) -> int | None:
    for holder, names in ((exc, ("status", "status_code")),
                          (_read(lambda: getattr(exc, "response", None)), ("status_code", "status"))):
        if holder is None:
            continue
        for name in names:
            status = _http_status(_read(lambda: getattr(holder, name, None)))  # noqa: B023 - called at once
            if status is not None:
                return status
    match = _STATUS_IN_MESSAGE.search(message)
    return int(match.group(1)) if match else None


def _message_of(exc: BaseException) -> str:
    """str(exc) as one line of plain text; _Unreadable when str() raises or returns no text."""
    try:
        raw = str(exc)
    except BaseException as failed:  # noqa: BLE001 - a provider's __str__ may raise anything
        _reraise_interrupt(failed)
        raise _Unreadable(untrusted.type_name(type(failed))) from None
    message = untrusted.text(raw)
    if message is None:
        raise _Unreadable("not text")
    return " ".join(message[:_MESSAGE_READ_CHARS].split())


def error_line(name: str, message: str) -> str:
    """`ExcType: message` (the classic script's error format), secrets and URL credentials
    scrubbed before the line is cut to ERROR_CHARS."""
    line = f"{name}: {message}" if message else name
    return clip(redact_urls(" ".join(line.split())), ERROR_CHARS) or name


def _explain_plain(exc: ProbeError) -> Failure:
    return Failure(exc.kind, error_line(untrusted.type_name(type(exc)), str(exc)), exc.status, exc.retry_after_s)


def _cause_of(exc: BaseException) -> BaseException | None:
    for name in ("__cause__", "__context__"):
        cause = _read(lambda: getattr(exc, name, None))  # noqa: B023 - called at once
        if cause is not None and cause is not exc and issubclass(type(cause), BaseException):
            return cause  # type: ignore[return-value]
    return None


def _explain(exc: BaseException, depth: int) -> Failure:
    if is_plain_error(exc):
        return _explain_plain(exc)  # type: ignore[arg-type]
    cls = type(exc)
    name = untrusted.type_name(cls)
    from .isolation import ProviderCrash

    if cls is ProviderCrash:
        inner = explain(exc.raised)  # type: ignore[attr-defined]
        return Failure(ErrorKind.PROVIDER_ERROR, error_line(name, f"provider raised {inner.error}"))
    message = _message_of(exc)
    if issubclass(cls, ProbeError):  # a library user's subclass: its fields, read with care
        kind = _read(lambda: exc.kind)  # type: ignore[attr-defined]
        if type(kind) is ErrorKind:
            retry = _read(lambda: exc.retry_after_s)  # type: ignore[attr-defined]
            retry = float(retry) if type(retry) in (int, float) else None
            return Failure(kind, error_line(name, message), _http_status(_read(lambda: exc.status)), retry)  # type: ignore[attr-defined]
    kind = next((k for classes, k in _BY_CLASS if issubclass(cls, classes)), None)
    if kind is not None:
        return Failure(kind, error_line(name, message))
    kind = _kind_by_hierarchy(untrusted.mro_names(cls))
    status = _status_of(exc, message)
    if kind is None and _MISSING_BROWSER.search(message):
        kind = ErrorKind.MISSING_DEPENDENCY
    if kind is None:
        cause = _cause_of(exc) if depth < 5 else None
        if cause is not None:
            try:
                inner = _explain(cause, depth + 1)
            except BaseException as failed:  # noqa: BLE001 - an unreadable cause adds nothing
                _reraise_interrupt(failed)
                inner = None
            if inner is not None and inner.kind is not ErrorKind.PROVIDER_ERROR:
                return Failure(inner.kind, error_line(name, message), inner.status or status, inner.retry_after_s)
        kind = ErrorKind.PROVIDER_ERROR
    if kind is ErrorKind.HTTP_STATUS and status is not None:
        kind = kind_for_status(status)
    return Failure(kind, error_line(name, message), status)


def explain(exc: BaseException) -> Failure:
    """The Failure for any exception from a target. Never raises: an exception that cannot be
    read (its `__str__` raises, say) is itself a `provider_error`.

    This runs the exception's own code (`__str__`, properties); for an exception you do not trust,
    call `read_failure()` on the event loop instead.
    """
    try:
        if exhausted_locally(exc):  # rollcall's own descriptor limit, not the provider's failure
            return Failure(ErrorKind.CANCELLED, OUT_OF_FILES)
        return _explain(exc, 0)
    except BaseException as failed:  # noqa: BLE001 - describing a provider's object failed: that is the result
        _reraise_interrupt(failed)
        why = failed.args[0] if type(failed) is _Unreadable else untrusted.type_name(type(failed))
        name = untrusted.type_name(type(exc))
        return Failure(ErrorKind.PROVIDER_ERROR, error_line(name, f"(the exception could not be read: {why})"))


async def read_failure(exc: BaseException, *, within_s: float) -> Failure:
    """explain(exc) without letting `exc` touch the event loop: rollcall's own ProbeErrors are read
    here, anything else on a worker thread, given at most `within_s` (the probe's remaining time).
    Past that, the probe reports the exception by its class name alone."""
    if is_plain_error(exc):
        return explain(exc)
    name = untrusted.type_name(type(exc))
    if within_s > 0:
        from .isolation import call_off_loop

        try:
            async with asyncio.timeout(within_s):
                return await call_off_loop(lambda: explain(exc))
        except TimeoutError:
            pass
    return Failure(ErrorKind.PROVIDER_ERROR, error_line(name, "(the exception could not be read before the deadline)"))


def kind_for_status(status: int) -> ErrorKind:
    """The kind of a non-2xx HTTP response (the one place statuses become kinds)."""
    if status in (401, 403):
        return ErrorKind.AUTH
    if status == 429:
        return ErrorKind.RATE_LIMIT
    return ErrorKind.HTTP_STATUS


def kind_for_error_code(code: int | None) -> ErrorKind:
    """The kind of an error reported inside a 2xx response (an error event or error object):
    credentials and rate limits by the code it gives; anything else broke the answer."""
    if code is not None and kind_for_status(code) is not ErrorKind.HTTP_STATUS:
        return kind_for_status(code)
    return ErrorKind.BAD_RESPONSE


def describe(exc: BaseException) -> str:
    """`ExcType: message` on one line, secrets redacted (see explain(): runs the exception's code)."""
    return explain(exc).error


def classify(exc: BaseException) -> tuple[ErrorKind, int | None, float | None]:
    """(kind, HTTP status or None, Retry-After seconds or None) for an exception from a target
    (see explain(): runs the exception's code)."""
    failure = explain(exc)
    return failure.kind, failure.status, failure.retry_after_s
