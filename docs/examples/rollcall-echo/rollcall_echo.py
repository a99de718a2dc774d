"""rollcall-echo: a target kind that answers every prompt with its own words (or a set reply),
after a delay. The module imports only rollcall's light declarations; its target needs no more."""

from __future__ import annotations

import asyncio

from rollcall import Content, Headers
from rollcall.kinds import DURATION_OR_ZERO, TEXT, Built, Field, Kind, Listing


class EchoTarget:
    """One echo "endpoint": a target is a name, a kind, its models, `stream()` and `aclose()`."""

    kind = "echo"

    def __init__(self, name: str, models: tuple[str, ...], reply: str | None, delay_s: float) -> None:
        self.name, self.models, self.reply, self.delay_s = name, models, reply, delay_s

    async def stream(self, request):
        yield Headers(200)
        await asyncio.sleep(self.delay_s)  # the runner owns the deadline: no timeout here
        for word in (self.reply or request.prompt).split():
            yield Content(word + " ")

    async def aclose(self) -> None:
        pass


def build(entry, ctx) -> Built:
    """One [[target]] entry (fields checked, defaults filled in) -> its targets."""
    models = entry.models or ("echo-1",)
    return Built([EchoTarget(entry.name, models, entry.values["reply"], entry.values["delay"])])


async def list_models(entries, ctx) -> Listing:
    """`rollcall list`: the models each echo target answers for."""
    rows = [{"target": e.name, "models": list(e.models or ("echo-1",))} for e in entries]
    return Listing(kind="echo", section="echoes", title=f"echo targets ({len(rows)})",
                   columns=(("target", "left"), ("models", "left")),
                   rows=rows, cells=[(r["target"], ", ".join(r["models"])) for r in rows])


KIND = Kind(
    name="echo",
    summary="Answers every prompt with its own words (an example plug-in)",
    build=build,
    fields=(
        Field("reply", TEXT, None, help="Answer this instead of the prompt."),
        Field("delay", DURATION_OR_ZERO, 0.0, flag="--echo-delay",
              help="Wait this long before answering (seconds, or 250ms, 2s); the flag sets it for every echo target."),
    ),
    list_models=list_models,
    list_section="echoes",
)
