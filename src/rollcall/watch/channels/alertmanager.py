"""`[[alert]] alertmanager = URL`: Prometheus Alertmanager's API v2 (POST /api/v2/alerts).

Alertmanager's client contract: send an alert when it starts firing, keep re-sending it while it
fires (an alert not refreshed before its endsAt is resolved by Alertmanager itself, so a watcher
that died does not leave alerts firing forever), and send it with endsAt = now once it resolved.
Alertmanager then groups, silences and routes. Labels are bounded values (no error text, no URL):
alertname (RollcallTargetDown / RollcallTargetDegraded), target, model, site, severity.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

from ..alerts import Alert
from ..incidents import EventKind
from ..state import State
from . import channel_key, channel_label
from ._http import JsonPoster

ALERTNAMES = {State.DOWN: "RollcallTargetDown", State.DEGRADED: "RollcallTargetDegraded"}
SEVERITY = {State.DOWN: "critical", State.DEGRADED: "warning"}
HOLD_S = 15 * 60  # endsAt of a firing alert: later than any refresh, soon enough after a dead watcher


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def _iso(moment: _dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _alert(alert: Alert, state: State, ends_at: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "labels": {
            "alertname": ALERTNAMES.get(state, "RollcallTargetDown"),
            "target": alert.target,
            "model": alert.model,
            "site": alert.site,
            "severity": SEVERITY.get(state, "critical"),
        },
        "annotations": {"summary": alert.summary, "error": alert.error or ""},
        "startsAt": alert.opened_at,
        "endsAt": ends_at,
    }
    if alert.url:
        doc["generatorURL"] = alert.url
    return doc


def documents(alert: Alert, now: _dt.datetime | None = None) -> list[dict[str, Any]]:
    """What one alert event posts: the firing alert, or the resolved one (endsAt now); a change
    degraded <-> down resolves the old alertname and fires the new one."""
    now = now or _now()
    ends = _iso(now + _dt.timedelta(seconds=HOLD_S))
    if alert.event is EventKind.RESOLVED:
        return [_alert(alert, alert.previous_state, _iso(now))]  # the alert of the state it left
    docs = [_alert(alert, alert.state, ends)]
    if alert.event is EventKind.CHANGED and alert.previous_state in ALERTNAMES and alert.previous_state != alert.state:
        docs.insert(0, _alert(alert, alert.previous_state, _iso(now)))
    return docs


class AlertmanagerChannel:
    kind = "alertmanager"

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/") + "/api/v2/alerts"
        self.key = channel_key(self.kind, url)
        self.label = channel_label(self.kind, url)
        self._poster = JsonPoster(self.label)

    async def send(self, alert: Alert) -> None:
        await self._poster.post(self.url, documents(alert))

    async def refresh(self, firing: Sequence[Alert]) -> None:
        if firing:
            ends = _iso(_now() + _dt.timedelta(seconds=HOLD_S))
            await self._poster.post(self.url, [_alert(a, a.state, ends) for a in firing])

    async def aclose(self) -> None:
        await self._poster.aclose()
