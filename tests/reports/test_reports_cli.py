"""`rollcall report RUN.json -o FORMAT:PATH ...` as a user runs it: exit codes, outputs, one-line errors."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
from test_reports_common import hostile_run

from rollcall.reports import outputs


def _rollcall(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    # A real process: the entry point may os._exit(), which must not end the test session.
    return subprocess.run(
        [sys.executable, "-m", "rollcall", *args], input=stdin, capture_output=True, timeout=60, check=False
    )


@pytest.fixture
def saved_run(tmp_path: Path) -> Path:
    path = tmp_path / "run.json"
    outputs.write_report(hostile_run(), f"json:{path}")
    return path


def test_renders_every_format_at_once(saved_run: Path, tmp_path: Path) -> None:
    run = hostile_run()
    files = {fmt: tmp_path / f"out.{fmt}" for fmt in outputs.FORMATS if fmt != "csv"}
    args = [str(saved_run), "-o", "csv:-"] + [x for fmt, p in files.items() for x in ("-o", f"{fmt}:{p}")]
    proc = _rollcall("report", *args)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode("utf-8")
    assert out == outputs.render(run, "csv")
    assert len(list(csv.DictReader(io.StringIO(out, newline="")))) == len(run.results)
    for fmt, path in files.items():
        assert path.read_bytes().decode("utf-8") == outputs.render(run, fmt), fmt


def test_without_outputs_prints_the_terminal_table(saved_run: Path) -> None:
    proc = _rollcall("report", str(saved_run))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode("utf-8")
    assert "4 ok, 11 failed" in out and "Fast.Provider" in out


def test_reads_the_run_from_stdin(saved_run: Path) -> None:
    proc = _rollcall("report", "-", "-o", "md:-", stdin=saved_run.read_bytes())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("utf-8") == outputs.render(hostile_run(), "markdown")


@pytest.mark.parametrize(
    ("make_args", "says"),
    [
        (lambda d, run: [str(d / "missing.json"), "-o", f"html:{d}/x.html"], "No such file"),
        (lambda d, run: [str(d / "notjson.json"), "-o", f"html:{d}/x.html"], "cannot read a run"),
        (lambda d, run: [str(d / "other.json"), "-o", f"html:{d}/x.html"], "not a rollcall run document"),
        (lambda d, run: [str(run), "-o", f"pdf:{d}/x.pdf"], "unknown format 'pdf'"),
        (lambda d, run: [str(run), "-o", "report.html"], "expected FORMAT:PATH"),
        (lambda d, run: [str(run), "-o", f"html:{d}/nowhere/r.html"], "does not exist"),
        (lambda d, run: [str(run), "-o", "csv:-", "-o", "md:-"], "only one output can go to stdout"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(make_args: object, says: str, saved_run: Path, tmp_path: Path) -> None:
    (tmp_path / "notjson.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "other.json").write_text('{"schema": "something/else"}', encoding="utf-8")
    args = make_args(tmp_path, saved_run)  # type: ignore[operator]
    proc = _rollcall("report", *args)
    assert proc.returncode == 2
    err = proc.stderr.decode("utf-8").strip()
    assert err.startswith("rollcall: error: ") and says in err and "\n" not in err, err
    assert proc.stdout == b""
    assert not (tmp_path / "x.html").exists()


def test_unwritable_output_is_one_line_and_exit_1(saved_run: Path, tmp_path: Path) -> None:
    # Passes the spec checks (its directory exists) but cannot be created: the name is too long.
    too_long = tmp_path / ("x" * 300 + ".html")
    proc = _rollcall("report", str(saved_run), "-o", f"md:{tmp_path}/ok.md", "-o", f"html:{too_long}")
    assert proc.returncode == 1
    err = proc.stderr.decode("utf-8").strip()
    assert err.startswith(f"rollcall: error: cannot write html:{too_long}") and "\n" not in err, err
    assert (tmp_path / "ok.md").exists()  # what was written before the failure stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.md", "run.json"]  # no temporary file left


def test_report_help_lists_the_formats() -> None:
    proc = _rollcall("report", "--help")
    assert proc.returncode == 0
    out = proc.stdout.decode("utf-8")
    assert "FORMAT:PATH" in out and "junit" in out and "markdown|md" in out
