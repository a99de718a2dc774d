"""`-o FORMAT:PATH` specs, sinks for a run, and atomic writes that never lose the previous file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from test_reports_common import hostile_run

from rollcall.models import ProbeResult
from rollcall.reports import json as json_report
from rollcall.reports import outputs
from rollcall.reports.jsonl import JsonlSink


@pytest.mark.parametrize(
    ("spec", "fmt", "path"),
    [
        ("html:report.html", "html", "report.html"),
        ("md:-", "markdown", "-"),
        ("MARKDOWN:status.md", "markdown", "status.md"),
        ("junit:out/results.xml", "junit", "out/results.xml"),
        ("csv:C:\\runs\\a.csv", "csv", "C:\\runs\\a.csv"),  # only the first colon separates
        ("jsonl:-", "jsonl", "-"),
        ("json:run.json", "json", "run.json"),
    ],
)
def test_parse_spec(spec: str, fmt: str, path: str) -> None:
    parsed = outputs.parse_spec(spec)
    assert (parsed.format, parsed.path, parsed.stdout) == (fmt, path, path == "-")


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("report.html", "expected FORMAT:PATH"),
        ("pdf:x.pdf", "unknown format 'pdf'"),
        ("html:", "no path"),
        (":x", "expected FORMAT:PATH"),
        ("", "expected FORMAT:PATH"),
    ],
)
def test_bad_spec_names_itself_and_the_formats(spec: str, says: str) -> None:
    with pytest.raises(ValueError) as info:
        outputs.parse_spec(spec)
    message = str(info.value)
    assert says in message and repr(spec) in message and "\n" not in message
    assert "csv, html, json, jsonl, junit, markdown" in message


def test_specs_are_checked_together(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="only one output can go to stdout"):
        outputs.parse_specs(["csv:-", "md:-"])
    with pytest.raises(ValueError, match="would write the same file"):
        outputs.parse_specs([f"csv:{tmp_path}/a", f"md:{tmp_path}/../{tmp_path.name}/a"])
    with pytest.raises(ValueError, match="does not exist"):
        outputs.parse_specs([f"html:{tmp_path}/missing/report.html"])
    with pytest.raises(ValueError, match="is a directory"):
        outputs.parse_specs([f"html:{tmp_path}"])
    assert [p.format for p in outputs.parse_specs(["csv:-", f"html:{tmp_path}/r.html"])] == ["csv", "html"]


def test_home_directory_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert outputs.parse_spec("html:~/r.html").path == str(tmp_path / "r.html")


def test_uses_stdout() -> None:
    assert outputs.uses_stdout(["html:r.html", "jsonl:-"])
    assert not outputs.uses_stdout(["html:r.html"])


@pytest.mark.parametrize("fmt", outputs.FORMATS)
def test_every_format_writes_a_file(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    run = hostile_run()
    outputs.write_report(run, f"{fmt}:{path}")
    assert path.read_bytes().decode("utf-8") == outputs.render(run, fmt)  # bytes: CRLF kept as is
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_json_output_is_the_design_document(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    run = hostile_run()
    outputs.write_report(run, f"json:{path}")
    assert json_report.load(str(path)) == run
    assert json.loads(path.read_text(encoding="utf-8"))["schema"] == "rollcall.run/1"


def test_stdout(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    outputs.write_report(hostile_run(), "md:-")
    assert capsysbinary.readouterr().out.decode("utf-8") == outputs.render(hostile_run(), "markdown")


def test_a_failed_write_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "report.csv"
    path.write_text("previous report", encoding="utf-8")

    def no_rename(src: str, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError, match="No space left"):
        outputs.write_report(hostile_run(), f"csv:{path}")
    assert path.read_text(encoding="utf-8") == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]  # the temporary file is gone


def test_unwritable_directory_error_names_the_report_not_a_temp_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError) as info:
        outputs.write_text(str(blocker / "report.html"), "x")
    assert str(blocker / "report.html") in str(info.value) and ".tmp" not in str(info.value)


def test_new_file_mode_follows_umask_and_existing_mode_is_kept(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        outputs.write_text(str(tmp_path / "new.html"), "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.html").stat().st_mode) == 0o644  # not mkstemp's 0600
    kept = tmp_path / "kept.html"
    kept.write_text("old")
    kept.chmod(0o640)
    outputs.write_text(str(kept), "new")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_text() == "new"


def test_make_sinks_stream_jsonl_and_write_the_rest_at_finish(tmp_path: Path) -> None:
    run = hostile_run()
    specs = [f"jsonl:{tmp_path}/r.jsonl", f"md:{tmp_path}/r.md", f"junit:{tmp_path}/r.xml"]
    sinks = outputs.make_sinks(specs, links={"Fast.Provider": "https://fast.example"})
    assert isinstance(sinks[0], JsonlSink) and all(isinstance(s, outputs.ReportSink) for s in sinks[1:])
    for sink in sinks:
        sink.start(run.id, len(run.results))
    for result in run.results[:2]:
        for sink in sinks:
            sink.result(result)
    assert len((tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()) == 2
    assert not (tmp_path / "r.md").exists()  # whole-run formats wait for the whole run
    for sink in sinks:
        sink.finish(run)
    lines = (tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()
    assert [ProbeResult.from_dict(json.loads(x)) for x in lines] == list(run.results)
    assert "[Fast.Provider](https://fast.example)" in (tmp_path / "r.md").read_text(encoding="utf-8")
    assert (tmp_path / "r.xml").read_text(encoding="utf-8").startswith("<?xml")


def test_make_sinks_rejects_a_bad_spec_before_creating_anything(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'nope:x'"):
        outputs.make_sinks([f"jsonl:{tmp_path}/r.jsonl", "nope:x"])
    assert list(tmp_path.iterdir()) == []
