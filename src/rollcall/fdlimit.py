"""rollcall's own open-file limit: raised where the system allows, otherwise a smaller concurrency.

Every probe holds descriptors (a socket; a g4f provider's private event loop; in `demo`, the
simulator's end of the connection too). With `ulimit -n 256` and `-j 600` the run would hit
EMFILE and hundreds of providers would seem to fail with `connect: Too many open files`. So at
start the soft limit is raised to the hard limit (as Go's runtime does), and if that is still
not enough for the requested concurrency, concurrency is capped and the user told once. A probe
that still runs out of descriptors is `cancelled`, never the provider's failure (see
classification.py).
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

# Descriptors one probe may hold at once: its socket, a provider loop's epoll and self-pipe, and
# one spare (the demo's in-process simulator holds the other end of each connection).
FDS_PER_PROBE = 4
# Kept free for everything else: the history store, report files, the interpreter, libraries.
RESERVE = 64
LOCAL_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE})
OUT_OF_FILES = ("Cancelled: rollcall ran out of open files before this probe could finish; not the provider's "
                "failure (lower --concurrency or raise ulimit -n)")


@dataclass(frozen=True)
class Budget:
    """What the descriptor limit allows: `concurrency` to use, the limits after raising
    (None where unknown or unlimited), and a warning when concurrency had to be capped."""

    concurrency: int
    soft: int | None = None
    hard: int | None = None
    warning: str | None = None


def open_fds() -> int:
    """How many descriptors this process has open (an estimate where /proc and /dev/fd lack)."""
    for where in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(where))
        except OSError:
            continue
    return 16


def raise_soft_limit() -> tuple[int | None, int | None]:
    """Raise RLIMIT_NOFILE's soft limit to the hard one where allowed; returns (soft, hard),
    None meaning unlimited or unknown."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return None, None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    infinite = resource.RLIM_INFINITY
    return (None if soft == infinite else soft), (None if hard == infinite else hard)


def fit_concurrency(requested: int, *, per_probe: int = FDS_PER_PROBE, reserve: int = RESERVE) -> Budget:
    """Raise the soft limit, then the concurrency the descriptors allow (at most `requested`)."""
    soft, hard = raise_soft_limit()
    if soft is None:
        return Budget(requested, soft, hard)
    spare = soft - open_fds() - reserve
    allowed = max(1, spare // per_probe)
    if allowed >= requested:
        return Budget(requested, soft, hard)
    limit = f"{soft}" if hard == soft else f"{soft} (hard limit {hard if hard is not None else 'unlimited'})"
    warning = (
        f"this process may open only {limit} files (ulimit -n), enough for about {allowed} probes at once: "
        f"running {allowed} at a time instead of {requested}; raise the limit to run more"
    )
    return Budget(allowed, soft, hard, warning)


# Read through the built-in descriptors, so a provider's exception cannot run code here (this is
# called on the event loop for rollcall's own errors, whose context may hold a provider's).
_errno_of = OSError.__dict__["errno"].__get__
_cause_of = BaseException.__dict__["__cause__"].__get__
_context_of = BaseException.__dict__["__context__"].__get__
_dict_of = BaseException.__dict__["__dict__"].__get__


def exhausted_locally(exc: BaseException) -> bool:
    """True when `exc` (or anything in its cause/context chain, or an aiohttp `os_error`) is
    EMFILE/ENFILE: this process or this machine is out of descriptors, not the provider.
    Reads only the interpreter's own fields of each exception, never its properties."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo and len(seen) < 16:
        item = todo.pop()
        if not issubclass(type(item), BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if issubclass(type(item), OSError) and _errno_of(item, OSError) in LOCAL_ERRNOS:
            return True
        fields = _dict_of(item, BaseException)
        todo.extend((fields.get("os_error"), fields.get("_os_error"), _cause_of(item, BaseException),
                     _context_of(item, BaseException)))
    return False
