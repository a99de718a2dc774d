"""`rollcall report RUN.json -o FORMAT:PATH ...` through the real entry point (exit codes, one-line errors)."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
from test_reports_common import hostile_run

from rollcall.cli import main
from rollcall.reports import json as json_report
from rollcall.reports import outputs


def _rollcall(*args: str) -> int:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    return int(info.value.code or 0)


@pytest.fixture
def saved_run(tmp_path: Path) -> Path:
    path = tmp_path / "run.json"
    json_report.write(hostile_run(), str(path))
    return path


def test_renders_every_format_at_once(saved_run: Path, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    run = hostile_run()
    files = {fmt: tmp_path / f"out.{fmt}" for fmt in outputs.FORMATS if fmt != "csv"}
    args = [str(saved_run), "-o", "csv:-"] + [x for fmt, p in files.items() for x in ("-o", f"{fmt}:{p}")]
    assert _rollcall("report", *args) == 0
    out = capsysbinary.readouterr().out.decode("utf-8")
    assert out == outputs.render(run, "csv")
    assert len(list(csv.DictReader(io.StringIO(out, newline="")))) == len(run.results)
    for fmt, path in files.items():
        assert path.read_bytes().decode("utf-8") == outputs.render(run, fmt), fmt


def test_without_outputs_prints_the_terminal_table(saved_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _rollcall("report", str(saved_run)) == 0
    out = capsys.readouterr().out
    assert "4 ok, 11 failed" in out and "Fast.Provider" in out


def test_reads_the_run_from_stdin(saved_run: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rollcall", "report", "-", "-o", "md:-"],
        input=saved_run.read_bytes(), capture_output=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("utf-8") == outputs.render(hostile_run(), "markdown")


@pytest.mark.parametrize(
    ("make_args", "says"),
    [
        (lambda d, run: [str(d / "missing.json"), "-o", "html:x.html"], "No such file"),
        (lambda d, run: [str(d / "notjson.json"), "-o", "html:x.html"], "cannot read a run"),
        (lambda d, run: [str(d / "other.json"), "-o", "html:x.html"], "not a rollcall run document"),
        (lambda d, run: [str(run), "-o", "pdf:x.pdf"], "unknown format 'pdf'"),
        (lambda d, run: [str(run), "-o", "report.html"], "expected FORMAT:PATH"),
        (lambda d, run: [str(run), "-o", f"html:{d}/nowhere/r.html"], "does not exist"),
        (lambda d, run: [str(run), "-o", "csv:-", "-o", "md:-"], "only one output can go to stdout"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    make_args: object, says: str, saved_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notjson.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "other.json").write_text('{"schema": "something/else"}', encoding="utf-8")
    args = make_args(tmp_path, saved_run)  # type: ignore[operator]
    assert _rollcall("report", *args) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("rollcall: error: ") and says in err and "\n" not in err, err
    assert "Traceback" not in captured.err and captured.out == ""
    assert not (tmp_path / "x.html").exists()


def test_unwritable_output_is_one_line_and_exit_1(saved_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Passes the spec checks (its directory exists) but cannot be created: the name is too long.
    too_long = tmp_path / ("x" * 300 + ".html")
    assert _rollcall("report", str(saved_run), "-o", f"md:{tmp_path}/ok.md", "-o", f"html:{too_long}") == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"rollcall: error: cannot write html:{too_long}") and "\n" not in err, err
    assert (tmp_path / "ok.md").exists()  # what was written before the failure stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.md", "run.json"]  # no temporary file left


def test_report_help_lists_the_formats() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rollcall", "report", "--help"], capture_output=True, timeout=60, check=False, text=True,
    )
    assert proc.returncode == 0
    assert "FORMAT:PATH" in proc.stdout and "junit" in proc.stdout and "markdown|md" in proc.stdout
