"""Incremental newline-delimited JSON (NDJSON, JSON Lines) framing: feed it bytes as they arrive,
get whole lines back. Ollama streams its answers this way.

No I/O, no clocks and no JSON parsing: the caller reads the socket, stamps times and parses each
line. Strict where a lenient reader would hide a broken server: invalid UTF-8 and a line past the
size cap raise `NDJSONError`. Blank lines (keep-alives) are skipped; CRLF line ends are accepted.
"""

from __future__ import annotations

from typing import NamedTuple

DEFAULT_MAX_LINE_BYTES = 1 << 20


class NDJSONError(ValueError):
    """The byte stream is not valid NDJSON framing (bad UTF-8, a line past the size cap)."""


class Line(NamedTuple):
    """One line of the stream. `event` is always "message": a line reads like an unnamed
    server-sent event, so one reader serves both framings (see http_stream)."""

    data: str
    event: str = "message"


class NDJSONDecoder:
    """Turns chunks of an NDJSON stream into `Line`s, however the chunks were split.

    Lines are found in bytes (a newline never occurs inside a multi-byte UTF-8 sequence), so a
    character split across chunks waits in the buffer with its unfinished line; each batch of
    complete lines is decoded with one strict `bytes.decode` call.
    """

    __slots__ = ("max_line_bytes", "_buf", "_pos")

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        if max_line_bytes < 1:
            raise ValueError("max_line_bytes must be at least 1")
        self.max_line_bytes = max_line_bytes
        self._buf = b""  # an unfinished line
        self._pos = 0  # bytes consumed before _buf, for error messages

    def feed(self, chunk: bytes) -> list[Line]:
        """Add bytes; return the lines they completed (often one, sometimes none or many)."""
        if not chunk:
            return []
        buf = self._buf + chunk if self._buf else chunk
        end = buf.rfind(b"\n")
        if end < 0:
            self._buf = buf
            self._check(len(buf))
            return []
        complete, self._buf = buf[:end], buf[end + 1 :]
        if len(complete) > self.max_line_bytes:  # only then can one of its lines be too long
            self._check(max(len(line) for line in complete.split(b"\n")))
        lines = self._decode(complete).split("\n")
        self._pos += end + 1
        if self._buf:
            self._check(len(self._buf))
        return [Line(line) for line in lines if line and not line.isspace()]

    def close(self) -> list[Line]:
        """End of stream: a last line without its newline is still a line (the JSON parser then
        tells a whole object from a cut one)."""
        rest, self._buf = self._buf, b""
        if not rest.strip():
            return []
        return [Line(self._decode(rest))]

    def _decode(self, data: bytes) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NDJSONError(f"invalid UTF-8 near byte {self._pos + exc.start:,}") from None

    def _check(self, size: int) -> None:
        if size > self.max_line_bytes:
            raise NDJSONError(f"a line larger than the cap of {self.max_line_bytes:,} bytes")
