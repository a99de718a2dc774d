"""Where a load client's time goes: one closed-loop stage against the simulator in its own process.

    python bench/load_profile.py --concurrency 100 --requests 5000
    py-spy record -o profile.svg -- python bench/load_profile.py      # flame graph of the client
    python bench/load_profile.py --pyinstrument                          # a call tree, printed

Prints streams/s, client CPU per stream (process time / requests) and the stage's own figures,
and saves JSON under bench/results/. The simulator answers 20 tokens with no pacing after a
fixed first token, so the client, not the server, sets the pace.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from pathlib import Path

from rollcall.app import new_event_loop
from rollcall.load.prompts import FixedPrompt
from rollcall.load.run import LoadRunner
from rollcall.load.spec import LoadSpec
from rollcall.load.target import Connection, url_target
from rollcall.sim import Behaviour, Fleet, run_sim_in_process

MODEL = "bench"
FLEET = Fleet({MODEL: Behaviour(ttft_s=0.0, tokens_per_s=0, answer_tokens=20)})


def run(url: str, concurrency: int, requests: int, client: str = "wire") -> dict:
    spec = LoadSpec(mode="concurrency", values=(concurrency,), requests=requests, warmup=concurrency)
    target = url_target(url, kind="openai", model=MODEL, api_key_env=None, connection=Connection(concurrency, client=client))
    runner = LoadRunner(target, spec, FixedPrompt("hi"), model=MODEL)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with asyncio.Runner(loop_factory=new_event_loop) as loop:
        doc = loop.run(runner.run())
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    stage = doc["stages"][0]
    sent = stage["requests"] + stage["warmup"]
    return {
        "client": client,
        "concurrency": concurrency,
        "requests": stage["requests"],
        "ok": stage["ok"],
        "streams_per_s": stage["requests_per_s"],
        "client_cpu_ms_per_stream": cpu / sent * 1000,
        "wall_s": wall,
        "ttft_p50_s": stage["ttft_s"]["p50"],
        "ttft_p99_s": stage["ttft_s"]["p99"],
        "itl_p50_s": stage["itl_s"]["p50"],
        "send_lateness_p99_s": stage["send_lateness_s"]["p99"],
        "loop_lag_max_s": stage["loop_lag_max_s"],
        "client_bound": stage["client_bound"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--client", choices=("wire", "aiohttp"), default="wire", help="rollcall load's HTTP client")
    parser.add_argument("--pyinstrument", action="store_true", help="print pyinstrument's call tree of the run")
    args = parser.parse_args()
    with run_sim_in_process(FLEET, seed=1) as url:
        if args.pyinstrument:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
            result = run(url, args.concurrency, args.requests, args.client)
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False))
        else:
            result = run(url, args.concurrency, args.requests, args.client)
    print(f"{'concurrency':>12} {'streams/s':>10} {'CPU ms/stream':>14} {'TTFT p50':>9} {'late p99':>9} {'lag':>7}")
    print(f"{result['concurrency']:>12} {result['streams_per_s']:>10.0f} {result['client_cpu_ms_per_stream']:>14.3f} "
          f"{result['ttft_p50_s'] * 1000:>7.1f}ms {result['send_lateness_p99_s'] * 1000:>7.1f}ms "
          f"{result['loop_lag_max_s'] * 1000:>5.1f}ms")
    out = Path(__file__).parent / "results" / "load_profile.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                               "result": result}, indent=2) + "\n")


if __name__ == "__main__":
    main()
