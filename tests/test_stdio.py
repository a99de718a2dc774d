"""Machine output reaches stdout whole, even through a raw file that takes a little at a time."""

from __future__ import annotations

import io
import subprocess
import sys

from rollcall import stdio


class Trickle(io.RawIOBase):
    """A raw stream that accepts at most 1,000 bytes per write, like a pipe returning short."""

    def __init__(self):
        self.data = bytearray()

    def writable(self):
        return True

    def write(self, b):
        chunk = bytes(b[:1000])
        self.data += chunk
        return len(chunk)


def test_short_writes_are_retried(monkeypatch):
    raw = Trickle()
    text = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    monkeypatch.setattr(sys, "stdout", text)
    payload = "é" * 100_000
    stdio.write_stdout(payload)
    assert raw.data.decode("utf-8") == payload


def test_unbuffered_large_json_through_a_pipe_is_complete():
    code = "from rollcall.stdio import write_stdout; write_stdout('x' * 300_000 + '\\n')"
    out = subprocess.run([sys.executable, "-u", "-c", code], capture_output=True, timeout=60).stdout
    assert len(out) == 300_001
