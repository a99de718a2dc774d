"""Writing machine output to stdout completely.

With PYTHONUNBUFFERED=1 (or -u) stdout's binary layer is the raw file, and a large write to a pipe
can come back short (seen: 65,536 of 271,098 bytes, exit code 0, no error). Loop until all is out.
"""

from __future__ import annotations

import sys
import time


def write_stdout(data: bytes | str) -> None:
    if isinstance(data, str):
        data = data.encode("utf-8")
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a replaced text-only stdout (e.g. a test harness)
        sys.stdout.write(data.decode("utf-8"))
        sys.stdout.flush()
        return
    view = memoryview(data)
    while view:
        written = buffer.write(view)  # a raw file may take less; None means "would block"
        if written is None:
            time.sleep(0.01)
            continue
        view = view[written:]
    buffer.flush()
