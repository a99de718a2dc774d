"""Load runs in the history (tables `load_runs` and `load_stages`, migration m004_load_runs): the
same SQL on every backend, mixed into SqlStore.

A run is recorded when it starts, each stage when it ends, and the run again when it finishes
(an interrupted run too), so a run killed mid-way keeps every stage that ended.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..redact import redact
from .base import RunNotFound

_RUN_COLUMNS = ("id", "started_at", "ended_at", "wall_s", "site", "target", "kind", "model", "mode", "settings",
                "complete", "interrupted", "version", "knee", "timeline")
_STAGE_COLUMNS = ("run_id", "seq", "value", "partial", "client_bound", "requests", "ok", "failed", "duration_s",
                  "requests_per_s", "output_tokens_per_s", "goodput_per_s", "ttft_p50_s", "ttft_p99_s",
                  "e2e_p50_s", "e2e_p99_s", "stage")
_REF = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _dumps(value: Any) -> str | None:
    if value is None:
        return None
    # Settings and messages come from the command line and from servers; a key must not be kept.
    return redact(json.dumps(value, sort_keys=True, default=str)) or "null"


def _loads(text: Any, default: Any) -> Any:
    try:
        return json.loads(text) if text else default
    except (TypeError, ValueError):
        return default


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class LoadRunsMixin:
    """Needs the SqlStore hooks: execute, query, _write, _lock, location."""

    location: str

    def _upsert_load_run(self, info: dict[str, Any]) -> None:
        self.execute(  # type: ignore[attr-defined]
            f"INSERT INTO load_runs ({', '.join(_RUN_COLUMNS)}) VALUES ({', '.join('?' * len(_RUN_COLUMNS))}) "
            "ON CONFLICT (id) DO NOTHING",
            (info["id"], info.get("started_at") or "", info.get("ended_at"), info.get("wall_s"), info.get("site") or "",
             info.get("target") or "", info.get("kind") or "", info.get("model") or "", info.get("mode") or "",
             _dumps(info.get("settings") or {}), int(bool(info.get("complete"))), info.get("interrupted"),
             info.get("version") or "", _dumps(info.get("knee")), _dumps(info.get("timeline"))),
        )

    def start_load_run(self, info: dict[str, Any]) -> None:
        """Record a load run as started (id, target, kind, model, mode, started_at, settings, site)."""
        with self._lock, self._write():  # type: ignore[attr-defined]
            self._upsert_load_run(info)

    def _insert_stage(self, run_id: str, stage: dict[str, Any], mode: str | None) -> None:
        value = stage.get(mode) if mode else stage.get("concurrency", stage.get("rate"))
        ttft, e2e = stage.get("ttft_s") or {}, stage.get("e2e_s") or {}
        self.execute(  # type: ignore[attr-defined]
            f"INSERT INTO load_stages ({', '.join(_STAGE_COLUMNS)}) VALUES ({', '.join('?' * len(_STAGE_COLUMNS))}) "
            "ON CONFLICT (run_id, seq) DO NOTHING",
            (run_id, int(stage["index"]), _number(value) or 0.0, int(bool(stage.get("partial"))),
             int(bool(stage.get("client_bound"))), int(stage.get("requests", 0)), int(stage.get("ok", 0)),
             int(stage.get("failed", 0)), _number(stage.get("duration_s")), _number(stage.get("requests_per_s")),
             _number(stage.get("output_tokens_per_s")), _number(stage.get("goodput_per_s")),
             _number(ttft.get("p50")), _number(ttft.get("p99")), _number(e2e.get("p50")), _number(e2e.get("p99")),
             _dumps(stage)),
        )

    def add_load_stage(self, run_id: str, stage: dict[str, Any]) -> None:
        """Record one finished (or cut) stage; a stage already stored is kept as it was."""
        with self._lock, self._write():  # type: ignore[attr-defined]
            self._insert_stage(run_id, stage, None)

    def finish_load_run(self, doc: dict[str, Any]) -> None:
        """Record how a load run ended, with any stage not stored yet."""
        with self._lock, self._write():  # type: ignore[attr-defined]
            self._upsert_load_run(doc)
            self.execute(  # type: ignore[attr-defined]
                "UPDATE load_runs SET ended_at = ?, wall_s = ?, complete = ?, interrupted = ?, settings = ?, "
                "knee = ?, timeline = ? WHERE id = ?",
                (doc.get("ended_at"), doc.get("wall_s"), int(bool(doc.get("complete"))), doc.get("interrupted"),
                 _dumps(doc.get("settings") or {}), _dumps(doc.get("knee")), _dumps(doc.get("timeline")), doc["id"]),
            )
            for stage in doc.get("stages", []):
                self._insert_stage(doc["id"], stage, doc.get("mode"))

    def list_load_runs(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Most recent first: the run's fields and its stage count."""
        sql = (f"SELECT {', '.join('r.' + c for c in _RUN_COLUMNS[:13])}, "
               "(SELECT COUNT(*) FROM load_stages s WHERE s.run_id = r.id) FROM load_runs r "
               "ORDER BY r.started_at DESC, r.id DESC")
        params: tuple[object, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (int(limit),)
        with self._lock:  # type: ignore[attr-defined]
            rows = self.query(sql, params)  # type: ignore[attr-defined]
        out = []
        for row in rows:
            run = dict(zip(_RUN_COLUMNS[:13], row[:13], strict=True))
            run["settings"] = _loads(run["settings"], {})
            run["complete"] = bool(run["complete"])
            run["stages"] = int(row[13] or 0)
            out.append(run)
        return out

    def get_load_run(self, ref: str) -> dict[str, Any]:
        """The rollcall.load/1 document of the run with this id or unique id prefix."""
        from ..load.document import build

        ref = ref.strip()
        if not _REF.match(ref):
            raise RunNotFound(f"{ref!r} is not a load run id (see `rollcall load runs`)")
        head = f"SELECT {', '.join(_RUN_COLUMNS)} FROM load_runs"
        with self._lock:  # type: ignore[attr-defined]
            rows = self.query(head + " WHERE id = ?", (ref,))  # type: ignore[attr-defined]
            if not rows:
                rows = self.query(head + " WHERE substr(id, 1, ?) = ? ORDER BY started_at DESC LIMIT 6",  # type: ignore[attr-defined]
                                  (len(ref), ref))
            if len(rows) == 1:
                stages = self.query("SELECT stage FROM load_stages WHERE run_id = ? ORDER BY seq",  # type: ignore[attr-defined]
                                    (rows[0][0],))
        if not rows:
            raise RunNotFound(f"no load run with id {ref!r} in {self.location} (see `rollcall load runs`)")
        if len(rows) > 1:
            ids = ", ".join(str(r[0]) for r in rows[:5])
            raise RunNotFound(f"load run id prefix {ref!r} is ambiguous: it matches {ids}")
        run = dict(zip(_RUN_COLUMNS, rows[0], strict=True))
        return build(
            run_id=run["id"], target=run["target"], kind=run["kind"], model=run["model"], mode=run["mode"],
            started_at=run["started_at"], ended_at=run["ended_at"] or "", wall_s=run["wall_s"] or 0.0,
            complete=bool(run["complete"]), interrupted=run["interrupted"], settings=_loads(run["settings"], {}),
            stages=[_loads(s[0], {}) for s in stages], timeline=_loads(run["timeline"], None),
            version=run["version"], site=run["site"],
        )
