"""`rollcall run`: probe targets, show them live, write reports, set the exit code."""

from __future__ import annotations

import sys
from contextlib import nullcontext

import click

from ..targets.base import DEFAULT_PROMPT


def _positive(ctx: click.Context, param: click.Parameter, value: float | int | None) -> float | int | None:
    if value is not None and value <= 0:
        raise click.BadParameter("must be greater than 0", ctx=ctx, param=param)
    return value


@click.command("run")
@click.option("-p", "--provider", "providers", multiple=True, metavar="NAME",
              help="g4f provider to probe (repeatable, any case), or an import path "
                   "package.module:ClassName for a provider class outside g4f's registry. "
                   "Named providers are probed even if not working or needing auth.")
@click.option("-x", "--exclude", multiple=True, metavar="NAME", help="g4f provider to leave out (repeatable).")
@click.option("--all-providers", is_flag=True, help="Include providers g4f marks as not working.")
@click.option("--include-auth", is_flag=True,
              help="Include providers that need a key; keys come from the environment "
                   "(e.g. GROQ_API_KEY) or g4f's own auth config.")
@click.option("--include-extra", is_flag=True, help="Also load g4f's extra provider list.")
@click.option("-m", "--model", default=None, help="Model to ask for (default: each provider's default model).")
@click.option("--prompt", default=DEFAULT_PROMPT, show_default=True, help="The question to ask.")
@click.option("-t", "--timeout", type=float, default=30.0, show_default=True, callback=_positive,
              help="Deadline per probe in seconds, connect to last token.")
@click.option("-j", "--concurrency", type=int, default=64, show_default=True, callback=_positive,
              help="How many probes run at once.")
@click.option("-n", "--repeat", type=int, default=1, show_default=True, callback=_positive,
              help="Probe each target N times (one after another) and report success rate "
                   "and median/p90 latency.")
@click.option("--expect", metavar="REGEX", help="Answers must match this regular expression (else check_failed).")
@click.option("--max-total", type=float, metavar="SECONDS", callback=_positive,
              help="Answers slower than this in total fail with check_failed.")
@click.option("--max-ttft", type=float, metavar="SECONDS", callback=_positive,
              help="Answers whose first token came later than this fail with check_failed.")
@click.option("--require", multiple=True, metavar="NAME",
              help="Exit 1 unless this target answered (repeatable).")
@click.option("--min-ok", type=int, default=0, metavar="N", help="Exit 1 unless at least N probes answered.")
@click.option("--json", "json_path", metavar="PATH|-", help="Write the run as JSON (schema rollcall.run/1); - for stdout.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary line.")
def run(
    providers: tuple[str, ...],
    exclude: tuple[str, ...],
    all_providers: bool,
    include_auth: bool,
    include_extra: bool,
    model: str | None,
    prompt: str,
    timeout: float,
    concurrency: int,
    repeat: int,
    expect: str | None,
    max_total: float | None,
    max_ttft: float | None,
    require: tuple[str, ...],
    min_ok: int,
    json_path: str | None,
    quiet: bool,
) -> int:
    """Probe providers at once and report who answered, how fast, and why the rest failed.

    \b
    Examples:
      rollcall run                          every working no-key g4f provider
      rollcall run -p Yqcloud -p PollinationsAI --timeout 10
      rollcall run --require Yqcloud --json results.json   (CI: exit 1 if Yqcloud is down)
    """
    from rich.console import Console

    from .. import checks
    from ..app import execute
    from ..live import LiveView
    from ..reports import json as json_report
    from ..runner import Runner
    from ..targets.g4f import SelectionError, select_providers, targets_for

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
    try:
        with chatter.status("loading g4f providers…", spinner="dots") if chatter.is_terminal else nullcontext():
            selection = select_providers(
                providers, exclude=exclude, all_providers=all_providers,
                include_auth=include_auth, include_extra=include_extra,
            )
    except SelectionError as exc:
        raise click.UsageError(str(exc)) from None
    targets = targets_for(selection, model=model, include_auth=include_auth)
    if not quiet:
        filtered = ", ".join(f"{n} {why}" for why, n in selection.filtered.items())
        chatter.print(
            f"Probing {len(targets)} provider(s)" + (f" ({filtered} left out)" if filtered else "")
            + f", {timeout:g} s deadline each…", style="dim",
        )
    if not targets:
        chatter.print("rollcall: nothing to probe (see `rollcall list`)", style="yellow")

    runner = Runner(
        targets, prompt=prompt, timeout_s=timeout, concurrency=concurrency, repeat=repeat,
        skipped=selection.skipped, checks=answer_checks,
        settings={"model": model, "providers": list(providers), "exclude": list(exclude)},
    )
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
