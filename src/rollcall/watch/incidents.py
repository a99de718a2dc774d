"""Incidents: a key's time out of `up`, from the round it turned `down` or `degraded` to the round
it was `up` again. Pure: the ledger feeds transitions in, the store keeps what comes out.

An incident opens when a key enters down or degraded from up or unknown (a target failing from
its first round has an incident too), changes state with the key (degraded <-> down), counts
the rounds it lasts and the failed ones, keeps the first and the latest error, and resolves on
the return to up.
"""

from __future__ import annotations

import datetime as _dt
import enum
import uuid
from dataclasses import dataclass, replace
from typing import Any

from .state import KeyState, Observation, State, Transition, Verdict

OUT = (State.DOWN, State.DEGRADED)


class EventKind(enum.StrEnum):
    """What happened to an incident; each one is an alert (stable strings, in alert payloads)."""

    OPENED = "opened"
    CHANGED = "changed"  # degraded <-> down
    REMINDER = "reminder"  # still open, `remind` after the last alert
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    target: str
    model: str
    site: str
    state: State  # down or degraded; after resolution, the state it was in last
    opened_at: str
    previous_state: State = State.UNKNOWN  # where it came from: up or unknown
    resolved_at: str | None = None
    first_error_kind: str | None = None
    first_error: str | None = None
    last_error_kind: str | None = None
    last_error: str | None = None
    failed_rounds: int = 0  # rounds that failed outright, the ones that opened it included
    rounds: int = 0  # rounds it has lasted, the ones that opened it included
    first_run_id: str = ""
    last_run_id: str = ""
    last_alert_at: str | None = None  # when the last alert about it was raised (for reminders)

    @property
    def open(self) -> bool:
        return self.resolved_at is None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.target, self.model, self.site)

    @property
    def duration_s(self) -> float | None:
        if self.resolved_at is None:
            return None
        return max(0.0, (parse_iso(self.resolved_at) - parse_iso(self.opened_at)).total_seconds())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "target": self.target, "model": self.model, "site": self.site,
            "state": str(self.state), "previous_state": str(self.previous_state),
            "opened_at": self.opened_at, "resolved_at": self.resolved_at, "duration_s": self.duration_s,
            "first_error_kind": self.first_error_kind, "first_error": self.first_error,
            "last_error_kind": self.last_error_kind, "last_error": self.last_error,
            "failed_rounds": self.failed_rounds, "rounds": self.rounds,
            "first_run_id": self.first_run_id, "last_run_id": self.last_run_id,
        }


def parse_iso(stamp: str) -> _dt.datetime:
    moment = _dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=_dt.timezone.utc)


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def advance(
    incident: Incident | None,
    key: tuple[str, str, str],
    after: KeyState,
    transition: Transition | None,
    observation: Observation,
    *,
    run_id: str,
    make_id: Any = new_id,
) -> tuple[Incident | None, EventKind | None]:
    """The key's incident after one judged round, and the event that round made (or None).

    `incident` is the key's open incident (None when it has none); the result is the same
    incident updated, a new one, a resolved one (returned once, then the key has none), or None.
    """
    failed = observation.verdict is Verdict.FAILED
    error_kind = observation.error_kind
    error = observation.error
    if incident is None:
        if transition is None or transition.current not in OUT:
            return None, None
        target, model, site = key
        opened = Incident(
            id=make_id(), target=target, model=model, site=site, state=transition.current,
            opened_at=transition.at, previous_state=transition.previous,
            first_error_kind=after.streak_error_kind, first_error=after.streak_error,
            last_error_kind=error_kind, last_error=error,
            failed_rounds=after.streak_failed, rounds=after.bad, first_run_id=run_id, last_run_id=run_id,
        )
        return opened, EventKind.OPENED
    updated = replace(
        incident, rounds=incident.rounds + 1, failed_rounds=incident.failed_rounds + failed, last_run_id=run_id,
        **({"last_error_kind": error_kind, "last_error": error} if observation.verdict is not Verdict.GOOD else {}),
    )
    if transition is None:
        return updated, None
    if transition.current is State.UP:
        return replace(updated, resolved_at=transition.at), EventKind.RESOLVED
    return replace(updated, state=transition.current), EventKind.CHANGED


def reminder_due(incident: Incident, now: str, remind_s: float) -> bool:
    """Whether an open incident is owed a reminder (`remind_s` 0 means never)."""
    if not incident.open or remind_s <= 0:
        return False
    last = incident.last_alert_at or incident.opened_at
    return (parse_iso(now) - parse_iso(last)).total_seconds() >= remind_s
