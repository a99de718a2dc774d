"""Serve test helpers: a history made of rounds (the real ledger and store writer on made-up
results, so windows, states and incidents are known exactly), a server on a free loopback port,
and plain HTTP requests that return errors as answers."""

from __future__ import annotations

import datetime as _dt
import json
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rollcall.models import ErrorKind, ProbeResult, RunResult
from rollcall.store import open_store, watchdb
from rollcall.watch.ledger import Ledger
from rollcall.watch.state import Thresholds

OK = ("ok", 0.2, 0.5)


def stamp(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def result(target: str, model: str, outcome: tuple[Any, ...], at: str) -> ProbeResult:
    """`outcome`: ("ok", ttft, total) or (error kind, error text)."""
    if outcome[0] == "ok":
        return ProbeResult(target=target, kind="openai", model=model, ok=True, ttft_s=outcome[1],
                           total_s=outcome[2], text="Hello", output_chars=5, started_at=at, status=200)
    return ProbeResult(target=target, kind="openai", model=model, ok=False, error_kind=ErrorKind(outcome[0]),
                       error=outcome[1], total_s=0.05, started_at=at, status=503)


def record(
    location: str, site: str, rounds: Sequence[Mapping[tuple[str, str], tuple[Any, ...]]], *,
    start: _dt.datetime | None = None, every_s: float = 60.0, thresholds: Thresholds = Thresholds(2, 2),
) -> list[RunResult]:
    """Write `rounds` (one mapping (target, model) -> outcome each) as a watcher at `site` would."""
    start = start or _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=every_s * len(rounds))
    runs = []
    with open_store(location) as store:
        ledger = Ledger(site, thresholds=thresholds, tracked=watchdb.load_states(store, site),
                        incidents=watchdb.list_incidents(store, open_only=True, site=site))
        for number, outcomes in enumerate(rounds, start=1):
            at = stamp(start + _dt.timedelta(seconds=every_s * (number - 1)))
            results = tuple(result(t, m, o, at) for (t, m), o in outcomes.items())
            run = RunResult(id=f"{site[:4]}{number:04d}{abs(hash(at)) % 10000:04d}", started_at=at, ended_at=at,
                            wall_s=1.0, prompt="Hello?", results=results, settings={"watch": {"round": number}})
            changes = ledger.apply(run, number)
            watchdb.write_rounds(store, [(changes, [])])
            runs.append(run)
    return runs


@contextmanager
def serving(location: str, **options: Any) -> Iterator[str]:
    """A server for `location` on a free loopback port; yields its base URL."""
    from rollcall.serve.app import ServeOptions, serve_in_thread
    from rollcall.serve.auth import Listen

    prober = options.pop("prober", None)
    opts = ServeOptions(listen=Listen("127.0.0.1", 0), poll_s=0.2, **options)
    with serve_in_thread(opts, lambda: open_store(location, create=False), prober=prober) as server:
        yield server.url


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def get(url: str, headers: Mapping[str, str] | None = None, method: str = "GET", data: bytes | None = None) -> Answer:
    request = urllib.request.Request(url, headers=dict(headers or {}), method=method, data=data)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return Answer(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return Answer(exc.code, dict(exc.headers), exc.read())
