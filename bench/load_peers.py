"""Benchmark: `rollcall load` beside NVIDIA AIPerf, GuideLLM, a minimal aiohttp client and a raw
asyncio client, in one run, against the same two servers.

    python bench/load_peers.py [--peers VENV] [--concurrency 100,500] [--rounds 1] [--quick]

Servers (started here on free loopback ports, stopped by PID):
  nginx  Debian's nginx, one worker, `return 200` of a fixed 20-token SSE answer (with usage and
         [DONE]) from a generated config: what a client costs when the server costs nothing
  sim    rollcall's simulator in --sim-workers processes on one port, one model answering after
         exactly 100 ms with 20 tokens at 50/s (no jitter): the truth is known per request
         (X-Sim-TTFT; ITL 20 ms), so every client's TTFT and ITL error can be read against it

Clients, each in its own process, one after another (CPU from wait4: the process and every
process it started and reaped):
  rollcall     rollcall load --concurrency C (worker processes: the machine's cores)
  rollcall-1   rollcall load --workers 1 (one process, one event loop)
  aiohttp      minimal aiohttp client: SSE lines json-parsed, stamped per line (vLLM's way)
  raw          raw asyncio client: an asyncio.Protocol per connection, HTTP/1.1 keep-alive,
               chunked decoding and SSE events found by byte search, stamped per read
  aiperf       NVIDIA AIPerf (`aiperf profile`), its own options: --concurrency, --request-count,
               --warmup-request-count, --streaming, a local tokenizer (built here, offline)
  guidellm     GuideLLM (`guidellm run`): --profile kind=concurrent, --constraint
               kind=max_requests, synthetic data with the same local tokenizer

AIPerf and GuideLLM are never rollcall dependencies: install them into a venv of their own
(bench/README.md says how) and pass it with --peers; without it their rows are skipped.

Columns: streams/s (completed streams per second over the measured window, as each tool
reports it); CPU ms/stream (the client's whole CPU, start-up excluded: a run of C requests is
subtracted from the run of N); TTFT and ITL error against the simulator's truth (median and
p99 of measured minus true; ITL as each tool defines it, see the notes). Writes
bench/results/load_peers.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SIM_TTFT_S = 0.1
SIM_TPS = 50.0
SIM_TOKENS = 20
STATIC_TOKENS = 20
MODEL = "paced"
PROMPT = "Hello, are you GPT 3.5?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _raise_fd_limit() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ---- servers ---------------------------------------------------------------------------------

def static_body(tokens: int = STATIC_TOKENS) -> str:
    def chunk(delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> str:
        doc: dict[str, Any] = {"id": "static", "object": "chat.completion.chunk", "created": 0, "model": "static",
                               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if usage:
            doc["usage"] = usage
        return "data: " + json.dumps(doc, separators=(",", ":")) + "\n\n"

    body = "".join(chunk({"content": f" w{i}"}) for i in range(tokens))
    body += chunk({}, "stop", {"prompt_tokens": 8, "completion_tokens": tokens, "total_tokens": 8 + tokens})
    return body + "data: [DONE]\n\n"


class Nginx:
    """Debian's nginx on a free loopback port, one worker, a generated config; stopped by PID."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary, self.dir = binary, workdir
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        body = static_body()
        assert "'" not in body and "$" not in body and "\\" not in body  # nginx string literal, no variables
        d = self.dir
        for sub in ("body", "proxy", "fcgi", "uwsgi", "scgi"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        (d / "nginx.conf").write_text(f"""
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 16384; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  server {{
    listen 127.0.0.1:{self.port} backlog=4096;
    location / {{
      default_type text/event-stream;
      return 200 '{body}';
    }}
  }}
}}
""")
        self.process = subprocess.Popen([self.binary, "-c", str(d / "nginx.conf"), "-p", str(d)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not start: {(d / 'error.log').read_text()[-500:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: the master stops its worker
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


# ---- the two hand-written clients (run as: load_peers.py --client raw|aiohttp ...) ------------

def _summary(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "n": 0}
    ordered = sorted(values)

    def q(p: float) -> float:
        k = (len(ordered) - 1) * p
        lo = int(k)
        hi = min(lo + 1, len(ordered) - 1)
        return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)

    return {"p50": q(0.5), "p99": q(0.99), "n": len(ordered)}


class _Stream:
    """One request's stamps, filled by a client."""

    __slots__ = ("sent", "first", "last", "gaps", "truth", "ok", "end")

    def __init__(self, sent: float) -> None:
        self.sent, self.first, self.last, self.end = sent, None, None, None
        self.gaps: list[float] = []
        self.truth: float | None = None
        self.ok = False

    def content(self, at: float) -> None:
        if self.first is None:
            self.first = at
        else:
            self.gaps.append(at - self.last)  # type: ignore[operator]
        self.last = at


def _report(streams: list[_Stream], warmup: int, out: str) -> None:
    measured = streams[warmup:]
    ok = [s for s in measured if s.ok and s.first is not None]
    start = min(s.sent for s in measured)
    end = max(s.end for s in measured if s.end is not None)
    truth = [s.truth for s in ok if s.truth is not None]
    doc = {
        "ok": len(ok), "failed": len(measured) - len(ok),
        "streams_per_s": len(ok) / (end - start) if end > start else 0.0,
        "ttft_s": _summary([s.first - s.sent for s in ok]),  # type: ignore[operator]
        "ttft_error_s": _summary([s.first - s.sent - s.truth  # type: ignore[operator]
                                  for s in ok if s.truth is not None]),
        "itl_s": _summary([g for s in ok for g in s.gaps]),
        "truth_ttft_s": sorted(set(truth))[:5],
    }
    Path(out).write_text(json.dumps(doc))


class _RawConnection(asyncio.Protocol):
    """HTTP/1.1 keep-alive on one socket: a request, its response parsed as bytes arrive."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.done: asyncio.Future[None] | None = None
        self.stream: _Stream | None = None
        self.state = "head"
        self.remaining = 0  # content-length left, or the current chunk's bytes left
        self.chunked = False
        self.sse = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError("closed"))

    def send(self, request: bytes, stream: _Stream) -> asyncio.Future[None]:
        self.stream, self.state, self.sse = stream, "head", bytearray()
        self.done = asyncio.get_running_loop().create_future()
        assert self.transport is not None
        self.transport.write(request)
        return self.done

    def data_received(self, data: bytes) -> None:
        at = time.perf_counter()
        self.buffer += data
        if self.state == "head":
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            del self.buffer[:end + 4]
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
            assert self.stream is not None
            self.stream.ok = head[0].split(" ")[1] == "200"
            truth = headers.get("x-sim-ttft")
            self.stream.truth = float(truth) if truth else None
            self.chunked = headers.get("transfer-encoding", "").lower() == "chunked"
            self.remaining = int(headers.get("content-length", "0"))
            self.state = "size" if self.chunked else "body"
        self._body(at)

    def _body(self, at: float) -> None:
        buf = self.buffer
        while True:
            if self.state == "body":  # content-length
                take = min(self.remaining, len(buf))
                self._sse(bytes(buf[:take]), at)
                del buf[:take]
                self.remaining -= take
                if self.remaining == 0:
                    self._finish(at)
                return
            if self.state == "size":
                end = buf.find(b"\r\n")
                if end < 0:
                    return
                self.remaining = int(bytes(buf[:end]).split(b";")[0], 16)
                del buf[:end + 2]
                self.state = "chunk" if self.remaining else "trailer"
            elif self.state == "chunk":
                take = min(self.remaining, len(buf))
                if not take:
                    return
                self._sse(bytes(buf[:take]), at)
                del buf[:take]
                self.remaining -= take
                if self.remaining == 0:
                    self.state = "crlf"
            elif self.state == "crlf":
                if len(buf) < 2:
                    return
                del buf[:2]
                self.state = "size"
            elif self.state == "trailer":
                if len(buf) < 2:
                    return
                del buf[:2]
                self._finish(at)
                return
            else:
                return

    def _sse(self, data: bytes, at: float) -> None:
        self.sse += data
        while (end := self.sse.find(b"\n\n")) >= 0:
            event = bytes(self.sse[:end])
            del self.sse[:end + 2]
            content = b'"content":"' in event and b'"content":""' not in event
            if content and event.startswith(b"data: "):
                assert self.stream is not None
                self.stream.content(at)

    def _finish(self, at: float) -> None:
        self.state = "idle"
        assert self.stream is not None and self.done is not None
        self.stream.end = at
        if not self.done.done():
            self.done.set_result(None)


async def _raw_main(url: str, model: str, concurrency: int, requests: int, warmup: int, out: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    body = json.dumps({"model": model, "stream": True, "messages": [{"role": "user", "content": PROMPT}]}).encode()
    request = (f"POST {parts.path}/chat/completions HTTP/1.1\r\nHost: {parts.netloc}\r\n"
               f"Content-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: {len(body)}\r\n\r\n"
               ).encode() + body
    loop = asyncio.get_running_loop()
    total = requests + warmup
    streams: list[_Stream] = []
    counter = iter(range(total))

    async def user() -> None:
        _, conn = await loop.create_connection(_RawConnection, parts.hostname, parts.port)
        for _ in counter:
            stream = _Stream(time.perf_counter())
            streams.append(stream)
            try:
                await conn.send(request, stream)
            except ConnectionError:
                stream.ok = False
                stream.end = time.perf_counter()
                _, conn = await loop.create_connection(_RawConnection, parts.hostname, parts.port)
        assert conn.transport is not None
        conn.transport.close()

    await asyncio.gather(*(user() for _ in range(concurrency)))
    _report(streams, warmup, out)


async def _aiohttp_main(url: str, model: str, concurrency: int, requests: int, warmup: int, out: str) -> None:
    import aiohttp

    payload = {"model": model, "stream": True, "messages": [{"role": "user", "content": PROMPT}]}
    total = requests + warmup
    streams: list[_Stream] = []
    counter = iter(range(total))
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as session:
        async def user() -> None:
            for _ in counter:
                stream = _Stream(time.perf_counter())
                streams.append(stream)
                try:
                    async with session.post(url + "/chat/completions", json=payload) as response:
                        truth = response.headers.get("X-Sim-TTFT")
                        stream.truth = float(truth) if truth else None
                        stream.ok = response.status == 200
                        async for line in response.content:
                            at = time.perf_counter()
                            line = line.strip()
                            if not line.startswith(b"data: ") or line == b"data: [DONE]":
                                continue
                            data = json.loads(line[6:])
                            choices = data.get("choices") or [{}]
                            if choices[0].get("delta", {}).get("content"):
                                stream.content(at)
                except aiohttp.ClientError:
                    stream.ok = False
                stream.end = time.perf_counter()

        await asyncio.gather(*(user() for _ in range(concurrency)))
    _report(streams, warmup, out)


# ---- running a client and reading what it measured -----------------------------------------

def run_measured(argv: list[str], *, env: dict[str, str], timeout_s: float, log: Path) -> tuple[int, float, float]:
    """(exit code, CPU seconds of the process and every process it reaped, wall seconds)."""
    with open(log, "wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        timer = threading.Timer(timeout_s, process.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        return process.returncode, usage.ru_utime + usage.ru_stime, time.perf_counter() - start


class Client:
    name = ""
    peer = False  # needs the peers venv
    slow = False  # gets fewer requests (its own throughput is low)

    def argv(self, ctx: dict[str, Any], url: str, c: int, n: int, w: int, out: Path) -> list[str]:
        raise NotImplementedError

    def read(self, out: Path) -> dict[str, Any]:
        raise NotImplementedError


class Rollcall(Client):
    def __init__(self, name: str, workers: int | None, http: str = "wire") -> None:
        self.name, self.workers, self.http = name, workers, http

    def argv(self, ctx, url, c, n, w, out):
        extra = ["--workers", str(self.workers)] if self.workers else []
        return [sys.executable, "-m", "rollcall", "load", url, "--kind", "openai", "-m", ctx["model"],
                "--concurrency", str(c), "-n", str(n), "--warmup", str(w), "--no-store", "-q",
                "--client", self.http, "--json", str(out / "doc.json"), *extra]

    def read(self, out):
        stage = json.loads((out / "doc.json").read_text())["stages"][0]
        return {"ok": stage["ok"], "failed": stage["failed"], "streams_per_s": stage["requests_per_s"],
                "ttft_s": stage["ttft_s"], "itl_s": stage["itl_s"], "client_bound": stage["client_bound"],
                "loop_lag_max_s": stage["loop_lag_max_s"], "max_in_flight": stage["max_in_flight"],
                "in_stage_cpu_ms_per_request": stage["client_cpu_per_request_ms"]}


class HandWritten(Client):
    def __init__(self, name: str) -> None:
        self.name = name

    def argv(self, ctx, url, c, n, w, out):
        return [sys.executable, str(Path(__file__).resolve()), "--client", self.name, "--url", url, "--model",
                ctx["model"], "--concurrency", str(c), "--requests", str(n), "--warmup", str(w),
                "--out", str(out / "result.json")]

    def read(self, out):
        return json.loads((out / "result.json").read_text())


class AIPerf(Client):
    name, peer, slow = "aiperf", True, True

    def argv(self, ctx, url, c, n, w, out):
        return [str(ctx["peers"] / "bin" / "aiperf"), "profile", "-m", ctx["model"], "--url", url.removesuffix("/v1"),
                "--endpoint-type", "chat", "--streaming", "--concurrency", str(c), "--request-count", str(n),
                *(["--warmup-request-count", str(w)] if w else []), "--tokenizer", str(ctx["tokenizer"]),
                "--ui", "none", "--no-server-metrics", "--use-server-token-count", "--random-seed", "1",
                "--isl", "16", "--osl", "20",
                "--output-artifact-dir", str(out / "aiperf")]

    def read(self, out):
        d = json.loads((out / "aiperf" / "profile_export_aiperf.json").read_text())
        ms = lambda m, p: None if d.get(m) is None else d[m].get(p) / 1000  # noqa: E731
        errors = d.get("error_request_count") or {}
        return {"ok": int(d["request_count"]["avg"]), "failed": int(errors.get("avg", 0) or 0),
                "streams_per_s": d["request_throughput"]["avg"],
                "ttft_s": {"p50": ms("time_to_first_token", "p50"), "p99": ms("time_to_first_token", "p99")},
                "itl_s": {"p50": ms("inter_token_latency", "p50"), "p99": ms("inter_token_latency", "p99")}}


class GuideLLM(Client):
    name, peer, slow = "guidellm", True, True

    def argv(self, ctx, url, c, n, w, out):
        backend = f"kind=openai_http,target={url.removesuffix('/v1')},model={ctx['model']}"
        return [str(ctx["peers"] / "bin" / "guidellm"), "run",
                "--backend", backend + ",validate_backend=false",  # it would GET /health first
                "--profile", f"kind=concurrent,streams={c}", "--constraint", f"kind=max_requests,count={n}",
                "--data", "kind=synthetic_text,prompt_tokens=16,output_tokens=20",
                "--tokenizer", f"kind=hf_auto,model={ctx['tokenizer']}",
                "--output", f"kind=json,path={out / 'guidellm.json'}", "--disable-console-interactive"]

    def read(self, out):
        b = json.loads((out / "guidellm.json").read_text())["benchmarks"][0]
        made = b["scheduler_metrics"]["requests_made"]
        window = b["scheduler_metrics"]["measure_end_time"] - b["scheduler_metrics"]["measure_start_time"]
        pct = lambda m, p: b["metrics"][m]["successful"]["percentiles"][p] / 1000  # noqa: E731
        return {"ok": made["successful"], "failed": made["errored"] + made["incomplete"],
                "streams_per_s": made["successful"] / window if window > 0 else 0.0,
                "ttft_s": {"p50": pct("time_to_first_token_ms", "p50"), "p99": pct("time_to_first_token_ms", "p99")},
                "itl_s": {"p50": pct("inter_token_latency_ms", "p50"), "p99": pct("inter_token_latency_ms", "p99")},
                "mean_in_flight": b["metrics"]["request_concurrency"]["successful"]["mean"]}


CLIENTS: list[Client] = [Rollcall("rollcall", None), Rollcall("rollcall-1", 1),
                         Rollcall("rollcall-aiohttp", None, "aiohttp"), Rollcall("rollcall-aiohttp-1", 1, "aiohttp"),
                         HandWritten("aiohttp"),
                         HandWritten("raw"), AIPerf(), GuideLLM()]

TOKENIZER_SCRIPT = r"""
import json, os, sys
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
out = sys.argv[1]
words = "the of and to in is was for on are as with his they at be this from have or by one had not".split()
corpus = [" ".join(words[i:] + words[:i]) for i in range(len(words))] + [" ".join(f"w{i}" for i in range(20))]
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
tok.train_from_iterator(corpus * 20, trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"],
                                                           initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
tok.save(os.path.join(out, "tokenizer.json"))
config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 1000000,
          "eos_token": "<|endoftext|>", "bos_token": "<|endoftext|>"}
json.dump(config, open(os.path.join(out, "tokenizer_config.json"), "w"))
json.dump({"model_type": "gpt2"}, open(os.path.join(out, "config.json"), "w"))
"""


def make_tokenizer(peers: Path, where: Path) -> Path:
    """A small byte-level BPE tokenizer on disk: AIPerf and GuideLLM need one and may not download."""
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(peers / "bin" / "python"), "-c", TOKENIZER_SCRIPT, str(where)], check=True,
                   capture_output=True)
    return where


def measure(client: Client, ctx: dict[str, Any], server: str, url: str, c: int, n: int, w: int,
            workdir: Path) -> dict[str, Any]:
    env = {**os.environ, "NO_COLOR": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}
    runs = {}
    for label, count, warm in (("small", c, 0), ("full", n, w)):  # the small run's CPU is start-up
        out = workdir / f"{server}-{client.name}-{c}-{label}"
        out.mkdir(parents=True)
        rc, cpu, wall = run_measured(client.argv(ctx, url, c, count, warm, out), env=env,
                                     timeout_s=max(120.0, count / 20), log=out / "log.txt")
        if rc != 0:
            tail = (out / "log.txt").read_text(errors="replace")[-600:]
            return {"server": server, "client": client.name, "concurrency": c, "error": f"exit {rc}: {tail}"}
        runs[label] = (count + warm, cpu, wall, out)
    total, cpu, wall, out = runs["full"]
    small_total, small_cpu, _, _ = runs["small"]
    result = client.read(out)
    result.update(server=server, client=client.name, concurrency=c, requests=n, warmup=w, wall_s=wall,
                  cpu_s=cpu, startup_cpu_s=small_cpu,
                  cpu_ms_per_stream=(cpu - small_cpu) / (total - small_total) * 1000,
                  cpu_ms_per_stream_whole=cpu / total * 1000)
    if server == "sim":
        for key, truth in (("ttft_s", SIM_TTFT_S), ("itl_s", 1 / SIM_TPS)):
            found = result.get(key) or {}
            result[key.replace("_s", "_error_ms")] = {p: None if found.get(p) is None else (found[p] - truth) * 1000
                                                      for p in ("p50", "p99")}
    return result


def table(results: list[dict[str, Any]]) -> str:
    fmt = lambda v, spec=",.0f": "-" if v is None else format(v, spec)  # noqa: E731
    lines = ["| server | client | conc. | streams/s | CPU ms/stream | TTFT err p50 | p99 | ITL err p50 | ok |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['server']} | {r['client']} | {r['concurrency']} | failed: "
                         f"{r['error'].splitlines()[0][:60]} | | | | | |")
            continue
        te, ie = r.get("ttft_error_ms") or {}, r.get("itl_error_ms") or {}
        cells = [r["server"], r["client"], r["concurrency"], fmt(r["streams_per_s"]),
                 fmt(r["cpu_ms_per_stream"], ".2f"), fmt(te.get("p50"), ".1f"), fmt(te.get("p99"), ".1f"),
                 fmt(ie.get("p50"), ".1f"),
                 f"{r['ok']}/{r['ok'] + r['failed']}"]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


ROUND_KEYS = ("streams_per_s", "cpu_ms_per_stream", "ttft_error_ms", "itl_error_ms")


def median_of(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One row from several rounds: the medians of what the table shows, every round kept."""
    good = [r for r in rounds if "error" not in r]
    if not good:
        return rounds[0]
    best = dict(good[len(good) // 2])
    best["rounds"] = [{k: r.get(k) for k in ROUND_KEYS} for r in good]
    return with_medians(best)


def with_medians(row: dict[str, Any]) -> dict[str, Any]:
    rounds = row.get("rounds") or []
    if not rounds:
        return row
    for key in ("streams_per_s", "cpu_ms_per_stream"):
        row[key] = statistics.median(r[key] for r in rounds)
    for key in ("ttft_error_ms", "itl_error_ms"):
        if rounds[0].get(key):
            row[key] = {p: statistics.median(r[key][p] for r in rounds) if all(r[key][p] is not None for r in rounds)
                        else None for p in ("p50", "p99")}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peers", type=Path, default=os.environ.get("ROLLCALL_BENCH_PEERS"),
                        help="venv with aiperf and guidellm installed (their rows are skipped without it)")
    parser.add_argument("--concurrency", default="100,500")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a fifth of the requests")
    parser.add_argument("--sim-workers", type=int, default=2)
    parser.add_argument("--clients", default=",".join(c.name for c in CLIENTS))
    parser.add_argument("--servers", default="nginx,sim")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "load_peers.json")
    parser.add_argument("--table", type=Path, metavar="JSON", help="print the table of a saved run and exit")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    _raise_fd_limit()
    if args.table:
        saved = json.loads(args.table.read_text())
        print(table([with_medians(r) for r in saved["results"]]))
        return
    if args.client:  # a hand-written client, in its own process
        c = int(args.concurrency)
        entry = _raw_main if args.client == "raw" else _aiohttp_main
        asyncio.run(entry(args.url, args.model, c, args.requests, args.warmup, args.out))
        return

    chosen = [c for c in CLIENTS if c.name in args.clients.split(",")]
    notes: list[str] = []
    if args.peers is None or not (Path(args.peers) / "bin" / "aiperf").exists():
        notes.append("aiperf and guidellm skipped: no --peers venv with them installed")
        chosen = [c for c in chosen if not c.peer]
    concurrencies = [int(v) for v in args.concurrency.split(",")]
    scale = 0.2 if args.quick else 1.0
    results: list[dict[str, Any]] = []
    from rollcall.sim import Behaviour, Fleet, run_sim_in_process

    with tempfile.TemporaryDirectory(prefix="rollcall-peers-") as tmp:
        work = Path(tmp)
        ctx: dict[str, Any] = {"peers": Path(args.peers) if args.peers else None}
        if any(c.peer for c in chosen):
            ctx["tokenizer"] = make_tokenizer(ctx["peers"], work / "tokenizer")
        servers = args.servers.split(",")
        nginx_binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
        if "nginx" in servers and nginx_binary is None:
            notes.append("nginx skipped: not installed (apt-get install nginx)")
            servers.remove("nginx")
        for server in servers:
            if server == "nginx":
                nginx = Nginx(nginx_binary, work / "nginx")  # type: ignore[arg-type]
                nginx.start()
                url, ctx["model"], stop = nginx.url, "static", nginx.stop
                counts = {100: 20000, 500: 20000}
            else:
                fleet = Fleet({MODEL: Behaviour(ttft_s=SIM_TTFT_S, tokens_per_s=SIM_TPS, answer_tokens=SIM_TOKENS)})
                manager = run_sim_in_process(fleet, seed=1, workers=args.sim_workers)
                url, ctx["model"], stop = manager.__enter__(), MODEL, lambda m=manager: m.__exit__(None, None, None)
                counts = {100: 2000, 500: 5000}
            try:
                for c in concurrencies:
                    for client in chosen:
                        n = int(counts.get(c, 10 * c) * scale * (0.25 if client.slow and server == "nginx" else 1))
                        n = max(n, 2 * c)
                        w = c if server == "sim" else min(c, n // 10)
                        rounds = []
                        for r in range(args.rounds):
                            print(f"{server} {client.name} c={c} n={n} round {r + 1}", file=sys.stderr, flush=True)
                            rounds.append(measure(client, ctx, server, url, c, n, w, work / f"r{r}"))
                        results.append(median_of(rounds))
            finally:
                stop()
    print(table(results))
    for note in notes:
        print(f"note: {note}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "load_peers", "load_average": os.getloadavg(), "cores": os.cpu_count(), "rounds": args.rounds,
        "sim": {"ttft_s": SIM_TTFT_S, "tokens_per_s": SIM_TPS, "tokens": SIM_TOKENS, "workers": args.sim_workers},
        "static_tokens": STATIC_TOKENS, "notes": notes, "results": results,
    }, indent=1))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
