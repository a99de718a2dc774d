"""A real `rollcall` run in its own process, recorded by StoreSink (driven by test_store_process.py).

Probes in-process fake targets: `--fast N` answer after a small stagger, `--hang N` never answer
(so the process can be killed while they are pending). Prints the run id as soon as it exists.
`--gate` adds a target that waits for another process's run. Exit status 3 if the sink reported any store error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator

from rollcall.app import execute
from rollcall.runner import Runner
from rollcall.settings import ProbeSettings
from rollcall.store import StoreSink, open_store
from rollcall.targets.base import Content, Event, ProbeRequest
from rollcall.testing import ScriptedTarget


class GateTarget:
    """Answers only once another process has stored `count` results for targets named
    `prefix-*`: two runs gated on each other are certainly under way at the same time."""

    kind = "fake"
    models = ("fake-model",)

    def __init__(self, name: str, location: str, prefix: str, count: int) -> None:
        self.name = name
        self.location = location
        self.prefix = prefix
        self.count = count

    def _other_stored(self) -> int:
        with open_store(self.location) as store:
            return sum(1 for o in store.outcomes() if o.target.startswith(self.prefix + "-"))

    async def stream(self, request: ProbeRequest) -> AsyncIterator[Event]:
        while await asyncio.to_thread(self._other_stored) < self.count:
            await asyncio.sleep(0.02)
        yield Content("the other run is under way")

    async def aclose(self) -> None:
        pass


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True)
    parser.add_argument("--site", default="test-site")
    parser.add_argument("--fast", type=int, default=3)
    parser.add_argument("--hang", type=int, default=0)
    parser.add_argument("--stagger", type=float, default=0.0, help="seconds between fast answers")
    parser.add_argument("--batch", type=int, default=500, help="StoreSink max_batch")
    parser.add_argument("--prefix", default="fast")
    parser.add_argument("--gate", metavar="PREFIX:COUNT", help="also probe a GateTarget on another run")
    args = parser.parse_args()

    targets: list = [ScriptedTarget(f"{args.prefix}-{i:03d}", models=("fake-model",), delay_s=i * args.stagger,
                                    answer=f"hello from {args.prefix}-{i:03d}", usage=False) for i in range(args.fast)]
    targets += [ScriptedTarget(f"hang-{i:03d}", models=("fake-model",), hang=True) for i in range(args.hang)]
    if args.gate:
        prefix, _, count = args.gate.partition(":")
        targets.append(GateTarget(f"{args.prefix}-gate", args.store, prefix, int(count)))
    store = open_store(args.store)
    sink = StoreSink(store, site=args.site, max_batch=args.batch)
    settings = ProbeSettings(prompt="subprocess run", timeout_s=600, concurrency=max(1, len(targets)))
    runner = Runner(targets, settings=settings, sinks=[sink])
    print(runner.id, flush=True)
    run = execute(runner).run
    store.close()
    print(f"done {run.ok_count}", flush=True)
    if sink.errors:
        print(f"store errors: {sink.errors}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
