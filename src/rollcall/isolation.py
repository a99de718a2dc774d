"""Run untrusted async-generator code on its own daemon thread and event loop.

g4f providers block in synchronous I/O, hang forever, burn CPU, print, and raise SystemExit.
Each call therefore runs on a pooled daemon worker thread with a private event loop; items cross
back to the caller's loop with their arrival time stamped on the worker. The caller's loop owns the deadline:
when it stops listening, the worker is told to cancel and is then abandoned. A daemon thread
never keeps the process from exiting (the CLI also ends with os._exit when workers are still alive).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import inspect
import io
import queue
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TextIO, TypeVar

T = TypeVar("T")

_END = object()
STARTED = object()  # yielded once, stamped when the worker thread began running the call


class ProviderCrash(Exception):
    """Provider code raised a BaseException (SystemExit, KeyboardInterrupt, ...) on its thread.

    It only carries what was raised: reading that (its message) is classification's job, done
    off the event loop like for any exception from a provider.
    """

    def __init__(self, raised: BaseException) -> None:
        super().__init__("provider raised a BaseException")
        self.raised = raised


# Set on a worker thread while it runs provider code: its prints go nowhere.
_muted = threading.local()


class _ThreadRoutedStream(io.TextIOBase):
    """sys.stdout/err stand-in that drops writes from muted (worker) threads and passes the rest.

    Provider code that prints must not corrupt `--json -` on stdout or the live view.
    """

    def __init__(self, real: TextIO) -> None:
        self.real = real

    def write(self, s: str) -> int:
        if getattr(_muted, "on", False):
            return len(s)
        return self.real.write(s)

    def flush(self) -> None:
        if not getattr(_muted, "on", False):
            self.real.flush()

    # io.TextIOBase defines these itself, so __getattr__ would never see them: a console asking
    # whether stderr is a terminal must get the real stream's answer.
    def isatty(self) -> bool:
        return self.real.isatty()

    def fileno(self) -> int:
        return self.real.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.real, "encoding", "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.real, "errors", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


_install_lock = threading.Lock()


def _install_routers() -> None:
    with _install_lock:
        if not isinstance(sys.stdout, _ThreadRoutedStream):
            sys.stdout = _ThreadRoutedStream(sys.stdout)
        if not isinstance(sys.stderr, _ThreadRoutedStream):
            sys.stderr = _ThreadRoutedStream(sys.stderr)


class _Handoff(concurrent.futures.Future):  # type: ignore[type-arg]
    """An executor call's future whose waiter may give up: asyncio then calls cancel(), which
    cannot stop a running call. A coroutine the call returns that nobody will await is closed
    (never started, so none of its code runs), or Python warns 'coroutine ... was never awaited'
    when it is collected: LiteLLM's acompletion builds its request coroutine in an executor."""

    def __init__(self) -> None:
        super().__init__()
        self._handoff_lock = threading.Lock()
        self._abandoned = False
        self._returned: list[Any] = []

    def cancel(self) -> bool:
        if super().cancel():
            return True
        with self._handoff_lock:
            self._abandoned = True
            returned = self._returned[:]
        for value in returned:
            _close_orphan(value)
        return False

    def deliver(self, value: Any) -> None:
        with self._handoff_lock:
            self._returned.append(value)
            abandoned = self._abandoned
        self.set_result(value)
        if abandoned:
            _close_orphan(value)


def _close_orphan(value: Any) -> None:
    if inspect.iscoroutine(value):  # by its real type: no foreign code asked
        value.close()


class _DaemonExecutor(concurrent.futures.ThreadPoolExecutor):
    """Default executor for provider loops: one daemon thread per call.

    asyncio's usual ThreadPoolExecutor threads are joined at interpreter exit, so a provider that
    hangs inside `run_in_executor`/`asyncio.to_thread` would keep the process alive forever.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future = _Handoff()

        def work() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.deliver(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting provider code
                future.set_exception(exc)

        threading.Thread(target=work, name="rollcall-provider-executor", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None  # nothing pooled; running calls are abandoned with their daemon threads


class _WorkerPool:
    """Daemon threads that run one job at a time, kept warm for reuse.

    Starting a thread costs about a millisecond of GIL time, and Thread.start() blocks its caller
    until the thread runs; with hundreds of probes starting at once that stalls the event loop and
    delays every probe. Idle workers take the next job from a queue instead; new ones are started
    by a launcher thread, never by the caller's loop. A worker stuck in provider code simply never
    comes back: it is abandoned, and counted as busy.
    """

    MAX_IDLE = 256

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._to_start: queue.SimpleQueue[threading.Thread] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self.busy = 0
        self._launcher: threading.Thread | None = None

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            self.busy += 1
            self._jobs.put(job)
            if self._idle > 0:
                self._idle -= 1
                return
            if self._launcher is None:
                self._launcher = threading.Thread(target=self._launch, name="rollcall-launcher", daemon=True)
                self._launcher.start()
        self._to_start.put(threading.Thread(target=self._work, name="rollcall-worker", daemon=True))

    def _launch(self) -> None:
        while True:
            self._to_start.get().start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            finally:
                with self._lock:
                    self.busy -= 1
                    if self._idle >= self.MAX_IDLE:
                        return
                    self._idle += 1


_pool = _WorkerPool()


def live_workers() -> int:
    """How many provider calls are still running on worker threads (busy, or abandoned at a deadline)."""
    return _pool.busy


def _poster(caller_loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[tuple[float, Any]],
            stop: threading.Event) -> Callable[[tuple[float, Any]], None]:
    """A function a worker thread calls to hand one item to the caller's loop."""

    def post(item: tuple[float, Any]) -> None:
        try:
            caller_loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the caller's loop is closed: nobody is listening any more
            stop.set()

    return post


async def _pump(factory: Callable[[], AsyncIterator[Any]], post: Callable[[tuple[float, Any]], None],
                stop: threading.Event) -> BaseException | None:
    """Run the untrusted generator, posting each item stamped; what it raised is returned, never
    raised: asyncio itself inspects a failed task's exception (isinstance, which reads a
    `__class__` property) and a hostile one would wedge this loop."""
    raised: BaseException | None = None
    agen = factory()
    try:
        async for item in agen:
            if stop.is_set():
                break
            post((time.perf_counter(), item))
    except asyncio.CancelledError:
        raise
    except BaseException as exc:  # noqa: BLE001 - handed to the caller as data
        raised = exc
    aclose = getattr(agen, "aclose", None)
    if aclose is not None and not stop.is_set():
        try:
            await aclose()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the caller as data
            raised = raised or exc
    return raised


def _outcome(raised: BaseException | None) -> object:
    """The last item a worker posts: the end marker, an Exception, or a BaseException wrapped."""
    if raised is None:
        return _END
    if issubclass(type(raised), Exception):  # the real class: no provider code runs
        return raised
    return ProviderCrash(raised)  # SystemExit, KeyboardInterrupt from provider code


async def _consume(queue: asyncio.Queue[tuple[float, Any]]) -> AsyncIterator[tuple[float, Any]]:
    while True:
        stamp, item = await queue.get()
        if item is _END:
            return
        if issubclass(type(item), BaseException):
            raise item  # the provider's own object: the probe reads it off this loop
        yield stamp, item


async def stream_in_thread(
    factory: Callable[[], AsyncIterator[Any]], *, name: str = "provider"
) -> AsyncIterator[tuple[float, Any]]:
    """Yield (perf_counter stamp, item) for each item of factory() run on a worker thread,
    preceded by (stamp, STARTED) when the worker began.

    Exceptions from the worker are re-raised here; BaseExceptions that are not Exceptions
    (SystemExit, KeyboardInterrupt, GeneratorExit) arrive as ProviderCrash so they cannot end
    the caller's run. Leaving the loop early (deadline, cap, cancellation) stops the worker.
    """
    caller_loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, Any]] = asyncio.Queue()
    stop = threading.Event()
    worker_state: dict[str, Any] = {}
    _install_routers()
    post = _poster(caller_loop, queue, stop)

    def worker() -> None:
        _muted.on = True
        threading.current_thread().name = f"rollcall-{name}"  # readable in py-spy/faulthandler dumps
        loop = asyncio.new_event_loop()
        worker_state["loop"] = loop
        try:
            # Provider code leaks sessions and tasks; asyncio would log each one to stderr.
            loop.set_exception_handler(lambda _loop, _context: None)
            loop.set_default_executor(_DaemonExecutor(max_workers=1))
            post((time.perf_counter(), STARTED))
            task = loop.create_task(_pump(factory, post, stop))
            worker_state["task"] = task
            post((time.perf_counter(), _outcome(loop.run_until_complete(task))))
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # noqa: BLE001 - our own machinery failed: still an answer
            post((time.perf_counter(), exc))
        except BaseException as exc:  # noqa: BLE001 - SystemExit & co. escaping the provider's loop
            post((time.perf_counter(), ProviderCrash(exc)))
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            except BaseException:  # noqa: BLE001 - a misbehaving provider must not kill us here
                pass
            loop.close()
            _muted.on = False
            threading.current_thread().name = "rollcall-worker"

    _pool.submit(worker)
    try:
        async for pair in _consume(queue):
            yield pair
    finally:
        stop.set()
        loop = worker_state.get("loop")
        task = worker_state.get("task")
        if loop is not None and task is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:
                pass


class LoopThread:
    """One long-lived daemon thread with its own event loop, shared by every call made on it.

    For a library whose state is bound to the loop it first ran on: LiteLLM caches its HTTP
    clients per event loop, so a fresh loop per call (stream_in_thread) would build a client and
    a connection pool for every probe and leave each behind, bound to a closed loop. Calls run as
    tasks on this loop; items cross to the caller's loop stamped on this thread, with the same
    contract as stream_in_thread. The caller's loop owns the deadline: leaving the stream cancels
    the call's task. Code that blocks this loop delays the other calls on it, never the caller's
    loop, so every deadline still holds. `setup` runs once on the thread before the first call
    (an import that takes seconds, say): calls wait for it, which the STARTED stamp shows.
    `teardown` runs on the loop at interpreter exit, at most TEARDOWN_S: objects bound to the loop
    (a library's client sessions) are closed while the interpreter is still whole, instead of by
    their finalizers during its shutdown, when an import there can deadlock the exit.
    """

    TEARDOWN_S = 2.0

    def __init__(self, name: str, setup: Callable[[], None] | None = None,
                 teardown: Callable[[], Awaitable[None]] | None = None) -> None:
        self.name = name
        self._setup = setup
        self._teardown = teardown
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._ready = threading.Event()

    def start(self) -> asyncio.AbstractEventLoop:
        """Start the thread (and its setup) now, if it is not running yet; calls start it anyway."""
        with self._lock:
            if self._loop is None:
                _install_routers()
                loop = asyncio.new_event_loop()
                loop.set_exception_handler(lambda _loop, _context: None)
                loop.set_default_executor(_DaemonExecutor(max_workers=1))
                threading.Thread(target=self._run, args=(loop,), name=f"rollcall-{self.name}", daemon=True).start()
                self._loop = loop
                if self._teardown is not None:
                    atexit.register(self._at_exit, loop)
            return self._loop

    def _at_exit(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._ready.is_set() or loop.is_closed() or self._teardown is None:
            return  # still in setup (an import): nothing to close, and waiting could hang the exit
        teardown = self._teardown

        async def bounded() -> None:
            try:
                async with asyncio.timeout(self.TEARDOWN_S):
                    await teardown()
            except BaseException:  # noqa: BLE001 - exiting anyway; closing is a courtesy
                pass

        try:
            asyncio.run_coroutine_threadsafe(bounded(), loop).result(self.TEARDOWN_S + 1)
        except BaseException:  # noqa: BLE001 - exiting anyway
            pass

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        _muted.on = True
        asyncio.set_event_loop(loop)
        if self._setup is not None:
            try:
                self._setup()
            except BaseException:  # noqa: BLE001 - setup records its own failure for the calls
                pass
        self._ready.set()
        loop.run_forever()

    def wait_ready(self, timeout_s: float) -> bool:
        """Start the thread if needed and wait (blocking) for its setup; False if it took longer."""
        self.start()
        return self._ready.wait(timeout_s)

    async def stream(self, factory: Callable[[], AsyncIterator[Any]]) -> AsyncIterator[tuple[float, Any]]:
        """(perf_counter stamp, item) for each item of factory() run as a task on this thread's
        loop, preceded by (stamp, STARTED) when the task began."""
        caller_loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, Any]] = asyncio.Queue()
        stop = threading.Event()
        state: dict[str, asyncio.Task[None]] = {}
        post = _poster(caller_loop, queue, stop)
        loop = self.start()

        async def run() -> None:
            post((time.perf_counter(), _outcome(await _pump(factory, post, stop))))

        def begin() -> None:  # on this thread's loop
            if not stop.is_set():
                post((time.perf_counter(), STARTED))
                state["task"] = loop.create_task(run())

        def cancel() -> None:  # on this thread's loop, after begin() (callbacks run in order)
            task = state.get("task")
            if task is not None:
                task.cancel()

        loop.call_soon_threadsafe(begin)
        try:
            async for pair in _consume(queue):
                yield pair
        finally:
            stop.set()
            loop.call_soon_threadsafe(cancel)


async def call_off_loop(fn: Callable[[], T]) -> T:
    """fn() on a pooled daemon worker thread, awaited from the caller's loop.

    For code that must not run on the event loop because it may stall (reading an untrusted
    object). Cancelling the await abandons the call: its thread is never waited for, and its
    output is muted like a provider's.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    _install_routers()

    def deliver(ok: bool, value: Any) -> None:
        if not future.done():
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def job() -> None:
        _muted.on = True
        try:
            value, ok = fn(), True
        except Exception as exc:  # noqa: BLE001 - handed to the awaiting caller
            value, ok = exc, False
        except BaseException as exc:  # noqa: BLE001 - SystemExit & co. from untrusted code
            value, ok = ProviderCrash(exc), False
        finally:
            _muted.on = False
        try:
            loop.call_soon_threadsafe(deliver, ok, value)
        except RuntimeError:  # the caller's loop is closed: nobody is listening any more
            pass

    _pool.submit(job)
    return await future
