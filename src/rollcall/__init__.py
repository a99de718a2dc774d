"""rollcall: ask many LLM providers the same question at once, time every answer, say who is up.

The public API lives here; modules behind it are private and may move.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# Lazy re-exports keep `import rollcall` fast: nothing heavy (g4f, aiohttp, rich) loads until used.
_EXPORTS = {
    "AnthropicTarget": "rollcall.targets.anthropic",
    "Content": "rollcall.targets.base",
    "GeminiTarget": "rollcall.targets.gemini",
    "HttpTarget": "rollcall.targets.http_target",
    "OllamaTarget": "rollcall.targets.ollama",
    "ServerTimings": "rollcall.models",
    "Timings": "rollcall.targets.base",
    "ErrorKind": "rollcall.models",
    "G4FTarget": "rollcall.targets.g4f",
    "HttpClient": "rollcall.http",
    "LiteLLMTarget": "rollcall.targets.litellm",
    "Kind": "rollcall.kinds",
    "OutputSettings": "rollcall.settings",
    "ProbeSettings": "rollcall.settings",
    "RunInfo": "rollcall.models",
    "TargetInfo": "rollcall.models",
    "LoadRunner": "rollcall.load.run",
    "LoadSpec": "rollcall.load.spec",
    "ShardPlan": "rollcall.load.shard",
    "run_shard": "rollcall.load.shard",
    "OpenAITarget": "rollcall.targets.openai",
    "StoreSink": "rollcall.store",
    "load_config": "rollcall.config",
    "open_store": "rollcall.store",
    "write_report": "rollcall.reports.outputs",
    "Headers": "rollcall.targets.base",
    "ProbeError": "rollcall.targets.base",
    "ProbeRequest": "rollcall.targets.base",
    "ProbeResult": "rollcall.models",
    "ReasoningDelta": "rollcall.targets.base",
    "RunResult": "rollcall.models",
    "Runner": "rollcall.runner",
    "Skipped": "rollcall.models",
    "Started": "rollcall.targets.base",
    "Target": "rollcall.targets.base",
    "Usage": "rollcall.targets.base",
    "classify": "rollcall.classification",
    "run": "rollcall.runner",
    "run_probe": "rollcall.probe",
    "select_providers": "rollcall.targets.g4f",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rollcall' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
