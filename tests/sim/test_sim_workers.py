"""`rollcall sim --workers N`: several simulator processes on one port (SO_REUSEPORT). Connections
spread over them, request numbers never collide, control endpoints refuse (they would reach only
one process), and the command stops every process it started."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import aiohttp

from rollcall.sim import Behaviour, Fleet, run_sim_in_process

BOUND_S = 20.0
FLEET = Fleet({"fast": Behaviour(ttft_s=0.05, tokens_per_s=0, answer_tokens=3)})
BODY = {"model": "fast", "stream": True, "messages": [{"role": "user", "content": "hi"}]}


async def headers_of(base_url: str, n: int) -> list[dict[str, str]]:
    """n streams at once, each on its own connection (so the kernel may pick any process)."""
    async def one() -> dict[str, str]:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            async with session.post(base_url + "/chat/completions", json=BODY) as r:
                await r.read()
                assert r.status == 200
                return {k.lower(): v for k, v in r.headers.items()}

    return await asyncio.wait_for(asyncio.gather(*(one() for _ in range(n))), BOUND_S)


def test_workers_share_one_port_and_number_requests_apart() -> None:
    with run_sim_in_process(FLEET, seed=1, workers=3) as base_url:
        found = asyncio.run(headers_of(base_url, 60))
        numbers = [int(h["x-sim-request"]) for h in found]
        assert len(set(numbers)) == 60  # worker k numbers k, k+3, k+6, ...: never the same draw twice
        # Each process has its own id prefix and its own residue: 60 connections reached several.
        residues: dict[str, set[int]] = {}
        for h, n in zip(found, numbers, strict=True):
            process = h["x-request-id"].rpartition("-")[2][:12]  # 12 hex digits drawn at its start
            residues.setdefault(process, set()).add(n % 3)
        assert 2 <= len(residues) <= 3 and all(len(r) == 1 for r in residues.values())
        assert len(set().union(*residues.values())) == len(residues)
        request = urllib.request.Request(base_url.removesuffix("/v1") + "/_sim/models/fast", data=b"{}", method="POST")
        try:
            urllib.request.urlopen(request, timeout=BOUND_S)
            raise AssertionError("the control endpoint answered")
        except urllib.error.HTTPError as exc:
            assert exc.code == 409 and "--workers 1" in json.load(exc)["error"]["message"]


def test_the_sim_command_serves_from_several_processes_and_stops_them_all() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "rollcall", "sim", "--port", "0", "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()  # type: ignore[union-attr]
        assert "(seed 0, 2 processes)" in first
        base_url = first.split(" at ")[1].split()[0]
        listed = subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(proc.pid)], capture_output=True,
                                text=True, check=True).stdout.splitlines()
        children = [int(line.split()[0]) for line in listed if "spawn_main" in line]
        assert len(children) == 2  # the two servers (multiprocessing's resource tracker aside)
        with urllib.request.urlopen(base_url + "/models", timeout=BOUND_S) as r:
            assert [m["id"] for m in json.load(r)["data"]]
        proc.terminate()
        assert proc.wait(timeout=BOUND_S) == 0
        assert "stopped" in proc.stderr.read()  # type: ignore[union-attr]
        for pid in children:  # stopped and reaped by rollcall sim before it exited
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                continue
            raise AssertionError(f"process {pid} outlived rollcall sim")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=BOUND_S)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
