"""The JSON document of DESIGN.md: {"schema": "rollcall.run/1", "run": {...}, "results": [...]}.

Writing goes through reports.outputs (`json:PATH`, atomic, stdout for -); this module renders and reads.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ..inputs import too_deep
from ..models import RunResult
from ..safetext import json_text


def dumps(run: RunResult) -> str:
    return json_text(run.to_dict(), indent=2)


# A run of thousands of results with their answers is tens of MiB; this bounds the memory a
# wrong file (a disk image, /dev/zero) can cost before it is refused.
MAX_RUN_BYTES = 256 << 20
MAX_DEPTH = 32  # rollcall writes 4 levels; deeper nesting only makes renderers recurse


def _read_document(file: Any, path: str) -> bytes:
    """At most MAX_RUN_BYTES + 1 bytes; a file that does not start like a JSON object (a device,
    a binary) is refused after its first block rather than read to the cap."""
    head = file.read(min(64 << 10, MAX_RUN_BYTES + 1))
    start = head.lstrip(b" \t\r\n").removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")[:1]
    if head and start not in (b"{", b""):
        raise ValueError(f"{path}: not a run: a run is a JSON object (starting with {{), as `rollcall run --json` writes")
    return head + file.read(MAX_RUN_BYTES + 1 - len(head)) if head else head


def load(path: str) -> RunResult:
    """Read a saved run; ValueError (one line, with the file name) when it is not one."""
    try:
        if path == "-":
            if sys.stdin is None:
                raise ValueError("-: there is no standard input to read a run from")
            data = _read_document(sys.stdin.buffer, path)
        else:
            with Path(path).open("rb") as file:
                data = _read_document(file, path)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read a run: {exc.strerror or exc}") from None
    if len(data) > MAX_RUN_BYTES:
        size = f"{MAX_RUN_BYTES >> 20} MiB" if MAX_RUN_BYTES >= 1 << 20 else f"{MAX_RUN_BYTES:,} bytes"
        raise ValueError(f"{path}: larger than {size}; not a run rollcall wrote")
    try:
        doc: Any = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ValueError(f"{path}: cannot read a run: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: cannot read a run: not valid JSON: {exc}") from None
    except RecursionError:  # the json module recurses once per nested array or object
        raise ValueError(f"{path}: cannot read a run: JSON nested too deeply") from None
    deep = too_deep(doc, MAX_DEPTH)
    if deep:
        raise ValueError(f"{path}: not a valid rollcall run: {deep} is nested more than {MAX_DEPTH} levels deep")
    try:
        return RunResult.from_dict(doc)
    except ValueError as exc:
        raise ValueError(f"{path}: not a valid rollcall run: {exc}") from None
