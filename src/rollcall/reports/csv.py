"""CSV: one row per result, every result field in ProbeResult's own order, under a header row.

RFC 4180 quoting by the csv module (CRLF line ends; fields holding commas, quotes or line
breaks are quoted, quotes doubled), so answers with any text survive a spreadsheet or a
`csv.DictReader` round trip. Empty cell = null; booleans are `true`/`false`; floats keep full
precision. Answers are written whole: CSV is for tools, the human reports truncate.
`server_timings` (the server's own durations, e.g. Ollama's) is a JSON object in its cell.

Text cells (answers, errors, names, model ids: every field whose value is a string) are made
safe for the two places a CSV file is read by people:
- a terminal (`cat results.csv`): controls, escape sequences and bidi overrides are shown
  visibly, e.g. `\\x1b` (rollcall.safetext.visible; tabs and line breaks are kept);
- a spreadsheet: a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return would
  be run as a formula (CSV injection), so it gets a leading `'` (OWASP's rule), unless the whole
  cell is a plain number such as `-1.5`, which a spreadsheet reads as that number. Our own
  numeric fields (times, counts, status) are never text and never prefixed.
The exact text, with nothing shown visibly or prefixed, is in the JSON and JSONL reports.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from typing import Any

from ..models import ProbeResult, RunResult
from ..safetext import visible

FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ProbeResult))

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def defuse(text: str) -> str:
    """`text` as a spreadsheet shows it, never runs it: a formula-like start gets a leading `'`."""
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return defuse(visible(value))
    if isinstance(value, dict):  # server_timings: a compact JSON object of what the server gave
        return json.dumps({k: v for k, v in value.items() if v is not None}, separators=(",", ":"))
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
