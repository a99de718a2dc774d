"""Where reports go: `-o FORMAT:PATH` specs, parsed once, turned into sinks or written at once.

FORMAT is one of FORMATS; PATH is a file, or `-` for standard output (any format, html too:
`rollcall report run.json -o html:- > page.html` is ordinary shell use; at most one spec may
claim stdout, or the documents would interleave). Files are written to a temporary file in the
same directory and renamed over the target, so a reader never sees half a report and a failed
write never destroys the previous one. JSON Lines is the exception: it streams (see jsonl.py).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..stdio import write_stdout
from ..models import ProbeResult, RunResult
from ..sinks import Sink

ALIASES = {"md": "markdown"}
FORMATS = ("csv", "html", "json", "jsonl", "junit", "markdown")
_VALID = "csv, html, json, jsonl, junit, markdown (or md)"


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """One parsed `-o FORMAT:PATH`."""

    format: str
    path: str
    spec: str

    @property
    def stdout(self) -> bool:
        return self.path == "-"


def parse_spec(spec: str) -> OutputSpec:
    """`FORMAT:PATH` -> OutputSpec; ValueError naming the spec and the valid formats."""
    fmt, sep, path = spec.partition(":")
    fmt = ALIASES.get(fmt.strip().lower(), fmt.strip().lower())
    if not sep or not fmt:
        raise ValueError(
            f"bad output {spec!r}: expected FORMAT:PATH such as html:report.html or csv:- (formats: {_VALID})"
        )
    if fmt not in FORMATS:
        raise ValueError(f"bad output {spec!r}: unknown format {fmt!r} (formats: {_VALID})")
    if not path:
        raise ValueError(f"bad output {spec!r}: no path after '{fmt}:', use a file or - for stdout (formats: {_VALID})")
    # The shell leaves "~" alone after "html:", so expand it here as a user expects.
    return OutputSpec(fmt, path if path == "-" else os.path.expanduser(path), spec)


def parse_specs(specs: Sequence[str]) -> list[OutputSpec]:
    """Parse every spec and check them together, before anything runs or is written."""
    parsed = [parse_spec(s) for s in specs]
    on_stdout = [p.spec for p in parsed if p.stdout]
    if len(on_stdout) > 1:
        raise ValueError(f"only one output can go to stdout (-), got {', '.join(map(repr, on_stdout))}")
    seen: dict[str, str] = {}
    for p in parsed:
        if p.stdout:
            continue
        target = os.path.abspath(p.path)
        if target in seen:
            raise ValueError(f"outputs {seen[target]!r} and {p.spec!r} would write the same file")
        seen[target] = p.spec
        if os.path.isdir(target):
            raise ValueError(f"bad output {p.spec!r}: {p.path} is a directory")
        parent = os.path.dirname(target)
        if not os.path.isdir(parent):
            raise ValueError(f"bad output {p.spec!r}: directory {os.path.dirname(p.path) or parent} does not exist")
    return parsed


def uses_stdout(specs: Sequence[str]) -> bool:
    """True when one of `specs` writes to stdout (then the human view belongs on stderr)."""
    return any(parse_spec(s).stdout for s in specs)


def render(run: RunResult, fmt: str, *, links: Mapping[str, str] | None = None) -> str:
    """The run as one document in `fmt` (a name from FORMATS or an alias).

    Writers are imported here, not at the top: html and junit are not needed to start the CLI.
    """
    fmt = ALIASES.get(fmt, fmt)
    if fmt == "json":
        from . import json as json_report

        return json_report.dumps(run) + "\n"
    if fmt == "jsonl":
        from . import jsonl

        return jsonl.dumps(run)
    if fmt == "csv":
        from . import csv as csv_report

        return csv_report.dumps(run)
    if fmt == "junit":
        from . import junit

        return junit.dumps(run)
    if fmt == "markdown":
        from . import markdown

        return markdown.dumps(run, links=links)
    if fmt == "html":
        from . import html as html_report

        return html_report.dumps(run)
    raise ValueError(f"unknown format {fmt!r} (formats: {_VALID})")


def _encode(text: str) -> bytes:
    # A lone surrogate (only possible in text re-loaded from JSON) must not cost the report.
    return text.encode("utf-8", errors="replace")


def write_text(path: str, text: str) -> None:
    """Write `text` to `path` (UTF-8) atomically, or to stdout for "-"."""
    data = _encode(text)
    if path == "-":
        write_stdout(data)
        return
    target = Path(path)
    try:
        mode = target.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        # Name the report, not the temporary file the user never asked for.
        raise OSError(exc.errno, exc.strerror, path) from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600; a report is meant to be shared like any file
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(run: RunResult, spec: str, *, links: Mapping[str, str] | None = None) -> None:
    """Render `run` per `spec` (FORMAT:PATH) and write it. ValueError for a bad spec, OSError
    when the file cannot be written."""
    parsed = parse_spec(spec)
    write_text(parsed.path, render(run, parsed.format, links=links))


class ReportSink:
    """A Sink that writes one whole report when the run finishes (interrupted runs included)."""

    def __init__(self, spec: OutputSpec, links: Mapping[str, str] | None = None) -> None:
        self.spec = spec
        self.links = links

    def start(self, run_id: str, planned: int) -> None:
        pass

    def result(self, result: ProbeResult) -> None:
        pass

    def finish(self, run: RunResult) -> None:
        write_text(self.spec.path, render(run, self.spec.format, links=self.links))


def make_sinks(specs: Sequence[str], *, links: Mapping[str, str] | None = None) -> list[Sink]:
    """One sink per spec: jsonl streams each result as it finishes, the others write at finish.

    Every spec is checked first (ValueError naming the bad one), so a typo fails before the
    run starts, not after it.
    """
    from .jsonl import JsonlSink

    sinks: list[Sink] = []
    for parsed in parse_specs(specs):
        sinks.append(JsonlSink(parsed.path) if parsed.format == "jsonl" else ReportSink(parsed, links))
    return sinks
