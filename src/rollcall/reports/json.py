"""The JSON document of DESIGN.md: {"schema": "rollcall.run/1", "run": {...}, "results": [...]}.

Writing goes through reports.outputs (`json:PATH`, atomic, stdout for -); this module renders and reads.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ..models import RunResult


def dumps(run: RunResult) -> str:
    return json.dumps(run.to_dict(), ensure_ascii=False, indent=2)


def load(path: str) -> RunResult:
    """Read a saved run; ValueError with the file name when it is not one."""
    try:
        raw = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        doc: Any = json.loads(raw)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read a run: {exc}") from None
    try:
        return RunResult.from_dict(doc)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
