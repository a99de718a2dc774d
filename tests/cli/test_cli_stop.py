"""How a real `rollcall demo` process ends: SIGINT, SIGTERM and SIGHUP mid-run, repeated signals,
a reader that leaves (`| head -1`), and standard streams closed from the start (`>&-`).

The demo fleet has models that never answer, so a run with a long deadline is certainly still
going when the signal arrives. Time bounds here only prove "did not hang".
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from g4f_env import offline_g4f_env

from rollcall.store import open_store

WAIT_S = 60.0


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return offline_g4f_env(tmp_path)


class Running:
    """A rollcall process whose stdout and stderr are read line by line on threads."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rollcall", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, text=True, env=env,
        )
        self.lines: dict[str, queue.SimpleQueue[str | None]] = {}
        self.seen: dict[str, list[str]] = {"stdout": [], "stderr": []}
        for name in ("stdout", "stderr"):
            self.lines[name] = queue.SimpleQueue()
            threading.Thread(target=self._pump, args=(name,), daemon=True).start()

    def _pump(self, name: str) -> None:
        for line in getattr(self.proc, name):
            self.lines[name].put(line)
        self.lines[name].put(None)

    def wait_for(self, name: str, predicate) -> str:  # type: ignore[no-untyped-def]
        while True:
            try:
                line = self.lines[name].get(timeout=WAIT_S)
            except queue.Empty:
                self.proc.kill()
                pytest.fail(f"no such line on {name} within {WAIT_S:g} s; seen: {self.seen}")
            if line is None:
                pytest.fail(f"{name} ended first; seen: {self.seen}")
            self.seen[name].append(line)
            if predicate(line):
                return line

    def finish(self) -> tuple[int, str, str]:
        try:
            code = self.proc.wait(timeout=WAIT_S)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        rest = {}
        for name in ("stdout", "stderr"):
            while (line := self.lines[name].get(timeout=WAIT_S)) is not None:
                self.seen[name].append(line)
            rest[name] = "".join(self.seen[name])
            getattr(self.proc, name).close()
        return code, rest["stdout"], rest["stderr"]


def _stored(db: Path, run_id: str):  # type: ignore[no-untyped-def]
    with open_store(str(db)) as store:
        return store.get_run(run_id), store.run_results(run_id)


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_a_stop_signal_mid_run_writes_every_output_and_stores_the_run(env, tmp_path, sig, status) -> None:
    out_json, out_html, db = tmp_path / "run.json", tmp_path / "run.html", tmp_path / "history.db"
    running = Running(["demo", "-t", "120", "--store", str(db), "--json", str(out_json), "-o", f"html:{out_html}"], env)
    running.wait_for("stdout", lambda line: line.startswith("ok "))
    os.kill(running.proc.pid, sig)
    code, stdout, stderr = running.finish()

    assert code == status, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stdout  # the human view still ends with its summary
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    assert doc["run"]["complete"] is False
    kinds = {r["target"]: r["error_kind"] for r in doc["results"]}
    assert None in kinds.values() and kinds["hangs"] == "cancelled"
    assert out_html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    run, results = _stored(db, doc["run"]["id"])
    assert run.complete is False and run.ended_at is not None  # finished as an interrupted run
    assert sorted((r.target, r.error_kind) for r in results) == sorted(kinds.items())


def test_two_ctrl_c_in_quick_succession_still_write_every_output(env, tmp_path) -> None:
    out_json, out_html, db = tmp_path / "run.json", tmp_path / "run.html", tmp_path / "history.db"
    running = Running(["demo", "-t", "120", "--store", str(db), "--json", str(out_json), "-o", f"html:{out_html}"], env)
    running.wait_for("stdout", lambda line: line.startswith("ok "))
    os.kill(running.proc.pid, signal.SIGINT)
    threading.Event().wait(0.01)
    os.kill(running.proc.pid, signal.SIGINT)
    code, stdout, stderr = running.finish()

    assert code == 130, stderr
    assert "not written" not in stderr and "Traceback" not in stderr
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    assert out_html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    run, results = _stored(db, doc["run"]["id"])
    assert run.ended_at is not None and len(results) == len(doc["results"])


def test_signals_while_finishing_say_exactly_what_was_not_written(env, tmp_path) -> None:
    # The JSON goes to a FIFO nobody reads: writing it waits for a reader that never comes, so
    # the run is certainly still finishing when the further signals arrive.
    fifo, out_html, db = tmp_path / "run.fifo", tmp_path / "run.html", tmp_path / "history.db"
    os.mkfifo(fifo)
    running = Running(["demo", "-t", "120", "--store", str(db), "--json", str(fifo), "-o", f"html:{out_html}"], env)
    running.wait_for("stdout", lambda line: line.startswith("ok "))
    os.kill(running.proc.pid, signal.SIGINT)
    running.wait_for("stdout", lambda line: "interrupted" in line)  # the terminal view has finished
    os.kill(running.proc.pid, signal.SIGINT)
    running.wait_for("stderr", lambda line: "signal again to abandon" in line)
    os.kill(running.proc.pid, signal.SIGINT)
    code, _, stderr = running.finish()

    assert code == 130
    assert f"not written: json:{fifo}, html:{out_html}\n" in stderr
    assert "Traceback" not in stderr
    assert not out_html.exists() and stat.S_ISFIFO(fifo.lstat().st_mode)
    with open_store(str(db)) as store:
        (run,) = store.list_runs()
    assert run.ended_at is not None  # the history was written before the JSON was reached


def _bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**env, "ROLLCALL": f'"{sys.executable}" -m rollcall'}
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=WAIT_S * 2,
                          stdin=subprocess.DEVNULL)


def test_a_reader_that_leaves_stops_only_the_human_view(env, tmp_path) -> None:
    out_json, out_html, db = tmp_path / "run.json", tmp_path / "run.html", tmp_path / "history.db"
    proc = _bash(f'eval $ROLLCALL demo -t 1 --store "{db}" --json "{out_json}" -o "html:{out_html}" | head -1; '
                 'echo "rollcall exited ${PIPESTATUS[0]}" >&2', env)
    assert len(proc.stdout.splitlines()) == 1
    assert proc.stderr.endswith("rollcall exited 0\n"), proc.stderr
    assert "Traceback" not in proc.stderr and "Broken pipe" not in proc.stderr and "Exception" not in proc.stderr
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    assert doc["run"]["complete"] is True and len(doc["results"]) > 20
    assert out_html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    run, results = _stored(db, doc["run"]["id"])
    assert run.complete and len(results) == len(doc["results"])


def test_machine_output_to_a_reader_that_leaves_is_not_an_error(env, tmp_path) -> None:
    out_html = tmp_path / "run.html"
    proc = _bash(f'eval $ROLLCALL demo -t 1 --json - -o "html:{out_html}" | head -c 100 >/dev/null; '
                 'echo "rollcall exited ${PIPESTATUS[0]}" >&2', env)
    assert proc.stderr.endswith("rollcall exited 0\n"), proc.stderr
    assert "Traceback" not in proc.stderr and "warning" not in proc.stderr
    assert out_html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_a_jsonl_reader_that_leaves_does_not_silence_the_terminal_view(env, tmp_path) -> None:
    fifo = tmp_path / "results.fifo"
    os.mkfifo(fifo)
    first: list[bytes] = []

    def read_one_line() -> None:
        with open(fifo, "rb") as src:
            first.append(src.readline())

    reader = threading.Thread(target=read_one_line, daemon=True)
    reader.start()
    proc = subprocess.run([sys.executable, "-m", "rollcall", "demo", "-t", "1", "-o", f"jsonl:{fifo}"],
                          capture_output=True, text=True, env=env, timeout=WAIT_S * 2, stdin=subprocess.DEVNULL)
    reader.join(WAIT_S)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(first[0])["target"]
    assert re.match(r"\d+ ok, \d+ failed in ", proc.stdout.rstrip().splitlines()[-1])  # the summary line
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("closed", ["stdout", "stderr"])
def test_started_with_a_standard_stream_closed_it_still_probes(env, tmp_path, closed) -> None:
    out_json = tmp_path / "run.json"
    redirect = ">&-" if closed == "stdout" else "2>&-"
    proc = _bash(f'eval $ROLLCALL demo -t 1 --json "{out_json}" {redirect}; echo "rollcall exited $?"', env)
    assert "rollcall exited 0" in proc.stdout, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Assertion" not in proc.stderr
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    assert doc["run"]["complete"] and any(r["ok"] for r in doc["results"])
    if closed == "stderr":
        assert "ok, " in proc.stdout  # the human view is on stdout as usual


def test_json_to_a_closed_stdout_is_a_usage_error(env) -> None:
    proc = _bash('eval $ROLLCALL demo -t 1 --json - >&-', env)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "rollcall: error: bad output 'json:-': standard output is closed"


class OnTerminal:
    """A rollcall process whose stdout and stderr are a pseudo-terminal (the live view with its
    progress bar), read on a thread until the terminal closes."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        import pty

        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen([sys.executable, "-m", "rollcall", *args], stdin=subprocess.DEVNULL,
                                     stdout=slave, stderr=slave, env=env)
        os.close(slave)
        self.output = bytearray()
        self.changed = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the other side is gone (or we hung up)
                chunk = b""
            with self.changed:
                self.output.extend(chunk)
                self.changed.notify_all()
            if not chunk:
                return

    def wait_for(self, text: bytes) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: text in self.output, timeout=WAIT_S):
                self.proc.kill()
                pytest.fail(f"{text!r} never appeared on the terminal: {bytes(self.output)[-2000:]!r}")

    def hang_up(self) -> None:
        os.close(self.master)

    def wait(self) -> int:
        try:
            return self.proc.wait(timeout=WAIT_S)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


def test_on_a_terminal_the_live_view_shows_the_whole_report(env, tmp_path) -> None:
    terminal = OnTerminal(["demo", "-t", "1", "--json", str(tmp_path / "run.json")], env)
    code = terminal.wait()
    terminal.wait_for(b" failed in ")
    terminal.hang_up()
    assert code == 0
    assert b"Answers (fastest first)" in terminal.output and b"Traceback" not in terminal.output


def test_a_terminal_that_hangs_up_mid_run_still_gets_every_output_written(env, tmp_path) -> None:
    out_json, out_html, db = tmp_path / "run.json", tmp_path / "run.html", tmp_path / "history.db"
    terminal = OnTerminal(["demo", "-t", "120", "--store", str(db), "--json", str(out_json), "-o",
                           f"html:{out_html}"], env)
    # An answer is on screen (its line starts with "ok"; a failed stream can show tok/s too, as
    # the demo's `filtered` model does); the never-answering models are pending.
    terminal.wait_for(b"ok" + b" " * 11)
    terminal.hang_up()  # writes to the terminal now fail (EIO), as after closing the window
    os.kill(terminal.proc.pid, signal.SIGHUP)
    assert terminal.wait() == 129
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    assert doc["run"]["complete"] is False and any(r["ok"] for r in doc["results"])
    assert out_html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    run, results = _stored(db, doc["run"]["id"])
    assert run.ended_at is not None and len(results) == len(doc["results"])
