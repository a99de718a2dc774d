"""In-process provider classes built on g4f's real base classes, well behaved and not.

Importable as `fake_providers:ClassName` (with tests/ on sys.path) so the CLI's import-path
provider option can load them in a subprocess too. Misbehaviour is bounded in time where it
would otherwise outlive the test session (CPU burning), and unbounded where the point is that
rollcall must not wait for it (hangs: daemon threads, abandoned).
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time

import requests
from g4f import errors
from g4f.providers.base_provider import AbstractProvider, AsyncGeneratorProvider, AsyncProvider
from g4f.providers.response import FinishReason, JsonConversation, ProviderInfo, Reasoning, Usage

MESSAGES_SEEN: list[object] = []


class Answering(AsyncGeneratorProvider):
    """A good provider: metadata, reasoning, content in chunks, usage."""

    working = True
    default_model = "fake-model"

    @classmethod
    async def create_async_generator(cls, model, messages, **kwargs):
        MESSAGES_SEEN.append((model, messages, kwargs.get("stream")))
        yield ProviderInfo(name=cls.__name__)
        yield JsonConversation(id="c1")
        yield Reasoning(token="Let me think.")
        await asyncio.sleep(0.01)
        for word in ("Hello", ", I am", " not GPT 3.5", "."):
            yield word
            await asyncio.sleep(0.005)
        yield Usage(prompt_tokens=7, completion_tokens=9)
        yield FinishReason("stop")


class HugeUsage(AsyncGeneratorProvider):
    """Claims 2**63 completion tokens: no store's integer column holds that."""

    working = True

    @classmethod
    async def create_async_generator(cls, model, messages, **kwargs):
        yield "one two"
        yield Usage(prompt_tokens=-1, completion_tokens=2**63)


class NoUsage(AsyncGeneratorProvider):
    working = True

    @classmethod
    async def create_async_generator(cls, model, messages, **kwargs):
        for word in ("one ", "two ", "three"):
            yield word
            await asyncio.sleep(0.005)


class ReasoningOnly(AsyncGeneratorProvider):
    working = True

    @classmethod
    async def create_async_generator(cls, model, messages, **kwargs):
        yield Reasoning(token="thinking very hard")


class Empty(AsyncGeneratorProvider):
    working = True

    @classmethod
    async def create_async_generator(cls, model, messages, **kwargs):
        yield FinishReason("stop")
        yield "  "


class OldStyle(AsyncProvider):
    """Only create_async (the API the original test script used)."""

    working = True

    @classmethod
    async def create_async(cls, model, messages, **kwargs):
        return "old style answer"


class SyncOnly(AbstractProvider):
    """Only a synchronous create_completion generator."""

    working = True
    supports_stream = True

    @classmethod
    def create_completion(cls, model, messages, stream=False, **kwargs):
        yield "sync "
        yield "answer"


def _raiser(exc_factory):
    class Raiser(AsyncGeneratorProvider):
        working = True

        @classmethod
        async def create_async_generator(cls, model, messages, **kwargs):
            raise exc_factory()
            yield  # pragma: no cover - makes this an async generator

    return Raiser


NeedsKey = _raiser(lambda: errors.MissingAuthError("Add a .har file or an api_key"))
NeedsKey.__name__ = "NeedsKey"
NeedsKey.needs_auth = True
RateLimited = _raiser(lambda: errors.RateLimitError("Response 429: slow down"))
RateLimited.__name__ = "RateLimited"
MissingPackage = _raiser(lambda: errors.MissingRequirementsError('Install "browser_cookie3" package'))
MissingPackage.__name__ = "MissingPackage"
ServerError = _raiser(lambda: errors.ResponseStatusError("Response 502: Bad gateway"))
ServerError.__name__ = "ServerError"
Challenged = _raiser(lambda: errors.CloudflareError("Response 403: Cloudflare detected"))
Challenged.__name__ = "Challenged"
NoBrowser = _raiser(lambda: RuntimeError("Google Chrome / Chromium / Edge executable not found."))
NoBrowser.__name__ = "NoBrowser"
Buggy = _raiser(lambda: AttributeError("type object 'Buggy' has no attribute 'default_model'"))
Buggy.__name__ = "Buggy"
LeaksKey = _raiser(lambda: ValueError("request failed for https://api.example.test/v1?api_key=sk-abcdef1234567890XYZ"))
LeaksKey.__name__ = "LeaksKey"


class Refused(AsyncGeneratorProvider):
    """A real aiohttp connection to a loopback port nobody listens on."""

    working = True

    @classmethod
    async def create_async_generator(cls, model, messages, **kwargs):
        import aiohttp

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/") as response:
                yield await response.text()


# --- misbehaving providers -------------------------------------------------------------


class SyncSleep(AsyncGeneratorProvider):
    """Blocks its event loop in synchronous code (like requests.get inside get_models)."""

    working = True
    seconds = 3.0

    @classmethod
    async def create_async_generator(cls, model, messages, **kwargs):
        time.sleep(cls.seconds)
        yield "woke up"


def silent_server() -> tuple[str, socket.socket]:
    """A loopback server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}/", server


class SyncRequestsHang(AsyncGeneratorProvider):
    """requests.get(timeout=None) against a server that never answers: blocks in sync I/O forever."""

    working = True
    url_to_hang_on = ""

    @classmethod
    async def create_async_generator(cls, model, messages, **kwargs):
        requests.get(cls.url_to_hang_on, timeout=None)
        yield "never"


class SyncHangForever(AsyncGeneratorProvider):
    working = True

    @classmethod
    async def create_async_generator(cls, model, messages, **kwargs):
        threading.Event().wait()
        yield "never"


class AsyncHangForever(AsyncGeneratorProvider):
    working = True

    @classmethod
    async def create_async_generator(cls, model, messages, **kwargs):
        await asyncio.Event().wait()
        yield "never"


class ExecutorHang(AsyncGeneratorProvider):
    """Hangs in the loop's default thread pool: such threads are joined at interpreter exit."""

    working = True

    @classmethod
    async def create_async_generator(cls, model, messages, **kwargs):
        await asyncio.get_running_loop().run_in_executor(None, threading.Event().wait)
        yield "never"


class BurnsCpu(AsyncGeneratorProvider):
    """Spins the CPU in pure Python (bounded so it ends within the test session)."""

    working = True
    seconds = 2.0

    @classmethod
    async def create_async_generator(cls, model, messages, **kwargs):
        end = time.perf_counter() + cls.seconds
        n = 0
        while time.perf_counter() < end:
            n += 1
        yield f"spun {n} times"


class Prints(AsyncGeneratorProvider):
    working = True

    @classmethod
    async def create_async_generator(cls, model, messages, **kwargs):
        print("PROVIDER NOISE ON STDOUT")
        print("PROVIDER NOISE ON STDERR", file=sys.stderr)
        yield "printed and answered"


class Exits(AsyncGeneratorProvider):
    working = True

    @classmethod
    async def create_async_generator(cls, model, messages, **kwargs):
        sys.exit(3)
        yield "never"  # pragma: no cover


class Interrupts(AsyncGeneratorProvider):
    working = True

    @classmethod
    async def create_async_generator(cls, model, messages, **kwargs):
        raise KeyboardInterrupt
        yield "never"  # pragma: no cover


class NonStrings(AsyncGeneratorProvider):
    working = True

    @classmethod
    async def create_async_generator(cls, model, messages, **kwargs):
        for junk in (123, None, {"a": 1}, object(), b"bytes", ["list"]):
            yield junk
        yield "real text"


class YieldsForever(AsyncGeneratorProvider):
    working = True

    @classmethod
    async def create_async_generator(cls, model, messages, **kwargs):
        while True:
            yield "x"
            await asyncio.sleep(0.001)


class SyncYieldsForever(AbstractProvider):
    """A synchronous generator that never ends and never awaits."""

    working = True

    @classmethod
    def create_completion(cls, model, messages, stream=False, **kwargs):
        while True:
            yield "y"
            time.sleep(0.0005)


class NotWorking(Answering):
    working = False



class KeyedProvider(AsyncGeneratorProvider):
    """Needs a key: answers with whether it got the one from the environment (KEYEDPROVIDER_API_KEY)."""

    working = True
    needs_auth = True

    @classmethod
    async def create_async_generator(cls, model, messages, api_key=None, **kwargs):
        if not api_key:
            raise errors.MissingAuthError("no api_key")
        yield f"got a key of {len(api_key)} characters"


class SpawnsChild(AsyncGeneratorProvider):
    """Starts a long-lived child process (like a headless browser), records its pid, then hangs."""

    working = True

    @classmethod
    async def create_async_generator(cls, model, messages, **kwargs):
        import os
        import subprocess

        child = subprocess.Popen(["sleep", "300"])
        with open(os.environ["ROLLCALL_TEST_PID_FILE"], "w") as f:
            f.write(str(child.pid))
        await asyncio.Event().wait()
        yield "never"


# --- hostile objects: exceptions and chunks whose own code raises, stalls or lies ----------------
# rollcall must read them without running that code on its event loop, within the deadline.

STR_STALL_S = 3.0  # longer than the deadline the tests use


class StrRaisesError(Exception):
    def __str__(self):
        raise RuntimeError("no str for you")


class StatusRaisesError(errors.RateLimitError):
    """Classified by its class (rate_limit) even though reading `status` raises."""

    @property
    def status(self):
        raise RuntimeError("no status either")


class StrStallsError(Exception):
    def __str__(self):
        time.sleep(STR_STALL_S)
        return "finally"


class _LyingName(type):
    @property
    def __name__(cls):
        raise RuntimeError("no name")


class MetaNameError(Exception, metaclass=_LyingName):
    """Its class's `__name__` raises (a metaclass property); its `__class__` raises as well."""

    @property
    def __class__(self):
        raise RuntimeError("no class")


class CauseRaisesError(Exception):
    """An unknown exception whose `__cause__` raises: classified by what can be read."""

    @property
    def __cause__(self):
        raise RuntimeError("no cause")


class _EvilStr(str):
    """A str subclass whose every method override misbehaves if rollcall calls it."""

    def __str__(self):
        raise RuntimeError("evil __str__")

    def __len__(self):
        raise RuntimeError("evil __len__")

    def __add__(self, other):
        raise RuntimeError("evil __add__")

    def __hash__(self):
        raise RuntimeError("evil __hash__")

    def __eq__(self, other):
        raise RuntimeError("evil __eq__")

    def split(self, *args):
        raise RuntimeError("evil split")

    def strip(self, *args):
        raise RuntimeError("evil strip")


class EvilStrMessageError(Exception):
    def __str__(self):
        return _EvilStr("a message in disguise")


class CrashStrExit(SystemExit):
    def __str__(self):
        raise RuntimeError("exit without words")


def _hostile(exc_factory, name):
    provider = _raiser(exc_factory)
    provider.__name__ = name
    return provider


StrRaises = _hostile(StrRaisesError, "StrRaises")
StatusRaises = _hostile(lambda: StatusRaisesError("slow down"), "StatusRaises")
StrStalls = _hostile(StrStallsError, "StrStalls")
MetaName = _hostile(MetaNameError, "MetaName")
CauseRaises = _hostile(CauseRaisesError, "CauseRaises")
EvilStrMessage = _hostile(EvilStrMessageError, "EvilStrMessage")
CrashStr = _hostile(CrashStrExit, "CrashStr")


class EvilChunks(AsyncGeneratorProvider):
    """Answers in str-subclass chunks (and a Reasoning whose token is one)."""

    working = True

    @classmethod
    async def create_async_generator(cls, model, messages, **kwargs):
        yield Reasoning(token=_EvilStr("pondering"))
        yield _EvilStr("evil ")
        yield _EvilStr("chunks")
        yield Usage(prompt_tokens=True, completion_tokens=_EvilInt(2))


class _EvilInt(int):
    def __index__(self):
        raise RuntimeError("evil __index__")

    def __int__(self):
        raise RuntimeError("evil __int__")
