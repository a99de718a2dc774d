"""Alerts: what an incident's events say, as rollcall's own JSON (schema rollcall.alert/1) and as a
short line for people. Pure; channels (channels/) carry an Alert to a receiver.

Payload (docs/DESIGN.md): {"schema", "status": "firing"|"resolved", "state", "previous_state",
"target", "model", "site", "incident": {"id", "opened_at", "resolved_at"}, "error_kind", "error",
"ttft_s", "total_s", "run_id", "url"}, plus (additive) "event", "summary", "at", "failed_rounds".
Every text in it went through redact() when the result was made, and again here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..redact import redact
from .incidents import EventKind, Incident, parse_iso
from .state import Observation, State
from ..safetext import one_line

SCHEMA = "rollcall.alert/1"
ERROR_CHARS = 300  # an alert is a notification, not a log: long provider errors are cut


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert about one incident event. `id` is stable: the same event always has the same id."""

    id: str
    event: EventKind
    state: State
    previous_state: State
    target: str
    model: str
    site: str
    incident_id: str
    opened_at: str
    resolved_at: str | None
    at: str
    failed_rounds: int = 0
    rounds: int = 0
    error_kind: str | None = None
    error: str | None = None
    ttft_s: float | None = None
    total_s: float | None = None
    run_id: str = ""
    url: str | None = None

    @property
    def firing(self) -> bool:
        return self.event is not EventKind.RESOLVED

    @property
    def name(self) -> str:
        """`target/model` (or just the target when it has no model name)."""
        return f"{self.target}/{self.model}" if self.model and self.model != self.target else self.target

    @property
    def summary(self) -> str:
        """One line for people, e.g. `groq/llama-3.1-8b is DOWN (rate_limit: HTTP 429 …, 3 rounds,
        since 14:05 UTC)`."""
        since = _clock(self.opened_at)
        where = f" at {one_line(self.site, 40)}" if self.site else ""
        name = one_line(self.name, 120)
        if self.event is EventKind.RESOLVED:
            took = describe_duration((parse_iso(self.at) - parse_iso(self.opened_at)).total_seconds())
            return f"{name} is UP again{where} after {took} ({self.previous_state.upper()} since {since})"
        what = one_line(self.error_kind or "", 40)
        detail = one_line(self.error, 120) if self.error else ""
        reason = ": ".join(p for p in (what, detail) if p)
        count = self.failed_rounds if self.state is State.DOWN else self.rounds
        parts = [p for p in (reason, f"{count} round{'s' if count != 1 else ''}", f"since {since}") if p]
        lead = {EventKind.REMINDER: "is still", EventKind.CHANGED: "is now"}.get(self.event, "is")
        was = f", was {self.previous_state.upper()}" if self.event is EventKind.CHANGED else ""
        return f"{name} {lead} {self.state.upper()}{where} ({', '.join(parts)}{was})"

    def to_payload(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "status": "firing" if self.firing else "resolved",
            "event": str(self.event),
            "state": str(self.state),
            "previous_state": str(self.previous_state),
            "target": self.target,
            "model": self.model,
            "site": self.site,
            "incident": {"id": self.incident_id, "opened_at": self.opened_at, "resolved_at": self.resolved_at},
            "error_kind": self.error_kind,
            "error": self.error,
            "ttft_s": self.ttft_s,
            "total_s": self.total_s,
            "run_id": self.run_id,
            "url": self.url,
            "summary": self.summary,
            "at": self.at,
            "failed_rounds": self.failed_rounds,
            "rounds": self.rounds,
        }

    @classmethod
    def from_payload(cls, alert_id: str, doc: dict[str, Any]) -> Alert:
        """Rebuild a stored alert (pending deliveries survive a restart); ValueError if malformed."""
        try:
            incident = doc["incident"]
            return cls(
                id=alert_id, event=EventKind(doc["event"]), state=State(doc["state"]),
                previous_state=State(doc["previous_state"]), target=doc["target"], model=doc["model"],
                site=doc["site"], incident_id=incident["id"], opened_at=incident["opened_at"],
                resolved_at=incident.get("resolved_at"), at=doc["at"],
                failed_rounds=int(doc.get("failed_rounds") or 0), rounds=int(doc.get("rounds") or 0),
                error_kind=doc.get("error_kind"), error=doc.get("error"), ttft_s=doc.get("ttft_s"),
                total_s=doc.get("total_s"), run_id=doc.get("run_id") or "", url=doc.get("url"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed stored alert {alert_id}: {exc!r}") from None


def make_alert(
    event: EventKind,
    incident: Incident,
    previous_state: State,
    observation: Observation | None,
    *,
    at: str,
    run_id: str,
    seq: int,
    base_url: str | None = None,
) -> Alert:
    """The alert for `event` on `incident` (its state after the event; `up` once resolved, with
    the state it left as `previous_state`). `seq` tells reminders apart."""
    error = (redact(one_line(incident.last_error, ERROR_CHARS)) or None) if incident.last_error else None
    state = incident.state
    if event is EventKind.RESOLVED:
        state, previous_state = State.UP, incident.state
    return Alert(
        id=f"{incident.id}:{event}:{seq}", event=event, state=state, previous_state=previous_state,
        target=incident.target, model=incident.model, site=incident.site, incident_id=incident.id,
        opened_at=incident.opened_at, resolved_at=incident.resolved_at, at=at,
        failed_rounds=incident.failed_rounds, rounds=incident.rounds,
        error_kind=incident.last_error_kind, error=error,
        ttft_s=observation.ttft_s if observation else None, total_s=observation.total_s if observation else None,
        run_id=run_id, url=target_url(base_url, incident.target, incident.model),
    )


def target_url(base_url: str | None, target: str, model: str) -> str | None:
    """Where `rollcall serve` at `base_url` shows this target (its /targets/{target}/{model} page)."""
    if not base_url:
        return None
    return f"{base_url.rstrip('/')}/targets/{quote(target, safe='')}/{quote(model, safe='')}"


def _clock(stamp: str) -> str:
    moment = parse_iso(stamp)
    return moment.strftime("%H:%M UTC")


def describe_duration(seconds: float) -> str:
    """`45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def replace_alert(alert: Alert, **changes: Any) -> Alert:
    return dataclasses.replace(alert, **changes)
