"""The `anthropic` kind: Anthropic's Messages API (rollcall.targets.anthropic, imported when an
entry is built), tested on the simulator's `anthropic` protocol."""

from __future__ import annotations

from ..settings import TEXT, count
from .base import Built, BuildContext, Field, Kind, TargetConfig
from .http import endpoint_fields, endpoint_lister
from .native import models_of

# The target module's defaults, written here too so that declaring the kind imports no target
# code (tests/kinds check that they agree).
DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024


def build(entry: TargetConfig, ctx: BuildContext) -> Built:
    from ..targets.anthropic import AnthropicTarget

    values = entry.values
    return Built([AnthropicTarget(
        entry.name, values["base_url"], models=models_of(entry), api_key=values["api_key"] or None,
        headers=values["headers"], stream=values["stream"], client=ctx.http_client(),
        extra_body=values["extra_body"] or None, max_tokens=values["max_tokens"],
        anthropic_version=values["anthropic_version"],
    )])


KIND = Kind(
    name="anthropic",
    summary="Anthropic's Messages API: POST {base_url}/v1/messages (x-api-key, anthropic-version), "
            "GET {base_url}/v1/models",
    build=build,
    fields=(
        *endpoint_fields(base_url=DEFAULT_BASE_URL),
        Field("max_tokens", count(1, 10**9), DEFAULT_MAX_TOKENS, show_default=True,
              help="max_tokens of each request (the Messages API requires one)."),
        Field("anthropic_version", TEXT, API_VERSION, show_default=True, help="The anthropic-version header."),
    ),
    list_models=endpoint_lister("Anthropic targets", unnamed_model="-"),
    protocol="anthropic",
)
