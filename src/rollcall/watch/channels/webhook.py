"""`[[alert]] webhook = URL`: rollcall's own JSON (schema rollcall.alert/1, see alerts.py) POSTed
to the URL, one request per alert."""

from __future__ import annotations

from collections.abc import Sequence

from ..alerts import Alert
from . import channel_key, channel_label
from ._http import JsonPoster


class WebhookChannel:
    kind = "webhook"

    def __init__(self, url: str) -> None:
        self.url = url
        self.key = channel_key(self.kind, url)
        self.label = channel_label(self.kind, url)
        self._poster = JsonPoster(self.label)

    async def send(self, alert: Alert) -> None:
        await self._poster.post(self.url, alert.to_payload())

    async def refresh(self, firing: Sequence[Alert]) -> None:
        return None

    async def aclose(self) -> None:
        await self._poster.aclose()
