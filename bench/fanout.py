"""Fan-out benchmark: wall time tracks the slowest provider, not the sum, and what the runner adds.

N simulated providers with known latencies (seeded, 0.05 .. 1.0 s, the slowest exactly 1.0 s)
are probed at once, two ways:
  g4f   - in-process provider classes built on g4f's AsyncGeneratorProvider, called through
          rollcall's G4FTarget (one worker thread + event loop per probe: the isolation path)
  plain - the same latencies as in-loop async targets (the runner alone, no isolation)
For each, it reports the wall time, the slowest latency, the sum of latencies, and the overhead
(wall - slowest). Run: python bench/fanout.py [--sizes 10,100,1000] [--quick]
Writes bench/results/fanout.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from rollcall import Content, G4FTarget, ProbeSettings, Runner
from rollcall.app import new_event_loop


def latencies(n: int, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    values = [round(rng.uniform(0.05, 1.0), 3) for _ in range(n)]
    values[rng.randrange(n)] = 1.0
    return values


def g4f_provider(index: int, delay: float) -> type:
    from g4f.providers.base_provider import AsyncGeneratorProvider

    async def create_async_generator(cls, model, messages, **kwargs):
        await asyncio.sleep(delay)
        yield "hello"
        yield " there"

    return type(f"Sim{index}", (AsyncGeneratorProvider,), {
        "working": True, "create_async_generator": classmethod(create_async_generator),
    })


class PlainTarget:
    kind = "plain"
    models = ("",)

    def __init__(self, index: int, delay: float) -> None:
        self.name = f"plain{index}"
        self.delay = delay

    async def stream(self, request):
        await asyncio.sleep(self.delay)
        yield Content("hello")
        yield Content(" there")

    async def aclose(self) -> None:
        return None


def measure(kind: str, n: int) -> dict:
    lats = latencies(n)
    if kind == "g4f":
        targets = [G4FTarget(g4f_provider(i, d)) for i, d in enumerate(lats)]
    else:
        targets = [PlainTarget(i, d) for i, d in enumerate(lats)]
    runner = Runner(targets, settings=ProbeSettings(timeout_s=30, concurrency=n))
    start = time.perf_counter()
    with asyncio.Runner(loop_factory=new_event_loop) as loop_runner:
        run = loop_runner.run(runner.run())
    wall = time.perf_counter() - start
    ok = run.ok_count
    totals = [r.total_s for r in run.results if r.total_s is not None]
    measured_extra = [r.total_s - d for r, d in zip(sorted(run.results, key=lambda r: int(r.target.strip("Simplain"))), lats)]
    return {
        "kind": kind, "providers": n, "ok": ok, "wall_s": wall, "slowest_s": max(lats), "sum_s": sum(lats),
        "overhead_s": wall - max(lats), "max_probe_total_s": max(totals),
        "median_probe_extra_s": sorted(measured_extra)[len(measured_extra) // 2],
        "loop_lag_max_s": run.loop_lag_max_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--quick", action="store_true", help="10 and 100 only")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "fanout.json"))
    args = parser.parse_args()
    sizes = [10, 100] if args.quick else [int(s) for s in args.sizes.split(",")]
    rows = [measure(kind, n) for n in sizes for kind in ("plain", "g4f")]

    table = Table(title="rollcall fan-out: N providers with latencies 0.05..1.0 s (slowest 1.0 s)")
    for col in ("path", "providers", "ok", "wall s", "slowest s", "sum s", "overhead s",
                "median probe extra s", "loop lag max s"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["kind"], str(r["providers"]), str(r["ok"]), f"{r['wall_s']:.3f}", f"{r['slowest_s']:.3f}",
                      f"{r['sum_s']:.1f}", f"{r['overhead_s']:.3f}", f"{r['median_probe_extra_s'] * 1000:.1f} ms",
                      f"{r['loop_lag_max_s']:.3f}")
    Console(width=max(140, Console().width)).print(table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "fanout", "python": sys.version.split()[0], "machine": platform.machine(),
        "cpus": __import__("os").cpu_count(), "rows": rows,
    }, indent=2))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
