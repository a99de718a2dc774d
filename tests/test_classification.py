"""Exceptions from g4f, aiohttp, requests and the standard library map to DESIGN.md error kinds."""

from __future__ import annotations

import asyncio
import json
import socket

import aiohttp
import pytest
import requests
from g4f import errors

from rollcall import ErrorKind, classify
from rollcall.classification import describe
from rollcall.redact import redact, register_secret


@pytest.mark.parametrize(
    "exc, kind",
    [
        (errors.MissingAuthError("no key"), ErrorKind.AUTH),
        (errors.RateLimitError("Response 429: x"), ErrorKind.RATE_LIMIT),
        (errors.MissingRequirementsError("pip install x"), ErrorKind.MISSING_DEPENDENCY),
        (errors.NestAsyncioError("x"), ErrorKind.MISSING_DEPENDENCY),
        (errors.ResponseStatusError("Response 500: boom"), ErrorKind.HTTP_STATUS),
        (errors.ResponseStatusError("Response 401: who"), ErrorKind.AUTH),
        (errors.CloudflareError("Response 403: challenge"), ErrorKind.BAD_RESPONSE),
        (errors.TimeoutError("slow"), ErrorKind.TIMEOUT),
        (errors.ProviderNotWorkingError("x"), ErrorKind.PROVIDER_ERROR),
        (asyncio.TimeoutError(), ErrorKind.TIMEOUT),
        (ConnectionRefusedError(), ErrorKind.CONNECT),
        (socket.gaierror(-2, "Name or service not known"), ErrorKind.CONNECT),
        (requests.exceptions.ConnectionError("dns"), ErrorKind.CONNECT),
        (requests.exceptions.ReadTimeout("slow"), ErrorKind.TIMEOUT),
        (aiohttp.ServerDisconnectedError(), ErrorKind.CONNECT),
        (json.JSONDecodeError("x", "doc", 0), ErrorKind.BAD_RESPONSE),
        (ModuleNotFoundError("No module named 'nodriver'"), ErrorKind.MISSING_DEPENDENCY),
        (RuntimeError("Google Chrome / Chromium / Edge executable not found."), ErrorKind.MISSING_DEPENDENCY),
        (ValueError("anything else"), ErrorKind.PROVIDER_ERROR),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_kinds(exc, kind):
    assert classify(exc)[0] is kind


def test_status_is_kept():
    assert classify(errors.ResponseStatusError("Response 503: unavailable")) == (ErrorKind.HTTP_STATUS, 503, None)


def test_cause_is_consulted_for_wrapped_errors():
    try:
        try:
            raise ConnectionResetError("reset")
        except ConnectionResetError as inner:
            raise RuntimeError("request failed") from inner
    except RuntimeError as outer:
        assert classify(outer)[0] is ErrorKind.CONNECT


def test_describe_is_one_line_with_the_type():
    assert describe(ValueError("a\nb   c")) == "ValueError: a b c"
    assert describe(KeyError()) == "KeyError"


def test_redaction_of_known_and_shaped_secrets():
    register_secret("my-very-secret-key-123")
    text = "bad key my-very-secret-key-123; Bearer abcdefghijklmnop; https://u:pw@host/x?key=zzz&b=1 sk-proj-ABCDEFGHIJKLMN"
    out = redact(text)
    for secret in ("my-very-secret-key-123", "abcdefghijklmnop", "u:pw@", "zzz", "sk-proj-ABCDEFGHIJKLMN"):
        assert secret not in out
    assert "b=1" in out


# --- exceptions as untrusted objects -----------------------------------------------------------

import fake_providers as fp  # noqa: E402

from rollcall.classification import explain, read_failure  # noqa: E402


@pytest.mark.parametrize(
    "exc, kind, error",
    [
        (fp.StrRaisesError(), ErrorKind.PROVIDER_ERROR,
         "StrRaisesError: (the exception could not be read: RuntimeError)"),
        (fp.StatusRaisesError("slow down"), ErrorKind.RATE_LIMIT, "StatusRaisesError: slow down"),
        (fp.MetaNameError("m"), ErrorKind.PROVIDER_ERROR, "MetaNameError: m"),
        (fp.CauseRaisesError("lost"), ErrorKind.PROVIDER_ERROR, "CauseRaisesError: lost"),
        (fp.EvilStrMessageError(), ErrorKind.PROVIDER_ERROR, "EvilStrMessageError: a message in disguise"),
        (fp.CrashStrExit(), ErrorKind.PROVIDER_ERROR, "CrashStrExit: (the exception could not be read: RuntimeError)"),
    ],
    ids=["str-raises", "status-raises", "metaclass-name", "cause-raises", "str-subclass-message", "system-exit"],
)
def test_explain_never_raises_and_classifies_what_it_can_read(exc, kind, error):
    failure = explain(exc)
    assert (failure.kind, failure.error, failure.status) == (kind, error, None)
    assert type(failure.error) is str


def test_a_cause_that_cannot_be_read_is_skipped():
    class Outer(Exception):
        pass

    outer = Outer("wrapped")
    outer.__cause__ = fp.StrRaisesError()
    assert explain(outer).kind is ErrorKind.PROVIDER_ERROR
    outer.__cause__ = ConnectionResetError("reset")
    assert explain(outer).kind is ErrorKind.CONNECT


def test_a_cycle_of_causes_ends():
    a, b = ValueError("a"), ValueError("b")
    a.__cause__, b.__cause__ = b, a
    assert explain(a).kind is ErrorKind.PROVIDER_ERROR


def test_status_must_be_an_http_status():
    class WithStatus(Exception):
        def __init__(self, status):
            super().__init__("x")
            self.status = status

    assert explain(WithStatus(429)).status == 429
    for junk in (True, 10**30, -1, "429", 42.0):
        assert explain(WithStatus(junk)).status is None


def test_probe_errors_hold_plain_data():
    from rollcall.targets.base import ProbeError

    exc = ProbeError(ErrorKind.AUTH, fp._EvilStr("who are you"), status=401)  # type: ignore[arg-type]
    assert type(exc.args[0]) is str
    assert explain(exc).error == "ProbeError: who are you"

    class Mine(ProbeError):  # a library user's subclass: read with care, off the loop
        pass

    assert classify(Mine(ErrorKind.RATE_LIMIT, "slow", retry_after_s=3)) == (ErrorKind.RATE_LIMIT, None, 3.0)


async def test_read_failure_gives_up_at_the_deadline():
    failure = await read_failure(fp.StrStallsError(), within_s=0.2)
    assert failure.kind is ErrorKind.PROVIDER_ERROR
    assert failure.error == "StrStallsError: (the exception could not be read before the deadline)"
    assert (await read_failure(fp.StrRaisesError(), within_s=0)).kind is ErrorKind.PROVIDER_ERROR


def test_every_probe_error_class_of_rollcall_is_plain():
    # rollcall's own failures are read on the event loop; a class left off would cost a thread hop.
    import importlib
    import pkgutil

    import rollcall
    from rollcall.targets.base import ProbeError, is_plain_error

    for info in pkgutil.walk_packages(rollcall.__path__, "rollcall."):
        if not info.name.endswith("__main__"):  # that one runs the CLI
            importlib.import_module(info.name)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = [c for c in subclasses(ProbeError) if c.__module__.startswith("rollcall.")]
    assert ours, "no ProbeError subclasses found"
    for cls in ours:
        assert is_plain_error(cls.__new__(cls)), cls
