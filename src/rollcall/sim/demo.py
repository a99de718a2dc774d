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
# `rollcall demo --watch` watches a few of the packaged fleet's models (the rest fail by design,
# every round, which makes a dull watch) and takes one of them down and back up on the way.
WATCH_MODELS = ("swift", "steady", "sluggish", "thinker", "flaky", "throttled")
WATCH_SLO = {"ttft_s": 1.0}  # sluggish (1.2 s to first token) shows as degraded
OUTAGE = ("steady", 3, 7)  # this model answers 503 from round 3 until round 7


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


def watch_fleet(fleet: Fleet, *, packaged: bool) -> Fleet:
    """The models `demo --watch` watches: a lively few of the packaged fleet, or all of a user's."""
    if not packaged:
        return fleet
    return Fleet({name: fleet.models[name] for name in WATCH_MODELS if name in fleet.models}, seed=fleet.seed)


def outage_script(base_url: str, fleet: Fleet):  # type: ignore[no-untyped-def]
    """An on_round callback that switches OUTAGE's model to HTTP 503 and back through the
    simulator's control endpoint (POST /_sim/models/{name}), the way a test would."""
    import json
    import urllib.request

    model, down_at, up_at = OUTAGE
    if model not in fleet.models:
        return None
    original = fleet.models[model]
    root = base_url.rsplit("/v1", 1)[0]

    def post(settings: dict) -> None:
        request = urllib.request.Request(f"{root}/_sim/models/{model}", data=json.dumps(settings).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - our own loopback server
            response.read()

    def on_round(number: int, run: object, changes: object) -> None:
        if number == down_at - 1:
            post({"status": 503, "ttft": 0.05})
        elif number == up_at - 1:
            post({"ttft": original.ttft_s, "jitter": original.ttft_jitter_s, "tps": original.tokens_per_s,
                  "tokens": original.answer_tokens})

    return on_round
