"""The ledger: what the watcher knows per (target, model, site), moved on by each finished round.

It judges each key's results (state.judge), steps its state (state.step), carries its incident
(incidents.advance) and raises the alerts those events call for, reminders included. No I/O:
the watcher hands each RoundChanges to the store writer and to delivery.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from ..models import ProbeResult, RunResult
from .alerts import Alert, make_alert
from .incidents import EventKind, Incident, advance, new_id, reminder_due
from .state import KeyState, Observation, Slo, State, Thresholds, Transition, Verdict, judge, step

Key = tuple[str, str, str]  # (target, model, site)
RECENT_ROUNDS = 30  # rounds a key remembers for its sparkline (serve's overview)
# One remembered round: (at, verdict 0 good / 1 slow / 2 failed, ttft_s, total_s).
Recent = tuple[str, int, float | None, float | None]


@dataclass(frozen=True, slots=True)
class Tracked:
    """A key's state and what its latest rounds showed (the target_states row)."""

    state: KeyState = KeyState()
    kind: str = ""
    last_at: str | None = None
    last_ok: bool | None = None
    last_ok_at: str | None = None
    last_error_kind: str | None = None
    last_error: str | None = None
    last_ttft_s: float | None = None
    last_total_s: float | None = None
    last_run_id: str | None = None
    incident_id: str | None = None
    recent: tuple[Recent, ...] = ()  # the last RECENT_ROUNDS rounds, oldest first


@dataclass
class RoundChanges:
    """What one round changed: every judged key, the transitions, incidents touched, alerts raised."""

    run: RunResult
    round_no: int
    site: str
    at: str
    tracked: dict[Key, Tracked] = field(default_factory=dict)
    transitions: list[tuple[Key, Transition, Observation]] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


class Ledger:
    """States and open incidents for one site; `apply(run)` after each round."""

    def __init__(
        self,
        site: str,
        *,
        thresholds: Thresholds = Thresholds(),
        slo_for: Callable[[str], Slo] = lambda target: Slo(),
        remind_s: float = 0.0,
        base_url: str | None = None,
        tracked: Mapping[Key, Tracked] | None = None,
        incidents: Iterable[Incident] = (),
        make_id: Callable[[], str] = new_id,
    ) -> None:
        self.site = site
        self.thresholds = thresholds
        self.slo_for = slo_for
        self.remind_s = remind_s
        self.base_url = base_url
        self.tracked: dict[Key, Tracked] = dict(tracked or {})
        self.open: dict[Key, Incident] = {i.key: i for i in incidents if i.open}
        self.make_id = make_id

    def state_of(self, target: str, model: str) -> State:
        return self.tracked.get((target, model, self.site), Tracked()).state.state

    def firing(self) -> list[Alert]:
        """An alert per open incident, as it stands (what Alertmanager is re-sent while firing)."""
        return [
            make_alert(EventKind.REMINDER, i, i.previous_state, None, at=i.last_alert_at or i.opened_at,
                       run_id=i.last_run_id, seq=i.rounds, base_url=self.base_url)
            for i in self.open.values()
        ]

    def apply(self, run: RunResult, round_no: int = 0, at: str | None = None) -> RoundChanges:
        at = at or run.started_at
        changes = RoundChanges(run=run, round_no=round_no, site=self.site, at=at)
        groups: dict[tuple[str, str], list[ProbeResult]] = {}
        for result in run.results:
            groups.setdefault(result.key, []).append(result)
        for (target, model), results in groups.items():
            key = (target, model, self.site)
            observation = judge(results, self.slo_for(target))
            if observation is None:
                continue  # every probe cancelled by us: says nothing about the provider
            before = self.tracked.get(key, Tracked())
            after_state, transition = step(before.state, observation, at, self.thresholds)
            incident, event = advance(self.open.get(key), key, after_state, transition, observation,
                                      run_id=run.id, make_id=self.make_id)
            alerts: list[Alert] = []
            if incident is not None:
                previous = transition.previous if transition else incident.state  # make_alert sets it for resolved
                if event is None and reminder_due(incident, at, self.remind_s):
                    event, previous = EventKind.REMINDER, incident.state
                if event is not None:
                    seq = 0 if event in (EventKind.OPENED, EventKind.RESOLVED) else incident.rounds
                    incident = replace(incident, last_alert_at=at)
                    alerts.append(make_alert(event, incident, previous, observation, at=at, run_id=run.id,
                                             seq=seq, base_url=self.base_url))
                changes.incidents.append(incident)
                if incident.open:
                    self.open[key] = incident
                else:
                    self.open.pop(key, None)
            answered = observation.verdict is not Verdict.FAILED
            tracked = Tracked(
                state=after_state, kind=results[0].kind, last_at=at, last_ok=answered,
                last_ok_at=at if answered else before.last_ok_at,
                last_error_kind=observation.error_kind if not answered else before.last_error_kind,
                last_error=observation.error if not answered else before.last_error,
                last_ttft_s=observation.ttft_s, last_total_s=observation.total_s, last_run_id=run.id,
                incident_id=incident.id if incident is not None and incident.open else None,
                recent=(*before.recent, (at, int(observation.verdict), observation.ttft_s,
                                         observation.total_s))[-RECENT_ROUNDS:],
            )
            self.tracked[key] = tracked
            changes.tracked[key] = tracked
            if transition is not None:
                changes.transitions.append((key, transition, observation))
            changes.alerts.extend(alerts)
        return changes
