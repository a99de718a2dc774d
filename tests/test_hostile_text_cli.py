"""Hostile text end to end: the real CLI in a subprocess, probing the simulator on loopback and a g4f
provider whose model id and error are hostile, on a colour terminal (a real pty and FORCE_COLOR)
and on a dumb NO_COLOR one; then `report`, `runs`, `history`, `diff` and `list` on what it stored."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from g4f_env import offline_g4f_env

from rollcall.safetext import one_line
from rollcall.sim import Behaviour, Fleet, run_sim_in_thread

ANSWER = ("oops [/bold] closing tag \x1b]0;pwned\x07 \x1b[2J [link=http://evil.example/]safe[/link] [bold red]x "
          "\x1b]52;c;cHduZWQ=\x07 \x1b]8;;http://e.vil/\x07ok\x1b]8;;\x07 \u202eabc")
TARGET = "evil [bold]\x1b]2;pwned\x07\u202e"
SITE = "lab [/] \x1b[2J"
GHOST = "ghost [/bold] \x1b]0;pwned\x07"     # not in the fleet: the 404 message quotes it
G4F_MODEL = "llama [free] \x1b]8;;http://e.vil/\x07x"
G4F_ERROR = "oops [/bold] \x1b]52;c;cHduZWQ=\x07 \x9b2J"
FLEET = Fleet({"llama [free]": Behaviour(ttft_s=0, tokens_per_s=0, text=ANSWER),
               "plain": Behaviour(ttft_s=0, tokens_per_s=0, text="hello there")})

RICH_OWN = re.compile(r"\x1b\[(?:[0-9;]*m|\?25[hl]|2K|[0-9]*A)|\r(?!\n)")
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def safe(output: str) -> str:
    """`output` without rich's own codes; fails if any other control or escape sequence is left."""
    plain = RICH_OWN.sub("", output)
    found = UNSAFE.search(plain.replace("\r\n", "\n"))
    where = plain[max(0, found.start() - 60):found.end() + 20] if found else ""
    assert found is None, f"{found.group()!r} reached the terminal: {where!r}"
    assert "Traceback" not in plain
    return plain


def toml(text: str) -> str:
    return '"' + "".join(c if c.isalnum() or c in " []/:.=-_" else f"\\u{ord(c):04x}" for c in text) + '"'


@pytest.fixture(scope="module")
def sim_url():
    with run_sim_in_thread(FLEET, seed=1) as base_url:
        yield base_url


@pytest.fixture
def setup(tmp_path: Path, sim_url: str) -> tuple[Path, dict[str, str]]:
    (tmp_path / "hostile_providers.py").write_text(f'''
from g4f.providers.base_provider import AsyncGeneratorProvider

class Hostile(AsyncGeneratorProvider):
    working = True
    default_model = {G4F_MODEL!r}

    @classmethod
    async def create_async_generator(cls, model, messages, **kwargs):
        raise RuntimeError({G4F_ERROR!r})
        yield ""
''')
    config = tmp_path / "rollcall.toml"
    config.write_text(f"""
[defaults]
timeout = 5

[[target]]
name = {toml(TARGET)}
kind = "openai"
base_url = "{sim_url}"
models = ["llama [free]", "plain", {toml(GHOST)}]

[[target]]
name = "g4f"
kind = "g4f"
providers = ["hostile_providers:Hostile"]
""")
    env = offline_g4f_env(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])
    env.pop("NO_COLOR", None)
    env.update(TERM="xterm-256color", COLUMNS="250")
    return config, env


def rollcall(*args: str, env: dict[str, str], code: int = 0) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "rollcall", *args], capture_output=True, text=True, env=env,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == code, proc.stdout + proc.stderr
    return proc


def in_pty(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run with stdout and stderr on a real pseudo-terminal; (exit code, everything it showed)."""
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "rollcall", *args], stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=slave, env=env)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=120)
        reader.join(timeout=10)
    finally:
        proc.kill()
        os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")


def assert_report_shown(output: str, *, live: bool = True, wide: bool = True) -> None:
    """The final table, failures and summary (and with `live`, the live lines) show every text literally.
    A dumb terminal is 80 columns wide to rich, whatever COLUMNS says: less of each text fits."""
    plain = safe(output)
    assert "Answers (fastest first)" in plain and "2 ok, 2 failed in" in plain
    assert f"Hostile: RuntimeError: {one_line(G4F_ERROR)}" in plain and "evil [bold]\\x1b]2;pwned" in plain
    if not wide:  # the answer column gives way to the names and times: its start, literally
        assert "oops [/bold]" in plain
        return
    assert "oops [/bold] closing tag \\x1b]0;pwned\\x07" in plain  # the answer as far as the table shows it
    assert f"{one_line(TARGET)} │ llama [free] │" in plain
    assert "ghost [/bold] \\x1b]0;pwned\\x07" in plain
    if live:
        assert f"Hostile [{one_line(G4F_MODEL)}]" in plain
        assert f"ok           {one_line(TARGET)} [llama [free]]" in plain


def test_run_on_a_real_terminal(setup) -> None:
    config, env = setup
    code, output = in_pty(["run", "-c", str(config), "--no-store"], env)
    assert code == 0, output
    assert "\x1b[" in output  # it really was a colour terminal
    assert_report_shown(output)


@pytest.mark.parametrize("terminal", [
    {"FORCE_COLOR": "1"},
    {"FORCE_COLOR": "1", "NO_COLOR": "1", "TERM": "dumb"},
], ids=["force-color", "no-color-dumb"])
def test_run_then_report_runs_history_diff_list(setup, tmp_path: Path, terminal: dict[str, str]) -> None:
    config, env = setup
    env.update(terminal)
    wide = env["TERM"] != "dumb"
    store, saved = str(tmp_path / "h.sqlite3"), str(tmp_path / "run.json")
    run = rollcall("run", "-c", str(config), "--store", store, "--site", SITE, "--json", saved, env=env)
    assert_report_shown(run.stdout + run.stderr, wide=wide)
    assert ANSWER in [r["text"] for r in json.loads(Path(saved).read_text())["results"]]  # the exact text

    report = rollcall("report", saved, env=env)
    assert_report_shown(report.stdout + report.stderr, live=False, wide=wide)

    def shown(text: str) -> str:  # what surely fits: on a dumb terminal, only the first word
        return one_line(text) if wide else text.split()[0]

    runs = safe(rollcall("runs", "--store", store, env=env).stdout)
    assert shown(SITE) in runs
    history = safe(rollcall("history", "--store", store, "--by-site", env=env).stdout)
    assert shown(TARGET) in history and shown(SITE) in history and "llama [free]" in history

    # A second run in which every answer fails its check (exit 1): diff shows them newly failing (exit 1).
    rollcall("run", "-c", str(config), "--store", store, "--site", SITE, "--expect", "^never$", "-q", env=env, code=1)
    diff = safe(rollcall("diff", "--store", store, env=env, code=1).stdout)
    assert "Newly failing (2)" in diff and f"{shown(TARGET)}" in diff and shown(SITE) in diff
    assert f"{one_line(TARGET)} [llama [free]]" in diff or not wide

    listed = safe(rollcall("list", "-c", str(config), "-p", "hostile_providers:Hostile", env=env).stdout)
    assert shown(G4F_MODEL) in listed and shown(TARGET) in listed
    assert "llama [free]," in listed

def test_an_error_message_quoting_outside_text_is_shown_literally(setup, tmp_path: Path) -> None:
    _, env = setup
    (tmp_path / "broken_import.py").write_text(f"raise ImportError({G4F_ERROR!r})\n")
    proc = rollcall("list", "-p", "broken_import:X", env=env, code=2)
    err = safe(proc.stderr)
    assert err.startswith("rollcall: error: cannot load provider broken_import:X: ImportError: ")
    assert one_line(G4F_ERROR) in err
