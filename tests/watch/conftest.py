"""Watch fixtures (helpers in watch_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from watch_helpers import Receiver, run_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with run_receiver() as r:
        yield r
