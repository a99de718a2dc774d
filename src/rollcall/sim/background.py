"""A SimServer on its own thread and event loop, for synchronous code and tests."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .fleet import Fleet

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


@contextmanager
def run_sim_in_thread(
    fleet: Fleet | None = None, seed: int | None = None, host: str = "127.0.0.1", port: int = 0
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
            async with SimServer(fleet, host=host, port=port, seed=seed) as server:
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
