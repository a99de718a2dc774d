"""Where reports go: `-o FORMAT:PATH` specs, parsed once, turned into sinks or written at once.

FORMAT is one of FORMATS; PATH is a file, or `-` for standard output (any format, html too:
`rollcall report run.json -o html:- > page.html` is ordinary shell use; at most one spec may
claim stdout, or the documents would interleave; `/dev/stdout` and friends count as stdout).

Where a report goes decides how it is written (`destination()`): a regular file (or a new one)
is written to a temporary file in the same directory and renamed over it, so a reader never sees
half a report and a failed write never destroys the previous one; a symlink to one is followed,
and the link stays a link. Anything else (a FIFO, /dev/null, a terminal, a process substitution
like `--json >(jq .)`) is opened and written in place: renaming over it would replace the pipe
the user pointed at with a file nobody reads. JSON Lines streams (see jsonl.py).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import stdio
from ..stdio import write_stdout
from ..models import ProbeResult, RunInfo, RunResult
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


STDOUT, IN_PLACE, FILE = "stdout", "in place", "file"


def destination(path: str) -> tuple[str, str]:
    """How to write to `path`: (STDOUT, path) when it is this process's standard output ("-",
    /dev/stdout, /proc/self/fd/1...); (FILE, real path) for a regular file or a new one, symlinks
    resolved, written atomically; (IN_PLACE, path) for anything else (FIFO, device, pipe, or a
    link whose target cannot be named), opened and written as it is."""
    if path == "-":
        return STDOUT, path
    try:
        st: os.stat_result | None = os.stat(path)
    except OSError:
        st = None  # new (or a dangling link, created where it points); other errors show at write
    if st is not None:
        try:
            if os.path.samestat(st, os.fstat(1)):
                return STDOUT, path
        except OSError:
            pass
        if not stat.S_ISREG(st.st_mode):
            return IN_PLACE, path
    real = os.path.realpath(path)
    if st is not None:
        try:
            same = os.path.samestat(st, os.stat(real))
        except OSError:
            same = False
        if not same:  # e.g. /proc/self/fd/3 onto a deleted file: only the link reaches it
            return IN_PLACE, path
    return FILE, real


def parse_specs(specs: Sequence[str]) -> list[OutputSpec]:
    """Parse every spec and check them together, before anything runs or is written.

    Nothing is opened here: opening a FIFO would block until its reader comes.
    """
    parsed = [parse_spec(s) for s in specs]
    on_stdout = [p.spec for p in parsed if destination(p.path)[0] == STDOUT]
    if len(on_stdout) > 1:
        raise ValueError(f"only one output can go to stdout (-), got {', '.join(map(repr, on_stdout))}")
    if on_stdout and "stdout" in stdio.closed_at_start:
        raise ValueError(f"bad output {on_stdout[0]!r}: standard output is closed")
    seen: dict[str, str] = {}
    for p in parsed:
        kind, target = destination(p.path)
        if kind != STDOUT and os.path.isdir(p.path):
            raise ValueError(f"bad output {p.spec!r}: {p.path} is a directory")
        if kind != FILE:
            continue  # a device or pipe: several outputs may share it, and it exists
        if target in seen:
            raise ValueError(f"outputs {seen[target]!r} and {p.spec!r} would write the same file")
        seen[target] = p.spec
        parent = os.path.dirname(target)
        if not os.path.isdir(parent):
            where = os.path.dirname(p.path) if target == os.path.abspath(p.path) else parent
            raise ValueError(f"bad output {p.spec!r}: directory {where or parent} does not exist")
    return parsed


def uses_stdout(specs: Sequence[str]) -> bool:
    """True when one of `specs` writes to stdout (then the human view belongs on stderr)."""
    return any(destination(parse_spec(s).path)[0] == STDOUT for s in specs)


def render(run: RunResult, fmt: str, *, badges: str | None = None) -> str:
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

        return markdown.dumps(run, badges=badges)
    if fmt == "html":
        from . import html as html_report

        return html_report.dumps(run)
    raise ValueError(f"unknown format {fmt!r} (formats: {_VALID})")


def _encode(text: str) -> bytes:
    # A lone surrogate (only possible in text re-loaded from JSON) must not cost the report.
    return text.encode("utf-8", errors="replace")


def write_text(path: str, text: str) -> None:
    """Write `text` (UTF-8) where `path` points: stdout, a regular file atomically, anything
    else in place (see destination()). A reader that leaves early (a closed pipe) ends the write
    quietly."""
    data = _encode(text)
    kind, target = destination(path)
    if kind == STDOUT:
        write_stdout(data)
    elif kind == IN_PLACE:
        _write_in_place(path, data)
    else:
        try:
            _write_atomically(target, data, shown_as=path)
        except PermissionError:
            # A file we may write in a directory we may not: no temporary file possible there.
            if not os.access(target, os.W_OK):
                raise
            _write_in_place(target, data)


def _write_in_place(path: str, data: bytes) -> None:
    flags = os.O_WRONLY | getattr(os, "O_NOCTTY", 0)
    try:
        if stat.S_ISREG(os.stat(path).st_mode):
            flags |= os.O_TRUNC
    except OSError:
        pass
    fd = os.open(path, flags)  # a FIFO waits here for its reader, as `cat > fifo` would
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BrokenPipeError:
        pass  # the reader left (`--json >(head -c 100)`): it has what it wanted
    finally:
        os.close(fd)


def _write_atomically(path: str, data: bytes, *, shown_as: str) -> None:
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
        # Name the report, not the temporary file the user never asked for (OSError() picks
        # the subclass, PermissionError included, from the errno).
        raise OSError(exc.errno, exc.strerror, shown_as) from None
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


def write_report(run: RunResult, spec: str, *, badges: str | None = None) -> None:
    """Render `run` per `spec` (FORMAT:PATH) and write it. ValueError for a bad spec, OSError
    when the file cannot be written. `badges`: see markdown.dumps."""
    parsed = parse_spec(spec)
    write_text(parsed.path, render(run, parsed.format, badges=badges))


class ReportSink:
    """A Sink that writes one whole report when the run finishes (interrupted runs included)."""

    def __init__(self, spec: OutputSpec) -> None:
        self.spec = spec
        self.label = spec.spec

    def start(self, info: RunInfo) -> None:
        pass

    def result(self, result: ProbeResult) -> None:
        pass

    def finish(self, run: RunResult) -> None:
        write_text(self.spec.path, render(run, self.spec.format))


def make_sinks(specs: Sequence[str]) -> list[Sink]:
    """One sink per spec: jsonl streams each result as it finishes, the others write at finish.

    Every spec is checked first (ValueError naming the bad one), so a typo fails before the
    run starts, not after it.
    """
    from .jsonl import JsonlSink

    sinks: list[Sink] = []
    for parsed in parse_specs(specs):
        sinks.append(JsonlSink(parsed.path) if parsed.format == "jsonl" else ReportSink(parsed))
    return sinks
