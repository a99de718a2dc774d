"""The `openai` kind: any OpenAI-compatible chat completions API (OpenAI, OpenRouter, Groq, vLLM,
llama.cpp, Ollama's /v1, LiteLLM, `g4f api`...), tested on the simulator's `openai` protocol.
The target is rollcall.targets.openai, imported when an entry is built."""

from __future__ import annotations

from .base import Built, BuildContext, Kind, TargetConfig
from .http import endpoint_fields, endpoint_lister


def build(entry: TargetConfig, ctx: BuildContext) -> Built:
    from ..targets.openai import OpenAITarget

    values = entry.values
    return Built([OpenAITarget(
        entry.name, values["base_url"], models=entry.models or ("",), api_key=values["api_key"] or None,
        headers=values["headers"], stream=values["stream"], client=ctx.http_client(),
        extra_body=values["extra_body"] or None,
    )])


KIND = Kind(
    name="openai",
    summary="Any OpenAI-compatible chat completions API: POST {base_url}/chat/completions, GET {base_url}/models",
    build=build,
    fields=endpoint_fields(),
    list_models=endpoint_lister("OpenAI-compatible targets"),
    protocol="openai",
)
