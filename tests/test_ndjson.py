"""The NDJSON line decoder: whole lines out however the bytes were split, strict about UTF-8 and size."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollcall.ndjson import Line, NDJSONDecoder, NDJSONError


def decode(chunks: list[bytes], cap: int = 1 << 20) -> list[str]:
    decoder = NDJSONDecoder(cap)
    lines = [line for chunk in chunks for line in decoder.feed(chunk)]
    return [line.data for line in lines + decoder.close()]


def test_lines_blank_lines_crlf_and_a_last_line_without_newline() -> None:
    raw = b'{"a": 1}\n\n  \r\n{"b": "\xc3\xa9"}\r\n{"c": 3}'
    assert decode([raw]) == ['{"a": 1}', '{"b": "é"}\r', '{"c": 3}']


def test_a_line_is_an_unnamed_event() -> None:
    assert NDJSONDecoder().feed(b"x\n") == [Line("x", "message")]


def test_a_character_split_across_chunks_waits_for_its_line() -> None:
    raw = '{"t": "naïve 🎉"}\n'.encode()
    cut = raw.index("🎉".encode()) + 1
    decoder = NDJSONDecoder()
    assert decoder.feed(raw[:cut]) == []
    assert decoder.feed(raw[cut:]) == [Line('{"t": "naïve 🎉"}')]


def test_invalid_utf8_names_its_position() -> None:
    decoder = NDJSONDecoder()
    decoder.feed(b'{"ok": 1}\n')
    with pytest.raises(NDJSONError, match="invalid UTF-8 near byte 17"):
        decoder.feed(b'{"t": "\xff"}\n')
    last = NDJSONDecoder()
    assert last.feed(b"\xfe") == []  # an unfinished line waits...
    with pytest.raises(NDJSONError, match="invalid UTF-8 near byte 0"):
        last.close()  # ...and is checked when the stream ends


@pytest.mark.parametrize("chunks", [[b"x" * 11], [b"x" * 6, b"x" * 5], [b"ok\n" + b"x" * 11 + b"\nok\n"]])
def test_a_line_past_the_cap(chunks: list[bytes]) -> None:
    with pytest.raises(NDJSONError, match="a line larger than the cap of 10 bytes"):
        decode(chunks, cap=10)


def test_lines_at_the_cap_pass_even_when_a_batch_is_larger() -> None:
    assert decode([b"x" * 10 + b"\n" + b"y" * 10 + b"\n"], cap=10) == ["x" * 10, "y" * 10]


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\n\r", blacklist_categories=["Cs"]),
                        min_size=1).filter(lambda s: not s.isspace()), max_size=8),
       st.lists(st.integers(min_value=0, max_value=400), max_size=6))
def test_any_split_gives_the_same_lines(lines: list[str], cuts: list[int]) -> None:
    raw = "".join(line + "\n" for line in lines).encode()
    points = sorted({min(c, len(raw)) for c in cuts})
    chunks = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]
    assert decode(chunks) == lines


def test_cap_must_be_positive() -> None:
    with pytest.raises(ValueError):
        NDJSONDecoder(0)
