"""A third-party kind, installed as users install one: docs/examples/rollcall-echo built and
installed by pip into a folder on PYTHONPATH, then `rollcall kinds`, `run`, `list` and `run
--help` in a subprocess see it exactly as they see rollcall's own kinds. A broken plug-in is
reported and takes nothing else down."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from g4f_env import offline_g4f_env

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "rollcall-echo"
CONFIG = """
[defaults]
prompt = "echo me please"

[[target]]
name = "parrot"
kind = "echo"
models = ["polly"]

[[target]]
name = "fixed"
kind = "echo"
reply = "I am not GPT 3.5"
"""


@pytest.fixture(scope="module")
def plugins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example installed with pip into its own folder (built from a copy: the build leaves files)."""
    root = tmp_path_factory.mktemp("plugins")
    source = root / "src"
    shutil.copytree(EXAMPLE, source)
    target = root / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert (target / "rollcall_echo.py").exists()
    return target


def rollcall(tmp_path: Path, *args: str, site: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = offline_g4f_env(tmp_path)
    if site is not None:
        env["PYTHONPATH"] = f"{site}:{env['PYTHONPATH']}"
    return subprocess.run([sys.executable, "-m", "rollcall", *args], capture_output=True, text=True, env=env,
                          timeout=120, stdin=subprocess.DEVNULL, cwd=tmp_path)


def test_rollcall_kinds_shows_the_plugin_beside_the_built_in_kinds(plugins: Path, tmp_path: Path) -> None:
    proc = rollcall(tmp_path, "kinds", "--json", site=plugins)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    kinds = {k["name"]: k for k in doc["kinds"]}
    names = list(kinds)
    assert {"g4f", "openai"} <= set(names) and names[-1] == "echo" and doc["problems"] == []  # rollcall's own first
    assert all(kinds[n]["source"].startswith("rollcall (") for n in names[:-1])
    echo = kinds["echo"]
    assert echo["source"] == "rollcall-echo (rollcall_echo:KIND)" and echo["protocol"] is None
    assert [(f["name"], f["type"], f["default"], f["flag"]) for f in echo["fields"]] == [
        ("reply", "text", None, None), ("delay", "duration", 0.0, "--echo-delay")]
    assert kinds["openai"]["protocol"] == "openai" and kinds["g4f"]["implicit"]
    table = rollcall(tmp_path, "kinds", site=plugins)
    assert table.returncode == 0 and "echo: Answers every prompt with its own words" in table.stdout
    assert "from rollcall-echo (rollcall_echo:KIND)" in table.stdout


def test_a_config_probes_the_plugin_kind_and_its_flag_sets_every_entry(plugins: Path, tmp_path: Path) -> None:
    (tmp_path / "rollcall.toml").write_text(CONFIG)
    proc = rollcall(tmp_path, "run", "-c", "rollcall.toml", "--no-store", "--echo-delay", "50ms", "--json", "-",
                    site=plugins)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    got = {(r["target"], r["model"]): (r["ok"], r["text"].strip(), r["kind"]) for r in doc["results"]}
    assert got == {("parrot", "polly"): (True, "echo me please", "echo"),
                   ("fixed", "echo-1"): (True, "I am not GPT 3.5", "echo")}
    assert all(r["ttft_s"] >= 0.05 for r in doc["results"])  # --echo-delay reached every echo entry
    assert doc["run"]["settings"]["delay"] == 0.05  # the kinds' flags are recorded with the run
    assert [(t["name"], t["kind"]) for t in doc["run"]["targets"]] == [("parrot", "echo"), ("fixed", "echo")]
    help_text = rollcall(tmp_path, "run", "--help", site=plugins).stdout
    assert "--echo-delay DURATION" in help_text and "-p, --provider NAME" in help_text


def test_list_and_a_bad_field_of_the_plugin_kind(plugins: Path, tmp_path: Path) -> None:
    (tmp_path / "rollcall.toml").write_text(CONFIG)
    proc = rollcall(tmp_path, "list", "-c", "rollcall.toml", "--json", "-p", "fake_providers:Answering",
                    site=plugins)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["echoes"] == [{"target": "parrot", "models": ["polly"]}, {"target": "fixed", "models": ["echo-1"]}]
    assert [p["name"] for p in doc["providers"]] == ["Answering"] and doc["endpoints"] == []
    (tmp_path / "bad.toml").write_text('[[target]]\nname = "e"\nkind = "echo"\ndelay = "soon"\n')
    bad = rollcall(tmp_path, "run", "-c", "bad.toml", "--no-store", site=plugins)
    assert bad.returncode == 2
    assert bad.stderr == "rollcall: error: bad.toml: target 'e': field 'delay': 'soon' is not a duration " \
                         "(use e.g. 30s, 5m, 1h, 7d)\n"


def _broken_plugin(site: Path) -> None:
    """A distribution whose kind module raises at import (written by hand: what pip leaves)."""
    (site / "broken_kind.py").write_text("raise RuntimeError('this plug-in is broken')\n")
    info = site / "broken_kind-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-kind\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text('[rollcall.kinds]\nbroken = broken_kind:KIND\nopenai = json:loads\n')


def test_a_broken_plugin_is_reported_and_takes_nothing_else_down(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _broken_plugin(site)
    listed = rollcall(tmp_path, "kinds", "--json", site=site)
    assert listed.returncode == 0, listed.stderr
    doc = json.loads(listed.stdout)
    names = [k["name"] for k in doc["kinds"]]
    assert {"g4f", "openai"} <= set(names) and "broken" not in names  # the plug-in cannot take openai's name
    assert all(k["source"].startswith("rollcall (") for k in doc["kinds"])
    assert doc["problems"] == [
        {"name": "broken", "source": "broken-kind (broken_kind:KIND)",
         "error": "broken_kind:KIND cannot be loaded: RuntimeError: this plug-in is broken"},
        {"name": "openai", "source": "broken-kind (json:loads)",
         "error": "the entry point gives a 'function' object, not a rollcall.kinds.Kind"}]
    table = rollcall(tmp_path, "kinds", site=site).stdout
    assert "not used: openai from broken-kind (json:loads): the entry point gives a 'function'" in table
    (tmp_path / "uses.toml").write_text('[[target]]\nname = "b"\nkind = "broken"\n')
    proc = rollcall(tmp_path, "run", "-c", "uses.toml", "--no-store", site=site)
    assert proc.returncode == 2
    assert proc.stderr == ("rollcall: error: uses.toml: target 'b': field 'kind': kind 'broken' is installed but "
                           "cannot be used: broken_kind:KIND cannot be loaded: RuntimeError: this plug-in is broken\n")
    fine = rollcall(tmp_path, "run", "--no-config", "-p", "fake_providers:Answering", "--no-store", "-q", site=site)
    assert fine.returncode == 0, fine.stderr


def test_a_plugin_that_exits_at_import_is_a_problem_not_the_end(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "quitter_kind.py").write_text("import sys\nsys.exit(3)\n")
    info = site / "quitter_kind-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: quitter-kind\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[rollcall.kinds]\nquitter = quitter_kind:KIND\n")
    listed = rollcall(tmp_path, "kinds", "--json", site=site)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["problems"] == [
        {"name": "quitter", "source": "quitter-kind (quitter_kind:KIND)",
         "error": "quitter_kind:KIND cannot be loaded: SystemExit: 3"}]


def test_a_plugin_that_hangs_at_import_is_given_up_after_the_timeout(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """In process, with a short timeout: the module sleeps 3 s at import (its thread ends by itself)."""
    from importlib.metadata import EntryPoint

    from rollcall.kinds.loader import load

    (tmp_path / "sleepy_kind.py").write_text("import time\ntime.sleep(3)\nKIND = None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    own = EntryPoint(name="openai", value="rollcall.kinds.openai:KIND", group="rollcall.kinds")
    sleepy = EntryPoint(name="sleepy", value="sleepy_kind:KIND", group="rollcall.kinds")
    registry = load([own, sleepy], import_timeout_s=0.3)
    assert registry.names() == ("openai",)
    (problem,) = registry.problems
    assert problem.name == "sleepy"
    assert problem.error == ("sleepy_kind:KIND cannot be loaded: TimeoutError: its module did not finish "
                             "importing within 0.3 s")
