"""A stored run as a RunResult again: what the run page (the HTML report) and /api/v1/runs/{id}
(the run's JSON document) are made from."""

from __future__ import annotations

from typing import Any

from ..models import RunResult, Skipped


def load(store: Any, ref: str) -> RunResult:
    """The run `ref` names (id or unique prefix); RunNotFound otherwise."""
    record = store.get_run(ref)
    results = tuple(store.run_results(record.id))
    skipped = tuple(Skipped(str(s.get("name", "")), str(s.get("reason", ""))) for s in record.skipped
                    if isinstance(s, dict))
    return RunResult(
        id=record.id, started_at=record.started_at, ended_at=record.ended_at or record.started_at,
        wall_s=record.wall_s or 0.0, prompt=record.prompt, results=results, skipped=skipped,
        complete=record.complete, settings=dict(record.settings), loop_lag_max_s=record.loop_lag_max_s,
        version=record.version,
    )
