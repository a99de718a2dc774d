"""Where the server's data comes from: its own read connections to the history store, on a small
pool of threads (a slow query never stalls the server's event loop, and the server never shares
the watcher's connection), and the current Snapshot, rebuilt in the background when the store
changed.

    source = Source(lambda: open_store(location, create=False))
    await source.start()            # the first snapshot, then a refresher task
    snap = source.snapshot          # what requests are answered from
    rows = await source.read(servedb.rollups, "hour", target="groq")
    source.notify()                 # from any thread: "a round was written", refresh now

Watchers tell an in-process server through notify() (watch --listen); `rollcall serve` asks the
store for its change stamp every POLL_S. Either way a new version wakes the overview's event
streams. Requests never wait for a rebuild: they get the snapshot as it was.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as _dt
import threading
import time
from collections.abc import Callable
from typing import Any

from ..redact import redact
from ..stdio import say
from ..store.base import RunNotFound, StoreError
from .snapshot import Snapshot, build

POLL_S = 2.0  # how often `serve` asks the store whether something changed
WINDOW_REFRESH_S = 60.0  # windows move with the clock: rebuild at least this often
READ_THREADS = 2


class StoreUnavailable(Exception):
    """The store cannot be read right now; the message is one safe line."""


class Source:
    def __init__(self, opener: Callable[[], Any], *, poll_s: float = POLL_S) -> None:
        self.opener = opener
        self.poll_s = poll_s
        self._local = threading.local()
        self._opened: list[Any] = []
        self._opened_lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(READ_THREADS, thread_name_prefix="rollcall-serve-db")
        self._snapshot: Snapshot | None = None
        self._version = 0
        self._stamp: Any = None
        self._built_mono = 0.0
        self._changed: asyncio.Event | None = None
        self._new_version: asyncio.Condition | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._cache: dict[str, tuple[int, Any]] = {}
        # name -> make(snapshot): rendered on a read thread as each new snapshot arrives, so even
        # the first request after a round (a Prometheus scrape, the overview) finds it ready.
        self.warmers: dict[str, Callable[[Snapshot], Any]] = {}
        self.error: str | None = None  # why the last refresh failed, while it does
        self._told: str | None = None
        self.closing = asyncio.Event()

    # -- reading -------------------------------------------------------------------------------
    def _store(self) -> Any:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self.opener()
            self._local.store = store
            with self._opened_lock:
                self._opened.append(store)
        return store

    def _drop_store(self) -> None:
        store = getattr(self._local, "store", None)
        self._local.store = None
        if store is not None:
            with self._opened_lock:
                if store in self._opened:
                    self._opened.remove(store)
            try:
                store.close()
            except Exception:  # noqa: BLE001 - it is already broken
                pass

    def _call(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return fn(self._store(), *args, **kwargs)
        except RunNotFound:
            raise
        except StoreError as exc:
            if exc.transient:
                self._drop_store()  # the next read opens a fresh connection
            # The detail names the store (host, path): for the server's log, not for visitors.
            detail = redact(str(exc)) or type(exc).__name__
            if detail != self._told:
                self._told = detail
                say(f"rollcall serve: {detail}")
            raise StoreUnavailable("the history store cannot be read right now") from None

    async def read(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`fn(store, *args, **kwargs)` on a read thread; StoreUnavailable when the store fails."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._call, fn, args, kwargs)

    # -- the snapshot --------------------------------------------------------------------------
    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            raise StoreUnavailable(self.error or "the history has not been read yet")
        return self._snapshot

    @property
    def version(self) -> int:
        return self._snapshot.version if self._snapshot else 0

    def cached(self, name: str, make: Callable[[Snapshot], Any]) -> Any:
        """`make(snapshot)`, remembered until the snapshot changes (rendered documents, metrics)."""
        snap = self.snapshot
        hit = self._cache.get(name)
        if hit is not None and hit[0] == snap.version:
            return hit[1]
        value = make(snap)
        self._cache[name] = (snap.version, value)
        return value

    async def refresh(self, *, force: bool = False) -> bool:
        """Rebuild the snapshot if the store changed (or the windows moved); True when it did."""
        from ..store import servedb

        try:
            stamp = await self.read(servedb.change_stamp)
            hour = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d%H")
            due = time.monotonic() - self._built_mono >= WINDOW_REFRESH_S
            if not force and self._snapshot is not None and (stamp, hour) == self._stamp and not due:
                return False
            snap = await self.read(build, self._version + 1)
        except StoreUnavailable as exc:
            self.error = str(exc)
            return False
        self.error = None
        self._stamp = (stamp, hour)
        self._built_mono = time.monotonic()
        self._version = snap.version
        loop = asyncio.get_running_loop()
        for name, make in self.warmers.items():
            try:
                self._cache[name] = (snap.version, await loop.run_in_executor(self._pool, make, snap))
            except Exception:  # noqa: BLE001 - the request path renders it again and reports a failure
                pass
        self._snapshot = snap
        if self._new_version is not None:
            async with self._new_version:
                self._new_version.notify_all()
        return True

    async def start(self) -> None:
        """Read the first snapshot (StoreUnavailable if the store cannot be read), then keep it fresh."""
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._new_version = asyncio.Condition()
        await self.refresh(force=True)
        if self._snapshot is None:
            raise StoreUnavailable(self.error or "the history store cannot be read")
        self._task = asyncio.ensure_future(self._refresher())

    async def _refresher(self) -> None:
        assert self._changed is not None
        while not self.closing.is_set():
            try:
                await asyncio.wait_for(self._changed.wait(), self.poll_s)
            except TimeoutError:
                pass
            self._changed.clear()
            await self.refresh()

    def notify(self) -> None:
        """Something was written: refresh soon. Safe from any thread (the watcher's writer)."""
        loop, changed = self._loop, self._changed
        if loop is None or changed is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(changed.set)
        except RuntimeError:
            pass  # the server's loop is closing

    async def wait_for_version(self, after: int, timeout_s: float) -> int:
        """The snapshot version once it is newer than `after` (or as it is after `timeout_s`)."""
        assert self._new_version is not None
        async with self._new_version:
            try:
                await asyncio.wait_for(self._new_version.wait_for(lambda: self.version > after or self.closing.is_set()),
                                       timeout_s)
            except TimeoutError:
                pass
        return self.version

    async def close(self) -> None:
        self.closing.set()
        if self._new_version is not None:
            async with self._new_version:
                self._new_version.notify_all()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._opened_lock:
            stores, self._opened = self._opened, []
        for store in stores:
            try:
                store.close()
            except Exception:  # noqa: BLE001
                pass
