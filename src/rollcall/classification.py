"""Turn any exception a provider raised into an ErrorKind, without importing the libraries it came from.

Exceptions are matched by the names in their class hierarchy (e.g. ``g4f.errors.MissingAuthError``),
so classifying never imports g4f, aiohttp or requests, and works for whichever of them is present.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import ssl

from .models import ErrorKind
from .redact import redact
from .targets.base import ProbeError

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


def _kind_by_hierarchy(exc: BaseException) -> ErrorKind | None:
    for cls in type(exc).__mro__:
        kind = _BY_NAME.get(cls.__name__)
        if kind is not None:
            # The builtin TimeoutError/ConnectionError names are reused by g4f and requests with the
            # same meaning, so one table serves all of them.
            return kind
    return None


def _status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    if isinstance(status, int):
        return status
    match = _STATUS_IN_MESSAGE.search(str(exc))
    return int(match.group(1)) if match else None


def kind_for_status(status: int) -> ErrorKind:
    if status in (401, 403):
        return ErrorKind.AUTH
    if status == 429:
        return ErrorKind.RATE_LIMIT
    return ErrorKind.HTTP_STATUS


def describe(exc: BaseException) -> str:
    """`ExcType: message` on one line, secrets redacted (the classic script's error format)."""
    message = " ".join(str(exc).split())
    name = type(exc).__name__
    line = f"{name}: {message}" if message else name
    return redact(line[:500]) or name


def classify(exc: BaseException, _depth: int = 0) -> tuple[ErrorKind, int | None, float | None]:
    """(kind, HTTP status or None, Retry-After seconds or None) for an exception from a target."""
    if isinstance(exc, ProbeError):
        return exc.kind, exc.status, exc.retry_after_s
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError, socket.timeout)):
        return ErrorKind.TIMEOUT, None, None
    if isinstance(exc, (socket.gaierror, ConnectionError, ssl.SSLError)):
        return ErrorKind.CONNECT, None, None
    if isinstance(exc, json.JSONDecodeError):
        return ErrorKind.BAD_RESPONSE, None, None
    kind = _kind_by_hierarchy(exc)
    status = _status_of(exc)
    if kind is None and _MISSING_BROWSER.search(str(exc)):
        kind = ErrorKind.MISSING_DEPENDENCY
    if kind is None:
        cause = exc.__cause__ or exc.__context__
        if cause is not None and cause is not exc and _depth < 5:
            cause_kind, cause_status, retry = classify(cause, _depth + 1)
            if cause_kind is not ErrorKind.PROVIDER_ERROR:
                return cause_kind, cause_status or status, retry
        kind = ErrorKind.PROVIDER_ERROR
    if kind is ErrorKind.HTTP_STATUS and status is not None:
        kind = kind_for_status(status)
    return kind, status, None
