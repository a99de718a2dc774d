"""`rollcall list`: what this machine can probe. g4f providers are read without calling them; the
config file's OpenAI-compatible targets are asked for their models (GET /models)."""

from __future__ import annotations

import dataclasses
from typing import Any

import click

MODELS_TIMEOUT_S = 10.0


async def _list_models(targets: list[Any]) -> list[dict[str, Any]]:
    import asyncio

    from ..classification import read_failure
    from ..redact import display_url

    async def one(target: Any) -> dict[str, Any]:
        row: dict[str, Any] = {"target": target.name, "base_url": display_url(target.base_url), "models": None,
                               "error": None}
        deadline = asyncio.timeout(MODELS_TIMEOUT_S)
        try:
            async with deadline:
                row["models"] = await target.list_models()
        except Exception as exc:  # noqa: BLE001 - shown as this target's error kind and message
            if deadline.expired():
                row["error"] = f"timeout: no model list within {MODELS_TIMEOUT_S:g} s"
            else:  # like a probe's failure: read off the loop, within the time that is left
                left = (deadline.when() or 0) - asyncio.get_running_loop().time()
                failure = await read_failure(exc, within_s=left)
                row["error"] = f"{failure.kind}: {failure.error}"
        return row

    try:
        return list(await asyncio.gather(*(one(t) for t in targets)))
    finally:
        for target in targets:
            await target.aclose()


def _scrubbed(item: Any) -> Any:
    """A dataclass with redact() applied to each of its text fields."""
    from ..redact import redact

    return dataclasses.replace(item, **{f.name: redact(getattr(item, f.name)) for f in dataclasses.fields(item)
                                        if isinstance(getattr(item, f.name), str)})


@click.command("list")
@click.option("-p", "--provider", "providers", multiple=True, metavar="NAME", help="Only these g4f providers (repeatable).")
@click.option("--working/--all", "working_only", default=False, help="Only providers g4f marks as working.")
@click.option("--no-auth", is_flag=True, help="Only providers that need no key.")
@click.option("--include-extra", is_flag=True, help="Also load g4f's extra provider list.")
@click.option("-c", "--config", "config_path", metavar="FILE",
              help="Also list the models of this config file's OpenAI-compatible targets (default: as for run).")
@click.option("--no-config", is_flag=True, help="Ignore any default config file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def list_providers(providers: tuple[str, ...], working_only: bool, no_auth: bool, include_extra: bool,
                   config_path: str | None, no_config: bool, as_json: bool) -> int:
    """List g4f providers (working, needs auth, streaming, model count, default model) and the
    models each configured OpenAI-compatible endpoint offers."""
    from rich.console import Console

    from ..config import ConfigError, default_config_path, load_config
    from ..redact import redact_doc
    from ..targets.g4f import ProviderInfo, SelectionError, select_providers

    try:
        path = config_path or (None if no_config else default_config_path())
        config = load_config(path) if path else None
        selection = select_providers(
            providers, all_providers=not working_only, include_auth=not no_auth, include_extra=include_extra
        )
    except (ConfigError, SelectionError) as exc:
        raise click.UsageError(str(exc)) from None
    # Everything `list` prints passes redact, as a result does: names, default models, reasons.
    infos = sorted((_scrubbed(ProviderInfo.of(p)) for p in selection.providers), key=lambda i: i.name.lower())
    selection.skipped = [_scrubbed(s) for s in selection.skipped]
    endpoints: list[dict[str, Any]] = []
    http_names = [t.name for t in (config.targets if config else ()) if t.kind == "openai"]
    if http_names:
        import asyncio

        from ..app import new_event_loop
        from ..plan import build_plan

        try:  # the same targets `run` would probe (shared client, headers, extra_body)
            targets = build_plan(config, only=http_names).targets
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            # Model ids come from the server, which may echo our request headers back: every
            # string that is printed goes through redact first.
            endpoints = redact_doc(runner.run(_list_models(targets)))

    if as_json:
        doc = {
            "providers": [dataclasses.asdict(i) for i in infos],
            "skipped": [{"name": s.name, "reason": s.reason} for s in selection.skipped],
            "endpoints": endpoints,
        }
        from ..safetext import json_text

        click.echo(json_text(redact_doc(doc), indent=2))
        return 0
    console = Console(highlight=False)
    console.print(providers_table(infos))
    console.print(not_loaded(selection.skipped))
    if endpoints:
        console.print(endpoints_table(endpoints))
    return 0


# Renderables. Names, model ids, reasons and errors come from providers and servers: they reach
# rich only as safetext Text (a model id `llama [free]` is shown as it is, never as markup).

def providers_table(infos: list[Any]) -> Any:
    from rich.table import Table

    from ..safetext import line

    table = Table(title=f"g4f providers ({len(infos)})", title_justify="left")
    for col, justify in (("provider", "left"), ("working", "center"), ("needs auth", "center"),
                         ("stream", "center"), ("models", "right"), ("default model", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]

    def yes(flag: bool) -> str:
        return "yes" if flag else "-"

    for i in infos:
        table.add_row(line(i.name), yes(i.working), yes(i.needs_auth), yes(i.supports_stream),
                      "?" if i.models is None else str(i.models), line(i.default_model))
    return table


def not_loaded(skipped: list[Any]) -> Any:
    from rich.console import Group

    from ..safetext import line

    return Group(*(line(f"not loaded: {s.name}: {s.reason}", style="yellow", limit=200) for s in skipped))


def endpoints_table(endpoints: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    from ..safetext import line

    table = Table(title=f"OpenAI-compatible targets ({len(endpoints)})", title_justify="left")
    for col in ("target", "base url", "models", "first models / error"):
        table.add_column(col)
    for row in endpoints:
        models = row["models"]
        detail = ", ".join(models[:5]) + (" …" if len(models) > 5 else "") if models is not None else row["error"]
        table.add_row(line(row["target"]), line(row["base_url"]), "-" if models is None else str(len(models)),
                      line(detail))
    return table
