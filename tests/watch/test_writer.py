"""The store writer keeps rounds while the store is away and writes them, in order, when it is back."""

from __future__ import annotations

import threading

from rollcall.store.base import StoreError
from rollcall.watch.writer import StoreWriter


def _until(condition):
    import time

    for _ in range(1000):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("condition never held")


class FlakyStore:
    """A store that is away (transient errors) until `back` is set; records what was written."""

    location = "flaky-store"

    def __init__(self):
        self.back = threading.Event()
        self.written = []
        self.closed = 0

    def write(self, item):
        if not self.back.is_set():
            error = StoreError("flaky-store: server closed the connection unexpectedly")
            error.transient = True
            raise error
        self.written.append(item)

    def close(self):
        self.closed += 1


def test_an_outage_is_told_once_and_nothing_in_the_buffer_is_lost():
    store = FlakyStore()
    warnings = []
    writer = StoreWriter(store, reopen=lambda: store, warn=warnings.append)
    for n in range(50):
        writer.submit(f"round {n}", lambda s, n=n: s.write(n))
    _until(lambda: writer.away is not None)  # the writer found the store away
    assert writer.buffered == 50
    store.back.set()
    assert writer.close(timeout_s=30) == 0
    assert store.written == list(range(50))
    assert len(warnings) == 2 and "keeping results in memory" in warnings[0] and "is back" in warnings[1]


def test_a_full_buffer_drops_the_oldest_and_says_so():
    store = FlakyStore()
    warnings = []
    writer = StoreWriter(store, reopen=lambda: store, warn=warnings.append, max_buffer=5)
    writer.submit("round 0", lambda s: s.write(0))
    _until(lambda: writer.away is not None)
    for n in range(1, 12):
        writer.submit(f"round {n}", lambda s, n=n: s.write(n))
    store.back.set()
    writer.close(timeout_s=30)
    assert store.written[-5:] == list(range(7, 12)) and writer.dropped >= 6
    assert sum("dropping the oldest" in w for w in warnings) == 1


def test_a_write_refused_for_its_content_is_dropped_and_the_rest_go_on():
    store = FlakyStore()
    store.back.set()
    warnings = []
    writer = StoreWriter(store, warn=warnings.append)

    def bad(s):
        raise StoreError("flaky-store: UNIQUE constraint failed")

    writer.submit("round 1", lambda s: s.write(1))
    writer.submit("round 2", bad)
    writer.submit("round 3", lambda s: s.write(3))
    writer.close(timeout_s=30)
    assert store.written == [1, 3] and writer.dropped == 1
    assert warnings == ["could not store round 2, dropped it: flaky-store: UNIQUE constraint failed"]


def test_close_gives_up_on_a_store_that_never_comes_back():
    store = FlakyStore()
    writer = StoreWriter(store, reopen=lambda: store)
    writer.submit("round 1", lambda s: s.write(1))
    assert writer.close(timeout_s=0.3) == 1


def test_batches_join_and_a_refused_batch_drops_only_its_bad_write():
    from rollcall.watch.writer import Batch

    store = FlakyStore()
    batches = []

    def handler(s, items):
        if not s.back.is_set():
            s.write(items)  # away: raises
        if "bad" in items:
            raise StoreError("flaky-store: CHECK constraint failed")
        batches.append(list(items))

    writer = StoreWriter(store, reopen=lambda: store)
    writer.submit("round 0", Batch("round", handler, 0))
    _until(lambda: writer.away is not None)
    for item in (1, 2, "bad", 3):
        writer.submit(f"round {item}", Batch("round", handler, item))
    writer.submit("other", lambda s: s.write("other"))
    writer.submit("round 4", Batch("round", handler, 4))
    store.back.set()
    assert writer.close(timeout_s=30) == 0
    assert sum(batches, []) == [0, 1, 2, 3, 4] and writer.dropped == 1
    assert store.written == ["other"]
