"""CSV: one row per result, every result field in ProbeResult's own order, under a header row.

RFC 4180 quoting by the csv module (CRLF line ends; fields holding commas, quotes or line
breaks are quoted, quotes doubled), so answers with any text survive a spreadsheet or a
`csv.DictReader` round trip. Empty cell = null; booleans are `true`/`false`; floats keep full
precision. Answers are written whole: CSV is for tools, the human reports truncate.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from typing import Any

from ..models import ProbeResult, RunResult

FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ProbeResult))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def rows(run: RunResult) -> list[list[str]]:
    """Header row then one row per result, as strings."""
    out = [list(FIELDS)]
    for r in run.results:
        data = r.to_dict()
        out.append([_cell(data[name]) for name in FIELDS])
    return out


def dumps(run: RunResult) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows(run))
    return buffer.getvalue()
