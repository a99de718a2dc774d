"""`rollcall sim` (serve the simulated provider fleet) and `rollcall demo` (probe it, offline).

Both stay thin: the fleet, server and demo targets live in rollcall.sim. `demo` reuses `run`'s
own option objects, so its flags read and behave exactly like `rollcall run`'s.
"""

from __future__ import annotations

import sys

import click

from . import run_cmd

DEMO_TIMEOUT_S = 3.0  # the never-answering providers hold the demo this long


def _run_option(name: str) -> click.Parameter:
    # The very option object `rollcall run` uses: same flags, help, defaults and checks.
    for param in run_cmd.run.params:
        if param.name == name:
            return param
    raise LookupError(f"rollcall run has no option {name!r}")  # pragma: no cover - a wiring bug


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
def sim(host: str, port: int, fleet_path: str | None, seed: int | None) -> int:
    """Serve simulated LLM providers on an OpenAI-compatible API (Ctrl-C stops).

    \b
    Endpoints: GET /v1/models, POST /v1/chat/completions (streamed or not).
    Besides the fleet's models, any model named sim:KEY=VALUE,... is served as described:
      sim:ttft=0.2,tps=50,tokens=20,fault=reset_mid_stream
    \b
    Keys: ttft, jitter (seconds), tps (0 = unpaced), tokens, reasoning (tokens of
    reasoning_content first), fault, fail_rate (0..1), status, retry_after, after (tokens
    before a mid-stream fault), text (a fixed answer).
    Faults: drop, reset_mid_stream, hang, trickle, status (401/403/429/500/503...), html
    (200 or 403), invalid_json, invalid_utf8, error_event, error_chunk, no_done, empty,
    endless, huge. `fault=429` is short for `status=429`.
    \b
    Example:
      rollcall sim --port 8900 &
      curl -N localhost:8900/v1/chat/completions -d '{"model":"swift","stream":true,
        "messages":[{"role":"user","content":"hi"}]}'
    """
    import asyncio
    import signal

    from ..app import new_event_loop
    from ..sim import SimServer

    fleet = _load(fleet_path)

    async def serve() -> None:
        stop = asyncio.Event()
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on this platform/thread
            pass
        async with SimServer(fleet, host=host, port=port, seed=seed) as server:
            click.echo(f"rollcall sim: serving {len(fleet.models)} models at {server.base_url} "
                       f"(seed {server.seed}); Ctrl-C stops")
            width = max((len(n) for n in fleet.names), default=0)
            for name, behaviour in fleet.models.items():
                click.echo(f"  {name:<{width}}  {behaviour.describe()}")
            click.echo("  plus any model named sim:KEY=VALUE,... (see rollcall sim --help)")
            if host not in ("127.0.0.1", "localhost", "::1"):
                click.echo(f"rollcall sim: warning: listening on {host}, not only loopback", err=True)
            sys.stdout.flush()
            await stop.wait()

    try:
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            runner.run(serve())
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo("rollcall sim: stopped", err=True)
    return 0


@click.command("demo")
@click.option("-t", "--timeout", type=float, default=DEMO_TIMEOUT_S, show_default=True,
              callback=run_cmd._positive, help="Deadline per probe in seconds, connect to last token.")
@click.option("--fleet", "fleet_path", metavar="FILE", help=_FLEET_HELP)
@click.option("--seed", type=int, default=None, help=_SEED_HELP)
def demo(timeout: float, fleet_path: str | None, seed: int | None, **options: object) -> int:
    """Probe a fleet of simulated providers, offline, and show rollcall's full report.

    Starts about twenty simulated OpenAI-compatible providers on a free loopback port (fast,
    slow, reasoning, and every way a provider fails) and probes them over real HTTP, exactly
    as `rollcall run` probes real ones. Takes a few seconds; needs no network.

    \b
    Examples:
      rollcall demo
      rollcall demo --repeat 5              (flaky fails some of the time)
      rollcall demo --json demo.json        (then: rollcall report demo.json ...)
    """
    from ..sim import run_sim_in_thread
    from ..sim.demo import demo_targets

    fleet = _load(fleet_path)
    with run_sim_in_thread(fleet, seed=seed) as base_url:
        targets = demo_targets(base_url, fleet, concurrency=int(options["concurrency"]))  # type: ignore[call-overload]
        return _probe(targets, timeout=timeout, intro=f"Probing {len(targets)} simulated providers at {base_url}",
                      settings={"demo": True, "seed": seed if seed is not None else fleet.seed}, **options)


# `run`'s options, shared by object (see _run_option); the demo sets its own --timeout default.
for _name in ("prompt", "concurrency", "repeat", "expect", "max_total", "max_ttft", "require", "min_ok",
              "json_path", "quiet"):
    demo.params.append(_run_option(_name))


def _probe(targets: list, *, timeout: float, intro: str, settings: dict, prompt: str, concurrency: int,  # type: ignore[type-arg]
           repeat: int, expect: str | None, max_total: float | None, max_ttft: float | None,
           require: tuple[str, ...], min_ok: int, json_path: str | None, quiet: bool) -> int:
    """Run targets with the live view, write --json, check requirements: `run`'s tail.

    Kept the same as run_cmd.run's second half (checks, consoles, Runner, execute, JSON,
    requirements); a shared helper there would let both call one function.
    """
    from rich.console import Console

    from .. import checks
    from ..app import execute
    from ..live import LiveView
    from ..reports import json as json_report
    from ..runner import Runner

    if not prompt.strip():
        raise click.BadParameter("must not be empty", param_hint="--prompt")
    if min_ok < 0:
        raise click.BadParameter("must be 0 or more", param_hint="--min-ok")
    try:
        answer_checks = checks.combine([
            checks.expect_regex(expect) if expect else None,
            checks.max_total(max_total) if max_total else None,
            checks.max_ttft(max_ttft) if max_ttft else None,
        ])
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None

    machine_stdout = json_path == "-"
    console = Console(stderr=machine_stdout, highlight=False)
    chatter = Console(stderr=True, highlight=False)
    if not quiet:
        chatter.print(f"{intro}, {timeout:g} s deadline each…", style="dim")
    runner = Runner(targets, prompt=prompt, timeout_s=timeout, concurrency=concurrency, repeat=repeat,
                    checks=answer_checks, settings=settings)
    run_result, interrupted = execute(runner, [LiveView(console, quiet=quiet)])
    if json_path:
        try:
            json_report.write(run_result, json_path)
        except OSError as exc:
            chatter.print(f"rollcall: error: cannot write {json_path}: {exc}", style="red")
            return 1
    if interrupted:
        return 130
    unmet = checks.Requirements(tuple(require), min_ok).unmet(run_result)
    for problem in unmet:
        print(f"rollcall: requirement failed: {problem}", file=sys.stderr)
    return 1 if unmet else 0


COMMANDS: list[click.Command] = [sim, demo]
