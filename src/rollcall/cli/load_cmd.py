"""`rollcall load`: how a target holds up under load (stages of concurrency or rate), and
`rollcall load compare A B` / `rollcall load runs`.

Thin: parse the flags into a LoadSpec (rollcall.load.spec, errors name the flag, exit 2), build
the target, run rollcall.load, render. Exit codes: 0 done; 1 every request failed, an output
could not be written, or (compare) a regression; 2 bad usage; 130/143 interrupted by
SIGINT/SIGTERM (what finished is still shown, written and stored).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..load.spec import LoadOptions
from ..safetext import json_text
from ..settings import OutputSettings, ProbeSettings, TargetSelection
from .common import EXIT_FAILED, EXIT_OK, human_console
from .options import given, options


class LoadGroup(click.Group):
    """`rollcall load TARGET ...` means `rollcall load run TARGET ...`; `compare` and `runs` are
    subcommands (a config target named like one is reached with `rollcall load run NAME`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args:
            click.echo(ctx.get_help())
            ctx.exit(0)
        if args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group("load", cls=LoadGroup, invoke_without_command=False,
             short_help="Load-test one target: stages of concurrency or rate, latency percentiles, goodput.")
def load() -> None:
    """Load-test one target: how time to first token, throughput and errors change with load.

    \b
    rollcall load TARGET --concurrency 1,8,32 --requests 200     closed loop: N requests in flight
    rollcall load TARGET --rate 1,5,20 --duration 60s --slo ttft=0.5,tpot=0.05
    rollcall load compare before.json after.json                 exit 1 on a regression
    rollcall load runs                                           load runs in the history

    TARGET is a config target name or a base URL (http://host:8000/v1) with --kind.
    """


def _spec_error(exc: Exception) -> click.UsageError:
    return click.UsageError(str(exc))


# What `load` takes of `run`'s declarations: the prompt, the model, the deadline (60 s here: a
# request under load waits longer) and the HTTP deadlines; only those two come from [defaults].
SHARED = ("prompt", "model", "timeout_s", "connect_timeout_s", "first_byte_timeout_s")
FROM_CONFIG = ("connect_timeout_s", "first_byte_timeout_s")
LOAD_DEFAULTS = {"timeout_s": 60.0}


def _build_spec(o: LoadOptions, probe: ProbeSettings) -> Any:
    from ..load import spec as s

    if o.concurrency is not None and o.rate is not None:
        raise s.SpecError("--concurrency/--rate: give one of them, not both")
    if o.concurrency is None and o.rate is None:
        raise s.SpecError("--concurrency/--rate: give --concurrency LIST (closed loop) or --rate LIST (open loop)")
    mode = "concurrency" if o.concurrency is not None else "rate"
    values = s.parse_concurrency_list(o.concurrency) if o.concurrency is not None else s.parse_rate_list(o.rate)
    if o.requests is not None and o.duration is not None:
        raise s.SpecError("--requests/--duration: give one of them, not both")
    duration = s.parse_duration(o.duration, "--duration") if o.duration is not None else None
    requests = o.requests if o.requests is not None else (None if duration is not None else s.DEFAULT_REQUESTS)
    if mode == "concurrency" and o.burstiness is not None:
        raise s.SpecError("--burstiness: only for --rate stages")
    return s.LoadSpec(
        mode=mode, values=tuple(values), requests=requests, duration_s=duration, warmup=o.warmup,
        burstiness=s.parse_burstiness(o.burstiness) if o.burstiness is not None else 1.0,
        max_concurrency=o.max_concurrency, timeout_s=probe.timeout_s, max_tokens=o.max_tokens,
        slo=s.parse_slo(o.slo) if o.slo else {}, seed=o.seed,
    )


def _prompts(o: LoadOptions, probe: ProbeSettings, prompt_given: bool) -> Any:
    from ..load import prompts, spec as s

    given = [name for name in ("prompts", "input_tokens") if getattr(o, name)]
    if len(given) > 1 or (given and prompt_given):
        raise s.SpecError("--prompt/--prompts/--input-tokens: give one of them")
    if o.prompts:
        return prompts.FilePrompts(o.prompts)
    if o.input_tokens:
        mean, spread = s.parse_input_tokens(o.input_tokens)
        return prompts.SyntheticPrompts(mean, spread, o.seed)
    return prompts.FixedPrompt(probe.prompt)


def _extra_body(o: LoadOptions) -> dict[str, Any]:
    from ..load.spec import SpecError

    extra: dict[str, Any] = {}
    if o.extra_body:
        try:
            extra = json.loads(o.extra_body)
        except ValueError:
            raise SpecError("--extra-body: not JSON (give an object such as '{\"ignore_eos\": true}')") from None
        if not isinstance(extra, dict):
            raise SpecError("--extra-body: must be a JSON object such as '{\"ignore_eos\": true}'")
    if o.ignore_eos:
        extra["ignore_eos"] = True
    return extra


def _config(selection: TargetSelection) -> Any:
    from ..config import ConfigError
    from ..plan import load_selected

    try:
        return load_selected(selection)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


def _target(ref: str, o: LoadOptions, probe: ProbeSettings, spec: Any, config: Any) -> tuple[Any, str, Any]:
    from ..load import target as t

    connection = t.Connection(spec.max_in_flight, connect_timeout_s=probe.connect_timeout_s,
                              first_byte_timeout_s=probe.first_byte_timeout_s, client=o.client)
    if not t.is_url(ref) and o.api_key_env:
        raise click.UsageError("--api-key-env: only for a base URL (a config target has its own api_key)")
    return t.resolve(ref, kind=o.kind, model=probe.model, api_key_env=o.api_key_env, config=config,
                     connection=connection, extra_body=_extra_body(o))


def default_workers() -> int:
    """The cores this process may run on."""
    import os

    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _executor(o: LoadOptions, recipe: Any, prompts: Any) -> tuple[Any, int]:
    """Where the shards run, and how many there are: this process, worker processes or Ray actors."""
    if o.ray_address is not None:
        from ..load.ray_workers import RayExecutor

        executor = RayExecutor(recipe, prompts.spec(), address=o.ray_address or "default", workers=o.workers)
        executor.connect()  # before our signal handlers: ray.init sets its own
        return executor, 0  # the actor count is known once the cluster is
    workers = o.workers or default_workers()
    if workers == 1:
        return None, 1
    from ..load.processes import ProcessExecutor

    return ProcessExecutor(recipe, prompts.spec(), workers), workers


@load.command("run", short_help="Run load stages against one target (the default subcommand).")
@click.argument("target_ref", metavar="TARGET")
@options(LoadOptions, skip=("seed", "workers", "ray_address"))
@options(ProbeSettings, only=SHARED, defaults=LOAD_DEFAULTS,
         help={"prompt": "The prompt of every request.",
               "model": "Model to load (a config target with several models needs one).",
               "timeout_s": "Deadline per request, connect to last token.",
               "connect_timeout_s": "HTTP: fail with timeout when no connection in time (a config's [defaults] "
                                    "connect_timeout is the default; so is its first_byte_timeout below).",
               "first_byte_timeout_s": "HTTP: fail with timeout when no response headers in time."})
@options(TargetSelection, only=("config_path", "no_config"),
         help={"config_path": "Config file with the [[target]] tables.",
               "no_config": "Ignore any default config file."})
@options(LoadOptions, only=("seed", "workers", "ray_address"))
@options(OutputSettings, help={"json_path": "Write the run as JSON (schema rollcall.load/1).",
                               "outputs": "json, jsonl (every request as it finishes) or html (the report); - is "
                                          "stdout.",
                               "store_location": "History database (SQLite path or postgresql://...).",
                               "site": "Where this run is made from [default: hostname]."})
@click.pass_context
def run(ctx: click.Context, target_ref: str, **_: Any) -> int:
    """Send stages of load to TARGET and report latency percentiles, throughput, goodput and errors.

    \b
    Examples:
      rollcall load groq -m llama-3.1-8b-instant --concurrency 1,8,32,128 --requests 200
      rollcall load local --rate 1,5,20 --duration 60s --slo ttft=0.5,tpot=0.05 -o html:load.html
      rollcall load http://127.0.0.1:8000/v1 -m my-model --rate 50 --input-tokens 512 --max-tokens 128
      rollcall load http://10.0.0.5:8000/v1 -m my-model --rate 100,200 --duration 60s --ray auto

    A stage whose client fell behind (sends 10 ms late at p99, or the event loop 50 ms late) is
    flagged "client-bound: numbers unreliable". A stage runs in --workers processes (default:
    the cores) or on Ray actors (--ray); a worker that dies loses its requests in flight, which
    are counted as lost, and the stage is flagged.
    """
    from ..load import target as t
    from ..load.spec import SpecError

    o = LoadOptions.resolve(given(ctx, LoadOptions))
    out = OutputSettings.resolve(given(ctx, OutputSettings))
    flags = given(ctx, ProbeSettings)
    config = None if t.is_url(target_ref) else _config(TargetSelection.resolve(given(ctx, TargetSelection)))
    from_config = {k: v for k, v in (config.defaults if config else {}).items() if k in FROM_CONFIG}
    try:
        probe = ProbeSettings.resolve(flags, from_config, LOAD_DEFAULTS)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        spec = _build_spec(o, probe)
        prompts = _prompts(o, probe, prompt_given="prompt" in flags)
        from ..load.sinks import output_sinks

        specs = out.report_specs
        try:
            outputs = output_sinks(specs)
        except ValueError as exc:
            raise SpecError(f"-o/--json: {exc}") from None
        spec = _fit_open_files(spec)
        target, model, recipe = _target(target_ref, o, probe, spec, config)
    except SpecError as exc:
        raise _spec_error(exc) from None
    from ..load.remote import WorkerError

    try:
        executor, shards = _executor(o, recipe, prompts)
        return _execute(target, model, spec, prompts, outputs, specs, out, executor, shards, o.client)
    except WorkerError as exc:
        from ..safetext import one_line

        raise click.ClickException(one_line(str(exc), 400)) from None


def _fit_open_files(spec: Any) -> Any:
    """Raise the open-file limit; refuse a concurrency it cannot hold (capping it quietly would
    change the experiment), and cap an open loop's requests in flight to it, so that waits show
    as queue time instead of hiding in the connection pool."""
    import dataclasses

    from ..fdlimit import fit_concurrency
    from ..load.spec import SpecError

    budget = fit_concurrency(spec.max_in_flight, per_probe=1)
    if budget.concurrency >= spec.max_in_flight:
        return spec
    if spec.mode == "concurrency" or spec.max_concurrency is not None:
        flag = "--concurrency" if spec.mode == "concurrency" else "--max-concurrency"
        raise SpecError(f"{flag}: {spec.max_in_flight:,} requests in flight need as many open files, and this "
                        f"process may open about {budget.concurrency:,} more (raise ulimit -n)")
    return dataclasses.replace(spec, max_concurrency=budget.concurrency)


def _execute(target: Any, model: str, spec: Any, prompts: Any, outputs: list[Any], specs: list[str],
             out: OutputSettings, executor: Any, shards: int, client: str) -> int:
    from ..load.app import execute
    from ..load.run import LoadRunner
    from ..load.sinks import StoreLoadSink
    from ..load.view import LoadLiveView
    from ..reports.outputs import uses_stdout
    from ..safetext import one_line
    from ..stdio import say

    console = human_console(stderr=uses_stdout(specs))
    sinks: list[Any] = [LoadLiveView(console, quiet=out.quiet), *outputs]
    store = None
    if not out.no_store:
        from ..store import StoreError, open_store_for_run

        try:
            store, warning = open_store_for_run(out.store_location)
        except StoreError as exc:
            raise click.UsageError(str(exc)) from None
        if warning:
            say(one_line(f"rollcall: warning: {warning}"))
        if store is not None:
            sinks.insert(0, StoreLoadSink(store))
    site = out.site or _default_site()
    settings = {"kind": target.kind, "extra_body_keys": sorted(getattr(target, "extra_body", {}) or {}),
                "client": client, "executor": "local", "workers": 1}  # a remote executor says its own once started
    runner = LoadRunner(target, spec, prompts, model=model, sinks=sinks, settings=settings, site=site,
                        shards=shards or 1, executor=executor)
    execution = None
    try:
        execution = execute(runner)
    finally:
        # Abandoned, the store may still be mid-write: leave it to the process exit.
        if store is not None and (execution is None or not execution.abandoned):
            store.close()
    if execution.abandoned:
        say(one_line(f"rollcall: stopped before finishing; not written: {', '.join(execution.abandoned)}"))
    if execution.exit_status is not None:
        return execution.exit_status
    doc = execution.doc
    problems = [f"an output could not be written ({e})" for e in execution.sink_errors]
    totals = doc["totals"]
    if totals["requests"] and not totals["ok"]:
        problems.append(f"every request failed ({', '.join(_kinds(doc))})")
    lost = [f for stage in doc["stages"] for f in stage.get("shard_failures", [])]
    if lost:
        problems.append(f"{len(lost)} shard(s) ended early, {totals.get('lost', 0)} requests lost ({lost[0]})")
    for problem in problems:
        say(one_line(f"rollcall: {problem}"))
    return EXIT_FAILED if problems else EXIT_OK


def _default_site() -> str:
    from ..store import default_site

    return default_site()


def _kinds(doc: dict[str, Any]) -> list[str]:
    counts: dict[str, int] = {}
    for stage in doc["stages"]:
        for kind, n in stage["errors"].items():
            counts[kind] = counts.get(kind, 0) + n
    return [f"{kind} ×{n}" for kind, n in sorted(counts.items(), key=lambda kv: -kv[1])]


MAX_DOCUMENT_BYTES = 64 << 20  # a load document holds no per-request records: a few MB at most


def _read_doc(ref: str, store_location: str | None) -> dict[str, Any]:
    """A load document from a JSON file, - (stdin), or the history by run id."""
    from pathlib import Path

    from ..load.document import check

    if ref == "-" or Path(ref).exists():
        try:
            if ref == "-":
                data = sys.stdin.buffer.read(MAX_DOCUMENT_BYTES + 1)
            else:
                with open(ref, "rb") as file:
                    data = file.read(MAX_DOCUMENT_BYTES + 1)
            if len(data) > MAX_DOCUMENT_BYTES:
                raise click.UsageError(f"{ref}: larger than {MAX_DOCUMENT_BYTES:,} bytes; not a load document")
            doc = json.loads(data.decode("utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise click.UsageError(f"{ref}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
        except (ValueError, RecursionError):
            raise click.UsageError(f"{ref}: not JSON") from None
        try:
            return check(doc, ref)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    from ..store import StoreError, open_store

    try:
        with open_store(store_location, create=False) as store:
            return store.get_load_run(ref)
    except StoreError as exc:
        raise click.UsageError(f"{ref}: no such file, and {exc}") from None


@load.command("compare", short_help="Two load runs side by side; exit 1 on a regression beyond --threshold.")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@click.option("--threshold", type=float, default=0.10, show_default=True,
              help="Relative change that counts as a regression (0.10 = 10% worse).")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON (schema rollcall.load.compare/1).")
@click.option("--store", "store_location", metavar="PATH|URL", envvar="ROLLCALL_STORE",
              help="History store to find run ids in.")
def compare_cmd(a: str, b: str, threshold: float, as_json: bool, store_location: str | None) -> int:
    """Compare load run B against run A, stage by stage (JSON files from --json, or stored run ids).

    Throughput (req/s, tok/s, goodput) regresses when B is lower by more than the threshold,
    latency percentiles (TTFT, TPOT, ITL, E2E) when B is higher, the error rate when it rose by
    more than the threshold and at least one point. Exit 1 on any regression.
    """
    from ..load.compare import CompareError, compare, render

    if not (0 <= threshold < float("inf")):
        raise click.UsageError("--threshold: must be a number of 0 or more (0.10 = 10%)")
    doc_a, doc_b = _read_doc(a, store_location), _read_doc(b, store_location)
    try:
        result = compare(doc_a, doc_b, threshold)
    except CompareError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(json_text(result, indent=2))
    else:
        human_console(stderr=False).print(render(result))
    return EXIT_FAILED if result["regressions"] else EXIT_OK


@load.command("runs", short_help="Load runs in the history.")
@click.option("-n", "--limit", type=click.IntRange(min=1, max=1_000_000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (schema rollcall.load.runs/1).")
@click.option("--store", "store_location", metavar="PATH|URL", envvar="ROLLCALL_STORE", help="History store.")
def runs_cmd(limit: int, as_json: bool, store_location: str | None) -> int:
    """Recent load runs: id, time, target, model, mode, stages, complete or not."""
    from rich.table import Table
    from rich.text import Text

    from ..safetext import line
    from ..store import StoreError
    from .store_cmd import _open

    store = _open(store_location)  # None: nothing recorded yet (said so on stderr)
    try:
        found = store.list_load_runs(limit) if store is not None else []
    except StoreError as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        if store is not None:
            store.close()
    if as_json:
        click.echo(json_text({"schema": "rollcall.load.runs/1", "runs": found}, indent=2))
        return EXIT_OK
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("id", "started", "site", "target", "model", "mode", "stages", ""):
        table.add_column(name)
    for r in found:
        values = r["settings"].get("values") or []
        table.add_row(line(r["id"]), line(r["started_at"]), line(r["site"]), line(r["target"], limit=40),
                      line(r["model"] or "default", limit=40),
                      f"{r['mode']} {','.join(f'{v:g}' for v in values)}", str(r["stages"]),
                      "" if r["complete"] else Text(f"interrupted ({r['interrupted']})" if r["interrupted"]
                                                    else "incomplete", style="yellow"))
    human_console(stderr=False).print(table if found else "no load runs stored yet")
    return EXIT_OK


COMMANDS = [load]
