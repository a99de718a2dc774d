"""Benchmark: the history store with 100,000 results, written the way a run writes them, then read
the way `rollcall history`, `runs` and `diff` read them.

    python bench/store.py [--results 100000] [--targets 100] [--trickle 2000]

Backends: SQLite (a fresh file in a temporary directory) always; PostgreSQL too when
ROLLCALL_TEST_POSTGRES names a server (a fresh schema, dropped afterwards).

Phases, each timed:
  write     results/targets runs of `targets` results each, every run through a StoreSink
            (start, one result() per probe as fast as the caller can, finish). The sink's
            writer thread commits whatever has queued up, so a fast run is written in big batches.
  trickle   `trickle` results (the same targets repeated) through one sink with max_batch=1:
            one transaction per result, the cost when probes finish one at a time.
  history   `rollcall history` over everything (store.outcomes since 7d + history() + render).
  history1  `rollcall history TARGET` for one target (uses the target/model/started_at index).
  runs      `rollcall runs` (the 20 newest runs with counts).
  diff      `rollcall diff` (the two newest complete runs, their results, diff_runs()).
Prints a table and writes bench/results/store.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import io
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rollcall.models import ErrorKind, ProbeResult, RunResult
from rollcall.models import RunInfo
from rollcall.store import StoreSink, open_store
from rollcall.store.queries import diff_runs, history, iso, parse_since
from rollcall.store.render import history_table

HERE = Path(__file__).resolve().parent
KINDS = [ErrorKind.TIMEOUT, ErrorKind.RATE_LIMIT, ErrorKind.CONNECT, ErrorKind.HTTP_STATUS, ErrorKind.EMPTY]


def make_run(run_index: int, runs: int, targets: int, rnd: random.Random, now: dt.datetime) -> RunResult:
    """One run's worth of results, runs spread evenly over the last 6.5 days."""
    started = now - dt.timedelta(days=6.5) + dt.timedelta(days=6.5) * run_index / max(1, runs)
    results = []
    for t in range(targets):
        ok = rnd.random() < 0.9 - 0.3 * (t % 10 == 0)
        ttft = rnd.lognormvariate(-1, 0.5)
        results.append(ProbeResult(
            target=f"Provider{t:03d}", kind="g4f", model="" if t % 4 else "gpt-4o-mini", ok=ok,
            error_kind=None if ok else rnd.choice(KINDS),
            error=None if ok else "Timeout: no first token within 30 s",
            status=200 if ok else None, queue_s=0.0, headers_s=ttft * 0.8 if ok else None,
            ttft_s=ttft if ok else None, total_s=ttft + rnd.uniform(0.2, 3.0) if ok else None,
            output_chars=120 if ok else 0, output_tokens=30 if ok else None, output_tokens_estimated=True,
            tokens_per_s=rnd.uniform(20, 90) if ok else None,
            text="Hello! I am an AI assistant; how can I help you today?" if ok else "",
            started_at=iso(started + dt.timedelta(seconds=rnd.uniform(0, 5))),
        ))
    ended = started + dt.timedelta(seconds=30)
    return RunResult(id=uuid.uuid4().hex[:12], started_at=iso(started), ended_at=iso(ended), wall_s=30.0,
                     prompt="Hello, are you GPT 3.5?", results=tuple(results), complete=True,
                     settings={"timeout_s": 30.0, "concurrency": 64, "repeat": 1})


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def bench_backend(name: str, location: str, n_results: int, n_targets: int, n_trickle: int) -> dict[str, Any]:
    rnd = random.Random(42)
    now = dt.datetime.now(dt.timezone.utc)
    n_runs = n_results // n_targets
    out: dict[str, Any] = {"backend": name, "results": n_runs * n_targets, "runs": n_runs, "targets": n_targets}

    with open_store(location) as store:
        batches = 0
        write_s = 0.0
        for i in range(n_runs):
            # Made untimed, one run at a time: like a real process, only one run's results
            # are alive at once (100k live results would make the garbage collector the story).
            run = make_run(i, n_runs, n_targets, rnd, now)
            t0 = time.perf_counter()
            sink = StoreSink(store, site=f"site-{rnd.randint(1, 3)}")
            sink.start(RunInfo.of(run))
            for r in run.results:
                sink.result(r)
            sink.finish(run)
            write_s += time.perf_counter() - t0
            batches += sink.batches
        out["write_s"] = write_s
        out["write_results_per_s"] = out["results"] / write_s
        out["write_batches"] = batches

        # The same targets probed repeatedly (like --repeat), so history still has `targets` rows.
        repeats = [make_run(n_runs, n_runs, n_targets, rnd, now) for _ in range(max(1, n_trickle // n_targets))]
        trickle = dataclasses.replace(repeats[0], results=tuple(r for run in repeats for r in run.results))
        n_trickle = len(trickle.results)
        sink = StoreSink(store, site="trickle", max_batch=1)
        t0 = time.perf_counter()
        sink.start(RunInfo.of(trickle))
        for r in trickle.results:
            sink.result(r)
        sink.finish(trickle)
        trickle_s = time.perf_counter() - t0
        del trickle
        out["trickle_results"] = n_trickle
        out["trickle_s"] = trickle_s
        out["trickle_ms_per_commit"] = 1000 * trickle_s / max(1, sink.batches)

        since = parse_since("7d")
        console = Console(file=io.StringIO(), width=160, color_system=None)

        def full_history() -> int:
            rows = history(store.outcomes(since=since))
            console.print(history_table(rows, now=now, title="History"))
            return len(rows)

        out["history_s"], out["history_rows"] = timed(full_history)
        out["history_one_target_s"], _ = timed(lambda: history(store.outcomes(since=since, targets=["Provider007"])))
        out["runs_s"], _ = timed(lambda: store.list_runs(20))

        def newest_diff() -> int:
            b, a = store.list_runs(2, complete_only=True)
            d = diff_runs(a, store.run_results(a.id), b, store.run_results(b.id))
            return len(d.newly_failing)

        out["diff_s"], _ = timed(newest_diff)
    if "://" not in location:
        out["file_mb"] = sum(p.stat().st_size for p in Path(location).parent.glob(Path(location).name + "*")) / 1e6
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=int, default=100_000)
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--trickle", type=int, default=2000)
    parser.add_argument("--json", default=str(HERE / "results" / "store.json"))
    args = parser.parse_args()

    # Other work on the machine slows every number here; the load average says how much.
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(bench_backend("sqlite", str(Path(tmp) / "history.sqlite3"), args.results, args.targets, args.trickle))
    pg_version = None
    url = os.environ.get("ROLLCALL_TEST_POSTGRES", "").strip()
    if url:
        import psycopg

        schema = f"rc_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(url, autocommit=True) as conn:
            pg_version = conn.execute("SHOW server_version").fetchone()[0]
            conn.execute(f"CREATE SCHEMA {schema}")
        try:
            located = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
            rows.append(bench_backend("postgresql", located, args.results, args.targets, args.trickle))
        finally:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")

    table = Table(title=f"History store: {args.results:,} results ({args.targets} targets per run)",
                  title_justify="left")
    for col in ("backend", "write", "results/s", "batches", "trickle ms/commit", "history", "history 1 target",
                "runs", "diff", "file"):
        table.add_column(col, justify="left" if col == "backend" else "right")
    for r in rows:
        table.add_row(
            r["backend"], f"{r['write_s']:.2f} s", f"{r['write_results_per_s']:,.0f}", str(r["write_batches"]),
            f"{r['trickle_ms_per_commit']:.2f}", f"{r['history_s']:.3f} s", f"{r['history_one_target_s']:.3f} s",
            f"{r['runs_s'] * 1000:.1f} ms", f"{r['diff_s'] * 1000:.1f} ms",
            f"{r['file_mb']:.1f} MB" if "file_mb" in r else "-",
        )
    Console(width=max(140, Console().width)).print(table)
    print(f"load average (1 min) before/after: {load_before[0]:.2f}/{os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} CPUs", file=sys.stderr)
    doc = {
        "benchmark": "store",
        "settings": {"results": args.results, "targets": args.targets, "trickle": args.trickle,
                     "cpus": os.cpu_count(), "python": platform.python_version(),
                     "sqlite": sqlite3.sqlite_version, "postgresql": pg_version,
                     "loadavg_1m_before": round(load_before[0], 2), "loadavg_1m_after": round(os.getloadavg()[0], 2)},
        "results": rows,
    }
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
