"""Outside text made displayable: the one place where answers, error messages, model ids, target,
site and provider names, reasons and anything else rollcall did not write itself become text that
a terminal, a spreadsheet, a CI page or a browser shows literally and never acts on.

`visible(text)` keeps every printable character as it is and shows the others as Python-style
escapes, so a reader sees that they were there:

- ESC and every other C0 control (U+0000-U+001F but tab and line feed), DEL (U+007F) and
  the C1 controls (U+0080-U+009F, e.g. CSI U+009B) as `\\xNN` (`\\x1b`, `\\x07`, `\\x9b`). With
  ESC and CSI shown, no escape sequence (colours, cursor moves, CSI 2J screen clear, OSC 0/2
  window title, OSC 8 hyperlink, OSC 52 clipboard write) can reach a terminal. A carriage return
  is kept where it ends a line (CR LF); a lone CR, which would overwrite the line, shows as `\\x0d`.
- bidirectional controls that reorder what is shown (U+202A-U+202E embeddings and overrides,
  U+2066-U+2069 isolates, U+200E/U+200F marks, U+061C) as `\\uNNNN` (`\\u202e`).
- lone surrogates (U+D800-U+DFFF, from `\\ud800` in a JSON string) as `\\uNNNN`: they cannot be
  encoded to UTF-8 and would crash the writer.

Everything else is kept as it is, backslashes too (`C:\\path` shows as typed), so an
escape shown here is not always one that was in the text: the JSON report has the exact text.

`one_line(text, limit)` is `visible` with every run of whitespace (line breaks and tabs
included) turned into one space, cut to `limit` characters with a trailing `…`: for table
cells, live lines and messages.

`json_text(value)` is JSON for people and tools alike: the exact value (it parses back equal), but
with every character that would act on a terminal or end a line for some reader (controls, DEL,
C1, bidi controls, U+2028/9, lone surrogates) written as a `\\uNNNN` escape, so `--json -` on a
terminal cannot be steered either.

`line(text)` is the rich `Text` of `one_line`: rich parses markup (`[bold]`, `[link=...]`) and
emoji codes in plain strings given to `Console.print` or `Table.add_row`, so outside text
reaches rich only as a `Text`. rich is imported when `line` is called, not with this module.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

# What a terminal (or a bidi-aware viewer) would act on instead of showing. Tab (\x09) and line
# feed (\x0a) are kept, and carriage return (\x0d) when it ends a line as CR LF.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]|\r(?!\n)"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# In JSON, escape (losslessly) what a terminal would act on and what ends a line for a reader:
# JSON itself already escapes C0 controls; these are the rest.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_text(value: object, *, indent: int | None = None) -> str:
    """`value` as JSON text (UTF-8 safe), parsing back to exactly `value`, with every character a
    terminal would act on or a reader would take for a line end escaped as `\\uNNNN`."""
    import json

    text = json.dumps(value, ensure_ascii=False, indent=indent, default=str)
    return _JSON_UNSAFE.sub(_json_escape, text)


def json_escaped(text: str) -> str:
    """JSON text (from any encoder) with the characters json_text escapes \\u-escaped too."""
    return _JSON_UNSAFE.sub(_json_escape, text)


def visible(text: str | None) -> str:
    """`text` with every control, bidi control and lone surrogate shown as an escape."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    return _UNSAFE.sub(_escape, text)


def one_line(text: str | None, limit: int | None = None) -> str:
    """`visible(text)` on one line, whitespace runs as one space, at most `limit` characters."""
    flat = " ".join(visible(text).split())
    if limit is not None and len(flat) > limit:
        flat = flat[: max(0, limit - 1)] + "…"
    return flat


def line(text: str | None, style: str = "", limit: int | None = None) -> Text:
    """`one_line(text, limit)` as a rich Text in `style`: shown literally, never parsed as markup."""
    from rich.text import Text

    return Text(one_line(text, limit), style=style)
