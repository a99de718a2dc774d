"""End the processes this one started: g4f providers launch headless browsers and leave them
behind when abandoned at their deadline. The process tree is read from /proc (Linux).
"""

from __future__ import annotations

import os
import signal
import sys
import time


def _interpreter_helpers() -> set[int]:
    """Processes Python itself keeps for this one, not ours to end: multiprocessing's resource
    tracker exits with us, and killed (when `main()` runs inside a longer-lived program, e.g. a
    test run) the program's next spawned process warns that resources may leak."""
    tracker = sys.modules.get("multiprocessing.resource_tracker")
    pid = getattr(getattr(tracker, "_resource_tracker", None), "_pid", None)
    return {pid} if isinstance(pid, int) else set()


def _descendants(root: int) -> list[int]:
    """Process ids below `root`, read from /proc (Linux); [] where /proc is not available."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces; fields after it are fixed.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1].isdigit():
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _running(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be collected."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 : stat.rfind(")") + 3] != "Z"


def reap_children(grace_s: float = 0.5) -> int:
    """End every process this one started (g4f providers launch headless browsers and leave them
    behind when abandoned at their deadline). SIGTERM, a short grace, then SIGKILL. Returns how many."""
    spared = _interpreter_helpers()
    pids = [pid for pid in _descendants(os.getpid()) if pid not in spared]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = []
        for pid in pids:
            try:
                os.kill(pid, sig)
                alive.append(pid)
            except OSError:
                pass
        if not alive or sig is signal.SIGKILL:
            break
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(_running(p) for p in alive):
            time.sleep(0.05)
        pids = [p for p in alive if _running(p)]
    return len(pids)
