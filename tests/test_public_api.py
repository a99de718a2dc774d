"""The public face: a sorted, complete __all__, and an import that stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import rollcall


def test_every_public_name_resolves_and_the_core_is_there():
    for name in rollcall.__all__:
        value = getattr(rollcall, name)
        assert value is not None
        assert name == "__version__" or getattr(value, "__module__", "").startswith("rollcall"), name
    core = {"ErrorKind", "G4FTarget", "OpenAITarget", "ProbeResult", "RunResult", "Runner", "run", "run_probe"}
    assert core <= set(rollcall.__all__)
    assert sorted(dir(rollcall)) == sorted(rollcall.__all__)


def test_import_and_help_do_not_load_heavy_modules():
    code = (
        "import sys, rollcall, rollcall.cli; "
        "heavy = [m for m in ('g4f', 'aiohttp', 'rich', 'psycopg', 'playwright', 'regex', 'prometheus_client', "
        "'litellm', 'ray') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_top_level_help_reads_no_entry_points_and_builds_no_kind():
    # Kinds are plug-ins read from entry points; only a command that needs them reads them.
    code = (
        "import sys\n"
        "from rollcall.cli import cli\n"
        "cli.main(['--help'], standalone_mode=False)\n"
        "print('loaded:', *(m for m in ('importlib.metadata', 'rollcall.kinds', 'rollcall.config', 'rollcall.plan')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "Commands:" in out and out.splitlines()[-1] == "loaded:"


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["kinds", "--help"]])
def test_help_loads_no_event_loop_machinery_and_no_results(argv):
    # Help runs often (shell completion, people reading): it reads the kinds a command's flags
    # come from, and nothing a probe needs, not even at exit (where worker threads are asked for).
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('loaded:', *(m for m in ('asyncio', 'rollcall.isolation', 'rollcall.models')"
        " if m in sys.modules)))\n"
        "from rollcall.cli import main\n"
        f"main({argv!r})\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout and proc.stdout.splitlines()[-1] == "loaded:"
    if argv[0] == "run":
        assert "-p, --provider NAME" in proc.stdout  # the kinds were read: g4f's flags are there
