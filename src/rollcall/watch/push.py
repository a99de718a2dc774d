"""`[[push]]`: each round's results pushed into monitors people already run.

- Gatus (`gatus = URL`, `token`): every result to its external-endpoint API,
  `POST /api/v1/endpoints/{key}/external?success=&error=&duration=` with the endpoint's bearer
  token. The key is Gatus' own for group `rollcall` and name `target/model` (just `target` when
  the model is empty or named like it): configure `external-endpoints: [{name: "target/model",
  group: rollcall, token: ...}]` there.
- Uptime Kuma (`uptime_kuma = "http://kuma:3001/api/push/TOKEN"`): one push per round for the
  results it selects: status up when all answered, down otherwise, the slowest answer as ping.
Sent through Delivery like alerts (retried, never in a round's way), but not stored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote

from ..models import ProbeResult
from .channels import channel_key, channel_label
from .channels._http import JsonPoster
from .settings import PushSpec
from ..safetext import one_line

GATUS_GROUP = "rollcall"
_GATUS_SWAP = re.compile(r"[/_,.#+& ]")


def gatus_key(group: str, name: str) -> str:
    """Gatus' endpoint key: group and name lowercased, `/ _ , . # + &` and spaces made `-`."""
    return f"{_GATUS_SWAP.sub('-', group.lower())}_{_GATUS_SWAP.sub('-', name.lower())}"


def _name(result: ProbeResult) -> str:
    """`target/model`, or just `target` when the model is empty or named like the target."""
    return f"{result.target}/{result.model}" if result.model and result.model != result.target else result.target


def _gatus_duration(result: ProbeResult) -> str:
    return f"{(result.total_s or 0.0):.3f}s"


class Pusher:
    """One [[push]] entry; `jobs(results)` are the sends one round makes."""

    def __init__(self, spec: PushSpec, origin_of: dict[str, str] | None = None) -> None:
        self.spec = spec
        self.kind = spec.kind
        self.key = channel_key(f"push-{spec.kind}", spec.url)
        self.label = channel_label(f"push {spec.kind}", spec.url)
        self.origin_of = origin_of or {}
        self._poster = JsonPoster(self.label)

    def _selected(self, results: Sequence[ProbeResult]) -> list[ProbeResult]:
        from ..models import ErrorKind
        from .state import State

        return [r for r in results if r.error_kind is not ErrorKind.CANCELLED
                and self.spec.select.wants(r.target, r.model, State.UP, self.origin_of.get(r.target))]

    def jobs(self, results: Sequence[ProbeResult]) -> list:  # list of zero-argument coroutine functions
        chosen = self._selected(results)
        if not chosen:
            return []
        if self.kind == "gatus":
            return [self._gatus(r) for r in chosen]
        return [self._kuma(chosen)]

    def _gatus(self, result: ProbeResult):  # type: ignore[no-untyped-def]
        url = f"{self.spec.url.rstrip('/')}/api/v1/endpoints/{quote(gatus_key(GATUS_GROUP, _name(result)), safe='')}/external"
        params = {"success": "true" if result.ok else "false", "duration": _gatus_duration(result)}
        if not result.ok:
            params["error"] = one_line(f"{result.error_kind}: {result.error or ''}", 200)
        headers = {"Authorization": f"Bearer {self.spec.token}"}

        async def send() -> None:
            await self._poster.request("POST", url, params=params, headers=headers)

        return send

    def _kuma(self, results: Sequence[ProbeResult]):  # type: ignore[no-untyped-def]
        failed = [r for r in results if not r.ok]
        oks = [r.total_s for r in results if r.ok and r.total_s is not None]
        if failed:
            first = failed[0]
            msg = one_line(f"{len(failed)} of {len(results)} failed: {_name(first)} {first.error_kind}", 200)
        else:
            msg = f"{len(results)} of {len(results)} answered"
        params = {"status": "down" if failed else "up", "msg": msg}
        if oks:
            params["ping"] = str(round(max(oks) * 1000))

        async def send() -> None:
            await self._poster.request("GET", self.spec.url, params=params)

        return send

    async def aclose(self) -> None:
        await self._poster.aclose()
