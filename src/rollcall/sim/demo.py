"""The targets `rollcall demo` probes: one OpenAI-compatible target per simulated model, all
sharing one HTTP client, plus one whose port refuses connections.

They go through the same HTTP path as real providers (rollcall.targets.openai), so the demo
shows exactly what a real run shows.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from .fleet import Fleet

if TYPE_CHECKING:
    from ..targets.openai import OpenAITarget

REFUSED_TARGET = "offline"


def closed_port(host: str = "127.0.0.1") -> int:
    """A loopback port nothing listens on (bound, then released), so connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def demo_targets(base_url: str, fleet: Fleet, *, concurrency: int = 64) -> list[OpenAITarget]:
    """One streaming target per fleet model at `base_url`, then the refused-connection target."""
    from ..targets.openai import HttpClient, OpenAITarget

    client = HttpClient(limit=concurrency)
    targets = [OpenAITarget(name, base_url, models=(name,), client=client) for name in fleet.names]
    first = fleet.names[0] if fleet.names else ""
    targets.append(
        OpenAITarget(REFUSED_TARGET, f"http://127.0.0.1:{closed_port()}/v1", models=(first,), client=client)
    )
    return targets
