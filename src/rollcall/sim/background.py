"""A SimServer in the background: on its own thread (for synchronous code and tests) or in its
own process (for benchmarks, so the simulator does not share the GIL with the client measured).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

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


def _serve_in_child(models: dict, fleet_seed: int, seed: int | None, host: str, port: int, conn) -> None:  # type: ignore[no-untyped-def, type-arg]
    """The child process: serve until SIGTERM, telling the parent the base URL (or the error)."""
    from ..app import new_event_loop
    from .server import SimServer

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        try:
            server = SimServer(Fleet(models, seed=fleet_seed), host=host, port=port, seed=seed)
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
    fleet: Fleet | None = None, seed: int | None = None, host: str = "127.0.0.1", port: int = 0
) -> Iterator[str]:
    """`with run_sim_in_process(fleet) as base_url:` a simulator in a child process (spawned).

    Use it when measuring a client: a thread would share the client's interpreter lock and
    skew its timings. The child is stopped with SIGTERM, then killed if it does not exit.
    """
    fleet = fleet if fleet is not None else Fleet()
    context = multiprocessing.get_context("spawn")  # no fork: the parent may run threads/loops
    parent, child = context.Pipe(duplex=False)
    process = context.Process(
        target=_serve_in_child, args=(dict(fleet.models), fleet.seed, seed, host, port, child),
        name="rollcall-sim", daemon=True,
    )
    process.start()
    child.close()
    try:
        if not parent.poll(STARTUP_TIMEOUT_S):
            raise RuntimeError(f"the simulator process did not start within {STARTUP_TIMEOUT_S:g} s")
        try:
            status, value = parent.recv()
        except EOFError:
            raise RuntimeError(f"the simulator process exited at start (exit code {process.exitcode})") from None
        if status != "ready":
            raise RuntimeError(f"the simulator process failed to start: {value}")
        yield value
    finally:
        if process.is_alive():
            process.terminate()
            process.join(STOP_TIMEOUT_S)
        if process.is_alive():
            process.kill()
            process.join(STOP_TIMEOUT_S)
        parent.close()
