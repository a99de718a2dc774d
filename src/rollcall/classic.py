"""GPT4Free's original async provider test (`etc/testing/test_async.py`), API-compatible, on the runner.

The original called `provider.create_async`, which no g4f 8.x provider has, and had no timeouts.
These functions keep its names and printed formats but probe through rollcall's runner, so every
provider gets a deadline and a hanging one cannot stall the rest:

    create_async took 1.23 seconds.
    Yqcloud: Hello! I'm an AI assistant...
    create_async took 0.01 seconds.
    Gemini: MissingAuthError: ...
    run_async took 9.84 seconds.
    Total: 12 ok, 30 failed in 9.84 s

Run it with `python -m rollcall.classic [--timeout SECONDS] [--provider NAME ...]`.
"""

from __future__ import annotations

import argparse
import asyncio

from .models import ProbeResult
from .probe import run_probe
from .runner import Runner
from .safetext import visible
from .settings import ProbeSettings
from .targets.base import DEFAULT_PROMPT, ProbeRequest
from .targets.g4f import G4FTarget, select_providers
from .timing import log_time_async

DEFAULT_TIMEOUT_S = 30.0

__all__ = ["create_async", "get_providers", "log_time_async", "run_async"]


def get_providers() -> list[type]:
    """Every g4f registry provider that loads and needs no key (working or not, as the original)."""
    return select_providers(all_providers=True).providers


def _print_result(result: ProbeResult) -> None:
    print(f"create_async took {result.total_s or 0.0:.2f} seconds.")
    if result.ok:
        print(f"{visible(result.target)}:", visible(result.text))
    else:
        print(f"{visible(result.target)}: {visible(result.error)}")


async def create_async(provider: type, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> ProbeResult:
    """Ask one provider the classic question; print its timing and `Name: answer` or `Name: Type: message`."""
    target = G4FTarget(provider)
    request = ProbeRequest(prompt=DEFAULT_PROMPT, model=target.models[0])
    result = await run_probe(target, request, timeout_s=timeout_s)
    _print_result(result)
    return result


async def run_async(*, timeout_s: float = DEFAULT_TIMEOUT_S, providers: list[type] | None = None) -> str:
    """Probe every working provider at once (printing each as it finishes); returns the summary line."""
    chosen = [p for p in (providers if providers is not None else get_providers()) if getattr(p, "working", False)]
    runner = Runner([G4FTarget(p) for p in chosen], settings=ProbeSettings(timeout_s=timeout_s),
                    on_result=_print_result)
    run = await runner.run()
    return run.summary_line()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rollcall.classic", description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="deadline per provider (s)")
    parser.add_argument("--provider", action="append", default=[], metavar="NAME",
                        help="only this provider (repeatable; a registry name or package.module:ClassName)")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout must be greater than 0")
    try:
        providers = select_providers(args.provider).providers if args.provider else None
    except (ValueError, TypeError, ImportError) as exc:
        parser.error(str(exc))
    try:
        print("Total:", asyncio.run(log_time_async(run_async, timeout_s=args.timeout, providers=providers)))
    except KeyboardInterrupt:
        print("Interrupted.")
    from .cli import _exit

    _exit(0)


if __name__ == "__main__":
    main()
