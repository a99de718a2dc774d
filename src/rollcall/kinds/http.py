"""What HTTP kinds share: the fields of an endpoint (base_url, api_key, headers, stream,
extra_body) and `rollcall list` for endpoints (each entry's targets asked for their models).

A new HTTP kind is one module declaring its Kind with `endpoint_fields()`, a `build` that makes its
target on `ctx.http_client()`, `list_models=endpoint_lister(...)` when its targets have
`list_models()`, and the name of its simulator protocol (see docs/kinds.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..settings import SWITCH, TABLE, TEXT, TEXT_TABLE, ValueType
from .base import Field, Kind, ListContext, Listing, Lister, TargetConfig


def _base_url(value: Any) -> str:
    from ..urls import check_base_url

    check_base_url(value)
    return value


BASE_URL = ValueType("url", _base_url, (str,), "URL")


def endpoint_fields(*, base_url: str | None = None, stream: bool = True) -> tuple[Field, ...]:
    """The fields of an HTTP endpoint; `base_url` given makes the field optional with that default."""
    return (
        Field("base_url", BASE_URL, base_url, required=base_url is None,
              help="The API's base URL (a query it needs, e.g. ?api-version=, is kept)."),
        Field("api_key", TEXT, None, secret=True,
              help='API key, usually from the environment: "${VAR}"; never printed or stored.'),
        Field("headers", TEXT_TABLE, {}, secret=True,
              help="Extra request headers; values from the environment or naming a credential are secrets."),
        Field("stream", SWITCH, stream, help="Stream the answer (false: the non-streaming API)."),
        Field("extra_body", TABLE, {}, help="JSON fields added to every request body."),
    )


def endpoint_lister(title: str, *, unnamed_model: str | None = None) -> Lister:
    """`list_models` for a kind whose targets answer `list_models()`: one row per target,
    its models or its failure (classified like a probe's), each within the listing deadline.

    `unnamed_model`: for a kind whose API has no default model (its build refuses an entry
    without `models`), an entry that names none is built with this one to list its models;
    listing sends no model, and that is how a user finds out which to name."""

    async def list_models(entries: Sequence[TargetConfig], ctx: ListContext) -> Listing:
        import dataclasses

        from .loader import get

        targets = []
        for entry in entries:
            if unnamed_model is not None and not entry.models:
                entry = dataclasses.replace(entry, models=(unnamed_model,))
            targets += get(entry.kind).build(entry, ctx.build).targets
        return endpoint_listing(entries[0].kind if entries else "", title, await _ask(targets, ctx.timeout_s))

    return list_models


def endpoint_listing(kind: str, title: str, rows: list[dict[str, Any]]) -> Listing:
    """The endpoints table of `rollcall list`: rows of target, base_url, models or error."""
    cells = []
    for row in rows:
        models = row["models"]
        detail = ", ".join(models[:5]) + (" …" if len(models) > 5 else "") if models is not None else row["error"]
        cells.append((row["target"], row["base_url"], "-" if models is None else str(len(models)), detail))
    return Listing(kind=kind, section="endpoints", title=f"{title} ({len(rows)})",
                   columns=(("target", "left"), ("base url", "left"), ("models", "left"),
                            ("first models / error", "left")),
                   rows=rows, cells=cells)


async def _ask(targets: list[Any], timeout_s: float) -> list[dict[str, Any]]:
    import asyncio

    from ..classification import read_failure
    from ..redact import display_url

    async def one(target: Any) -> dict[str, Any]:
        row: dict[str, Any] = {"target": target.name, "kind": target.kind,
                               "base_url": display_url(getattr(target, "base_url", "")), "models": None,
                               "error": None}
        deadline = asyncio.timeout(timeout_s)
        try:
            async with deadline:
                row["models"] = await target.list_models()
        except Exception as exc:  # noqa: BLE001 - shown as this target's error kind and message
            if deadline.expired():
                row["error"] = f"timeout: no model list within {timeout_s:g} s"
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


__all__ = ["BASE_URL", "endpoint_fields", "endpoint_lister", "endpoint_listing"]
