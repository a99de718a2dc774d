"""The standard streams: whole writes, a reader that leaves, streams closed from the start.

- With PYTHONUNBUFFERED=1 (or -u) stdout's binary layer is the raw file, and a large write to a
  pipe can come back short (seen: 65,536 of 271,098 bytes, exit code 0, no error): loop until all
  is out.
- A reader that leaves (`rollcall demo | head -1`) closes the pipe: that stream goes quiet (it is
  pointed at /dev/null, so the interpreter's final flush is quiet too) and nothing else stops.
- Started with a standard descriptor closed (`rollcall >&-`), the first socket would get number
  1 or 2 and human text would land in it: `ensure_std_streams()` parks /dev/null there first.
"""

from __future__ import annotations

import io
import os
import sys
import time
from typing import Any

_STREAMS = ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w"))
closed_at_start: set[str] = set()  # names of standard streams that were closed when rollcall started


def ensure_std_streams() -> set[str]:
    """Open /dev/null on standard descriptors that are closed and give Python a stream for each
    one it has none for; returns (and remembers) the names of those that were closed."""
    closed = set()
    for fd, name, mode in _STREAMS:
        try:
            os.fstat(fd)
            fd_open = True
        except OSError:
            fd_open = False
        if fd_open and getattr(sys, name, None) is not None:
            continue
        closed.add(name)
        if not fd_open:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            stream: Any = open(fd, mode, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        else:  # the descriptor was reused by something else before we got here: leave it alone
            stream = open(os.devnull, mode, encoding="utf-8")  # noqa: SIM115
        setattr(sys, name, stream)
    closed_at_start.update(closed)
    return closed


def silence(stream: Any) -> None:
    """Point `stream`'s descriptor at /dev/null: its reader left, later writes go nowhere."""
    try:
        fd = stream.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass


def write_stdout(data: bytes | str) -> bool:
    """Write all of `data` to stdout; False when the reader has left (stdout then goes quiet)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        sys.stdout.flush()
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:  # a replaced text-only stdout (e.g. a test harness)
            sys.stdout.write(data.decode("utf-8"))
            sys.stdout.flush()
            return True
        view = memoryview(data)
        while view:
            written = buffer.write(view)  # a raw file may take less; None means "would block"
            if written is None:
                time.sleep(0.01)
                continue
            view = view[written:]
        buffer.flush()
    except BrokenPipeError:
        silence(sys.stdout)
        return False
    return True


def say(line: str) -> None:
    """One line of human chatter (a warning, an error) to stderr. Never raises: with stderr gone
    (closed, a hung-up terminal, a reader that left) there is nobody to tell."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):
        silence(sys.stderr)


def flush_std_streams() -> None:
    """Flush stdout and stderr before exiting; one that cannot take it is silenced, so the
    interpreter does not print 'Exception ignored ... BrokenPipeError' and exit 120."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            silence(stream)


class GuardedStream(io.TextIOBase):
    """A text stream for human output that never raises: when a write fails (the reader left,
    the terminal hung up) the stream goes quiet and the run goes on.

    It looks up sys.stdout/sys.stderr at each write, so redirections made later still apply,
    except rich's own: while a progress bar runs, rich points sys.stdout at a proxy that prints
    through this very console, and writing there would loop (rich unwraps it the same way).
    """

    def __init__(self, name: str) -> None:
        self.name_ = name
        self.broken = False

    @property
    def stream(self) -> Any:
        stream = getattr(sys, self.name_)
        return getattr(stream, "rich_proxied_file", stream)

    def write(self, s: str) -> int:
        if not self.broken:
            try:
                self.stream.write(s)
            except (OSError, ValueError):
                self._break()
        return len(s)

    def flush(self) -> None:
        if not self.broken:
            try:
                self.stream.flush()
            except (OSError, ValueError):
                self._break()

    def _break(self) -> None:
        self.broken = True
        silence(self.stream)

    def isatty(self) -> bool:
        try:
            return not self.broken and self.stream.isatty()
        except (OSError, ValueError, AttributeError):
            return False

    def fileno(self) -> int:
        return self.stream.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", None) or "utf-8"
