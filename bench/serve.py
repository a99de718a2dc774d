"""Benchmark: `rollcall serve` over a big history: 1,000,000 stored results over 200 targets
(30 days of rounds, as watchers write them), SQLite or PostgreSQL.

    python bench/serve.py [--results 1000000] [--targets 200] [--requests 200] [--store PATH|postgresql://...]

The history is written the way `rollcall watch` writes it (the real ledger: states, incidents,
rollups; 5-minute rollups older than two days pruned as the watcher prunes them), 25 rounds per
transaction. Then a server on loopback (its own thread and loop, as under `watch --listen`) is
asked each endpoint --requests times over one keep-alive connection, one request at a time;
p50/p95/max are wall times per request as the client sees them. Also measured: the snapshot
rebuild (what the server does in the background after each round, never on a request's path)
and how long a new round takes to show in /api/v1/targets. Prints a table and writes
bench/results/serve[-postgresql].json.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import http.client
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rollcall.models import ErrorKind, ProbeResult, RunResult
from rollcall.serve.app import ServeOptions, serve_in_thread
from rollcall.serve.auth import Listen
from rollcall.serve.snapshot import build
from rollcall.store import open_store, watchdb
from rollcall.store.queries import iso
from rollcall.watch.ledger import Ledger
from rollcall.watch.rollups import RETAIN_S

HERE = Path(__file__).resolve().parent
BATCH = 25
KINDS = [ErrorKind.TIMEOUT, ErrorKind.RATE_LIMIT, ErrorKind.HTTP_STATUS, ErrorKind.CONNECT]


def _result(rng: random.Random, target: str, at: str, fail_rate: float) -> ProbeResult:
    if rng.random() < fail_rate:
        kind = rng.choice(KINDS)
        return ProbeResult(target=target, kind="openai", model="m", ok=False, error_kind=kind,
                           error=f"{kind.value}: simulated failure", total_s=rng.uniform(0.01, 5), started_at=at)
    ttft = rng.lognormvariate(-1.0, 0.6)
    return ProbeResult(target=target, kind="openai", model="m", ok=True, ttft_s=ttft, total_s=ttft + rng.uniform(0.2, 3),
                       text="Hello! " * 20, output_chars=140, output_tokens=40, started_at=at, status=200)


def fill(location: str, results: int, targets: int, sites: int = 2) -> dict[str, Any]:
    """Write `results` results over `targets` targets x `sites` sites, rounds spread over 30 days."""
    rng = random.Random(7)
    per_site = targets // sites
    rounds = results // per_site // sites
    now = _dt.datetime.now(_dt.timezone.utc)
    start = now - _dt.timedelta(days=30)
    every = (now - start) / rounds
    names = [f"t{i:03d}" for i in range(targets)]
    flaky = {n: (0.3 if i % 10 == 0 else 0.02) for i, n in enumerate(names)}
    started = time.perf_counter()
    with open_store(location) as store:
        for s in range(sites):
            site = f"site-{s}"
            mine = names[s * per_site:(s + 1) * per_site]
            ledger = Ledger(site)
            batch: list[Any] = []
            for number in range(1, rounds + 1):
                at = iso(start + every * (number - 1))
                run = RunResult(id=f"s{s}r{number:06d}", started_at=at, ended_at=at, wall_s=3.0, prompt="Hello?",
                                results=tuple(_result(rng, t, at, flaky[t]) for t in mine),
                                settings={"watch": {"round": number}})
                batch.append((ledger.apply(run, number), []))
                if len(batch) == BATCH or number == rounds:
                    watchdb.write_rounds(store, batch)
                    batch = []
                    fine_before = iso(_dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
                                      - _dt.timedelta(seconds=RETAIN_S["5m"]))
                    watchdb.prune(store, before="", fine_before=fine_before)
        count = store.query("SELECT COUNT(*) FROM results")[0][0]
        rollups = store.query("SELECT COUNT(*) FROM rollups")[0][0]
        incidents = store.query("SELECT COUNT(*) FROM incidents")[0][0]
    return {"results": int(count), "rollup_rows": int(rollups), "incidents": int(incidents), "rounds": rounds * sites,
            "write_s": round(time.perf_counter() - started, 1)}


def held(location: str) -> dict[str, Any] | None:
    """What a store given with --store already holds (it is measured as it is), or None if empty."""
    if "://" not in location and not Path(location).exists():
        return None
    with open_store(location) as store:
        count = int(store.query("SELECT COUNT(*) FROM results")[0][0])
        if not count:
            return None
        return {"results": count, "rollup_rows": int(store.query("SELECT COUNT(*) FROM rollups")[0][0]),
                "incidents": int(store.query("SELECT COUNT(*) FROM incidents")[0][0]),
                "rounds": int(store.query("SELECT COUNT(*) FROM runs")[0][0]), "reused": True}


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2), "n": len(ordered)}


def measure(url: str, paths: dict[str, str], requests: int) -> dict[str, Any]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    out = {}
    for name, path in paths.items():
        samples = []
        size = 0
        for i in range(requests + 3):
            t0 = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            elapsed = time.perf_counter() - t0
            if response.status != 200:
                raise SystemExit(f"{path}: HTTP {response.status}: {body[:200]!r}")
            if i >= 3:  # the first few warm the caches, as any running server's are
                samples.append(elapsed)
            size = len(body)
        out[name] = {"path": path, "bytes": size, **_percentiles(samples)}
    conn.close()
    return out


def first_after_change(server: Any, paths: dict[str, str], times: int = 10) -> dict[str, Any]:
    """The first request after each new snapshot (its document or metrics text not cached yet)."""
    import asyncio

    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    out = {}
    for name, path in paths.items():
        samples = []
        for _ in range(times):
            asyncio.run_coroutine_threadsafe(server.source.refresh(force=True), server.source._loop).result(60)
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
            t0 = time.perf_counter()
            conn.request("GET", path)
            conn.getresponse().read()
            samples.append(time.perf_counter() - t0)
            conn.close()
        out[name] = _percentiles(samples)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=int, default=1_000_000)
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--store", help="a SQLite path or a postgresql:// URL (kept; one that holds results is "
                                        "measured as it is)")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="rollcall-bench-serve-")
    location = args.store or os.path.join(tmp, "history.sqlite3")
    backend = "postgresql" if "://" in location else "sqlite"
    console = Console(stderr=True)
    filled = held(location) if args.store else None
    if not filled:
        with console.status(f"writing {args.results:,} results into {backend}…"):
            filled = fill(location, args.results, args.targets)
    console.print(f"history: {filled}")
    with open_store(location) as store:
        builds = []
        for version in range(1, 6):
            t0 = time.perf_counter()
            snap = build(store, version)
            builds.append(time.perf_counter() - t0)
        target = snap.rows[len(snap.rows) // 2].target
    paths = {
        "overview page": "/",
        "overview data (/api/v1/targets)": "/api/v1/targets",
        "/api/v1/status": "/api/v1/status",
        "/metrics": "/metrics",
        "badge": f"/badge/{target}.svg",
        "target page": f"/targets/{target}/m",
        "target history, 30 days": f"/api/v1/targets/{target}/m/history?since=30d",
        "target history, 24 h": f"/api/v1/targets/{target}/m/history?since=24h",
        "target results (50)": f"/api/v1/targets/{target}/m/results?limit=50",
        "target incidents, 30 days": f"/api/v1/incidents?target={target}&model=m&since=30d&limit=200",
        "/api/v1/incidents": "/api/v1/incidents?limit=100",
        "/api/v1/runs": "/api/v1/runs?limit=50",
    }
    options = ServeOptions(listen=Listen("127.0.0.1", 0), poll_s=0.5)
    with serve_in_thread(options, lambda: open_store(location, create=False)) as server:
        timings = measure(server.url, paths, args.requests)
        cold = first_after_change(server, {k: paths[k] for k in ("overview data (/api/v1/targets)", "/api/v1/status",
                                                                "/metrics", "badge")})
        # A round lands: how long until the overview shows it (requests meanwhile get the old picture).
        with open_store(location) as store:
            ledger = Ledger("site-0", tracked=watchdb.load_states(store, "site-0"))
            at = iso(_dt.datetime.now(_dt.timezone.utc))
            rng = random.Random(1)
            run = RunResult(id="late-round", started_at=at, ended_at=at, wall_s=1.0, prompt="Hello?",
                            results=tuple(_result(rng, r.target, at, 0.0) for r in snap.rows if r.site == "site-0"))
            before = server.source.version
            t0 = time.perf_counter()
            watchdb.write_rounds(store, [(ledger.apply(run, 10**6), [])])
            server.notify()
            while server.source.version == before and time.perf_counter() - t0 < 30:
                time.sleep(0.005)
            visible_s = time.perf_counter() - t0
    table = Table(title=f"rollcall serve, {backend}, {filled.get('results', '?'):,} results" if isinstance(
        filled.get("results"), int) else f"rollcall serve, {backend}")
    for column in ("endpoint", "p50 ms", "p95 ms", "max ms", "bytes"):
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    for name, t in timings.items():
        table.add_row(name, f"{t['p50_ms']:.1f}", f"{t['p95_ms']:.1f}", f"{t['max_ms']:.1f}", f"{t['bytes']:,}")
    Console().print(table)
    for name, t in cold.items():
        print(f"first request after a new snapshot, {name}: p50 {t['p50_ms']:.1f} ms, max {t['max_ms']:.1f} ms")
    rebuild = _percentiles(builds)
    print(f"snapshot rebuild (background, after each round): p50 {rebuild['p50_ms']:.0f} ms, max {rebuild['max_ms']:.0f} ms;"
          f" a new round visible after {visible_s * 1000:.0f} ms")
    doc = {"backend": backend, "history": filled, "requests_per_endpoint": args.requests, "endpoints": timings, "first_after_change": cold,
           "snapshot_rebuild": rebuild, "round_visible_ms": round(visible_s * 1000, 1),
           "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
                       "load_avg": [round(x, 2) for x in os.getloadavg()]}}
    HERE.joinpath("results").mkdir(exist_ok=True)
    out = HERE / "results" / ("serve.json" if backend == "sqlite" else "serve-postgresql.json")
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
