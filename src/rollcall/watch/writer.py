"""The store writer: one thread owns the history store while watching and writes each round
whole, in order, off the event loop.

When the store goes away (PostgreSQL restarting, a disk full, SQLite locked past its timeout)
the watcher goes on: operations wait in a bounded in-memory buffer, one warning says what is
wrong, the writer reconnects with backoff and writes everything once the store is back. Within
the buffer nothing is lost; past it the oldest round is dropped, and that is said too. An
operation the store refuses for its content (not for being away) is dropped and told once, so
it cannot block every round behind it. Consecutive writes of one batchable kind (rounds, delivery
outcomes) go into one transaction, so a writer that fell behind catches up.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Any

from ..redact import redact

MAX_BUFFER = 2000  # operations (about one per round, plus delivery updates)
MAX_BATCH = 200  # batchable writes joined into one transaction
RECONNECT_MIN_S = 0.25
RECONNECT_MAX_S = 5.0

Op = Callable[[Any], None]


class Batch:
    """A write that can be joined with the ones of the same `kind` queued after it:
    `handler(store, [item, ...])` writes them all at once."""

    __slots__ = ("handler", "item", "kind")

    def __init__(self, kind: str, handler: Callable[[Any, list[Any]], None], item: Any) -> None:
        self.kind = kind
        self.handler = handler
        self.item = item

    def __call__(self, store: Any) -> None:
        self.handler(store, [self.item])


class StoreWriter:
    """`submit(op)` from anywhere; `op(store)` runs on the writer thread. `close()` flushes."""

    def __init__(
        self,
        store: Any,
        *,
        reopen: Callable[[], Any] | None = None,
        warn: Callable[[str], None] = lambda message: None,
        max_buffer: int = MAX_BUFFER,
        on_written: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.location = getattr(store, "location", "the history store")
        self.reopen = reopen
        self.warn = warn
        self.max_buffer = max(1, max_buffer)
        self.on_written = on_written  # after each commit (a server beside the watch refreshes)
        self.written = 0
        self.dropped = 0
        self.max_buffered = 0  # the most writes ever waiting at once (the benchmark reads it)
        self.write_s = 0.0  # time spent in successful writes (the benchmark reads it)
        self.away: str | None = None  # why the store is unavailable, while it is
        self._ops: collections.deque[tuple[str, Op]] = collections.deque()
        self._current: list[tuple[str, Op]] = []  # taken off the queue, being written
        self._solo = 0  # after a refused batch: write this many one by one, to drop only the bad one
        self._cond = threading.Condition()
        self._closing = False
        self._stop_now = False
        self._told: set[str] = set()
        self._thread = threading.Thread(target=self._loop, name="rollcall-watch-writer", daemon=True)
        self._thread.start()

    @property
    def buffered(self) -> int:
        with self._cond:
            return len(self._ops) + len(self._current)

    def submit(self, what: str, op: Op) -> None:
        """Queue `op` (`what` names it in messages: "round 12", "delivery updates")."""
        with self._cond:
            if self._closing:
                return
            if len(self._ops) >= self.max_buffer:
                lost, _ = self._ops.popleft()
                self.dropped += 1
                self._tell_once("full", f"the history store is unavailable and {self.max_buffer} writes are "
                                        f"waiting; dropping the oldest ({lost}) and any further overflow")
            self._ops.append((what, op))
            self.max_buffered = max(self.max_buffered, len(self._ops))
            self._cond.notify()

    def _tell_once(self, key: str, message: str) -> None:
        if key not in self._told:
            self._told.add(key)
            self.warn(message)

    def _loop(self) -> None:
        delay = RECONNECT_MIN_S
        while True:
            with self._cond:
                while not self._ops and not self._closing:
                    self._cond.wait()
                if self._stop_now or (self._closing and not self._ops):
                    return
                self._current = self._take()
            what, op = self._current[0]
            if len(self._current) > 1:
                what = f"{what} and {len(self._current) - 1} more"
                items = [o.item for _, o in self._current]  # type: ignore[attr-defined]
                handler = op.handler  # type: ignore[attr-defined]
                op = lambda store: handler(store, items)  # noqa: E731
            if self.store is None and not self._reconnect():
                self._put_back()
                self._pause(delay)
                delay = min(RECONNECT_MAX_S, delay * 2)
                continue
            started = time.perf_counter()
            try:
                op(self.store)
            except Exception as exc:  # noqa: BLE001 - the watcher must outlive its store
                if self._gone(exc):
                    self._went_away(exc)
                    self._put_back()
                    self._pause(delay)
                    delay = min(RECONNECT_MAX_S, delay * 2)
                    continue
                if len(self._current) > 1:
                    self._solo = len(self._current)
                    self._put_back()
                    continue
                self._done()
                self.dropped += 1
                self._tell_once(f"bad:{type(exc).__name__}",
                                f"could not store {what}, dropped it: {redact(str(exc)) or type(exc).__name__}")
                continue
            self.write_s += time.perf_counter() - started
            self._done()
            self.written += 1
            if self.on_written is not None:
                try:
                    self.on_written()
                except Exception:  # noqa: BLE001 - a listener must not stop the writer
                    pass
            delay = RECONNECT_MIN_S
            if self.away is not None:
                self.away = None
                self._told.discard("full")
                self.warn(f"{self.location} is back; the buffered writes are being stored")

    def _take(self) -> list[tuple[str, Op]]:
        """The next write, with the batchable ones of its kind right behind it (lock held)."""
        taken = [self._ops.popleft()]
        first = taken[0][1]
        if self._solo:
            self._solo -= 1
        elif isinstance(first, Batch):
            while self._ops and len(taken) < MAX_BATCH:
                following = self._ops[0][1]
                if not isinstance(following, Batch) or following.kind != first.kind:
                    break
                taken.append(self._ops.popleft())
        return taken

    def _done(self) -> None:
        with self._cond:
            self._current = []

    def _put_back(self) -> None:
        """The write failed because the store is away: it stays first in line."""
        with self._cond:
            self._ops.extendleft(reversed(self._current))
            self._current = []

    def _pause(self, seconds: float) -> None:
        with self._cond:
            if not self._stop_now:
                self._cond.wait(seconds)

    @staticmethod
    def _gone(exc: Exception) -> bool:
        return bool(getattr(exc, "transient", False))

    def _went_away(self, exc: Exception) -> None:
        reason = redact(str(exc)) or type(exc).__name__
        if self.away is None:
            self.away = reason
            self.warn(f"{reason}; keeping results in memory (up to {self.max_buffer} writes) and "
                      "retrying until it is back")
        store, self.store = self.store, None
        if store is not None and self.reopen is not None:
            try:
                store.close()
            except Exception:  # noqa: BLE001 - it is already broken
                pass
        elif store is not None:
            self.store = store  # nothing to reopen with: try the same connection again

    def _reconnect(self) -> bool:
        if self.reopen is None:
            return False
        try:
            self.store = self.reopen()
            return True
        except Exception as exc:  # noqa: BLE001 - still away
            if self.away is None:
                self._went_away(exc)
            return False

    def close(self, timeout_s: float = 5.0) -> int:
        """Write what is queued (up to `timeout_s`), then stop; returns how many writes were lost.
        The store itself is closed as well."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout_s)
        with self._cond:
            self._stop_now = True
            left = len(self._ops) + len(self._current)
            self._ops.clear()
            self._cond.notify_all()
        self._thread.join(1.0)
        if not self._thread.is_alive() and self.store is not None:
            try:
                self.store.close()
            except Exception:  # noqa: BLE001
                pass
        return left
