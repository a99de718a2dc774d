"""`[[alert]] notify = URL`: any of Apprise's 100+ services (slack://, discord://, tgram://,
mailto://, ntfy://, matrix://, msteams://, json://, ...), with the alert's one-line summary.

Apprise is an optional extra (`pip install 'rollcall[watch]'`) and synchronous: a send runs on a
worker thread, one at a time (Apprise's log capture is process-wide), under the channel deadline.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import Sequence
from typing import Any

from ...redact import redact
from ..alerts import Alert
from ...safetext import one_line
from . import TIMEOUT_S, DeliveryError, channel_key, channel_label

INSTALL_HINT = "alerts through notify:// URLs need Apprise: pip install 'rollcall[watch]' (or pip install apprise)"
_lock = threading.Lock()


def _apprise() -> Any:
    try:
        with warnings.catch_warnings():
            # Apprise's plugins import modules Python marks deprecated; not ours to report.
            warnings.simplefilter("ignore", DeprecationWarning)
            import apprise
    except ImportError:
        raise ValueError(INSTALL_HINT) from None
    return apprise


class NotifyChannel:
    kind = "notify"

    def __init__(self, url: str) -> None:
        apprise = _apprise()
        self.key = channel_key(self.kind, url)
        self.label = channel_label(self.kind, url)
        self._apprise = apprise
        self._client = apprise.Apprise()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the first add() loads every plugin
            added = self._client.add(url)
        if not added:
            scheme = url.partition("://")[0]
            raise ValueError(f"{self.label}: Apprise does not understand this URL (scheme {scheme!r}; "
                             "see https://github.com/caronc/apprise/wiki for the URL formats)")

    def _send(self, title: str, body: str) -> None:
        apprise = self._apprise
        with _lock, apprise.LogCapture(level=apprise.logging.WARNING) as log:
            ok = self._client.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT)
            said = log.getvalue()
        if not ok:
            # Apprise explains failures in its log; keep the last line, without its timestamp.
            lines = [line.split(" - ", 2)[-1] for line in said.splitlines() if line.strip()]
            reason = redact(one_line(lines[-1], 200)) if lines else "Apprise could not deliver it"
            raise DeliveryError(f"{self.label}: {reason}")

    async def send(self, alert: Alert) -> None:
        title = f"rollcall: {one_line(alert.name, 80)} {alert.state.upper() if alert.firing else 'UP'}"
        try:
            async with asyncio.timeout(TIMEOUT_S * 2):  # Apprise connects and reads with its own caps
                await asyncio.to_thread(self._send, title, alert.summary)
        except TimeoutError:
            raise DeliveryError(f"{self.label}: no answer within {TIMEOUT_S * 2:g} s") from None

    async def refresh(self, firing: Sequence[Alert]) -> None:
        return None

    async def aclose(self) -> None:
        return None
