"""The `ollama` kind: Ollama's native API (rollcall.targets.ollama, imported when an entry is
built), tested on the simulator's `ollama` protocol."""

from __future__ import annotations

from .base import Built, BuildContext, Kind, TargetConfig
from .http import endpoint_fields, endpoint_lister
from .native import models_of

DEFAULT_BASE_URL = "http://localhost:11434"  # the target module's default too (tests/kinds check)


def build(entry: TargetConfig, ctx: BuildContext) -> Built:
    from ..targets.ollama import OllamaTarget

    values = entry.values
    return Built([OllamaTarget(
        entry.name, values["base_url"], models=models_of(entry), api_key=values["api_key"] or None,
        headers=values["headers"], stream=values["stream"], client=ctx.http_client(),
        extra_body=values["extra_body"] or None,
    )])


KIND = Kind(
    name="ollama",
    summary="Ollama's native API: POST {base_url}/api/chat (NDJSON, the server's own timings kept), "
            "GET {base_url}/api/tags",
    build=build,
    fields=endpoint_fields(base_url=DEFAULT_BASE_URL),
    list_models=endpoint_lister("Ollama targets", unnamed_model="-"),
    protocol="ollama",
)
