"""A PostgreSQL server restarted in the middle of a watch: rounds keep coming, wait in memory,
and every one of them is in the database afterwards. The server is a private one this test
starts (initdb/pg_ctl on a free port) and stops by its PID; nobody else's tests use it."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from g4f_env import offline_g4f_env
from watch_helpers import Proc, require_or_skip, sim_config

from rollcall.sim import Behaviour, Fleet, run_sim_in_thread

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1:] or [""]


class PrivatePostgres:
    def __init__(self, bindir: str) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="rc-pg-"))
        self.data = self.root / "data"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:  # the server refuses to run as root: run it as the postgres user
            import pwd

            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "rollcall", "-A", "trust", "--no-sync", "-E", "UTF8")
        self.url = f"postgresql://rollcall@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_postgres, f"{self.bindir}/{tool}", *args], check=True, capture_output=True,
                       timeout=120, stdin=subprocess.DEVNULL)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "start")

    @property
    def pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        """Fast shutdown by signalling the postmaster's PID, then wait for it to be gone."""
        pid = self.pid
        if pid is None:
            return
        os.kill(pid, signal.SIGINT)
        for _ in range(600):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    bindir = BIN[0]
    require_or_skip(bool(bindir) and os.path.exists(f"{bindir}/initdb"),
                    "PostgreSQL server binaries (initdb, pg_ctl) not installed: apt-get install postgresql")
    if os.geteuid() == 0:
        require_or_skip(shutil.which("runuser") is not None, "runuser is needed to start PostgreSQL as root")
    server = PrivatePostgres(bindir)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def test_a_postgres_restart_mid_watch_loses_nothing(tmp_path, postgres):
    import psycopg

    fleet = Fleet({"swift": Behaviour(ttft_s=0.0, answer_tokens=2, tokens_per_s=0),
                   "broken": Behaviour(ttft_s=0.0, status=503)})
    rounds = 14
    with run_sim_in_thread(fleet) as base_url:
        config = sim_config(tmp_path / "rc.toml", base_url, ["swift", "broken"], extra="[watch]\nfail_after = 2\n")
        proc = Proc(offline_g4f_env(tmp_path), "watch", "-c", config, "--store", postgres.url, "--every", "0.3s",
                    "--rounds", str(rounds))
        try:
            proc.wait_line("round 3 ")
            postgres.stop()
            proc.wait_line("keeping results in memory")
            proc.wait_line("round 7 ")
            postgres.start()
            assert proc.wait(120) == 0, proc.output
        finally:
            proc.kill()
    out = proc.output
    assert out.count("keeping results in memory") == 1  # told once, not every round
    assert "is back" in out and "could not reach" not in out
    with psycopg.connect(postgres.url) as conn:
        stored_rounds = sorted(r[0] for r in conn.execute("SELECT watch_round FROM runs").fetchall())
        results = conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        states = dict(conn.execute("SELECT target, state FROM target_states").fetchall())
        incidents = conn.execute("SELECT target, state FROM incidents").fetchall()
    assert stored_rounds == list(range(1, rounds + 1)) and results == 2 * rounds
    assert states == {"swift": "up", "broken": "down"} and incidents == [("broken", "down")]
