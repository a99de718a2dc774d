"""Tests that need a real service (Chromium, PostgreSQL, Prometheus, Alertmanager, Ray...): skip
locally with a reason, fail in CI (ROLLCALL_CI_STRICT=1, set by .ci/run, which installs them).

A plain module rather than a conftest fixture: test modules in several folders import it, and
`from conftest import ...` resolves to whichever conftest pytest loaded last.
"""

from __future__ import annotations

import os

import pytest


def strict_ci() -> bool:
    """In CI, tests that need a service fail instead of skipping."""
    return os.environ.get("ROLLCALL_CI_STRICT") == "1"


def require_or_skip(available: bool, reason: str) -> None:
    if available:
        return
    if strict_ci():
        pytest.fail(f"{reason} (required in CI: .ci/run installs it)")
    pytest.skip(reason)
