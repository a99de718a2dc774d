"""`rollcall serve` as a real process: serves a shared store split by site, stops on SIGTERM with
exit 0, and says what is wrong in one line otherwise; `report --badges`."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from serve_helpers import OK, get, record

from watch.watch_helpers import Proc


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rollcall", *args], capture_output=True, text=True, timeout=60,
                          env=env)


def test_serve_shows_every_site_and_stops_on_sigterm(location: str) -> None:
    record(location, "eu", [{("a", "m"): OK}])
    record(location, "us", [{("a", "m"): ("timeout", "slow")}] * 2)
    proc = Proc(dict(os.environ), "serve", "--store", location, "--listen", "127.0.0.1:0")
    try:
        line = proc.wait_line("rollcall: serving http://")
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        assert "loopback only" in line and "postgresql" not in line
        rows = get(f"{url}/api/v1/targets").json()["targets"]
        assert {(r["site"], r["state"]) for r in rows} == {("eu", "up"), ("us", "down")}
        record(location, "us", [{("a", "m"): OK}] * 2)  # a watcher elsewhere writes; serve notices
        for _ in range(100):
            states = {r["site"]: r["state"] for r in get(f"{url}/api/v1/targets").json()["targets"]}
            if states["us"] == "up":
                break
            time.sleep(0.1)
        assert states == {"eu": "up", "us": "up"}
        proc.proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert "Traceback" not in proc.output
    finally:
        proc.kill()


def test_serve_says_what_is_wrong(tmp_path: Path) -> None:
    missing = _run("serve", "--store", str(tmp_path / "none.sqlite3"))
    assert missing.returncode == 2 and "no history store at" in missing.stderr
    location = str(tmp_path / "h.sqlite3")
    record(location, "lab", [{("a", "m"): OK}])
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        busy = _run("serve", "--store", location, "--listen", f"127.0.0.1:{held.getsockname()[1]}")
    assert busy.returncode == 1 and "cannot listen on 127.0.0.1:" in busy.stderr
    bad = _run("serve", "--store", location, "--listen", "nowhere")
    assert bad.returncode == 2 and "--listen 'nowhere'" in bad.stderr
    config = tmp_path / "bad.toml"
    config.write_text('[[target]]\nname = "x"\nkind = "openai"\n')
    assert _run("serve", "--store", location, "-c", str(config)).returncode == 2
    nostore = _run("watch", "--no-config", "--target", "x", "--no-store", "--listen", "127.0.0.1:0")
    assert nostore.returncode == 2
    lone = _run("serve", "--store", location, "--public", "--token", "t" * 20)
    assert lone.returncode == 2 and "exclude each other" in lone.stderr
    for output in (missing, busy, bad, nostore, lone):
        assert "Traceback" not in output.stderr and output.stderr.count("\n") <= 2, output.stderr


def test_report_embeds_live_badges(tmp_path: Path) -> None:
    run = {"schema": "rollcall.run/1", "run": {"id": "r1", "started_at": "2024-05-01T10:00:00.000Z",
           "ended_at": "2024-05-01T10:00:01.000Z", "wall_s": 1.0, "prompt": "hi"},
           "results": [{"target": "a/b c", "kind": "openai", "model": "m)(x", "ok": True, "ttft_s": 0.1,
                        "total_s": 0.2, "started_at": "2024-05-01T10:00:00.000Z"}]}
    (tmp_path / "run.json").write_text(json.dumps(run))
    done = _run("report", str(tmp_path / "run.json"), "-o", f"md:{tmp_path / 'STATUS.md'}", "--badges",
                "https://status.example/")
    assert done.returncode == 0, done.stderr
    table = (tmp_path / "STATUS.md").read_text()
    assert ("[![a/b c status](https://status.example/badge/a%2Fb%20c/m%29%28x.svg)]"
            "(https://status.example/targets/a%2Fb%20c/m%29%28x)") in table
    assert "| Live |" in table
    assert _run("report", str(tmp_path / "run.json"), "-o", "csv:-", "--badges", "https://s.example").returncode == 2
    assert _run("report", str(tmp_path / "run.json"), "-o", "md:-", "--badges", "ftp://x").returncode == 2
