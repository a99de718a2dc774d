"""The public face: a sorted, complete __all__, and an import that stays light."""

from __future__ import annotations

import subprocess
import sys

import rollcall


def test_all_is_sorted_and_resolves():
    assert rollcall.__all__ == sorted(rollcall.__all__)
    for name in rollcall.__all__:
        assert getattr(rollcall, name) is not None


def test_import_and_help_do_not_load_heavy_modules():
    code = (
        "import sys, rollcall, rollcall.cli; "
        "heavy = [m for m in ('g4f', 'aiohttp', 'rich', 'psycopg', 'playwright') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
