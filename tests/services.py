"""Tests that need a real service (Chromium, PostgreSQL, Prometheus, Alertmanager, Ray...): skip
locally with a reason, fail in CI (ROLLCALL_CI_STRICT=1, set by .ci/run, which installs them).

A plain module rather than a conftest fixture: test modules in several folders import it, and
`from conftest import ...` resolves to whichever conftest pytest loaded last.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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


CHROMIUM = os.environ.get("ROLLCALL_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (a module-scoped fixture in each browser test)."""
    require_or_skip(os.path.exists(CHROMIUM), f"Chromium not found at {CHROMIUM} (set ROLLCALL_TEST_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_or_skip(False, "the playwright Python package is not installed")
        raise
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()
