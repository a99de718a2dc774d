"""Shared fixtures. Area-specific fixtures live in the test modules (or tests/<area>/conftest.py)."""

from __future__ import annotations

import io
import os

import pytest
from rich.console import Console


@pytest.fixture
def console() -> Console:
    """A rich Console that renders plain text into a buffer (read it with console.file.getvalue())."""
    return Console(file=io.StringIO(), width=100, color_system=None, force_terminal=False)


def strict_ci() -> bool:
    """In CI, tests that need Chromium or PostgreSQL fail instead of skipping."""
    return os.environ.get("ROLLCALL_CI_STRICT") == "1"


def require_or_skip(available: bool, reason: str) -> None:
    if available:
        return
    if strict_ci():
        pytest.fail(f"{reason} (required in CI: .ci/run installs it)")
    pytest.skip(reason)
