"""A load worker: runs the shards it is given on its own event loop, against its own target (built
from a TargetRecipe, with its own connections), and hands back what they yield.

`WorkerSession` is the whole worker; its transport is someone else's: a worker process (`python -m
rollcall.load.worker`, driven by ProcessExecutor over length-prefixed pickle frames on stdin and
stdout) or a Ray actor (RayExecutor polls `take`). Messages out, as tuples:

    ("batch", stage, shard, [RequestRecord, ...], sent)   records as they finish, about every 0.2 s
    ("progress", [(stage, shard, sent), ...])             when nothing finished: still alive
    ("summary", ShardSummary)                             a shard is done (its last message)
    ("failed", stage, shard, text)                        the shard raised (a bug): no summary follows

`sent` is how many requests the shard has sent so far, so that when a worker dies its coordinator
can count the requests whose outcome never arrived (`lost`). Durations are measured here, on this
machine's monotonic clock; only wall-clock stamps (`sent_at`) and offsets leave.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import socket
import struct
import sys
from typing import Any

from .. import __version__
from .prompts import from_spec
from .shard import BATCH_INTERVAL_S, Shard, ShardPlan
from .stage import ShardSummary
from .target import TargetRecipe, build

FRAME = struct.Struct(">I")
MAX_FRAME_BYTES = 1 << 30  # a batch of records is far smaller; a larger length is a broken pipe


def worker_info() -> dict[str, Any]:
    """Who this worker is, for the coordinator's log and placement checks."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "version": __version__}


class WorkerSession:
    """The shards one worker runs (usually one per stage; more when it stands in for a lost worker)."""

    def __init__(self, recipe: TargetRecipe, prompts: tuple[Any, ...]) -> None:
        self.target = build(recipe)
        self.prompts = from_spec(prompts)
        self.outbox: list[tuple[Any, ...]] = []
        self.ready = asyncio.Event()  # set when the outbox has something
        self.running: dict[tuple[int, int], tuple[Shard, asyncio.Event, asyncio.Task[None]]] = {}

    def _put(self, message: tuple[Any, ...]) -> None:
        self.outbox.append(message)
        self.ready.set()

    def start(self, plan: ShardPlan) -> None:
        """Run `plan` on this loop; its messages go to the outbox."""
        shard = Shard(self.target, plan, self.prompts)
        stop = asyncio.Event()
        key = (plan.stage, plan.shard)
        task = asyncio.ensure_future(self._run(key, shard, stop))
        self.running[key] = (shard, stop, task)

    async def _run(self, key: tuple[int, int], shard: Shard, stop: asyncio.Event) -> None:
        stage, index = key
        try:
            async for item in shard.run(stop):
                if isinstance(item, ShardSummary):
                    self._put(("summary", item))
                else:
                    self._put(("batch", stage, index, item, shard.sent))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug in the shard: reported, the worker lives on
            from ..safetext import one_line

            self._put(("failed", stage, index, one_line(f"{type(exc).__name__}: {exc}", 300)))
        finally:
            self.running.pop(key, None)

    def stop(self, stage: int) -> None:
        """Cut the shards of `stage`: nothing more is sent, what is in flight is cancelled."""
        for (running_stage, _), (_, stop, _) in list(self.running.items()):
            if running_stage == stage:
                stop.set()

    async def take(self, wait_s: float = BATCH_INTERVAL_S) -> list[tuple[Any, ...]]:
        """What is in the outbox, waiting up to `wait_s` for something; a progress message when
        shards are running but nothing else came (so the coordinator knows this worker lives)."""
        if not self.outbox:
            try:
                await asyncio.wait_for(self.ready.wait(), wait_s)
            except TimeoutError:
                pass
        messages, self.outbox = self.outbox, []
        self.ready.clear()
        if not messages and self.running:
            messages = [("progress", [(stage, index, shard.sent) for (stage, index), (shard, _, _) in
                                      self.running.items()])]
        return messages

    async def aclose(self) -> None:
        tasks = [task for _, _, task in self.running.values()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        try:
            async with asyncio.timeout(2.0):
                await self.target.aclose()
        except Exception:  # noqa: BLE001 - closing must not fail the worker's exit
            pass


# ---- the worker process ----------------------------------------------------------------------

def encode(message: Any) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return FRAME.pack(len(data)) + data


async def read_frame(reader: asyncio.StreamReader) -> Any:
    """The next message; EOFError when the other side closed (asyncio.IncompleteReadError is one)."""
    head = await reader.readexactly(FRAME.size)
    (size,) = FRAME.unpack(head)
    if size > MAX_FRAME_BYTES:
        raise EOFError(f"a frame of {size:,} bytes: the pipe is out of step")
    return pickle.loads(await reader.readexactly(size))


async def _pipes(read_fd: int, write_fd: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_FRAME_BYTES)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", 0))
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, os.fdopen(write_fd, "wb", 0))
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    return reader, writer


async def serve(read_fd: int, write_fd: int) -> None:
    """The worker process's loop: ("setup", recipe, prompts) first, then ("run", plan),
    ("stop", stage) and ("exit",) until the coordinator closes the pipe."""
    reader, writer = await _pipes(read_fd, write_fd)
    session: WorkerSession | None = None
    done = asyncio.Event()

    async def pump() -> None:
        while True:
            assert session is not None
            for message in await session.take():
                writer.write(encode(message))
            await writer.drain()

    pumping: asyncio.Task[None] | None = None
    try:
        while not done.is_set():
            try:
                message = await read_frame(reader)
            except (EOFError, asyncio.IncompleteReadError):
                break  # the coordinator is gone: so are we
            verb = message[0]
            if verb == "setup":
                try:
                    session = WorkerSession(message[1], message[2])
                except Exception as exc:  # noqa: BLE001 - told to the coordinator, which says it once
                    from ..safetext import one_line

                    writer.write(encode(("error", one_line(f"{type(exc).__name__}: {exc}", 300))))
                    await writer.drain()
                    break
                writer.write(encode(("ready", worker_info())))
                await writer.drain()
                pumping = asyncio.ensure_future(pump())
            elif verb == "run" and session is not None:
                session.start(message[1])
            elif verb == "stop" and session is not None:
                session.stop(message[1])
            elif verb == "exit":
                break
    finally:
        if pumping is not None:
            pumping.cancel()
            await asyncio.wait({pumping})
        if session is not None:
            await session.aclose()
        writer.close()


def main() -> None:
    """`python -m rollcall.load.worker`: frames in on stdin, out on the stdout it was started with;
    anything else printed goes to stderr, so nothing can break the frames."""
    # A terminal's Ctrl-C, a hang-up and systemd's stop (SIGTERM to every process of the unit)
    # reach the whole process group; the coordinator decides what stops. It ends a worker by
    # closing its stdin (or SIGKILL when it does not go), and stdin closes when the coordinator dies.
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    from ..fdlimit import raise_soft_limit

    raise_soft_limit()
    read_fd = os.dup(0)
    write_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    from ..app import new_event_loop

    loop = new_event_loop()
    try:
        loop.run_until_complete(serve(read_fd, write_fd))
    finally:
        loop.close()


if __name__ == "__main__":
    main()
