"""`rollcall list`: the g4f providers this machine can probe, read without calling any of them."""

from __future__ import annotations

import dataclasses
import json

import click


@click.command("list")
@click.option("-p", "--provider", "providers", multiple=True, metavar="NAME", help="Only these providers (repeatable).")
@click.option("--working/--all", "working_only", default=False, help="Only providers g4f marks as working.")
@click.option("--no-auth", is_flag=True, help="Only providers that need no key.")
@click.option("--include-extra", is_flag=True, help="Also load g4f's extra provider list.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_providers(
    providers: tuple[str, ...], working_only: bool, no_auth: bool, include_extra: bool, as_json: bool
) -> int:
    """List g4f providers: working, needs auth, streaming, model count, default model."""
    from rich.console import Console
    from rich.table import Table

    from ..targets.g4f import ProviderInfo, SelectionError, select_providers

    try:
        selection = select_providers(
            providers, all_providers=not working_only, include_auth=not no_auth, include_extra=include_extra
        )
    except SelectionError as exc:
        raise click.UsageError(str(exc)) from None
    infos = sorted((ProviderInfo.of(p) for p in selection.providers), key=lambda i: i.name.lower())
    if as_json:
        doc = {
            "providers": [dataclasses.asdict(i) for i in infos],
            "skipped": [{"name": s.name, "reason": s.reason} for s in selection.skipped],
        }
        click.echo(json.dumps(doc, indent=2))
        return 0
    table = Table(title=f"g4f providers ({len(infos)})", title_justify="left")
    for col, justify in (("provider", "left"), ("working", "center"), ("needs auth", "center"),
                         ("stream", "center"), ("models", "right"), ("default model", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    yes = lambda flag: "yes" if flag else "-"  # noqa: E731
    for i in infos:
        table.add_row(i.name, yes(i.working), yes(i.needs_auth), yes(i.supports_stream),
                      "?" if i.models is None else str(i.models), i.default_model)
    console = Console(highlight=False)
    console.print(table)
    for s in selection.skipped:
        console.print(f"not loaded: {s.name}: {s.reason[:150]}", style="yellow")
    return 0
