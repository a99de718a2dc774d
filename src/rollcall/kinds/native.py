"""What the native API kinds (anthropic, gemini, ollama) share beyond an endpoint's fields: their
APIs have no default model, so an entry must name its models."""

from __future__ import annotations

from .base import TargetConfig


def models_of(entry: TargetConfig) -> tuple[str, ...]:
    """The entry's models; ValueError (a config error naming the target) when it names none."""
    if not entry.models or not all(entry.models):
        raise ValueError(f"target {entry.name!r}: field 'models' must name the models to probe (the {entry.kind} "
                         "API has no default model; `rollcall list -c FILE` lists the endpoint's)")
    return entry.models
