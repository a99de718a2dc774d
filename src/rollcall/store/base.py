"""The history store's interface: what every backend (SQLite, PostgreSQL) can do, and its records.

Backends store runs and their results; everything computed from them (history, diffs) lives in
`queries.py`, so both backends answer the same questions with the same code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..models import ProbeResult


class StoreError(Exception):
    """The store cannot be used (missing driver, unreadable or newer database, bad run id).

    The message is one line, safe to show (no passwords), and says what to do. `transient` is
    True when the store is away for now (a server restarting, a locked or full disk): a
    long-running writer keeps the data and tries again instead of dropping it.
    """

    transient: bool = False


class RunNotFound(StoreError):
    """A run id or prefix matched no run, or more than one."""


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One stored run. `ended_at`/`wall_s` stay None while it runs or when it was killed."""

    id: str
    started_at: str
    ended_at: str | None = None
    wall_s: float | None = None
    prompt: str = ""
    site: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    complete: bool = False
    version: str = ""
    planned: int | None = None
    loop_lag_max_s: float | None = None
    skipped: tuple[dict[str, str], ...] = ()
    # Counts over the stored results (filled by listings, 0 when not asked for).
    ok: int = 0
    failed: int = 0
    targets: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "wall_s": self.wall_s,
            "prompt": self.prompt,
            "site": self.site,
            "settings": self.settings,
            "complete": self.complete,
            "version": self.version,
            "planned": self.planned,
            "loop_lag_max_s": self.loop_lag_max_s,
            "skipped": list(self.skipped),
            "ok": self.ok,
            "failed": self.failed,
            "targets": self.targets,
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    """The slice of one stored result that history needs (no answer text)."""

    target: str
    model: str
    site: str
    run_id: str
    started_at: str
    ok: bool
    error_kind: str | None
    ttft_s: float | None
    total_s: float | None


class Store(Protocol):
    """A place runs are remembered. Every method is safe to call from any one thread at a time."""

    location: str  # where it is, safe to print (password redacted)

    def start_run(self, run: RunRecord) -> None:
        """Record a run as started and incomplete (idempotent for the same id)."""

    def add_results(self, run_id: str, results: Sequence[tuple[int, ProbeResult]]) -> None:
        """Store (seq, result) pairs of a run in one transaction; a seq already stored is skipped."""

    def finish_run(self, run: RunRecord) -> None:
        """Record how a run ended: ended_at, wall_s, complete, and the run's final details."""

    def list_runs(self, limit: int | None = None, *, complete_only: bool = False) -> list[RunRecord]:
        """Most recent first, with ok/failed/targets counts."""

    def get_run(self, ref: str) -> RunRecord:
        """The run with this id or unique id prefix (with counts); RunNotFound otherwise."""

    def run_results(self, run_id: str) -> list[ProbeResult]:
        """A run's results in the order they were stored."""

    def outcomes(
        self, *, since: str | None = None, targets: Sequence[str] = (), site: str | None = None
    ) -> list[Outcome]:
        """Results for history, oldest first; `targets` match case-insensitively."""

    def target_names(self) -> list[str]:
        """Every target name ever stored."""

    def applied_migrations(self) -> list[str]:
        """Names of the schema steps this database has, in the order they were applied."""

    # Load runs (`rollcall load`, see store/load_runs.py): documents of schema rollcall.load/1.
    def start_load_run(self, info: dict[str, Any]) -> None: ...

    def add_load_stage(self, run_id: str, stage: dict[str, Any]) -> None: ...

    def finish_load_run(self, doc: dict[str, Any]) -> None: ...

    def list_load_runs(self, limit: int | None = None) -> list[dict[str, Any]]: ...

    def get_load_run(self, ref: str) -> dict[str, Any]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Store: ...

    def __exit__(self, *exc: object) -> None: ...


# The results table holds every ProbeResult field (tests check none is missing) plus run_id/seq.
RESULT_FIELDS: tuple[str, ...] = (
    "target", "kind", "model", "ok", "error_kind", "error", "status", "queue_s", "headers_s",
    "ttft_s", "total_s", "output_chars", "output_tokens", "output_tokens_estimated", "tokens_per_s",
    "text", "reasoning", "started_at", "attempt", "retry_after_s", "max_gap_s", "server_timings",
)
# History needs neither the answer nor the reasoning in full; output_chars keeps the real length.
STORED_TEXT_CHARS = 4000
