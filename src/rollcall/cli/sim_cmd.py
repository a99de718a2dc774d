"""`rollcall sim` (serve the simulated provider fleet) and `rollcall demo` (probe it, offline).

Both stay thin: the fleet, server and demo targets live in rollcall.sim; `demo` shares `run`'s
probe and output options and its tail (cli/common.py), so it behaves exactly like `rollcall run`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import click
from click.core import ParameterSource

from ..serve.options import ListenOptions
from ..settings import OutputSettings, ProbeSettings
from ..watch.options import WatchOptions
from .common import fit_to_open_files, run_targets
from .options import given, options

DEMO_TIMEOUT_S = 3.0


def _load(fleet_path: str | None):  # type: ignore[no-untyped-def]
    from ..sim import FleetError, demo_fleet, load_fleet

    try:
        return load_fleet(fleet_path) if fleet_path else demo_fleet()
    except FleetError as exc:
        raise click.UsageError(str(exc)) from None


_FLEET_HELP = "Fleet file (TOML, one table per model). Default: the packaged demo fleet."
_SEED_HELP = "Seed for the simulated randomness (default: the fleet's `seed`, else 0)."


@click.command("sim")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8900, show_default=True,
              help="Port to listen on (0 picks a free one).")
@click.option("--fleet", "fleet_path", metavar="FILE", help=_FLEET_HELP)
@click.option("--seed", type=int, default=None, help=_SEED_HELP)
@click.option("-w", "--workers", type=click.IntRange(1, 256), default=1, show_default=True, metavar="N",
              help="Serve from N processes on the one port (SO_REUSEPORT), so a load benchmark measures the "
              "client, not the simulator. The control endpoints need 1.")
def sim(host: str, port: int, fleet_path: str | None, seed: int | None, workers: int) -> int:
    """Serve simulated LLM providers on the OpenAI, Anthropic, Gemini and Ollama APIs at once,
    on one port (Ctrl-C stops).

    \b
    Endpoints (base URLs: OpenAI http://HOST:PORT/v1, the others http://HOST:PORT):
      openai     POST /v1/chat/completions (SSE or not), GET /v1/models
      anthropic  POST /v1/messages (x-api-key, anthropic-version; SSE or not), GET /v1/models
                 (with an anthropic-version or x-api-key header)
      gemini     POST /v1beta/models/MODEL:streamGenerateContent?alt=sse and :generateContent
                 (x-goog-api-key or ?key=; also under /v1), GET /v1beta/models
      ollama     POST /api/chat (NDJSON, or "stream": false), GET /api/tags
    While serving, POST /_sim/models/NAME with a JSON object of the keys below switches a
    model's behaviour ('{"status": 503}' takes it down, '{}' brings it back), and
    POST /_sim/reload re-reads --fleet (with --workers 1: they would reach only one process).
    Besides the fleet's models, any model named sim:KEY=VALUE,... is served as described:
      sim:ttft=0.2,tps=50,tokens=20,fault=reset_mid_stream
    \b
    Keys: ttft, jitter (seconds), tps (0 = unpaced), tokens, reasoning (reasoning tokens
    first, whatever the request asks: reasoning_content, thinking blocks, thought parts,
    message.thinking), fault, fail_rate (0..1), status, retry_after (seconds a 429 asks
    for), after (tokens before a mid-stream fault), text (a fixed answer), load (seconds
    of cold model load on a model's first request; Ollama reports it as load_duration),
    reason (why filtered/blocked: SAFETY, RECITATION, ...), echo_key (true: error
    messages quote the request's API key).
    Faults: drop, reset_mid_stream, hang, trickle, status (401/403/429/500/503, 529 =
    Anthropic's overloaded_error...), html (200 or 403), invalid_json, invalid_utf8,
    error_event (the protocol's in-stream error; status picks its type), error_chunk,
    no_done (no end marker: [DONE], message_stop, the last Gemini chunk, Ollama's done line),
    empty, endless, huge, filtered (stops after `after` tokens for a safety reason), blocked
    (the prompt refused, no answer). `fault=429` is short for `status=429`.
    \b
    Example:
      rollcall sim --port 8900 &
      curl -N 127.0.0.1:8900/v1/chat/completions -d '{"model":"swift","stream":true,
        "messages":[{"role":"user","content":"hi"}]}'
      curl -N 127.0.0.1:8900/api/chat -d '{"model":"thinker",
        "messages":[{"role":"user","content":"hi"}]}'
    """
    import asyncio

    from ..app import new_event_loop
    from ..sim import SimServer
    from ..stop import Abandoned, StopSignals

    fleet = _load(fleet_path)
    if workers > 1:
        return _serve_workers(fleet, host, port, seed, workers)

    async def serve() -> None:
        server = SimServer(fleet, host=host, port=port, seed=seed, fleet_path=fleet_path)
        try:
            await server.start()
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        try:
            _banner(fleet, server.root_url, server.seed, host)
            await asyncio.Event().wait()  # until SIGINT, SIGTERM or SIGHUP cancels it
        finally:
            await server.close()

    with StopSignals(notice="rollcall sim: stopping; signal again to quit at once\n") as stop:
        try:
            with asyncio.Runner(loop_factory=new_event_loop) as runner:
                runner.run(stop.until_stopped(serve()))
        except Abandoned:
            pass
    click.echo("rollcall sim: stopped", err=True)
    return 0


def _banner(fleet: Any, root_url: str, seed: int, host: str, workers: int = 1) -> None:
    from ..sim import protocols

    processes = f", {workers} processes" if workers > 1 else ""
    _say(f"rollcall sim: serving {len(fleet.models)} models at {protocols.base_url(root_url, 'openai')} "
         f"(seed {seed}{processes}); Ctrl-C stops")
    width = max((len(n) for n in fleet.names), default=0)
    for name, behaviour in fleet.models.items():
        _say(f"  {name:<{width}}  {behaviour.describe()}")
    _say("  plus any model named sim:KEY=VALUE,... (see rollcall sim --help)")
    _say("  protocols: " + ", ".join(f"{name} {protocols.base_url(root_url, name)}" for name in protocols.names()))
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"rollcall sim: warning: listening on {host}, not only loopback", err=True)


def _serve_workers(fleet: Any, host: str, port: int, seed: int | None, workers: int) -> int:
    """`rollcall sim --workers N`: N simulator processes on one port until a stop signal."""
    import asyncio

    from ..app import new_event_loop
    from ..sim import run_sim_in_process
    from ..stop import Abandoned, StopSignals

    with StopSignals(notice="rollcall sim: stopping; signal again to quit at once\n") as stop:
        try:
            with run_sim_in_process(fleet, seed=seed, host=host, port=port, workers=workers) as base_url:
                _banner(fleet, base_url.removesuffix("/v1"), seed if seed is not None else fleet.seed, host, workers)
                with asyncio.Runner(loop_factory=new_event_loop) as runner:
                    runner.run(stop.until_stopped(asyncio.Event().wait()))
        except (OSError, RuntimeError) as exc:
            why = getattr(exc, "strerror", None) or exc
            raise click.ClickException(f"cannot serve on {host}:{port}: {why}") from None
        except Abandoned:
            pass
    click.echo("rollcall sim: stopped", err=True)
    return 0


def _say(line: str) -> None:
    """Print and flush (scripts read the URL from the first line); a closed stdout (`| head -1`)
    must not stop the server, so further output goes nowhere."""
    from ..safetext import visible

    try:
        click.echo(visible(line))  # model names come from a fleet file
        sys.stdout.flush()
    except BrokenPipeError:
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


# demo's own defaults: the never-answering providers hold the demo DEMO_TIMEOUT_S; `--watch`
# watches every 5 s, down after 2 bad rounds, up after 2 good rounds, no reminders, nothing pruned.
DEMO_DEFAULTS = {"timeout_s": DEMO_TIMEOUT_S}
DEMO_WATCH_DEFAULTS = {"every_s": 5.0, "fail_after": 2, "recover_after": 2, "remind_s": 0.0, "keep_s": 0.0}


@click.command("demo")
@click.option("--fleet", "fleet_path", metavar="FILE", help=_FLEET_HELP)
@click.option("--seed", type=int, default=None, help=_SEED_HELP)
@click.option("--watch", "as_watch", is_flag=True,
              help="Watch a few simulated providers instead (as `rollcall watch` does, every 5 s by default) "
                   "while one of them goes down at round 3 and comes back at round 7.")
@options(ProbeSettings, OutputSettings, skip=("model", "connect_timeout_s", "first_byte_timeout_s"),
         defaults=DEMO_DEFAULTS)
@options(WatchOptions, defaults=DEMO_WATCH_DEFAULTS)
@options(ListenOptions)
@click.pass_context
def demo(ctx: click.Context, fleet_path: str | None, seed: int | None, as_watch: bool, **_: Any) -> int:
    """Probe a fleet of simulated providers, offline, and show rollcall's full report.

    Starts about twenty simulated OpenAI-compatible providers on a free loopback port (fast,
    slow, reasoning, and every way a provider fails) and probes them over real HTTP, exactly
    as `rollcall run` probes real ones. Takes a few seconds; needs no network. Demo runs are
    not recorded in the history unless --store is given.

    \b
    Examples:
      rollcall demo
      rollcall demo --repeat 6              (flaky fails some of the time)
      rollcall demo --json demo.json        (then: rollcall report demo.json -o html:demo.html)
      rollcall demo --fleet my-fleet.toml   (your own fleet; see rollcall sim --help)
      rollcall demo --watch --rounds 10     (states, incidents and alerts; add --webhook URL)
    """
    from ..sim import run_sim_in_thread
    from ..sim.demo import demo_targets

    watching, listening = given(ctx, WatchOptions), given(ctx, ListenOptions)
    if (watching or listening) and not as_watch:
        named = {**watching, **listening}
        first = next(s for r in (WatchOptions, ListenOptions) for s in r.settings() if s.name in named)
        raise click.UsageError(f"{first.flags[-1]} is a watch setting: add --watch")
    fleet = _load(fleet_path)
    try:
        settings = ProbeSettings.resolve(given(ctx, ProbeSettings), defaults=DEMO_DEFAULTS)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    settings = fit_to_open_files(settings).with_extra(demo=True, seed=seed if seed is not None else fleet.seed,
                                                      fleet=fleet_path)
    # Simulated providers do not belong in the history unless asked (--store; not $ROLLCALL_STORE).
    asked = ctx.get_parameter_source("store_location") is ParameterSource.COMMANDLINE
    out = OutputSettings.resolve(given(ctx, OutputSettings), defaults={"no_store": not asked})
    if as_watch:
        return _demo_watch(fleet, fleet_path, seed, settings, out, watching, ListenOptions.resolve(listening))
    with run_sim_in_thread(fleet, seed=seed) as base_url:
        targets = demo_targets(base_url, fleet, concurrency=settings.concurrency)
        return run_targets(targets, settings, out, intro=f"Probing {len(targets)} simulated providers at {base_url}")


def _demo_watch(fleet: Any, fleet_path: str | None, seed: int | None, settings: ProbeSettings,
                out: OutputSettings, watching: dict[str, Any], listen: ListenOptions) -> int:
    from ..config import ConfigError
    from ..sim import run_sim_in_thread
    from ..sim.demo import WATCH_SLO, outage_script, watch_fleet
    from ..watch.settings import settle
    from ..watch.state import Slo
    from .watch_cmd import watch_targets

    watched = watch_fleet(fleet, packaged=fleet_path is None)
    try:
        watch_settings, watch_options = settle(None, watching, DEMO_WATCH_DEFAULTS, slo=Slo(**WATCH_SLO))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    from .serve_cmd import serve_options

    serving = serve_options(listen, out.site)
    with run_sim_in_thread(watched, seed=seed) as base_url, _demo_store(out, serving) as out:
        from ..sim.demo import demo_targets

        targets = demo_targets(base_url, watched, concurrency=settings.concurrency)
        return watch_targets(targets, settings, out, watch_settings, watch_options,
                             on_round=outage_script(base_url, watched), serving=serving)


@contextmanager
def _demo_store(out: OutputSettings, serving: Any) -> Iterator[OutputSettings]:
    """`demo --watch --listen` without --store: a history in a temporary file for the page to
    show, gone when the demo ends (demo runs stay out of the real history)."""
    if serving is None or not out.no_store:
        yield out
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="rollcall-demo-") as tmp:
        yield replace(out, no_store=False, store_location=f"{tmp}/history.sqlite3")


COMMANDS: list[click.Command] = [sim, demo]
