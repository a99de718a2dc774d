"""The HTTP part webhook and alertmanager share: one aiohttp session per channel, JSON POSTs with
a deadline, failures as DeliveryErrors that never quote the URL."""

from __future__ import annotations

import asyncio
from typing import Any

from . import TIMEOUT_S, http_failure, transport_failure

USER_AGENT = "rollcall-watch"


class JsonPoster:
    def __init__(self, label: str) -> None:
        import aiohttp  # noqa: F401 - imported now, not on the first alert inside the loop

        self.label = label
        self._session: Any = None

    async def post(self, url: str, doc: Any, headers: dict[str, str] | None = None) -> None:
        import orjson

        await self.request("POST", url, data=orjson.dumps(doc),
                           headers={"Content-Type": "application/json", **(headers or {})})

    async def request(self, method: str, url: str, *, data: bytes | None = None,
                      params: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> None:
        import aiohttp

        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_S), cookie_jar=aiohttp.DummyCookieJar(),
            )
        try:
            async with self._session.request(
                method, url, data=data, params=params, allow_redirects=False,
                headers={"User-Agent": USER_AGENT, **(headers or {})},
            ) as response:
                if response.status >= 300:
                    raise http_failure(self.label, response.status, await response.content.read(4096))
                await response.read()
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise transport_failure(self.label, exc) from None

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
