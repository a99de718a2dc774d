"""A SimServer in the background: on its own thread (for synchronous code and tests) or in its
own processes (for benchmarks, so the simulator does not share the GIL with the client measured,
and with `workers=N` serves from N processes on one port, so it keeps up with the client).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .fleet import Fleet

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


@contextmanager
def run_sim_in_thread(
    fleet: Fleet | None = None, seed: int | None = None, host: str = "127.0.0.1", port: int = 0,
    fleet_path: str | None = None,
) -> Iterator[str]:
    """`with run_sim_in_thread(fleet) as base_url:` serves until the block ends.

    Start-up errors (a port in use) are raised here. The thread is a daemon, so even a server
    that failed to stop cannot keep the process alive.
    """
    from ..app import new_event_loop
    from .server import SimServer

    ready: concurrent.futures.Future[tuple[str, asyncio.AbstractEventLoop, asyncio.Event]] = (
        concurrent.futures.Future()
    )

    async def serve() -> None:
        stop = asyncio.Event()
        try:
            async with SimServer(fleet, host=host, port=port, seed=seed, fleet_path=fleet_path) as server:
                ready.set_result((server.base_url, asyncio.get_running_loop(), stop))
                await stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            else:
                raise

    def main() -> None:
        loop = new_event_loop()
        try:
            loop.run_until_complete(serve())
        except BaseException:  # noqa: BLE001 - already reported through `ready`, or nowhere to go
            pass
        finally:
            loop.close()

    thread = threading.Thread(target=main, name="rollcall-sim", daemon=True)
    thread.start()
    try:
        base_url, loop, stop = ready.result(timeout=STARTUP_TIMEOUT_S)
    except concurrent.futures.TimeoutError:
        raise RuntimeError(f"the simulator did not start within {STARTUP_TIMEOUT_S:g} s") from None
    try:
        yield base_url
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(STOP_TIMEOUT_S)


def _serve_in_child(models: dict, fleet_seed: int, seed: int | None, host: str,  # type: ignore[no-untyped-def, type-arg]
                    port: int, conn, worker: int = 0, workers: int = 1) -> None:
    """The child process: serve until SIGTERM, telling the parent the base URL (or the error)."""
    from ..app import new_event_loop
    from .server import SimServer

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        try:
            server = SimServer(Fleet(models, seed=fleet_seed), host=host, port=port, seed=seed,
                               worker=worker, workers=workers)
            await server.start()
        except BaseException as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
            return
        try:
            conn.send(("ready", server.base_url))
            await stop.wait()
        finally:
            await server.close()

    loop = new_event_loop()
    try:
        loop.run_until_complete(serve())
    finally:
        loop.close()
        conn.close()


@contextmanager
def run_sim_in_process(
    fleet: Fleet | None = None, seed: int | None = None, host: str = "127.0.0.1", port: int = 0, *,
    workers: int = 1,
) -> Iterator[str]:
    """`with run_sim_in_process(fleet) as base_url:` a simulator in a child process (spawned);
    `workers=N`: N child processes serving the same port (SO_REUSEPORT, Linux and the BSDs).

    Use it when measuring a client: a thread would share the client's interpreter lock and
    skew its timings. Children are stopped with SIGTERM, then killed if they do not exit.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    fleet = fleet if fleet is not None else Fleet()
    context = multiprocessing.get_context("spawn")  # no fork: the parent may run threads/loops
    reserved = None
    if workers > 1:
        if not hasattr(socket, "SO_REUSEPORT"):
            raise RuntimeError("serving from several processes needs SO_REUSEPORT, which this system lacks")
        from .server import bound_socket

        # Bound, never listening: it holds the port (a free one for port 0) while the workers
        # bind it too, and receives no connection (the kernel hands them only to listeners).
        reserved = bound_socket(host, port, reuse_port=True)
        port = reserved.getsockname()[1]
    processes: list[Any] = []
    pipes: list[Any] = []
    try:
        for worker in range(workers):
            parent, child = context.Pipe(duplex=False)
            process = context.Process(
                target=_serve_in_child, args=(dict(fleet.models), fleet.seed, seed, host, port, child, worker, workers),
                name=f"rollcall-sim-{worker + 1}" if workers > 1 else "rollcall-sim", daemon=True,
            )
            process.start()
            child.close()
            processes.append(process)
            pipes.append(parent)
        urls = [_ready(parent, process) for parent, process in zip(pipes, processes, strict=True)]
        if reserved is not None:
            reserved.close()
            reserved = None
        yield urls[0]
    finally:
        if reserved is not None:
            reserved.close()
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(STOP_TIMEOUT_S)
            if process.is_alive():
                process.kill()
                process.join(STOP_TIMEOUT_S)
        for parent in pipes:
            parent.close()


def _ready(parent: Any, process: Any) -> str:
    """The base URL a child reports once it serves (RuntimeError if it does not)."""
    if not parent.poll(STARTUP_TIMEOUT_S):
        raise RuntimeError(f"the simulator process did not start within {STARTUP_TIMEOUT_S:g} s")
    try:
        status, value = parent.recv()
    except EOFError:
        raise RuntimeError(f"the simulator process exited at start (exit code {process.exitcode})") from None
    if status != "ready":
        raise RuntimeError(f"the simulator process failed to start: {value}")
    return str(value)
