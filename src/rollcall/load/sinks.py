"""Where a load run's results go while it runs: per-request JSONL (streamed), the JSON document
and the HTML report (at the end, also of an interrupted run), the history store, the live view.

A load sink has five methods; LoadFanout feeds them all, and one that fails is reported once
without stopping the run or the others.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import IO, Any, Protocol

from .record import RequestRecord

FORMATS = ("html", "json", "jsonl")


class LoadSink(Protocol):
    def start(self, info: dict[str, Any]) -> None: ...

    def stage_started(self, stage: Any) -> None: ...

    def records(self, batch: list[RequestRecord], stats: Any) -> None: ...

    def stage_finished(self, stage: dict[str, Any]) -> None: ...

    def finish(self, doc: dict[str, Any]) -> None: ...


class LoadFanout:
    def __init__(self, sinks: Iterable[LoadSink]) -> None:
        self.sinks = list(sinks)
        self.errors: list[str] = []

    def _each(self, method: str, *args: Any) -> None:
        for sink in self.sinks:
            try:
                getattr(sink, method)(*args)
            except Exception as exc:  # noqa: BLE001 - keep the run and the other sinks going
                message = f"{type(sink).__name__}.{method}: {type(exc).__name__}: {exc}"
                if message not in self.errors:
                    self.errors.append(message)
                    print(f"rollcall: warning: {message}", file=sys.stderr)

    def start(self, info: dict[str, Any]) -> None:
        self._each("start", info)

    def stage_started(self, stage: Any) -> None:
        self._each("stage_started", stage)

    def records(self, batch: list[RequestRecord], stats: Any) -> None:
        self._each("records", batch, stats)

    def stage_finished(self, stage: dict[str, Any]) -> None:
        self._each("stage_finished", stage)

    def finish(self, doc: dict[str, Any]) -> None:
        self._each("finish", doc)


class BaseSink:
    """No-op methods, so a sink implements only what it needs."""

    def start(self, info: dict[str, Any]) -> None:
        pass

    def stage_started(self, stage: Any) -> None:
        pass

    def records(self, batch: list[RequestRecord], stats: Any) -> None:
        pass

    def stage_finished(self, stage: dict[str, Any]) -> None:
        pass

    def finish(self, doc: dict[str, Any]) -> None:
        pass


def record_lines(batch: Sequence[RequestRecord]) -> bytes:
    """Records as JSON Lines (schema rollcall.load.request/1 per line)."""
    import orjson

    return b"".join(orjson.dumps(r.to_dict()) + b"\n" for r in batch)


class JsonlRecords(BaseSink):
    """Every request as one JSON line, appended as its batch arrives (a killed run keeps what
    finished). Lines carry the error message, never the answer text."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._out: IO[bytes] | None = None
        self._gone = False  # stdout's reader left (`| head`): stop writing, keep running

    def start(self, info: dict[str, Any]) -> None:
        if self.path != "-":
            self._out = open(self.path, "wb")  # noqa: SIM115 - lives across the run

    def records(self, batch: list[RequestRecord], stats: Any) -> None:
        if self._gone:
            return
        data = record_lines(batch)
        if self.path == "-":
            from ..stdio import write_stdout

            try:
                write_stdout(data)
            except BrokenPipeError:
                self._gone = True
        elif self._out is not None:
            self._out.write(data)
            self._out.flush()

    def finish(self, doc: dict[str, Any]) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


class DocumentWriter(BaseSink):
    """Writes the whole document (json) or the HTML report at the end, atomically."""

    def __init__(self, fmt: str, path: str) -> None:
        self.fmt = fmt
        self.path = path

    def finish(self, doc: dict[str, Any]) -> None:
        from ..reports.outputs import write_text

        if self.fmt == "json":
            import json

            text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        else:
            from ..reports import load_html

            text = load_html.dumps(doc)
        write_text(self.path, text)


def output_sinks(specs: Sequence[str]) -> list[LoadSink]:
    """Sinks for `-o FORMAT:PATH` specs (json, jsonl, html); ValueError naming a bad spec."""
    from ..reports.outputs import parse_specs

    parsed = parse_specs(specs)
    sinks: list[LoadSink] = []
    for spec in parsed:
        if spec.format not in FORMATS:
            raise ValueError(f"bad output {spec.spec!r}: load writes {', '.join(FORMATS)}")
        sinks.append(JsonlRecords(spec.path) if spec.format == "jsonl" else DocumentWriter(spec.format, spec.path))
    return sinks


class StoreLoadSink(BaseSink):
    """Records the run in the history: started, each stage as it ends, finished (also when cut)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.run_id = ""

    def start(self, info: dict[str, Any]) -> None:
        self.run_id = info["id"]
        self.store.start_load_run(info)

    def stage_finished(self, stage: dict[str, Any]) -> None:
        self.store.add_load_stage(self.run_id, stage)

    def finish(self, doc: dict[str, Any]) -> None:
        self.store.finish_load_run(doc)

