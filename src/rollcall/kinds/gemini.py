"""The `gemini` kind: the Gemini API (rollcall.targets.gemini, imported when an entry is built),
tested on the simulator's `gemini` protocol."""

from __future__ import annotations

from ..settings import TEXT
from .base import Built, BuildContext, Field, Kind, TargetConfig
from .http import endpoint_fields, endpoint_lister
from .native import models_of

# The target module's defaults, written here too (tests/kinds check that they agree).
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"


def build(entry: TargetConfig, ctx: BuildContext) -> Built:
    from ..targets.gemini import GeminiTarget

    values = entry.values
    return Built([GeminiTarget(
        entry.name, values["base_url"], models=models_of(entry), api_key=values["api_key"] or None,
        headers=values["headers"], stream=values["stream"], client=ctx.http_client(),
        extra_body=values["extra_body"] or None, api_version=values["api_version"],
    )])


KIND = Kind(
    name="gemini",
    summary="The Gemini API: POST {base_url}/{api_version}/models/MODEL:streamGenerateContent?alt=sse "
            "(x-goog-api-key), GET {base_url}/{api_version}/models",
    build=build,
    fields=(
        *endpoint_fields(base_url=DEFAULT_BASE_URL),
        Field("api_version", TEXT, API_VERSION, show_default=True, help="The API version in the path (v1beta, v1)."),
    ),
    list_models=endpoint_lister("Gemini targets", unnamed_model="-"),
    protocol="gemini",
)
