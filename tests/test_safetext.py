"""rollcall.safetext: what outside text looks like once it is displayable, character by character."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from rollcall.safetext import json_text, line, one_line, visible

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI}\ud800-\udfff]")


@pytest.mark.parametrize(("raw", "shown"), [
    ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),               # OSC 0 window title
    ("\x1b]52;c;cHduZWQ=\x07", "\\x1b]52;c;cHduZWQ=\\x07"),   # OSC 52 clipboard write
    ("\x1b]8;;http://e.vil/\x1b\\ok", "\\x1b]8;;http://e.vil/\\x1b\\ok"),  # OSC 8 hyperlink
    ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),                     # CSI screen clear
    ("\x9b2J \x9d0;t\x9c", "\\x9b2J \\x9d0;t\\x9c"),           # the same in C1 (8-bit) form
    ("a\x00b\x08c\x0bd\x0ce\x7ff", "a\\x00b\\x08c\\x0bd\\x0ce\\x7ff"),
    ("over\rwrite", "over\\x0dwrite"),                        # a lone CR rewrites the line
    ("abc\u202edcba\u2066x\u2069\u200f", "abc\\u202edcba\\u2066x\\u2069\\u200f"),
    ("half \ud83d pair", "half \\ud83d pair"),                # lone surrogate: unencodable
])
def test_controls_are_shown_as_escapes(raw: str, shown: str) -> None:
    assert visible(raw) == shown


@pytest.mark.parametrize("kept", [
    "oops [/bold] closing tag", "[link=http://evil.example/]safe[/link]", ":smile: [bold red]x",
    "Привет 👋🏽 你好 مرحبا שלום e\u0301 \u200b\u2028", "C:\\path\\x1b", "tab\there\nline\r\nCRLF",
    "",
])
def test_printable_text_line_breaks_and_tabs_are_kept(kept: str) -> None:
    assert visible(kept) == kept


def test_every_control_and_bidi_character_is_escaped() -> None:
    unsafe = [chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if chr(c) not in "\t\n"] + list(BIDI)
    for ch in unsafe:
        assert visible(f"a{ch}b") == f"a\\{'x' if ord(ch) < 0x100 else 'u'}{ord(ch):0{2 if ord(ch) < 0x100 else 4}x}b"
    assert visible(None) == ""


def test_one_line_flattens_whitespace_and_cuts_with_an_ellipsis() -> None:
    assert one_line("  a\n\tb\r\n c\u2028d  ") == "a b c d"
    assert one_line("x\x1b[2Jy\rz") == "x\\x1b[2Jy\\x0dz"
    assert one_line("abcdefghij", 5) == "abcd…" and one_line("abcde", 5) == "abcde"
    assert one_line(None) == ""


def test_line_is_a_text_that_rich_never_parses() -> None:
    text = line("[bold red]x [link=http://evil.example/]safe[/link] oops [/bold] \x1b]0;t\x07", style="italic")
    assert isinstance(text, Text) and text.spans == [] and text.style == "italic"
    console = Console(file=io.StringIO(), width=200, force_terminal=True, color_system="truecolor")
    console.print(text)
    out = console.file.getvalue()
    assert "[bold red]x [link=http://evil.example/]safe[/link] oops [/bold] \\x1b]0;t\\x07" in out
    assert "\x1b]" not in out  # no hyperlink, no title: only rich's own colour codes


def test_importing_it_does_not_load_rich() -> None:
    code = "import sys, rollcall.safetext; print('rich' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@given(st.text())
def test_visible_output_holds_no_control_and_is_idempotent(text: str) -> None:
    shown = visible(text)
    assert not UNSAFE.search(shown.replace("\r\n", "\n"))
    shown.encode("utf-8")
    assert visible(shown) == shown and one_line(one_line(text)) == one_line(text)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3),
                    max_leaves=8))
def test_json_text_is_exact_and_holds_nothing_a_terminal_acts_on(value: object) -> None:
    import json

    text = json_text(value, indent=2)
    assert json.loads(text) == value  # lossless
    text.encode("utf-8")  # lone surrogates are escaped, so the document can always be written
    raw = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
    assert not raw.search(text)


def test_json_text_escapes_what_steers_a_terminal_or_splits_lines() -> None:
    text = json_text({"a": "x\x1b]52;c;Zm9v\x07 \u202e \x85 \u2028 \ud800 é"})
    assert "\\u001b]52" in text and "\\u202e" in text and "\\u0085" in text and "\\u2028" in text
    assert "\\ud800" in text and "é" in text  # ordinary non-ASCII stays readable
