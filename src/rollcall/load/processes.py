"""`--workers N`: shards in worker processes on this machine, each with its own event loop, its own
target and connections (built from a TargetRecipe), so a stage can use every core.

A worker is `python -m rollcall.load.worker` (worker.py), started with the same interpreter and
environment as this process, fed length-prefixed pickle frames on its stdin and answering on its
stdout. It ignores SIGINT and SIGHUP (a terminal's Ctrl-C reaches the whole process group; the
coordinator turns it into a gentle stop) and exits when its stdin closes, so it never outlives
the coordinator. What it writes to stderr is kept (the last lines) to say why it died.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections import deque
from typing import Any

from ..safetext import one_line
from .remote import RemoteExecutor, WorkerError
from .target import TargetRecipe
from .worker import encode, read_frame

START_TIMEOUT_S = 60.0  # from spawn to ready (an interpreter, rollcall and aiohttp imported)
EXIT_GRACE_S = 3.0
STDERR_LINES = 20


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


class ProcessWorker:
    """One worker process and the task that reads its frames into the executor's queue."""

    def __init__(self, index: int, process: asyncio.subprocess.Process, queue: asyncio.Queue[Any]) -> None:
        self.index = index
        self.process = process
        self.pid = process.pid
        self.name = f"worker {index + 1} (pid {process.pid})"
        self.alive = True
        self.heard = time.monotonic()
        self.queue = queue
        self.stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self._tasks: list[asyncio.Task[None]] = []

    async def handshake(self, recipe: TargetRecipe, prompts: tuple[Any, ...]) -> dict[str, Any]:
        """Send the setup; the worker's info once it is ready (WorkerError if it is not)."""
        assert self.process.stdout is not None and self.process.stderr is not None
        self._tasks.append(asyncio.ensure_future(self._read_stderr()))
        self.send(("setup", recipe, prompts))
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                message = await read_frame(self.process.stdout)
        except TimeoutError:
            raise WorkerError(f"{self.name} was not ready within {START_TIMEOUT_S:g} s") from None
        except (EOFError, asyncio.IncompleteReadError):
            code = await self.process.wait()
            raise WorkerError(f"{self.name} {describe_exit(code)} at start{self._last_words()}") from None
        if message[0] != "ready":
            raise WorkerError(f"{self.name} could not start: {message[1]}")
        self._tasks.append(asyncio.ensure_future(self._read_frames()))
        return message[1]

    def _last_words(self) -> str:
        lines = [line for line in self.stderr if line.strip()]
        return f": {one_line(lines[-1], 200)}" if lines else ""

    async def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.stderr.append(line.decode("utf-8", "replace"))

    async def _read_frames(self) -> None:
        assert self.process.stdout is not None
        try:
            while True:
                self.queue.put_nowait((self, await read_frame(self.process.stdout)))
        except (EOFError, asyncio.IncompleteReadError, ConnectionError):
            pass
        code = await self.process.wait()
        for task in self._tasks:
            if task is not asyncio.current_task():
                await asyncio.wait({task}, timeout=1.0)  # the rest of its stderr
        self.alive = False
        self.queue.put_nowait((self, ("dead", describe_exit(code) + self._last_words())))

    def send(self, message: tuple[Any, ...]) -> None:
        stdin = self.process.stdin
        if stdin is None or stdin.is_closing():
            return  # gone: its reader reports it
        try:
            stdin.write(encode(message))
        except (ConnectionError, RuntimeError):
            pass

    def kill(self) -> None:
        if self.process.returncode is None:
            try:
                self.process.kill()
            except ProcessLookupError:
                pass

    async def aclose(self) -> None:
        """Ask it to exit (its stdin closes too), then kill it if it does not; wait for it."""
        self.send(("exit",))
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            async with asyncio.timeout(EXIT_GRACE_S):
                await self.process.wait()
        except TimeoutError:
            self.kill()
            await self.process.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class ProcessExecutor(RemoteExecutor):
    """`workers` worker processes on this machine."""

    def __init__(self, recipe: TargetRecipe, prompts: tuple[Any, ...], workers: int) -> None:
        super().__init__(workers)
        self.recipe = recipe
        self.prompts = prompts

    @property
    def pids(self) -> list[int]:
        return [h.pid for h in self.handles if isinstance(h, ProcessWorker) and h.alive]

    def describe(self) -> dict[str, Any]:
        return {"executor": "processes", "workers": self.workers}

    async def _spawn(self, index: int) -> ProcessWorker:
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "rollcall.load.worker", stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise WorkerError(f"worker {index + 1} could not be started: {exc.strerror or exc}") from None
        worker = ProcessWorker(index, process, self.queue)
        try:
            await worker.handshake(self.recipe, self.prompts)
        except BaseException:
            await worker.aclose()
            raise
        return worker
