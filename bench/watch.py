"""Benchmark: `rollcall watch` for 10,000 fast rounds against the simulator (in its own process).

    python bench/watch.py [--rounds 10000] [--targets 5] [--store PATH|postgresql://...]

Each round is a real one: a Runner run over HTTP to the simulator, judged, states and incidents
moved on, alerts raised to a webhook on loopback (one target fails a third of the time, so states
change and incidents open and resolve), the round written to the history store (SQLite in a
temporary directory unless --store is given). Measured:

  rounds/s       rounds per second of wall time, back to back (`every` 1 ms)
  probe s/round  the Runner's own wall time per round (HTTP probes, deadlines)
  book ms/round  time on the event loop per round beyond its probes: judging, states, incidents,
                 alerts, pushes and hand-off to the writer (what could delay the next round)
  write ms/round time the store writer thread spent per round (off the loop; a round's store
                 writes only delay the next round when the writer falls behind its buffer)
  RSS, open fds  after the first 500 rounds (warm) and at the end: flat means no leak
Prints a table and writes bench/results/watch.json.
"""

from __future__ import annotations

import argparse
import http.server
import io
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rollcall.http import HttpClient
from rollcall.settings import ProbeSettings
from rollcall.sim import Behaviour, Fleet, run_sim_in_process
from rollcall.store import open_store
from rollcall.targets.openai import OpenAITarget
from rollcall.watch.app import WatchJob, run_watch
from rollcall.watch.settings import AlertSpec, WatchSettings
from rollcall.watch.state import Thresholds

HERE = Path(__file__).resolve().parent
WARM = 500


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class _Hook(http.server.BaseHTTPRequestHandler):
    received = 0

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).received += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def bench(rounds: int, n_targets: int, location: str) -> dict[str, Any]:
    models = {f"fast{i}": Behaviour(ttft_s=0.0, answer_tokens=4, tokens_per_s=0) for i in range(n_targets - 1)}
    models["flaky"] = Behaviour(ttft_s=0.0, answer_tokens=4, tokens_per_s=0, status=503, fail_rate=0.34)
    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    samples: dict[str, Any] = {}
    probe_s = [0.0]

    def on_round(number: int, run: Any, changes: Any) -> None:
        probe_s[0] += run.wall_s
        if number == WARM:
            samples["warm"] = {"rss_mib": rss_mib(), "fds": open_fds()}
        if number % (rounds // 4 or 1) == 0:
            samples.setdefault("trend", []).append({"round": number, "rss_mib": rss_mib(), "fds": open_fds()})

    with run_sim_in_process(Fleet(models, seed=1)) as base_url:
        client = HttpClient(limit=64)
        targets = [OpenAITarget(name, base_url, models=(name,), client=client) for name in models]
        store = open_store(location)
        job = WatchJob(
            targets=targets, site="bench", store=store, reopen=lambda: open_store(location), rounds=rounds, seed=1,
            settings=WatchSettings(every_s=0.001, thresholds=Thresholds(2, 2), remind_s=0, keep_s=0,
                                   alerts=(AlertSpec("webhook", f"http://127.0.0.1:{hook.server_port}/hook"),)),
            probe=ProbeSettings(timeout_s=10.0), quiet=True, on_round=on_round,
        )
        samples["start"] = {"rss_mib": rss_mib(), "fds": open_fds()}
        started = time.perf_counter()
        end = run_watch(job, Console(file=io.StringIO()))
        wall = time.perf_counter() - started
        samples["end"] = {"rss_mib": rss_mib(), "fds": open_fds()}
    hook.shutdown()
    summary = end.summary
    return {
        "store": "postgresql" if "://" in location else "sqlite",
        "rounds": summary.rounds,
        "targets": n_targets,
        "wall_s": wall,
        "rounds_per_s": summary.rounds / wall,
        "probe_s_per_round": probe_s[0] / summary.rounds,
        "bookkeeping_ms_per_round": summary.bookkeeping_s / summary.rounds * 1000,
        "other_loop_ms_per_round": (wall - probe_s[0] - summary.bookkeeping_s) / summary.rounds * 1000,
        "write_ms_per_round": end.writer_s / summary.rounds * 1000,
        "incidents_opened": summary.opened,
        "alerts_raised": summary.alerts,
        "alerts_received": _Hook.received,
        "unwritten": end.unwritten,
        "max_buffered_writes": end.max_buffered,
        "memory": samples,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10_000)
    parser.add_argument("--targets", type=int, default=5)
    parser.add_argument("--store", default=None, help="a SQLite path or postgresql:// URL (default: a temp file)")
    parser.add_argument("--json", default=str(HERE / "results" / "watch.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        row = bench(args.rounds, args.targets, args.store or str(Path(tmp) / "history.sqlite3"))
    m = row["memory"]
    table = Table(title=f"rollcall watch: {row['rounds']:,} rounds x {row['targets']} targets ({row['store']})",
                  title_justify="left")
    for col in ("rounds/s", "probe s/round", "book ms/round", "other loop ms/round", "write ms/round",
                "RSS MiB start/warm/end", "fds start/warm/end", "max queued writes", "incidents",
                "alerts sent/received"):
        table.add_column(col, justify="right")
    table.add_row(
        f"{row['rounds_per_s']:.1f}", f"{row['probe_s_per_round']:.4f}", f"{row['bookkeeping_ms_per_round']:.2f}",
        f"{row['other_loop_ms_per_round']:.2f}", f"{row['write_ms_per_round']:.2f}",
        f"{m['start']['rss_mib']:.0f} / {m['warm']['rss_mib']:.0f} / {m['end']['rss_mib']:.0f}",
        f"{m['start']['fds']} / {m['warm']['fds']} / {m['end']['fds']}", str(row["max_buffered_writes"]),
        str(row["incidents_opened"]), f"{row['alerts_raised']} / {row['alerts_received']}",
    )
    Console(width=200).print(table)
    trend = ", ".join(f"{t['round']}: {t['rss_mib']:.0f} MiB/{t['fds']} fds" for t in m.get("trend", []))
    print(f"RSS by round: {trend}")
    doc = {
        "schema": "rollcall.bench.watch/1",
        "settings": {"rounds": args.rounds, "targets": args.targets, "cpus": os.cpu_count(),
                     "python": platform.python_version(), "loadavg": os.getloadavg()},
        "results": [row],
    }
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
