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
    from rich.table import Table

    from ..safetext import line

    parts: list[Any] = []
    for kind in doc["kinds"]:
        title = f"{kind['name']}: {kind['summary']}"
        extra = [f"from {kind['source']}"] + ([f"simulator protocol {kind['protocol']}"] if kind["protocol"] else []) \
            + (["probed when there is no config"] if kind["implicit"] else [])
        table = Table(title=line(title), caption=line("; ".join(extra)), title_justify="left",
                      caption_justify="left")
        for header in ("field", "type", "default", "flag", ""):
            table.add_column(header)
        for f in kind["fields"]:
            notes = ", ".join(n for n, on in (("required", f["required"]), ("secret", f["secret"])) if on)
            default = "" if f["default"] in (None, (), [], {}) else json.dumps(f["default"])
            table.add_row(line(f["name"]), line(f["type"]), line(default), line(f["flag"] or ""),
                          line(f"{notes + ': ' if notes else ''}{f['help']}"))
        parts.append(table)
    for problem in doc["problems"]:
        parts.append(line(f"not used: {problem['name']} from {problem['source']}: {problem['error']}",
                          style="yellow", limit=300))
    Console(highlight=False).print(Group(*parts))
    return 0


COMMANDS: list[click.Command] = [kinds]
