"""The ledger and incidents: one alert per transition, reminders no more often than `remind`,
incidents that count their rounds."""

from __future__ import annotations

import io

from rich.console import Console

from rollcall.models import ErrorKind, ProbeResult, RunResult
from rollcall.watch.incidents import EventKind, reminder_due
from rollcall.watch.ledger import Ledger
from rollcall.watch.state import State, Thresholds
from rollcall.watch.view import RoundView


def _run(minute, outcomes, run_id=None):
    at = f"2024-05-01T10:{minute:02d}:00.000Z"
    results = tuple(
        ProbeResult(target=t, kind="openai", model="m", ok=ok is True,
                    error_kind=None if ok is True else (ok or ErrorKind.TIMEOUT),
                    error=None if ok is True else "no answer", ttft_s=0.1 if ok is True else None,
                    total_s=0.2, started_at=at)
        for t, ok in outcomes.items()
    )
    return RunResult(id=run_id or f"r{minute}", started_at=at, ended_at=at, wall_s=0.2, prompt="p", results=results)


def test_one_alert_per_transition_and_reminders_at_most_every_remind():
    ledger = Ledger("eu", thresholds=Thresholds(2, 2), remind_s=600)
    events = []
    for minute in range(0, 40, 2):  # a round every 2 min; down from minute 4 to 26, up again at 30
        ok = not (4 <= minute <= 26)
        events += [(minute, a.event) for a in ledger.apply(_run(minute, {"a": ok, "b": True})).alerts]
    assert events == [(6, EventKind.OPENED), (16, EventKind.REMINDER), (26, EventKind.REMINDER),
                      (30, EventKind.RESOLVED)]
    assert ledger.open == {}


def test_changes_between_degraded_and_down_and_cancelled_rounds_say_nothing():
    ledger = Ledger("eu", thresholds=Thresholds(1, 1))
    slow = Ledger("eu", thresholds=Thresholds(1, 1))
    assert ledger.apply(_run(0, {"a": True})).alerts == []
    changes = ledger.apply(_run(1, {"a": ErrorKind.RATE_LIMIT}))
    (opened,) = changes.alerts
    assert (opened.event, opened.state, opened.previous_state, opened.error_kind) == (
        EventKind.OPENED, State.DOWN, State.UP, "rate_limit")
    quiet = ledger.apply(_run(2, {"a": ErrorKind.CANCELLED}))
    assert quiet.alerts == [] and quiet.tracked == {} and ledger.state_of("a", "m") is State.DOWN
    (firing,) = ledger.firing()
    assert firing.incident_id == opened.incident_id and firing.state is State.DOWN
    (resolved,) = ledger.apply(_run(3, {"a": True})).alerts
    assert resolved.event is EventKind.RESOLVED and resolved.incident_id == opened.incident_id
    assert resolved.resolved_at == "2024-05-01T10:03:00.000Z" and not resolved.firing
    assert slow is not ledger


def test_reminder_due():
    from rollcall.watch.incidents import Incident

    incident = Incident("i", "t", "m", "s", State.DOWN, "2024-05-01T10:00:00Z", last_alert_at="2024-05-01T10:00:00Z")
    assert not reminder_due(incident, "2024-05-01T10:59:59Z", 3600)
    assert reminder_due(incident, "2024-05-01T11:00:00Z", 3600)
    assert not reminder_due(incident, "2024-05-09T11:00:00Z", 0)  # 0: never


def test_the_view_shows_outside_text_as_text():
    console = Console(file=io.StringIO(), width=200, color_system=None, force_terminal=False)
    ledger = Ledger("eu", thresholds=Thresholds(1, 1))
    hostile = "[bold red]evil[/]\x1b[2J\u202e"
    run = _run(0, {hostile: ErrorKind.CONNECT})
    RoundView(console).round(1, run, ledger.apply(run))
    out = console.file.getvalue()
    assert "[bold red]evil[/]\\x1b[2J\\u202e/m is DOWN (was unknown)" in out and "\x1b" not in out


def test_the_incidents_table_shows_outside_text_as_text():
    from rollcall.watch.incidents import Incident
    from rollcall.watch.render import incidents_table

    console = Console(file=io.StringIO(), width=200, color_system=None, force_terminal=False)
    incident = Incident("i1", "[red]t[/]", "m\x1b]0;owned\x07", "site", State.DOWN, "2024-05-01T10:00:00.000Z",
                        first_error_kind="connect", first_error="boom [link=x]y[/link]\u202e")
    console.print(incidents_table([incident], now="2024-05-01T11:00:00.000Z"))
    out = console.file.getvalue()
    assert "[red]t[/]/m\\x1b]0;owned\\x07" in out and "boom [link=x]y[/link]\\u202e" in out
    assert "\x1b" not in out and "1 h, open" in out
