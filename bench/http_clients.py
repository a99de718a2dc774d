"""Benchmark: rollcall's HTTP target against the openai SDK and a minimal aiohttp client.

    python bench/http_clients.py [--quick] [--ttft 0.02] [--tokens 32] [--server plain|sim]

Starts a streaming OpenAI-style server in a separate process on 127.0.0.1 (so its CPU is not
our event loop's), then runs each client in its own process against it, one after another:
completed streams per second at concurrency 1, 100 and 1000, and the error of the measured time
to first token against the TTFT the server was told to use (median and p99), plus the server's
own CPU time per stream. Prints a table and writes bench/results/http_clients.json.

Servers:
  plain   a minimal aiohttp handler, one write per token (the default: measures the clients)
  sim     rollcall's simulator (`rollcall sim`), a model answering after --ttft with --tokens
          tokens unpaced: measures the simulator's hot path too (its CPU ms/stream column)

Clients:
  rollcall           Runner -> run_probe -> OpenAITarget (full timing and classification), uvloop
  rollcall-asyncio   the same on asyncio's own event loop
  rollcall-wire      the same (uvloop) on rollcall.wire, load mode's HTTP client
  openai-sdk         openai.AsyncOpenAI streaming (httpx), asyncio loop
  minimal            aiohttp, reads SSE lines and json-parses them (vLLM benchmark style), asyncio loop
  minimal-uvloop     the same on uvloop
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CLIENTS = ("rollcall", "rollcall-asyncio", "rollcall-wire", "openai-sdk", "minimal", "minimal-uvloop")
PROMPT = [{"role": "user", "content": "Hello, are you GPT 3.5?"}]


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- the server (its own process) ----------------------------------------------------------

def serve(ttft_s: float, tokens: int) -> None:
    """Stream `tokens` content chunks after sleeping `ttft_s`, then finish, usage and [DONE]."""
    import uvloop
    from aiohttp import web

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        doc = {"id": "b", "object": "chat.completion.chunk", "created": 0, "model": "sim",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + json.dumps(doc, separators=(",", ":")).encode() + b"\n\n"

    first = chunk({"role": "assistant", "content": "tok0 "})
    rest = [chunk({"content": f"tok{i} "}) for i in range(1, tokens)]
    usage = {"id": "b", "object": "chat.completion.chunk", "created": 0, "model": "sim", "choices": [],
             "usage": {"prompt_tokens": 7, "completion_tokens": tokens, "total_tokens": tokens + 7}}
    tail = chunk({}, "stop") + b"data: " + json.dumps(usage).encode() + b"\n\ndata: [DONE]\n\n"

    async def chat(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)  # headers at once, as vLLM and OpenAI send them
        await asyncio.sleep(ttft_s)
        await response.write(first)
        for part in rest:  # one write per token, as a real token-by-token server does
            await response.write(part)
        await response.write(tail)
        await response.write_eof()
        return response

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
        await site.start()
        print(f"PORT {runner.addresses[0][1]}", flush=True)
        await asyncio.Event().wait()

    _raise_fd_limit()
    uvloop.run(main())


def serve_sim(ttft_s: float, tokens: int) -> None:
    """rollcall's simulator with one model, `sim`, answering as the plain server does."""
    from rollcall.app import new_event_loop
    from rollcall.sim import Behaviour, Fleet, SimServer

    async def main() -> None:
        fleet = Fleet({"sim": Behaviour(ttft_s=ttft_s, tokens_per_s=0, answer_tokens=tokens)})
        server = SimServer(fleet)
        await server.start()
        print(f"PORT {server.port}", flush=True)
        await asyncio.Event().wait()

    _raise_fd_limit()
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(main())


SERVERS = {"plain": serve, "sim": serve_sim}


def _process_cpu_s(pid: int) -> float | None:
    """CPU seconds a process has used so far (Linux /proc), None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the clients (each in its own process) -------------------------------------------------

WARMUP = 5  # untimed requests first, so one-off costs (lazy imports, first connection) are not counted


def _cpu_s() -> float:
    # CPU time is the figure a busy machine disturbs least: throughput shares the cores with
    # whatever else runs, CPU per stream mostly does not.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _measure(fn: Any, requests: int, concurrency: int) -> dict[str, Any]:
    """Run `requests` calls of fn() -> ttft_s|None with `concurrency` workers; time the whole."""
    from rollcall.timing import LagMonitor

    for _ in range(WARMUP):
        await fn()

    ttfts: list[float] = []
    errors: list[str] = []
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            try:
                ttft = await fn()
            except Exception as exc:  # noqa: BLE001 - a benchmark counts failures, it does not stop
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
            else:
                if ttft is None:
                    errors.append("no content")
                else:
                    ttfts.append(ttft)

    lag = LagMonitor()
    lag.start()
    cpu = _cpu_s()
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - start
    cpu = _cpu_s() - cpu
    return {"ttfts": ttfts, "errors": errors, "wall_s": wall, "cpu_s": cpu, "loop_lag_max_s": await lag.stop()}


async def run_rollcall_wire(url: str, requests: int, concurrency: int) -> dict[str, Any]:
    return await run_rollcall(url, requests, concurrency, client="wire")


async def run_rollcall(url: str, requests: int, concurrency: int, client: str = "aiohttp") -> dict[str, Any]:
    from rollcall.probe import run_probe
    from rollcall.runner import Runner
    from rollcall.settings import ProbeSettings
    from rollcall.targets.base import ProbeRequest
    from rollcall.targets.openai import OpenAITarget

    from rollcall.wire import make_client

    client = make_client(client, concurrency)
    # One target per concurrent slot, repeats in series: the Runner keeps `concurrency` probes in
    # flight, each through run_probe with its full timing and classification.
    targets = [OpenAITarget(f"t{i}", url, models=("sim",), client=client) for i in range(concurrency)]
    for _ in range(WARMUP):
        await run_probe(targets[0], ProbeRequest(model="sim"), timeout_s=120)
    runner = Runner(targets, settings=ProbeSettings(timeout_s=120, concurrency=concurrency,
                                                    repeat=requests // concurrency))
    cpu = _cpu_s()
    run = await runner.run()
    cpu = _cpu_s() - cpu
    ttfts = [r.ttft_s for r in run.results if r.ok and r.ttft_s is not None]
    errors = [f"{r.error_kind}: {r.error}" for r in run.results if not r.ok]
    return {"ttfts": ttfts, "errors": errors, "wall_s": run.wall_s, "cpu_s": cpu,
            "loop_lag_max_s": run.loop_lag_max_s, "measurements_reliable": run.measurements_reliable}


async def run_openai_sdk(url: str, requests: int, concurrency: int) -> dict[str, Any]:
    import openai

    try:  # recent openai releases ship their own httpx fork
        import httpx2 as httpx
    except ImportError:
        import httpx

    http = openai.DefaultAsyncHttpxClient(
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        timeout=httpx.Timeout(120),
    )
    client = openai.AsyncOpenAI(base_url=url, api_key="bench", max_retries=0, http_client=http)

    async def one() -> float | None:
        start = time.perf_counter()
        ttft = None
        stream = await client.chat.completions.create(
            model="sim", messages=PROMPT, stream=True, stream_options={"include_usage": True}  # type: ignore[arg-type]
        )
        async for part in stream:
            if ttft is None and part.choices and part.choices[0].delta.content:
                ttft = time.perf_counter() - start
        return ttft

    try:
        return await _measure(one, requests, concurrency)
    finally:
        await client.close()


async def run_minimal(url: str, requests: int, concurrency: int) -> dict[str, Any]:
    import aiohttp

    payload = {"model": "sim", "messages": PROMPT, "stream": True, "stream_options": {"include_usage": True}}
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency),
                                    timeout=aiohttp.ClientTimeout(total=120))

    async def one() -> float | None:
        start = time.perf_counter()
        ttft = None
        text = ""
        async with session.post(f"{url}/chat/completions", json=payload) as response:
            response.raise_for_status()
            async for line in response.content:  # line by line, as vLLM's benchmark reads
                line = line.strip()
                if not line:
                    continue
                data = line.removeprefix(b"data: ").decode()
                if data == "[DONE]":
                    break
                doc = json.loads(data)
                if doc["choices"] and doc["choices"][0]["delta"].get("content"):
                    if ttft is None:
                        ttft = time.perf_counter() - start
                    text += doc["choices"][0]["delta"]["content"]
        return ttft

    try:
        return await _measure(one, requests, concurrency)
    finally:
        await session.close()


RUNNERS = {
    "rollcall": (run_rollcall, True),
    "rollcall-asyncio": (run_rollcall, False),
    "rollcall-wire": (run_rollcall_wire, True),
    "openai-sdk": (run_openai_sdk, False),
    "minimal": (run_minimal, False),
    "minimal-uvloop": (run_minimal, True),
}


def worker(name: str, url: str, requests: int, concurrency: int, result: Path) -> None:
    _raise_fd_limit()
    fn, use_uvloop = RUNNERS[name]
    if use_uvloop:
        from rollcall.app import new_event_loop

        factory = new_event_loop
    else:
        factory = asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        out = runner.run(fn(url, requests, concurrency))
    # To a file, not stdout: under heavy load the JSON (thousands of TTFTs) came back cut at
    # 128 KiB through the pipe, a short write lost somewhere between the event loop and print.
    result.write_text(json.dumps(out))


# --- the orchestrator ----------------------------------------------------------------------

def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1000:.1f}"


def summarise(raw: dict[str, Any], ttft_s: float, requests: int) -> dict[str, Any]:
    errs = sorted(t - ttft_s for t in raw["ttfts"])
    p99 = errs[min(len(errs) - 1, round(0.99 * (len(errs) - 1)))] if errs else None
    completed = len(raw["ttfts"])
    return {
        "requests": requests,
        "completed": completed,
        "failed": len(raw["errors"]),
        "first_errors": sorted(set(raw["errors"]))[:3],
        "wall_s": raw["wall_s"],
        "streams_per_s": completed / raw["wall_s"] if raw["wall_s"] else 0.0,
        "cpu_ms_per_stream": 1000 * raw["cpu_s"] / completed if completed else None,
        "ttft_error_median_s": statistics.median(errs) if errs else None,
        "ttft_error_p99_s": p99,
        "loop_lag_max_s": raw.get("loop_lag_max_s"),
        "measurements_reliable": raw.get("measurements_reliable"),
        "server_cpu_ms_per_stream": (1000 * raw["server_cpu_s"] / completed
                                     if completed and raw.get("server_cpu_s") is not None else None),
    }


def combine(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One row from several rounds of the same (client, concurrency): medians, and every round kept."""
    def med(key: str) -> float | None:
        values = [r[key] for r in rounds if r[key] is not None]
        return statistics.median(values) if values else None

    row = {k: rounds[0][k] for k in ("client", "concurrency", "requests")}
    for key in ("streams_per_s", "cpu_ms_per_stream", "ttft_error_median_s", "ttft_error_p99_s", "loop_lag_max_s",
                "server_cpu_ms_per_stream"):
        row[key] = med(key)
    row["completed"] = sum(r["completed"] for r in rounds)
    row["failed"] = sum(r["failed"] for r in rounds)
    row["rounds"] = rounds
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run, about a minute)")
    parser.add_argument("--ttft", type=float, default=0.02, help="server's time to first token, seconds")
    parser.add_argument("--tokens", type=int, default=32, help="content chunks per stream")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--rounds", type=int, default=1, help="repeat every measurement; the table shows medians")
    parser.add_argument("--clients", nargs="+", choices=CLIENTS, default=list(CLIENTS))
    parser.add_argument("--server", choices=tuple(SERVERS), default="plain",
                        help="plain: a minimal aiohttp server; sim: rollcall's simulator")
    parser.add_argument("--out", type=Path, default=None,
                        help="default bench/results/http_clients.json (http_clients_sim.json with --server sim)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve:
        SERVERS[args.server](args.ttft, args.tokens)
        return 0
    if args.worker:
        worker(args.worker, args.url, args.requests, args.concurrency[0], args.result)
        return 0

    def request_count(c: int, client: str) -> int:
        # Bounded runs: several waves of `c` streams, enough for a stable median. The SDK gets
        # fewer (it manages ~50 streams/s here), else one of its runs would take minutes.
        if client == "openai-sdk":
            base = {1: 40, 100: 1000, 1000: 2000} if not args.quick else {1: 15, 100: 300, 1000: 1000}
        else:
            base = {1: 40, 100: 3000, 1000: 8000} if not args.quick else {1: 15, 100: 600, 1000: 2000}
        n = base.get(c, max(20 * c, 40) if not args.quick else max(5 * c, 15))
        return max(c, n - n % c)

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--server", args.server, "--ttft", str(args.ttft),
         "--tokens", str(args.tokens)],
        stdout=subprocess.PIPE, text=True,
    )
    raw_rows: dict[tuple[str, int], list[dict[str, Any]]] = {}
    try:
        line = server.stdout.readline() if server.stdout else ""
        if not line.startswith("PORT "):
            print("bench: the server did not start", file=sys.stderr)
            return 1
        url = f"http://127.0.0.1:{int(line.split()[1])}/v1"
        print(f"server: {args.server} {url}  ttft {args.ttft * 1000:g} ms  {args.tokens} tokens/stream  cpus {os.cpu_count()}",
              file=sys.stderr)
        # Rounds interleave the clients, so a burst of load from elsewhere hits all of them alike.
        for round_no in range(1, args.rounds + 1):
            for c in args.concurrency:
                for name in args.clients:
                    n = request_count(c, name)
                    server_cpu = _process_cpu_s(server.pid)
                    with tempfile.TemporaryDirectory(prefix="rollcall-bench-") as tmp:
                        result = Path(tmp) / "result.json"
                        proc = subprocess.run(
                            [sys.executable, __file__, "--worker", name, "--url", url, "--requests", str(n),
                             "--concurrency", str(c), "--result", str(result)],
                            capture_output=True, text=True, timeout=900,
                        )
                        if proc.returncode != 0 or not result.exists():
                            print(f"bench: {name} at {c} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
                            continue
                        out = json.loads(result.read_text())
                    server_after = _process_cpu_s(server.pid)
                    # Includes the client's warm-up requests: a few out of thousands.
                    out["server_cpu_s"] = (server_after - server_cpu
                                           if server_cpu is not None and server_after is not None else None)
                    row = {"client": name, "concurrency": c, **summarise(out, args.ttft, n)}
                    raw_rows.setdefault((name, c), []).append(row)
                    print(f"  round {round_no} c={c:<5} {name:<17} {row['streams_per_s']:7.0f} streams/s "
                          f"{row['cpu_ms_per_stream'] or 0:6.2f} cpu ms/stream  ttft err p50 "
                          f"{_ms(row['ttft_error_median_s'])} ms p99 {_ms(row['ttft_error_p99_s'])} ms  "
                          f"server {row['server_cpu_ms_per_stream'] or 0:.2f} cpu ms/stream  "
                          f"failed {row['failed']}", file=sys.stderr)
    finally:
        server.terminate()
        server.wait(10)

    results = [combine(rounds) for rounds in raw_rows.values()]
    results.sort(key=lambda r: (r["concurrency"], CLIENTS.index(r["client"])))
    header = (f"{'client':<17} {'conc':>5} {'streams/s':>10} {'cpu ms/stream':>14} {'ttft err p50 ms':>16} "
              f"{'p99 ms':>8} {'loop lag ms':>12} {'server cpu ms':>14} {'failed':>7}")
    print(f"median of {args.rounds} round(s); {args.server} server, ttft {args.ttft * 1000:g} ms, {args.tokens} tokens per stream")
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r['client']:<17} {r['concurrency']:>5} {r['streams_per_s']:>10.0f} {r['cpu_ms_per_stream']:>14.2f} "
              f"{_ms(r['ttft_error_median_s']):>16} {_ms(r['ttft_error_p99_s']):>8} {_ms(r['loop_lag_max_s']):>12} "
              f"{r['server_cpu_ms_per_stream'] or 0:>14.2f} {r['failed']:>7}")
    doc = {
        "benchmark": "http_clients",
        "settings": {"server": args.server, "ttft_s": args.ttft, "tokens": args.tokens, "quick": args.quick, "rounds": args.rounds,
                     "cpus": os.cpu_count(), "python": sys.version.split()[0],
                     "load_average_at_end": os.getloadavg()},
        "results": results,
    }
    out = args.out or HERE / "results" / ("http_clients_sim.json" if args.server == "sim" else "http_clients.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
