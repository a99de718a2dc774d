"""Incremental server-sent-events decoder: feed it bytes as they arrive, get whole events back.

No I/O and no clocks: the caller reads the socket and stamps times. Follows the WHATWG
event-stream rules (CRLF/LF/CR line ends, `:` comment lines, multi-line `data:` joined with
"\\n", `event:`/`id:`/`retry:` fields, a leading BOM dropped) and is strict where a lenient
parser would hide a broken provider: invalid UTF-8 and oversized events raise `SSEError`.
"""

from __future__ import annotations

from typing import NamedTuple

DONE = "[DONE]"
DEFAULT_MAX_EVENT_BYTES = 1 << 20
_BOM = b"\xef\xbb\xbf"


class SSEError(ValueError):
    """The byte stream is not a valid event stream (bad UTF-8, an event past the size cap)."""


class SSEEvent(NamedTuple):
    """One dispatched event. `event` is "message" unless the server named it.

    A NamedTuple rather than a frozen dataclass: one is built per token, and a tuple is built
    several times faster.
    """

    data: str
    event: str = "message"
    id: str | None = None

    @property
    def is_done(self) -> bool:
        """OpenAI-style end-of-stream marker (`data: [DONE]`)."""
        return self.data == DONE


_new_event = tuple.__new__


class SSEDecoder:
    """Turns chunks of an event stream into `SSEEvent`s, however the chunks were split.

    Lines are found in bytes (CR and LF never occur inside a multi-byte UTF-8 sequence), so a
    character split across chunks simply waits in the buffer with its unfinished line; each batch
    of complete lines is then decoded with one strict `bytes.decode` call.
    """

    __slots__ = (
        "max_event_bytes", "retry_ms", "_buf", "_skip_lf", "_started", "_data", "_size", "_event", "_id", "_pos"
    )

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        if max_event_bytes < 1:
            raise ValueError("max_event_bytes must be at least 1")
        self.max_event_bytes = max_event_bytes
        self.retry_ms: int | None = None  # the server's `retry:` hint, kept for completeness
        self._buf = b""  # an unfinished line, line ends already normalised to LF
        self._skip_lf = False  # the last chunk ended in CR: a LF starting the next one is its pair
        self._started = False  # past the (optional) leading BOM
        self._data: list[str] | None = None  # data lines of the event being built
        self._size = 0  # characters held in _data
        self._event = ""
        self._id: str | None = None  # last event id (persists across events, as in the spec)
        self._pos = 0  # bytes consumed before _buf (CRLF counted as one), for error messages

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Add bytes; return the events they completed (often none, sometimes many)."""
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
                if not chunk:
                    return []
        if b"\r" in chunk:
            self._skip_lf = chunk[-1] == 0x0D
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buf = self._buf + chunk if self._buf else chunk
        if not self._started:
            if len(buf) < len(_BOM) and _BOM.startswith(buf):
                self._buf = buf  # could still become a BOM
                return []
            self._started = True
            if buf.startswith(_BOM):
                buf = buf[len(_BOM) :]
                self._pos += len(_BOM)
        end = buf.rfind(b"\n")
        if end < 0:
            self._buf = buf
            self._check_size(len(buf))
            return []
        complete, self._buf = buf[:end], buf[end + 1 :]
        try:
            text = complete.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SSEError(f"invalid UTF-8 in event stream near byte {self._pos + exc.start:,}") from None
        self._pos += end + 1
        events = self._lines(text.split("\n"))
        if self._buf:
            self._check_size(len(self._buf))
        return events

    def close(self) -> list[SSEEvent]:
        """End of stream: dispatch an event whose lines all arrived but whose blank line did not.

        The spec drops such an event; servers that end with `data: [DONE]\\n` and no blank line
        exist, so it is kept. An unfinished last line is a truncated stream and is discarded.
        """
        self._buf = b""
        return self._lines([""])

    def _check_size(self, pending: int) -> None:
        if self._size + pending > self.max_event_bytes:
            raise SSEError(f"event stream event larger than the cap of {self.max_event_bytes:,} bytes")

    def _lines(self, lines: list[str]) -> list[SSEEvent]:
        # The per-token hot path: state lives in locals and `data: ` lines are tested first.
        events: list[SSEEvent] = []
        append = events.append
        data = self._data
        size = self._size
        cap = self.max_event_bytes
        for line in lines:
            if not line:  # blank line: dispatch
                if data is not None:
                    joined = data[0] if len(data) == 1 else "\n".join(data)
                    # tuple.__new__: SSEEvent(...) through NamedTuple's Python-level __new__ costs twice this
                    append(_new_event(SSEEvent, (joined, self._event or "message", self._id)))
                    data = None
                    size = 0
                if self._event:
                    self._event = ""
                continue
            if line.startswith("data: "):
                value = line[6:]
            elif line.startswith("data:"):
                value = line[5:]
            elif line[0] == ":":
                continue  # a comment, often a keep-alive ping
            else:
                name, colon, value = line.partition(":")
                if colon and value.startswith(" "):
                    value = value[1:]
                if name == "event":
                    self._event = value
                    continue
                if name == "id":
                    if "\0" not in value:
                        self._id = value
                    continue
                if name == "retry":
                    if value.isascii() and value.isdigit():
                        self.retry_ms = int(value)
                    continue
                if name != "data":  # a bare `data` line falls through as an empty data line
                    continue  # unknown field names are ignored, as the spec requires
            if data is None:
                data = [value]
            else:
                data.append(value)
            size += len(value) + 1
            if size > cap:
                raise SSEError(f"event stream event larger than the cap of {cap:,} bytes")
        self._data = data
        self._size = size
        return events
