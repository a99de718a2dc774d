"""What going through LiteLLM costs: the same simulated model probed by rollcall's native
OpenAI kind and by the litellm kind (`openai/...` and `anthropic/...` model strings with
`api_base`), one probe at a time and many at once, plus the time `import litellm` takes.

The simulator runs in its own process (20 ms to first token, 32 tokens at 400 tokens/s). "extra
TTFT" is the measured TTFT minus the configured 20 ms: the client's share (for LiteLLM, its
request building and chunk parsing, since its events are stamped when LiteLLM hands them over).
Run: python bench/litellm_overhead.py [--probes 30] [--burst 100]
Writes bench/results/litellm_overhead.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from rollcall import HttpClient, LiteLLMTarget, OpenAITarget, ProbeSettings, Runner
from rollcall.sim import Behaviour, Fleet
from rollcall.sim.background import run_sim_in_process
from rollcall.targets import litellm as litellm_kind

TTFT_S = 0.02
FLEET = Fleet({"bench": Behaviour(ttft_s=TTFT_S, tokens_per_s=400, answer_tokens=32)})
KEY = "sk-bench-0123456789abcdef"


def import_seconds() -> float:
    code = "import time; t = time.perf_counter(); import litellm; print(time.perf_counter() - t)"
    env = {**os.environ, **litellm_kind.OFFLINE_ENV}
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                                check=True).stdout)


def makers(root: str) -> dict[str, object]:
    """path -> a function making the i-th target of that path (copies share the HTTP client)."""
    client = HttpClient()
    return {
        "native openai": lambda i: OpenAITarget(f"native{i}", root + "/v1", models=("bench",), api_key=KEY,
                                                client=client),
        "litellm openai/": lambda i: LiteLLMTarget(f"ll-openai{i}", ["openai/bench"], api_base=root + "/v1",
                                                   api_key=KEY),
        "litellm anthropic/": lambda i: LiteLLMTarget(f"ll-anthropic{i}", ["anthropic/bench"], api_base=root,
                                                      api_key=KEY),
    }


async def measure(make: object, probes: int, concurrency: int) -> dict[str, float]:
    """`probes` probes: one target probed `probes` times one after another (concurrency 1), or
    `probes` copies of it probed at once."""
    copies = [make(i) for i in range(probes if concurrency > 1 else 1)]  # type: ignore[operator]
    await Runner(copies[:1], settings=ProbeSettings(timeout_s=30, concurrency=1)).run()  # warm: clients, connections
    repeat = 1 if concurrency > 1 else probes
    runner = Runner(copies, settings=ProbeSettings(timeout_s=30, concurrency=concurrency, repeat=repeat))
    start = time.perf_counter()
    run = await runner.run()
    wall = time.perf_counter() - start
    ok = [r for r in run.results if r.ok]
    ttft = [r.ttft_s for r in ok if r.ttft_s is not None]
    return {
        "ok": len(ok), "probes": probes, "wall_s": wall,
        "ttft_p50_ms": statistics.median(ttft) * 1000, "extra_ttft_p50_ms": (statistics.median(ttft) - TTFT_S) * 1000,
        "total_p50_ms": statistics.median(r.total_s for r in ok) * 1000,
        "queue_p50_ms": statistics.median(r.queue_s for r in ok) * 1000,
        "loop_lag_max_s": run.loop_lag_max_s or 0.0,
    }


async def main_async(args: argparse.Namespace, root: str) -> list[dict[str, object]]:
    rows = []
    for name, make in makers(root).items():
        for mode, probes, concurrency in (("one at a time", args.probes, 1), ("at once", args.burst, args.burst)):
            rows.append({"path": name, "mode": mode, **await measure(make, probes, concurrency)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=30)
    parser.add_argument("--burst", type=int, default=100)
    args = parser.parse_args()
    imported = import_seconds()
    assert litellm_kind.ready() is None
    with run_sim_in_process(FLEET) as base_url:
        rows = asyncio.run(main_async(args, base_url.removesuffix("/v1")))
    table = Table(title=f"LiteLLM vs native (import litellm: {imported:.1f} s)")
    for column in ("path", "mode", "ok", "wall s", "TTFT p50 ms", "extra TTFT ms", "total p50 ms", "queue p50 ms",
                   "loop lag max s"):
        table.add_column(column, justify="left" if column in ("path", "mode") else "right")
    for r in rows:
        table.add_row(str(r["path"]), str(r["mode"]), f"{r['ok']}/{r['probes']}", f"{r['wall_s']:.2f}",
                      f"{r['ttft_p50_ms']:.1f}", f"{r['extra_ttft_p50_ms']:.1f}", f"{r['total_p50_ms']:.1f}",
                      f"{r['queue_p50_ms']:.1f}", f"{r['loop_lag_max_s']:.3f}")
    Console(width=150).print(table)
    out = Path(__file__).parent / "results" / "litellm_overhead.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"import_litellm_s": imported, "rows": rows, "load_average": os.getloadavg(),
                               "python": platform.python_version(), "args": vars(args)}, indent=2) + "\n")


if __name__ == "__main__":
    main()
