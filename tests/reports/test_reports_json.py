"""Reading a saved run (reports/json.load), as `rollcall report` does: a hand-edited, truncated,
deeply nested or enormous file is a one-line error (exit 2), never a traceback or a crash in a
renderer, and what is read is bounded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from memory_cap import capped_memory

from rollcall.models import ProbeResult, RunResult
from rollcall.reports import json as json_report
from rollcall.reports import outputs


def saved() -> dict[str, Any]:
    results = (ProbeResult(target="A", kind="openai", model="m", ok=True, ttft_s=0.1, total_s=0.2, text="hi",
                           started_at="2024-05-01T12:00:00.000Z"),)
    return RunResult(id="abc123", started_at="2024-05-01T12:00:00.000Z", ended_at="2024-05-01T12:00:01.000Z",
                     wall_s=1.0, prompt="p", results=results, settings={"timeout_s": 30}).to_dict()


def edited(**changes: Any) -> dict[str, Any]:
    doc = saved()
    for where, value in changes.items():
        part, _, key = where.partition("__")
        if not key:
            doc[part] = value
            continue
        (doc["run"] if part == "run" else doc["results"][0])[key] = value
    return doc


DEEP = {"a": None}
for _ in range(900):  # parses (under json's recursion limit), but renderers recurse on it
    DEEP = {"a": DEEP}

CASES = [
    (edited(results="abc"), "'results' must be an array, got a string"),
    (edited(results=[5]), "results[0] must be an object, got a number"),
    (edited(result__target=5), "results[0]: field 'target' must be a string, got 5"),
    (edited(result__ttft_s="fast"), "results[0]: field 'ttft_s' must be a finite number or null, got 'fast'"),
    (edited(result__total_s=1e999), "results[0]: field 'total_s' must be a finite number or null, got inf"),
    (edited(result__ok="yes"), "results[0]: field 'ok' must be true or false, got 'yes'"),
    (edited(result__output_chars=1.5), "results[0]: field 'output_chars' must be a whole number, got 1.5"),
    (edited(result__text={"a": 1}), "results[0]: field 'text' must be a string, got an object"),
    (edited(result__error_kind="meltdown"), "results[0]: field 'error_kind' must be one of timeout, connect"),
    (edited(run=[]), "'run' must be an object, got an array"),
    (edited(run__skipped=[1]), "run.skipped[0] must be an object, got a number"),
    (edited(run__skipped=[{"name": "x"}]), "run.skipped[0]: field 'reason' is missing"),
    (edited(run__settings=[1, 2]), "run: field 'settings' must be an object, got an array"),
    (edited(run__wall_s="x"), "run: field 'wall_s' must be a finite number, got 'x'"),
    (edited(run__settings=DEEP), "is nested more than 32 levels deep"),
]


@pytest.mark.parametrize("doc, message", CASES)
def test_edited_documents_name_the_place_and_field(tmp_path: Path, doc: dict[str, Any], message: str) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError) as info:
        json_report.load(str(path))
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)


def _rollcall(*args: str) -> subprocess.CompletedProcess[str]:
    # Memory capped: reading a device without bound (as before) fails in the child, not the machine.
    return subprocess.run([sys.executable, "-m", "rollcall", *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, preexec_fn=capped_memory)


@pytest.mark.parametrize("doc, message", [CASES[2], CASES[3], CASES[8], CASES[-1]])
def test_report_exits_2_with_one_line_for_every_format(tmp_path: Path, doc: dict[str, Any], message: str) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(doc))
    specs = [x for fmt in outputs.FORMATS for x in ("-o", f"{fmt}:{tmp_path / ('out.' + fmt)}")]
    for args in ([], specs):  # the terminal table, and every file format at once
        proc = _rollcall("report", str(path), *args)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and message in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("content, message", [
    (b"[" * 100_000, "not a run: a run is a JSON object"),
    (b'{"a": ' * 100_000, "JSON nested too deeply"),
    (b"\xff\xfe{}", "not a run"),
    (b'{"schema": "rollcall.run/1", "results": [\xff]}', "not UTF-8 text"),
    (b"", "not valid JSON"),
])
def test_unreadable_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "run.json"
    path.write_bytes(content)
    proc = _rollcall("report", str(path))
    assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr


def test_a_device_is_refused_after_its_first_block() -> None:
    proc = _rollcall("report", "/dev/zero")  # today: reads until memory runs out
    assert proc.returncode == 2
    assert proc.stderr == "rollcall: error: /dev/zero: not a run: a run is a JSON object (starting with {), " \
                          "as `rollcall run --json` writes\n"


def test_what_is_read_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(saved()) + " " * 10_000)
    monkeypatch.setattr(json_report, "MAX_RUN_BYTES", 4096)
    with pytest.raises(ValueError, match="larger than 4,096 bytes"):
        json_report.load(str(path))


def test_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(saved()).encode())
    assert json_report.load(str(path)).results[0].target == "A"
