"""`-o FORMAT:PATH` specs, sinks for a run, and atomic writes that never lose the previous file."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from test_reports_common import hostile_run

from rollcall.models import ProbeResult, RunInfo, TargetInfo
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
    run = dataclasses.replace(hostile_run(), targets=(TargetInfo("Fast.Provider", "g4f", link="https://fast.example"),))
    specs = [f"jsonl:{tmp_path}/r.jsonl", f"md:{tmp_path}/r.md", f"junit:{tmp_path}/r.xml"]
    sinks = outputs.make_sinks(specs)
    assert isinstance(sinks[0], JsonlSink) and all(isinstance(s, outputs.ReportSink) for s in sinks[1:])
    for sink in sinks:
        sink.start(RunInfo.of(run))
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


# -- where a report goes: regular files atomically, everything else in place -----------------------

def _drain(fd: int, into: bytearray) -> threading.Thread:
    """Read `fd` to EOF on a thread (a FIFO or pipe writer blocks until someone reads)."""

    def read() -> None:
        with os.fdopen(fd, "rb", buffering=0) as src:
            while chunk := src.read(65536):
                into.extend(chunk)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def _open_fifo_reader(path: Path, into: bytearray) -> threading.Thread:
    def read() -> None:
        with open(path, "rb") as src:  # blocks until the writer opens: as a real reader would
            into.extend(src.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def test_a_fifo_is_written_in_place_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "run.fifo"
    os.mkfifo(fifo)
    assert outputs.parse_specs([f"json:{fifo}"])  # checking the spec must not open (and block on) it
    got = bytearray()
    reader = _open_fifo_reader(fifo, got)
    run = hostile_run()
    outputs.write_report(run, f"json:{fifo}")
    reader.join(30)
    assert got.decode("utf-8") == outputs.render(run, "json")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["run.fifo"]


def test_a_terminal_device_is_written_in_place(tmp_path: Path) -> None:
    import tty

    master, slave = os.openpty()
    try:
        tty.setraw(slave)  # no newline translation: the bytes arrive as written
        device = os.ttyname(slave)
        got = bytearray()
        run = hostile_run()
        expected = outputs.render(run, "csv").encode("utf-8")
        done = threading.Event()

        def read() -> None:
            try:
                while len(got) < len(expected):
                    got.extend(os.read(master, 65536))
            except OSError:  # the test ended (and closed the pty) before everything came
                return
            done.set()

        threading.Thread(target=read, daemon=True).start()
        outputs.write_report(run, f"csv:{device}")
        assert done.wait(30)
        assert bytes(got) == expected
        assert stat.S_ISCHR(os.stat(device).st_mode)
    finally:
        os.close(slave)
        os.close(master)


@pytest.fixture
def null_device(tmp_path: Path) -> str:
    """A null character device to write to. As root, a private one (the old behaviour replaced
    the device node with a regular file, and must not get the chance with the system's
    /dev/null); otherwise /dev/null, which an ordinary user cannot replace."""
    if os.geteuid() == 0:
        private = tmp_path / "null"
        os.mknod(private, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        return str(private)
    return os.devnull


def test_a_null_device_stays_a_device(null_device: str) -> None:
    for fmt in ("json", "html"):
        outputs.write_report(hostile_run(), f"{fmt}:{null_device}")
    assert stat.S_ISCHR(os.stat(null_device).st_mode)


def test_a_pipe_named_through_proc_self_fd_is_written_in_place() -> None:
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd (Linux)")
    read_end, write_end = os.pipe()
    got = bytearray()
    reader = _drain(read_end, got)
    try:
        run = hostile_run()
        outputs.write_report(run, f"md:/proc/self/fd/{write_end}")
    finally:
        os.close(write_end)
    reader.join(30)
    assert got.decode("utf-8") == outputs.render(run, "markdown")


def test_a_symlink_to_a_regular_file_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "links").mkdir()
    real = tmp_path / "reports" / "run.json"
    real.write_text("previous", encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "links" / "latest.json"
    link.symlink_to(real)
    run = hostile_run()
    outputs.write_report(run, f"json:{link}")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text(encoding="utf-8") == outputs.render(run, "json")
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert [p.name for p in (tmp_path / "links").iterdir()] == ["latest.json"]
    assert [p.name for p in (tmp_path / "reports").iterdir()] == ["run.json"]  # no temporary file


def test_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "latest.html"
    link.symlink_to(tmp_path / "new.html")
    outputs.write_report(hostile_run(), f"html:{link}")
    assert link.is_symlink() and (tmp_path / "new.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_spec_checks_see_through_links_and_stdout_aliases(tmp_path: Path) -> None:
    real = tmp_path / "run.json"
    real.write_text("{}", encoding="utf-8")
    (tmp_path / "alias.json").symlink_to(real)
    with pytest.raises(ValueError, match="would write the same file"):
        outputs.parse_specs([f"json:{real}", f"html:{tmp_path}/alias.json"])
    with pytest.raises(ValueError, match="only one output can go to stdout"):
        outputs.parse_specs(["csv:-", "md:/dev/stdout"])
    missing = tmp_path / "dangling.json"
    missing.symlink_to(tmp_path / "no-such-dir" / "run.json")
    with pytest.raises(ValueError, match="no-such-dir does not exist"):
        outputs.parse_specs([f"json:{missing}"])
    assert outputs.uses_stdout(["json:/dev/stdout"])


def _saved_run(tmp_path: Path) -> Path:
    path = tmp_path / "saved.json"
    outputs.write_report(hostile_run(), f"json:{path}")
    return path


def test_process_substitution_receives_the_report(tmp_path: Path) -> None:
    saved = _saved_run(tmp_path)
    # bash turns >(cat) into /dev/fd/63, a pipe to `cat`, whose output is ours.
    proc = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -m rollcall report "{saved}" -o md:>(cat)'],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == outputs.render(hostile_run(), "markdown")
