"""The simulated provider fleet: a server speaking the OpenAI, Anthropic, Gemini and Ollama APIs
at once, whose models answer fast or slow, think first, or fail in every way real providers do —
seeded, so runs repeat.

    from rollcall.sim import Behaviour, Fleet, SimServer, load_fleet
    async with SimServer(Fleet({"fast": Behaviour(ttft_s=0.05)})) as server:
        server.base_url               # "http://127.0.0.1:PORT/v1" (OpenAI)
        server.url_for("anthropic")   # "http://127.0.0.1:PORT" (also gemini, ollama)
    with run_sim_in_thread(fleet) as base_url: ...     # for sync code and tests
    with run_sim_in_process(fleet) as base_url: ...    # for benchmarks: no shared GIL

The protocols are a registry (rollcall.sim.protocols): one module each, one small interface.

Any model named `sim:key=value,...` (e.g. `sim:ttft=0.2,tps=50,tokens=20,fault=reset_mid_stream`)
is served with that behaviour without being in the fleet; see behaviour.py for the keys.
"""

from __future__ import annotations

from typing import Any

from .behaviour import Behaviour, BehaviourError, Fault, parse_spec
from .fleet import Fleet, FleetError, demo_fleet, load_fleet, parse_fleet

# The server and its thread runner import aiohttp; load them only when used.
_LAZY = {"SimServer": ".server", "run_sim_in_process": ".background", "run_sim_in_thread": ".background"}

__all__ = sorted([
    "Behaviour", "BehaviourError", "Fault", "Fleet", "FleetError", "SimServer",
    "demo_fleet", "load_fleet", "parse_fleet", "parse_spec", "run_sim_in_process", "run_sim_in_thread",
])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rollcall.sim' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
