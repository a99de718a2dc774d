"""`rollcall kinds`: the target kinds installed (rollcall's and plug-ins'), their fields and flags."""

from __future__ import annotations

import json
from typing import Any

import click


def describe() -> dict[str, Any]:
    """The registry as JSON (schema rollcall.kinds/1)."""
    from ..kinds import registry

    kinds = registry()
    out = []
    for kind in kinds:
        out.append({
            "name": kind.name, "summary": kind.summary, "source": kinds.sources.get(kind.name),
            "protocol": kind.protocol, "implicit": kind.implicit,
            "fields": [{"name": f.name, "type": f.type.name, "default": _json(f.default), "required": f.required,
                        "secret": f.secret, "flag": f.flag, "help": f.help} for f in kind.fields],
            "list_flags": [{"name": f.name, "flag": f.flag, "help": f.help} for f in kind.list_flags],
        })
    problems = [{"name": p.name, "source": p.source, "error": p.error} for p in kinds.problems]
    return {"schema": "rollcall.kinds/1", "kinds": out, "problems": problems}


def _json(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@click.command("kinds", short_help="The target kinds installed: their config fields and flags.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (schema rollcall.kinds/1) instead of tables.")
def kinds(as_json: bool) -> int:
    """List the target kinds a [[target]] may name (`kind = "..."`): rollcall's own and those
    installed plug-ins register (entry-point group rollcall.kinds; see docs/kinds.md), with each
    one's config fields, the flags that set them, and its simulator protocol."""
    from ..redact import redact_doc
    from ..safetext import json_text

    doc = describe()
    if as_json:
        click.echo(json_text(redact_doc(doc), indent=2))
        return 0
    from rich.console import Console, Group

    from ..safetext import line

    parts: list[Any] = []
    for kind in doc["kinds"]:
        parts.append(KindView(kind))
    for problem in doc["problems"]:
        parts.append(line(f"not used: {problem['name']} from {problem['source']}: {problem['error']}",
                          style="yellow", limit=300))
    Console(highlight=False).print(Group(*parts))
    return 0


HEADERS = ("field", "type", "default", "flag")
INDENT = 2  # rows under their kind's title
HELP_INDENT = 6  # the help under its field, given the whole width less this
GAP = 2  # between columns
# When a row is wider than the terminal, these give way first, in this order, down to a floor
# (the type down to its longest word); the field name gives way last, folded, never cut.
SHRINK_ORDER = ((2, 12), (1, 0), (3, 8))


class KindView:
    """One kind of `describe()`: rows (field, type, default, flag) aligned across the kind, each
    followed by its help on the lines below. At 80 columns a help column beside four others got
    two words a line and cut field names short. Columns no field fills are left out."""

    def __init__(self, kind: dict[str, Any]) -> None:
        self.kind = kind

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.padding import Padding
        from rich.table import Table

        from ..safetext import line

        kind = self.kind
        yield line(f"{kind['name']}: {kind['summary']}", style="bold")
        rows = [(line(f["name"]), line(f["type"]), line(_default_text(f["default"])), line(f["flag"] or ""))
                for f in kind["fields"]]
        header = tuple(line(h, style="bold") for h in HEADERS)
        shown = [i for i in range(len(HEADERS)) if i == 0 or any(row[i] for row in rows)]
        widths = _widths([header, *rows], shown, options.max_width - INDENT)

        def row(cells: tuple[Any, ...]) -> Any:
            # One grid per row, every one with the same widths: the help lines between rows
            # span the whole width, which a table's cells cannot.
            grid = Table.grid(padding=(0, GAP, 0, 0), pad_edge=False)
            for i in shown:
                grid.add_column(width=widths[i], overflow="fold")
            grid.add_row(*(cells[i] for i in shown))
            return Padding(grid, (0, 0, 0, INDENT), expand=False)

        yield row(header)
        for f, cells in zip(kind["fields"], rows, strict=True):
            yield row(cells)
            notes = ", ".join(n for n, on in (("required", f["required"]), ("secret", f["secret"])) if on)
            yield Padding(line(f"{notes + ': ' if notes else ''}{f['help']}", style="dim"),
                          (0, 0, 0, HELP_INDENT), expand=False)
        extra = [f"from {kind['source']}"] + ([f"simulator protocol {kind['protocol']}"] if kind["protocol"] else []) \
            + (["probed when there is no config"] if kind["implicit"] else [])
        yield Padding(line("; ".join(extra), style="italic"), (0, 0, 1, INDENT), expand=False)


def _widths(rows: list[tuple[Any, ...]], shown: list[int], room: int) -> dict[int, int]:
    """Each shown column's width: its longest cell, narrowed in SHRINK_ORDER while the row is
    wider than `room` (rich narrows every column evenly past that: folded, not cut)."""
    widths = {i: max(row[i].cell_len for row in rows) for i in shown}
    excess = sum(widths.values()) + GAP * (len(shown) - 1) - room
    for i, floor in SHRINK_ORDER:
        if excess <= 0 or i not in widths:
            continue
        if i == 1:
            floor = max(len(word) for row in rows for word in row[i].plain.split() or [""])
        give = min(excess, max(0, widths[i] - floor))
        widths[i] -= give
        excess -= give
    return widths


def _default_text(value: Any) -> str:
    return "" if value in (None, (), [], {}) else json.dumps(value)


COMMANDS: list[click.Command] = [kinds]
