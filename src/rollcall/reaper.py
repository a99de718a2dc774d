"""End the processes provider code started: g4f providers launch headless browsers and leave them
behind when abandoned at their deadline. psutil reads the process tree on every platform it
supports (Linux, macOS, Windows, the BSDs).
"""

from __future__ import annotations

import sys
from typing import Any


def _interpreter_helpers() -> set[int]:
    """Processes Python itself keeps for this one, not ours to end: multiprocessing's resource
    tracker exits with us, and killed (when `main()` runs inside a longer-lived program, e.g. a
    test run) the program's next spawned process warns that resources may leak."""
    tracker = sys.modules.get("multiprocessing.resource_tracker")
    pid = getattr(getattr(tracker, "_resource_tracker", None), "_pid", None)
    return {pid} if isinstance(pid, int) else set()


def descendants(root: int | None = None) -> list[Any]:
    """The psutil.Process objects below `root` (default: this process), children first."""
    import psutil

    try:
        return psutil.Process(root).children(recursive=True)
    except psutil.Error:
        return []


def reap_children(grace_s: float = 0.5) -> int:
    """End every process this one started: SIGTERM (terminate on Windows), a short grace, then
    SIGKILL to those still running. Returns how many needed SIGKILL."""
    import psutil

    spared = _interpreter_helpers()
    procs = [p for p in descendants() if p.pid not in spared]
    for proc in procs:
        try:
            proc.terminate()
        except psutil.Error:  # already gone, or not ours to signal
            pass
    _, left = psutil.wait_procs(procs, timeout=grace_s)
    # A grandchild that ended is a zombie until its own parent collects it: it needs no SIGKILL.
    stubborn = [p for p in left if _running(p)]
    for proc in stubborn:
        try:
            proc.kill()
        except psutil.Error:
            pass
    return len(stubborn)


def _running(proc: Any) -> bool:
    import psutil

    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
