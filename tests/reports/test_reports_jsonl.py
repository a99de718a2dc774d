"""JSON Lines: one result per line, round-trips, and streams as probes finish (pipes, kills, EPIPE)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from test_reports_common import BIG, HOSTILE, hostile_run

from rollcall.models import ErrorKind, ProbeResult, RunInfo
from rollcall.reports import jsonl

# A tiny program: a Runner over two in-process targets, JSON Lines to PATH ("-" = stdout).
# "Quick" answers at once; "Gated" answers only once the file GATE exists, so the test decides
# when the second result may happen and can look at the output in between.
PROGRAM = textwrap.dedent(
    """
    import asyncio, os, sys
    from rollcall.app import execute
    from rollcall.reports.jsonl import JsonlSink
    from rollcall.runner import Runner
    from rollcall.settings import ProbeSettings
    from rollcall.targets.base import Content

    path, gate = sys.argv[1], sys.argv[2]

    class Target:
        kind = "test"
        models = ("m",)
        def __init__(self, name, gated):
            self.name, self.gated = name, gated
        async def stream(self, request):
            if self.gated:
                for _ in range(6000):  # at most 60 s, then answer anyway
                    if os.path.exists(gate):
                        break
                    await asyncio.sleep(0.01)
            yield Content(f"answer from {self.name}")
        async def aclose(self):
            pass

    runner = Runner([Target("Quick", False), Target("Gated", True)], settings=ProbeSettings(timeout_s=120),
                    sinks=[JsonlSink(path)])
    execute(runner)
    """
)


def _spawn(path: str, gate: Path, **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", PROGRAM, path, str(gate)], stderr=subprocess.PIPE, **kwargs  # type: ignore[call-overload]
    )


def _wait_for_lines(path: Path, n: int, proc: subprocess.Popen[bytes]) -> list[str]:
    for _ in range(3000):  # generous: 30 s on a loaded machine
        if path.exists():
            lines = path.read_text(encoding="utf-8").splitlines()
            if len(lines) >= n:
                return lines
        assert proc.poll() is None, "the program ended before writing its first result"
        time.sleep(0.01)
    raise AssertionError(f"{path} never held {n} line(s)")


def test_every_line_round_trips_to_the_same_result() -> None:
    run = hostile_run()
    text = jsonl.dumps(run)
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines) - 1 == len(run.results)  # one result per line, newline-terminated
    back = [ProbeResult.from_dict(json.loads(line)) for line in lines[:-1]]
    assert back == list(run.results)
    assert {r.error_kind for r in back if not r.ok} == set(ErrorKind)
    assert any(r.text == HOSTILE for r in back) and any(r.text == BIG for r in back)


def test_a_line_stays_one_line_whatever_the_text() -> None:
    result = hostile_run().results[2]  # the one carrying CR, LF, U+0085, U+2028/9, NUL
    text = jsonl.line(result)
    assert text.endswith("\n") and len(text.splitlines()) == 1  # splitlines() knows U+2028 too
    assert json.loads(text) == result.to_dict()


def test_lone_surrogate_is_kept_as_an_escape_not_an_encoding_error() -> None:
    result = ProbeResult(target="t", kind="k", model="m", ok=True, text="half \ud83d pair")
    text = jsonl.line(result)
    text.encode("utf-8")  # writable
    assert json.loads(text)["text"] == "half \ud83d pair"


def test_sink_writes_each_result_before_the_next_arrives(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    run = hostile_run()
    sink = jsonl.JsonlSink(str(path))
    sink.start(RunInfo.of(run))
    for i, result in enumerate(run.results[:3], start=1):
        sink.result(result)
        # Read back through a separate handle: the line is on disk now, not in a buffer.
        assert len(path.read_bytes().splitlines()) == i
    sink.finish(run)
    back = [ProbeResult.from_dict(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()]
    assert back == list(run.results)  # finish added the results never streamed (e.g. cancelled)


def test_finish_writes_only_what_was_not_streamed_even_for_equal_results(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    same = ProbeResult(target="t", kind="k", model="m", ok=True, text="x")
    cancelled = ProbeResult(target="t", kind="k", model="m", ok=False, error_kind=ErrorKind.CANCELLED)
    run = hostile_run(results=(same, same, cancelled))
    sink = jsonl.JsonlSink(str(path))
    sink.start(RunInfo.of(run))
    sink.result(same)
    sink.finish(run)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [ProbeResult.from_dict(json.loads(line)) for line in lines] == [same, same, cancelled]


def test_stdout_stream_reaches_a_pipe_reader_while_the_run_goes_on(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    with _spawn("-", gate, stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())  # blocks until the first line is flushed
        assert first["target"] == "Quick" and first["ok"] is True
        assert proc.poll() is None  # still running: the line was streamed, not written at the end
        gate.touch()
        second = json.loads(proc.stdout.readline())
        assert second["target"] == "Gated" and second["text"] == "answer from Gated"
        assert proc.stdout.read() == b""
        assert proc.wait(timeout=60) == 0


def test_a_killed_run_keeps_what_finished(tmp_path: Path) -> None:
    out, gate = tmp_path / "out.jsonl", tmp_path / "gate"
    with _spawn(str(out), gate, stdout=subprocess.DEVNULL) as proc:
        try:
            lines = _wait_for_lines(out, 1, proc)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert len(lines) == 1
    kept = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["target"] for line in kept] == ["Quick"]


def test_a_reader_that_leaves_early_causes_no_traceback(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    with _spawn("-", gate, stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert json.loads(proc.stdout.readline())["target"] == "Quick"
        proc.stdout.close()  # like `| head -1`
        gate.touch()
        assert proc.wait(timeout=60) == 0
        err = proc.stderr.read().decode()
    assert "Traceback" not in err and "BrokenPipe" not in err, err
