"""The pure parts: Statuspage's component status and indicator from states, the windows, how a
path names a key."""

from __future__ import annotations

import datetime as _dt

import pytest

from rollcall.serve.api import split_key
from rollcall.serve.documents import component_status, indicator
from rollcall.serve.pages import root_for
from rollcall.serve.snapshot import window_starts
from rollcall.watch.state import State

U, D, G, K = State.UP, State.DOWN, State.DEGRADED, State.UNKNOWN


@pytest.mark.parametrize(("states", "status"), [
    ([U, U], "operational"), ([D], "major_outage"), ([D, D, K], "major_outage"), ([D, U], "partial_outage"),
    ([D, G], "partial_outage"), ([G, U], "degraded_performance"), ([K], "operational"), ([], "operational"),
])
def test_component_status(states, status) -> None:
    assert component_status(states) == status


def test_indicator() -> None:
    assert indicator([]) == "none" and indicator(["operational"]) == "none"
    assert indicator(["operational", "degraded_performance"]) == "minor"
    assert indicator(["partial_outage", "operational"]) == "minor"
    assert indicator(["major_outage", "operational"]) == "major"
    assert indicator(["major_outage", "major_outage"]) == "critical"


def test_windows_include_the_current_bucket() -> None:
    now = _dt.datetime(2024, 5, 31, 12, 34, tzinfo=_dt.timezone.utc)
    assert window_starts(now) == {"24h": ("hour", "2024-05-30T13:00:00Z"), "7d": ("hour", "2024-05-24T13:00:00Z"),
                                  "30d": ("day", "2024-05-02T00:00:00Z")}


def test_split_key_and_relative_roots() -> None:
    known = {("openrouter", "meta-llama/llama-3.3:free"), ("a/b", "c")}
    assert split_key("openrouter/meta-llama%2Fllama-3.3%3Afree", known) == ("openrouter", "meta-llama/llama-3.3:free")
    assert split_key("openrouter/meta-llama/llama-3.3:free", known) == ("openrouter", "meta-llama/llama-3.3:free")
    assert split_key("a/b/c", known) == ("a/b", "c")
    assert split_key("x/y/z", known) is None
    assert root_for("/") == "./" and root_for("/incidents") == "./" and root_for("/targets/a%2Fb/m") == "../../"
