"""`rollcall list`: what this machine can probe, as each kind lists it (rollcall.plan.list_models):
the implicit kind's (g4f: providers read without calling them), then the models of every config
target (HTTP kinds ask GET /models). Nothing here names a kind: their list flags come from the
registry, their rows and tables from their Listings."""

from __future__ import annotations

from typing import Any

import click

from ..settings import TargetSelection
from .options import WithKindFlags, given, kind_flags_given, options

MODELS_TIMEOUT_S = 10.0


@click.command("list", cls=WithKindFlags, list_flags=True, after=None)
@options(TargetSelection, only=("config_path", "no_config"),
         help={"config_path": "Also list the models of this config file's targets (default: as for run).",
               "no_config": "Ignore any default config file."})
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.pass_context
def list_providers(ctx: click.Context, as_json: bool, **_: Any) -> int:
    """List g4f providers (working, needs auth, streaming, model count, default model) and the
    models each configured endpoint offers."""
    import asyncio

    from ..app import new_event_loop
    from ..config import ConfigError
    from ..kinds import registry
    from ..plan import SelectionError, list_models, load_selected
    from ..redact import redact, redact_doc

    try:
        config = load_selected(TargetSelection.resolve(given(ctx, TargetSelection)))
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            listings = runner.run(list_models(config, kind_flags_given(ctx, list_flags=True),
                                              timeout_s=MODELS_TIMEOUT_S))
    except (ConfigError, SelectionError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    # Everything `list` prints passes redact, as a result does: names, default models, reasons,
    # and model ids from servers, which may echo our request headers back.
    for listing in listings:
        listing.rows = redact_doc(listing.rows)
        listing.cells = [tuple(redact(c) or "" for c in row) for row in listing.cells]
        listing.skipped = [type(s)(redact(s.name) or "", redact(s.reason) or "") for s in listing.skipped]

    if as_json:
        doc: dict[str, Any] = {section: [] for section in
                               dict.fromkeys(k.list_section for k in registry() if k.list_models is not None)}
        doc.setdefault("skipped", [])
        for listing in listings:
            doc.setdefault(listing.section, []).extend(listing.rows)
            doc["skipped"] += [{"name": s.name, "reason": s.reason} for s in listing.skipped]
        from ..safetext import json_text

        click.echo(json_text(redact_doc(doc), indent=2))
        return 0
    from rich.console import Console

    console = Console(highlight=False)
    for listing in listings:
        # The implicit kind lists without a config: its table shows even empty ("nothing found").
        if listing.rows or registry().get(listing.kind).implicit:
            console.print(listing_table(listing))
        if listing.skipped:
            console.print(not_loaded(listing.skipped))
    return 0


# Renderables. Names, model ids, reasons and errors come from providers and servers: they reach
# rich only as safetext Text (a model id `llama [free]` is shown as it is, never as markup).

def listing_table(listing: Any) -> Any:
    from rich.table import Table

    from ..safetext import line

    table = Table(title=line(listing.title), title_justify="left")  # a plug-in's words are text too
    for header, justify in listing.columns:
        table.add_column(line(header), justify=justify if justify in ("left", "center", "right") else "left")
    for cells in listing.cells:
        table.add_row(*(line(c) for c in cells))
    return table


def not_loaded(skipped: list[Any]) -> Any:
    from rich.console import Group

    from ..safetext import line

    return Group(*(line(f"not loaded: {s.name}: {s.reason}", style="yellow", limit=200) for s in skipped))
