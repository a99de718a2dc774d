"""The `litellm` kind: any provider LiteLLM reaches by its model string (`bedrock/...`,
`vertex_ai/...`, `azure/...`, `mistral/...`), with credentials from the environment as LiteLLM
documents them. Needs the `rollcall[litellm]` extra: without it each entry is skipped, naming the
pip command. Timings are stamped where LiteLLM hands rollcall each chunk, and every planned target
says so (`run.targets[].meta.timing`). The target is rollcall.targets.litellm, imported when an
entry is built (LiteLLM itself is imported on its own thread when the first target is made)."""

from __future__ import annotations

from collections.abc import Sequence

from ..settings import TABLE, TEXT
from .base import Built, BuildContext, Field, Kind, ListContext, Listing, SelectionError, TargetConfig
from .http import endpoint_listing


def build(entry: TargetConfig, ctx: BuildContext) -> Built:
    from ..models import Skipped
    from ..targets import litellm

    if not entry.models or not all(m.strip() for m in entry.models):
        raise SelectionError(f"target {entry.name!r}: a litellm target needs LiteLLM model strings, "
                             'e.g. models = ["mistral/mistral-small-latest"]')
    missing = litellm.missing_reason()
    if missing is not None:
        return Built(skipped=[Skipped(entry.name, missing)])
    values = entry.values
    return Built([litellm.LiteLLMTarget(
        entry.name, entry.models, api_base=values["api_base"] or None, api_key=values["api_key"] or None,
        extra=values["extra"] or None,
    )])


async def list_models(entries: Sequence[TargetConfig], ctx: ListContext) -> Listing:
    """LiteLLM has no listing that works for every provider: show the configured model strings."""
    from ..redact import display_url

    rows = [{"target": e.name, "kind": e.kind, "base_url": display_url(e.values.get("api_base") or "") or "-",
             "models": list(e.models), "error": None} for e in entries]
    return endpoint_listing("litellm", "LiteLLM targets (configured models)", rows)


KIND = Kind(
    name="litellm",
    summary="Any provider LiteLLM reaches by its model string (bedrock/..., vertex_ai/..., azure/..., "
            "mistral/...); needs rollcall[litellm]",
    build=build,
    fields=(
        Field("api_base", TEXT, None, help="The provider's endpoint, when not LiteLLM's default (e.g. a proxy)."),
        Field("api_key", TEXT, None, secret=True,
              help='API key, usually "${VAR}"; else LiteLLM reads its usual environment variables.'),
        Field("extra", TABLE, {}, secret=True,
              help="More LiteLLM arguments, e.g. { temperature = 0, aws_region_name = \"eu-west-1\" }."),
    ),
    list_models=list_models,
)
