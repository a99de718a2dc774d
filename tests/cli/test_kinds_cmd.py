"""`rollcall kinds` as a person reads it: every field name whole and each help on lines of its
own, at 80 columns as on a wide terminal; a plug-in's words shown as text, never as markup."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from g4f_env import offline_g4f_env
from rich.console import Console

from rollcall.cli.kinds_cmd import KindView


def kinds(tmp_path, *args: str, columns: int) -> subprocess.CompletedProcess[str]:
    env = {**offline_g4f_env(tmp_path), "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "rollcall", "kinds", *args], capture_output=True, text=True,
                          env=env, timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("columns", [80, 200])
def test_field_names_are_whole_and_help_gets_the_width(tmp_path, columns):
    doc = json.loads(kinds(tmp_path, "--json", columns=columns).stdout)
    proc = kinds(tmp_path, columns=columns)
    assert proc.returncode == 0, proc.stderr
    lines = [text.rstrip() for text in proc.stdout.splitlines()]
    assert "…" not in proc.stdout
    assert max(len(text) for text in lines) <= columns
    firsts = {text.split()[0] for text in lines if text.startswith("  ") and text.strip()}
    for kind in doc["kinds"]:
        assert f"{kind['name']}: " in proc.stdout
        for field in kind["fields"]:
            assert field["name"] in firsts  # a row starts with the whole name
            notes = ", ".join(n for n in ("required", "secret") if field[n])
            help_text = f"{notes + ': ' if notes else ''}{field['help']}"
            room = columns - 6
            # The help wraps at the full width: a line holds as much of it as fits.
            words, head = help_text.split(), ""
            for word in words:
                if len(head) + len(word) + 1 > room:
                    break
                head = f"{head} {word}".strip()
            assert any(text.strip().startswith(head) for text in lines), (field["name"], head)


def render(kind: dict, width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None, highlight=False).print(KindView(kind))
    return out.getvalue()


HOSTILE = {
    "name": "[red]evil[/red]", "summary": "[bold]loud[/bold]\x1b[2J", "source": "x (y:KIND)", "protocol": None,
    "implicit": False,
    "fields": [{"name": "[link=http://x]f[/link]", "type": "text", "default": "[i]d[/i]", "required": True,
                "secret": False, "flag": "--[b]f[/b]", "help": "helps \x1b]8;;http://x\x07 [blink]you[/blink]"}],
    "list_flags": [],
}


def test_a_plugins_words_are_shown_literally():
    shown = render(HOSTILE, 80)
    for literal in ("[red]evil[/red]: [bold]loud[/bold]\\x1b[2J", "[link=http://x]f[/link]", '"[i]d[/i]"',
                    "--[b]f[/b]", "required: helps \\x1b]8;;http://x\\x07 [blink]you[/blink]"):
        assert literal in shown
    assert "\x1b" not in shown


def test_a_long_default_folds_inside_its_column_and_the_rest_stay_whole():
    kind = {**HOSTILE, "name": "k", "summary": "s", "fields": [
        {**HOSTILE["fields"][0], "name": "a_rather_long_field_name", "type": "table of strings",
         "default": "https://" + "x" * 80 + ".example", "flag": "--a-rather-long-flag", "help": "h"}]}
    lines = render(kind, 80).splitlines()
    header = next(text for text in lines if text.startswith("  field"))
    start, end = header.index("default"), header.index("flag")
    row = lines.index(next(text for text in lines if text.startswith("  a_rather_long_field_name")))
    assert "table of strings" in lines[row] and "--a-rather-long-flag" in lines[row]
    column = []
    for text in lines[row:]:
        if not text[start:end].strip():  # the help line: the row has ended
            break
        column.append(text[start:end].strip())
    assert "".join(column) == '"https://' + "x" * 80 + '.example"'  # folded, every character kept
