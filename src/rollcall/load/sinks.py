"""Where a load run's results go while it runs: per-request JSONL (streamed), the JSON document
and the HTML report (at the end, also of an interrupted run), the history store, the live view.

A load sink has five methods; LoadFanout feeds them all, and one that fails is reported once
without stopping the run or the others. A sink that writes an output has a `label` (the output
as the user named it), so a finish cut short by a repeated stop signal can say what is missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import IO, Any, Protocol

from ..safetext import one_line
from ..sinks import label
from ..stdio import say
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
        self._finished: set[int] = set()

    @property
    def unfinished(self) -> list[str]:
        """Labelled sinks whose finish has not completed (what a repeated stop signal left out)."""
        return [name for i, s in enumerate(self.sinks) if i not in self._finished and (name := label(s))]

    def _call(self, sink: LoadSink, method: str, *args: Any) -> None:
        try:
            getattr(sink, method)(*args)
        except Exception as exc:  # noqa: BLE001 - keep the run and the other sinks going
            # The exception may quote outside text (a path, a server's message).
            message = one_line(f"{type(sink).__name__}.{method}: {type(exc).__name__}: {exc}", 500)
            if message not in self.errors:
                self.errors.append(message)
                say(f"rollcall: warning: {message}")

    def _each(self, method: str, *args: Any) -> None:
        for sink in self.sinks:
            self._call(sink, method, *args)

    def start(self, info: dict[str, Any]) -> None:
        self._each("start", info)

    def stage_started(self, stage: Any) -> None:
        self._each("stage_started", stage)

    def records(self, batch: list[RequestRecord], stats: Any) -> None:
        self._each("records", batch, stats)

    def stage_finished(self, stage: dict[str, Any]) -> None:
        self._each("stage_finished", stage)

    def finish(self, doc: dict[str, Any]) -> None:
        for i, sink in enumerate(self.sinks):
            self._call(sink, "finish", doc)
            self._finished.add(i)


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


# DEL, the C1 controls (U+0085 among them) and U+2028/9 end a line for str.splitlines() and
# JavaScript: \u-escaped (as the run's JSONL does), every reader sees one request per line.
_LINE_BREAKERS = re.compile(rb"\x7f|\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]")


def _escape(match: re.Match[bytes]) -> bytes:
    return f"\\u{ord(match.group().decode()):04x}".encode()


def record_lines(batch: Sequence[RequestRecord]) -> bytes:
    """Records as JSON Lines (schema rollcall.load.request/1 per line)."""
    import orjson

    lines = []
    for r in batch:
        data = r.to_dict()
        try:
            lines.append(orjson.dumps(data))
        except TypeError:  # a lone surrogate in a server's message: \u-escape it, exactly
            import json

            lines.append(json.dumps(data).encode())
    data = b"\n".join(lines) + b"\n" if lines else b""
    return _LINE_BREAKERS.sub(_escape, data)


class JsonlRecords(BaseSink):
    """Every request as one JSON line, appended as its batch arrives (a killed run keeps what
    finished). Lines carry the error message, never the answer text. Written in place, like the
    run's JSONL (reports/jsonl.py): a FIFO or a process substitution works, /dev/stdout is
    stdout, and a reader that leaves ends this output only."""

    def __init__(self, path: str) -> None:
        from ..reports.outputs import STDOUT, destination

        self.path = path
        self.label = f"jsonl:{path}"
        self._stdout = destination(path)[0] == STDOUT
        self._out: IO[bytes] | None = None
        self._gone = False  # the reader left (`| head`): stop writing, keep running

    def start(self, info: dict[str, Any]) -> None:
        if not self._stdout:
            self._out = open(self.path, "wb")  # noqa: SIM115 - lives across the run

    def records(self, batch: list[RequestRecord], stats: Any) -> None:
        if self._gone:
            return
        data = record_lines(batch)
        try:
            if self._stdout:
                from ..stdio import write_stdout

                self._gone = not write_stdout(data)
            elif self._out is not None:
                self._out.write(data)
                self._out.flush()
        except BrokenPipeError:
            self._gone = True

    def finish(self, doc: dict[str, Any]) -> None:
        out, self._out = self._out, None
        if out is not None:
            try:
                out.close()
            except BrokenPipeError:
                pass


class DocumentWriter(BaseSink):
    """Writes the whole document (json) or the HTML report at the end, atomically."""

    def __init__(self, fmt: str, path: str) -> None:
        self.fmt = fmt
        self.path = path
        self.label = f"{fmt}:{path}"

    def finish(self, doc: dict[str, Any]) -> None:
        from ..reports.outputs import write_text

        if self.fmt == "json":
            from ..safetext import json_text

            text = json_text(doc, indent=2) + "\n"
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
        self.label = f"the history ({store.location})"

    def start(self, info: dict[str, Any]) -> None:
        self.run_id = info["id"]
        self.store.start_load_run(info)

    def stage_finished(self, stage: dict[str, Any]) -> None:
        self.store.add_load_stage(self.run_id, stage)

    def finish(self, doc: dict[str, Any]) -> None:
        self.store.finish_load_run(doc)

