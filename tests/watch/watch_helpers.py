"""Watch test helpers: a loopback HTTP receiver that records what it is sent (webhooks, Apprise's
json://, Gatus, Uptime Kuma), switching a simulated model, a text console, and the CI rule for
missing services."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from services import require_or_skip  # noqa: F401 - watch tests import it from here
from rich.console import Console


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    status: int = 200  # what it answers; set to 500 to play a broken receiver
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)


@contextmanager
def run_receiver() -> Iterator[Receiver]:
    from aiohttp import web

    from rollcall.sim.server import _listen

    receiver = Receiver()
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        with receiver._cond:
            receiver.requests.append(Received(request.method, request.path, dict(request.query),
                                              dict(request.headers), body))
            receiver._cond.notify_all()
        return web.json_response({"ok": receiver.status < 300}, status=receiver.status)

    async def serve() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = _listen("127.0.0.1", 0)
        await web.SockSite(runner, sock).start()
        receiver.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        stop = asyncio.Event()
        state["loop"], state["stop"] = asyncio.get_running_loop(), stop
        ready.set()
        await stop.wait()
        await runner.cleanup()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield receiver
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(10)


def switch(base_url: str, model: str, **settings: Any) -> None:
    """Change a simulated model's behaviour through the simulator's control endpoint."""
    root = base_url.rsplit("/v1", 1)[0]
    request = urllib.request.Request(f"{root}/_sim/models/{model}", data=json.dumps(settings).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def text_console() -> Console:
    return Console(file=io.StringIO(), width=200, color_system=None, force_terminal=False)


class Proc:
    """A `rollcall` subprocess whose output lines (stdout and stderr merged) are read as they come."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        import subprocess
        import sys

        self.lines: list[str] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rollcall", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, text=True, env={**env, "PYTHONUNBUFFERED": "1"},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_line(self, needle: str, timeout: float = 60.0, count: int = 1) -> str:
        def found() -> list[str]:
            return [line for line in self.lines if needle in line]

        with self._cond:
            self._cond.wait_for(lambda: len(found()) >= count or self.proc.poll() is not None, timeout)
            hits = found()
        assert len(hits) >= count, f"{needle!r} not seen ({count}x); output so far:\n" + "\n".join(self.lines)
        return hits[count - 1]

    def wait(self, timeout: float = 60.0) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return code

    @property
    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait(10)


def sim_config(path: Any, base_url: str, models: Sequence[str], extra: str = "") -> str:
    """A rollcall.toml with one openai target per simulated model."""
    text = "".join(f'[[target]]\nname = "{m}"\nkind = "openai"\nbase_url = "{base_url}"\nmodel = "{m}"\n\n'
                   for m in models)
    path.write_text(extra + "\n" + text)
    return str(path)
