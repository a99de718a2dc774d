"""Target kinds: what a `[[target]]`'s `kind` may be, as plug-ins.

A kind is one `Kind` object in its own module, registered under the entry-point group
`rollcall.kinds`; rollcall's own kinds (g4f, openai, anthropic, gemini, ollama, litellm) are
registered exactly so, in its pyproject.toml, and a third-party distribution adds one the same
way (docs/kinds.md):

    [project.entry-points."rollcall.kinds"]
    echo = "rollcall_echo:KIND"

The registry is read once, when a command needs kinds (a config file, `rollcall kinds`, the kind
flags of `run --help`), never at `import rollcall` or `rollcall --help`. A kind module imports
nothing heavy at import time: what its targets need is imported in `build`.

    from rollcall import kinds
    kinds.get("openai").fields        # the config fields it declares
    kinds.names()                     # ("g4f", "openai", ...)
"""

from __future__ import annotations

from ..settings import (DURATION, DURATION_OR_ZERO, SWITCH, TABLE, TEXT, TEXT_TABLE, TEXTS, ValueType,
                        count)
from .base import Built, BuildContext, Field, Kind, Listing, ListContext, SelectionError, TargetConfig
from .loader import GROUP, KindError, Registry, get, names, registry

# The kinds of values a field may take (rollcall.settings), for kind modules to import from here.
VALUE_TYPES = ["DURATION", "DURATION_OR_ZERO", "SWITCH", "TABLE", "TEXT", "TEXTS", "TEXT_TABLE", "ValueType", "count"]
__all__ = sorted(["Built", "BuildContext", "Field", "GROUP", "Kind", "KindError", "Listing", "ListContext",
                  "Registry", "SelectionError", "TargetConfig", "get", "names", "registry", *VALUE_TYPES])
