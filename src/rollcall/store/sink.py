"""StoreSink: records a run into a Store while it runs, without ever blocking the event loop.

The runner calls `result` on the event loop as each probe finishes; the sink only enqueues it.
A writer thread owns every store call: it records the run as started (incomplete), writes each
result as soon as it arrives (whatever has queued up meanwhile goes in one transaction), and
marks the run complete at `finish`. A process killed halfway leaves every result already
committed and the run marked incomplete.
"""

from __future__ import annotations

import queue
import socket
import threading
from typing import Any

from .. import __version__
from ..models import ProbeResult, RunInfo, RunResult
from ..redact import redact
from ..timing import utc_now_iso
from .base import RunRecord, Store, StoreError

MAX_BATCH = 500
FINISH_TIMEOUT_S = 60.0
_STOP = object()


def default_site() -> str:
    """Where a run is from when --site is not given: this machine's hostname."""
    try:
        return socket.gethostname() or "unknown"
    except OSError:
        return "unknown"



class StoreSink:
    """A Sink (start/result/finish) that writes one run into `store`; use one per run.

    `site` defaults to the hostname. The run's prompt and settings (from `start`'s RunInfo) are
    recorded at start so a run killed before `finish` still says what it asked; `finish`
    records the RunResult's own. The caller keeps ownership of `store` (close it after `finish`).
    """

    def __init__(
        self,
        store: Store,
        *,
        site: str | None = None,
        max_batch: int = MAX_BATCH,
        finish_timeout_s: float = FINISH_TIMEOUT_S,
    ) -> None:
        self.store = store
        self.label = f"the history ({store.location})"  # what an abandoned finish failed to write
        self.site = site or default_site()
        self.max_batch = max(1, max_batch)
        self.finish_timeout_s = finish_timeout_s
        self.run_id: str | None = None
        self.errors: list[str] = []
        self.batches = 0  # transactions that wrote results (for tests and the benchmark)
        self._seq = 0
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    # -- Sink ------------------------------------------------------------------------------
    def start(self, info: RunInfo) -> None:
        if self._thread is not None:
            raise RuntimeError("a StoreSink records one run; make a new one per run")
        self.run_id = info.id
        self._queue.put(("start", RunRecord(
            id=info.id, started_at=info.started_at or utc_now_iso(), prompt=info.prompt, site=self.site,
            settings=info.settings.to_json(), complete=False, version=__version__, planned=info.planned,
        )))
        # A daemon: a store that hangs (a PostgreSQL server gone silent) must not keep the
        # process alive; finish() waits for it only up to finish_timeout_s.
        self._thread = threading.Thread(target=self._write_loop, name="rollcall-store-writer", daemon=True)
        self._thread.start()

    def result(self, result: ProbeResult) -> None:
        # Called on the event loop: enqueue only (SimpleQueue.put never blocks).
        self._seq += 1
        self._queue.put(("result", (self._seq, result)))

    def finish(self, run: RunResult) -> None:
        if self._thread is None:
            self.start(RunInfo.of(run))
        # Results the sink never saw: the `cancelled` placeholders of an interrupted run.
        for extra in run.results[self._seq:]:
            self.result(extra)
        self._queue.put(("finish", RunRecord(
            id=run.id, started_at=run.started_at, ended_at=run.ended_at, wall_s=run.wall_s,
            prompt=run.prompt, site=self.site, settings=run.settings.to_json(), complete=run.complete,
            version=run.version or __version__, planned=None, loop_lag_max_s=run.loop_lag_max_s,
            skipped=tuple({"name": s.name, "reason": redact(s.reason) or ""} for s in run.skipped),
        )))
        self._queue.put(_STOP)
        assert self._thread is not None
        self._thread.join(self.finish_timeout_s)
        if self._thread.is_alive():
            raise StoreError(
                f"the history store {self.store.location} did not finish writing within "
                f"{self.finish_timeout_s:g} s; this run may be stored incomplete"
            )
        if self.errors:
            raise StoreError(f"run {run.id} was not fully stored: {self.errors[0]}")

    # -- writer thread -----------------------------------------------------------------------
    def _write_loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            # Whatever queued up while the last transaction ran goes into the next one.
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = self._apply(batch)
            if stop:
                return

    def _apply(self, batch: list[Any]) -> bool:
        pending: list[tuple[int, ProbeResult]] = []
        for item in batch:
            if item is _STOP:
                self._flush(pending)
                return True
            what, value = item
            if what == "result":
                pending.append(value)
                continue
            self._flush(pending)
            pending = []
            if what == "start":
                self._attempt(self.store.start_run, value)
            else:
                self._attempt(self.store.finish_run, value)
        self._flush(pending)
        return False

    def _flush(self, pending: list[tuple[int, ProbeResult]]) -> None:
        if pending and self.run_id is not None:
            if self._attempt(self.store.add_results, self.run_id, list(pending)):
                self.batches += 1

    def _attempt(self, method: Any, *args: Any) -> bool:
        try:
            method(*args)
            return True
        except Exception as exc:  # noqa: BLE001 - keep writing what can be written; report at finish
            message = redact(str(exc)) or type(exc).__name__
            # Reported once, at finish (through Fanout's warning): printing from this thread
            # would tear through the live view.
            if message not in self.errors:
                self.errors.append(message)
            return False
