"""A memory cap for test subprocesses that must not read without bound: if the code under test
regresses, the child fails with MemoryError instead of exhausting the shared machine."""

from __future__ import annotations

import resource

CAP_BYTES = 2 << 30  # address space: enough for rollcall with its imports and threads


def capped_memory() -> None:
    """preexec_fn for subprocess: limit the child's address space to CAP_BYTES."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = CAP_BYTES if hard == resource.RLIM_INFINITY else min(CAP_BYTES, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
