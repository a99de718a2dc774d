"""The serving options `rollcall serve` and `watch --listen` share, declared once (rollcall.settings);
light to import, so the command line builds its options from it."""

from __future__ import annotations

from dataclasses import dataclass

from ..settings import SWITCH, TEXT, Declared, setting

SERVE_LISTEN = "127.0.0.1:8080"  # `rollcall serve`'s own default; `watch` serves only when asked


@dataclass(frozen=True, slots=True)
class ListenOptions(Declared):
    listen: str | None = setting(None, flag="--listen", type=TEXT, metavar="HOST:PORT",
                                 help="Also serve the status page, API, badges and /metrics (as `rollcall serve` "
                                      "does) at this address. Loopback unless --token or --public.")
    token: str | None = setting(None, flag="--token", type=TEXT, metavar="TOKEN", envvar="ROLLCALL_SERVE_TOKEN",
                                help="Require this token on every path but /healthz (Authorization: Bearer TOKEN or "
                                     "?token=TOKEN); needed to listen beyond loopback.")
    public: bool = setting(False, flag="--public", type=SWITCH,
                           help="Serve beyond loopback without a token: read-only, /probe off.")
