"""The SSE decoder: spec cases, strictness (UTF-8, size cap), and chunking invariance."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st

from rollcall.sse import SSEDecoder, SSEError, SSEEvent


def decode_all(chunks: list[bytes], **kwargs: int) -> list[SSEEvent]:
    decoder = SSEDecoder(**kwargs)
    events: list[SSEEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.close()


def reference(raw: bytes) -> list[SSEEvent]:
    """A slow, obviously-right reading of the WHATWG rules over the whole stream at once."""
    text = raw.decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = re.split(r"\r\n|\r|\n", text)
    lines.pop()  # the unfinished last line (or "" after a final line end) is not a line
    lines.append("")  # end of stream: keep an event whose blank line never came (see close())
    events, data, name, last_id = [], None, "", None
    for line in lines:
        if line == "":
            if data is not None:
                events.append(SSEEvent("\n".join(data), name or "message", last_id))
            data, name = None, ""
            continue
        if line.startswith(":"):
            continue
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "data":
            data = (data or []) + [value]
        elif field == "event":
            name = value
        elif field == "id" and "\0" not in value:
            last_id = value
    return events


def test_openai_style_stream() -> None:
    raw = b'data: {"a":1}\n\ndata: {"a":2}\n\ndata: [DONE]\n\n'
    events = decode_all([raw])
    assert [e.data for e in events] == ['{"a":1}', '{"a":2}', "[DONE]"]
    assert [e.is_done for e in events] == [False, False, True]
    assert all(e.event == "message" for e in events)


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_line_endings(eol: bytes) -> None:
    raw = eol.join([b"event: delta", b"data: one", b"data: two", b"", b"data: three", b"", b""])
    assert decode_all([raw]) == [SSEEvent("one\ntwo", "delta"), SSEEvent("three")]


def test_crlf_split_between_chunks_is_one_line_end() -> None:
    # "\r" ends one chunk and "\n" starts the next: one line end, not a line end and a blank line.
    events = decode_all([b"data: a\r", b"\ndata: b\r\n", b"\r", b"", b"\n"])
    assert events == [SSEEvent("a\nb")]


def test_comments_pings_and_unknown_fields_are_skipped() -> None:
    raw = b": ping\n\n:\ndata: x\nfoo: bar\nretry: 1500\n: another\n\n"
    decoder = SSEDecoder()
    assert decoder.feed(raw) == [SSEEvent("x")]
    assert decoder.retry_ms == 1500


def test_field_forms() -> None:
    # No space after the colon keeps the value as is; only one space is stripped; a bare field name
    # has an empty value; an empty data line still makes an event.
    raw = b"data:x\ndata:  y\ndata\n\ndata:\n\n"
    assert [e.data for e in decode_all([raw])] == ["x\n y\n", ""]


def test_event_name_resets_and_id_persists() -> None:
    raw = b"event: error\nid: 7\ndata: {}\n\ndata: next\n\n"
    assert decode_all([raw]) == [SSEEvent("{}", "error", "7"), SSEEvent("next", "message", "7")]


def test_event_without_data_is_not_dispatched() -> None:
    assert decode_all([b"event: error\n\n"]) == []


def test_multibyte_character_split_across_chunks() -> None:
    raw = "data: héllo 世界 🎉\n\n".encode()
    for cut in range(1, len(raw)):
        assert decode_all([raw[:cut], raw[cut:]]) == [SSEEvent("héllo 世界 🎉")], cut
    # One byte at a time, too.
    assert decode_all([raw[i : i + 1] for i in range(len(raw))]) == [SSEEvent("héllo 世界 🎉")]


def test_unicode_line_separators_inside_data_do_not_split_lines() -> None:
    # JSON may carry U+2028 and other characters str.splitlines() would break on.
    raw = 'data: {"t":"a\u2028b\x85c\x0cd"}\n\n'.encode()
    assert decode_all([raw]) == [SSEEvent('{"t":"a\u2028b\x85c\x0cd"}')]


def test_leading_bom_is_dropped_even_when_split() -> None:
    raw = b"\xef\xbb\xbfdata: x\n\n"
    assert decode_all([raw]) == [SSEEvent("x")]
    assert decode_all([raw[:1], raw[1:2], raw[2:]]) == [SSEEvent("x")]


def test_invalid_utf8_raises_a_clear_error() -> None:
    decoder = SSEDecoder()
    with pytest.raises(SSEError, match="invalid UTF-8 in event stream near byte 9"):
        decoder.feed(b"data: ok\n\xff\xfe\n\n")


def test_invalid_utf8_is_found_however_split() -> None:
    raw = b"data: a\n\ndata: \xc3(\n\n"
    for cut in range(len(raw) + 1):
        with pytest.raises(SSEError, match="invalid UTF-8"):
            decode_all([raw[:cut], raw[cut:]])


def test_event_larger_than_cap_raises() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    assert decoder.feed(b"data: " + b"x" * 50 + b"\n\n") == [SSEEvent("x" * 50)]
    with pytest.raises(SSEError, match="larger than the cap of 100 bytes"):
        decoder.feed(b"data: " + b"y" * 60 + b"\ndata: " + b"y" * 60 + b"\n")


def test_unfinished_line_larger_than_cap_raises_before_its_end_arrives() -> None:
    decoder = SSEDecoder(max_event_bytes=1000)
    decoder.feed(b"data: " + b"z" * 900)
    with pytest.raises(SSEError, match="larger than the cap"):
        decoder.feed(b"z" * 200)


def test_close_keeps_complete_lines_and_drops_a_truncated_one() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: [DONE]\n") == []
    assert decoder.close() == [SSEEvent("[DONE]")]
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"trunc') == []
    assert decoder.close() == []


def test_max_event_bytes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SSEDecoder(max_event_bytes=0)


# --- property tests -------------------------------------------------------------------------

_text = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=20)
_line = st.one_of(
    _text.map(lambda t: "data: " + t),
    _text.map(lambda t: "data:" + t),
    st.just("data"),
    _text.map(lambda t: ": " + t),
    st.sampled_from(["event: error", "event: delta", "event:", "id: 42", "retry: 10", "foo: bar"]),
    st.just(""),
    st.just(""),
)
_eol = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.tuples(_line, _eol), max_size=30))
    tail = draw(st.sampled_from(["", "\n", "\n\n", "data: unfinished"]))
    bom = draw(st.sampled_from(["", "\ufeff"]))
    return (bom + "".join(line + eol for line, eol in lines) + tail).encode()


@st.composite
def splits(draw: st.DrawFn, raw: bytes) -> list[bytes]:
    cuts = sorted(draw(st.lists(st.integers(0, len(raw)), max_size=12)))
    bounds = [0, *cuts, len(raw)]
    return [raw[a:b] for a, b in zip(bounds, bounds[1:])]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_split_decodes_like_the_whole_stream(data: st.DataObject) -> None:
    raw = data.draw(streams())
    chunks = data.draw(splits(raw))
    whole = decode_all([raw])
    assert decode_all(chunks) == whole
    assert whole == reference(raw)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_byte_at_a_time_decodes_like_the_whole_stream(data: st.DataObject) -> None:
    raw = data.draw(streams())
    assert decode_all([raw[i : i + 1] for i in range(len(raw))]) == decode_all([raw])
