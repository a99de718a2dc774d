"""Shared fixtures. Area-specific fixtures live in the test modules (or tests/<area>/conftest.py)."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pytest
from rich.console import Console
from services import require_or_skip, strict_ci  # noqa: F401 - re-exported for older imports


@pytest.fixture
def console() -> Console:
    """A rich Console that renders plain text into a buffer (read it with console.file.getvalue())."""
    return Console(file=io.StringIO(), width=100, color_system=None, force_terminal=False)


def pytest_configure(config: pytest.Config) -> None:
    """Before any test imports g4f: give it a config dir whose provider cache is seeded, so loading
    the registry (G4FSpace fetches a JSON file at import) never reaches the internet."""
    import netguard
    from g4f_env import seed_g4f_config

    netguard.install()

    root = Path(tempfile.mkdtemp(prefix="rollcall-tests-"))
    if "G4F_CONFIG_DIR" not in os.environ:
        os.environ["G4F_CONFIG_DIR"] = str(seed_g4f_config(root))
    # Nothing a test runs may read the user's config or write into their history.
    os.environ["XDG_DATA_HOME"] = str(root / "xdg-data")
    os.environ["XDG_CONFIG_HOME"] = str(root / "xdg-config")
    for name in ("ROLLCALL_STORE", "ROLLCALL_CONFIG"):
        os.environ.pop(name, None)
