"""Who may see what is served: where to listen, and the token.

Loopback (127.0.0.0/8, ::1, localhost) is served to anyone who can reach it. Any other address
needs a token (`Authorization: Bearer TOKEN` or `?token=TOKEN`, compared in constant time; every
path but /healthz and the packaged /static/ files) or an explicit `public` (read-only, no token;
probing on request is then off). The choice is checked
before anything binds, so a mistake never exposes the history even for a moment.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
TOKEN_ENV = "ROLLCALL_SERVE_TOKEN"
MIN_TOKEN_CHARS = 16
OPEN_PATHS = frozenset({"/healthz"})  # for load balancers and service checks: says only "ok"
# The packaged scripts and styles hold nothing of the history, and a browser cannot send a token
# with <script src>: a page opened as /?token=... loads them without it.
OPEN_PREFIXES = ("/static/",)


@dataclass(frozen=True, slots=True)
class Listen:
    host: str
    port: int

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen(text: str) -> Listen:
    """`HOST:PORT`, `[IPv6]:PORT`, `:PORT` (every address) or `PORT` (loopback); ValueError otherwise."""
    raw = text.strip()
    if not raw:
        raise ValueError("--listen: give HOST:PORT such as 127.0.0.1:8080")
    if raw.isdigit():
        host, port_text = DEFAULT_HOST, raw
    elif raw.startswith("["):
        host, sep, rest = raw[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ValueError(f"--listen {text!r}: write an IPv6 address as [::1]:8080")
        port_text = rest[1:]
    else:
        host, sep, port_text = raw.rpartition(":")
        if not sep:
            raise ValueError(f"--listen {text!r}: give HOST:PORT such as 127.0.0.1:8080 (or :8080 for every address)")
        if ":" in host:
            raise ValueError(f"--listen {text!r}: write an IPv6 address in brackets, as [::1]:8080")
        host = host or "0.0.0.0"
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"--listen {text!r}: the port must be a number from 0 to 65535")
    return Listen(host, int(port_text))


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


def check_exposure(listen: Listen, *, token: str | None, public: bool) -> None:
    """ValueError (a sentence naming the flags) when `listen` would expose the history unguarded."""
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"--token: use at least {MIN_TOKEN_CHARS} characters (e.g. `openssl rand -hex 24`)")
    if token is not None and public:
        raise ValueError("--token and --public exclude each other: a token guards every page, --public none")
    if listen.loopback or token is not None or public:
        return
    raise ValueError(
        f"--listen {listen}: not a loopback address, so anyone who can reach it would read the history; "
        f"give --token TOKEN (or ${TOKEN_ENV}; clients send Authorization: Bearer TOKEN or ?token=TOKEN), "
        "or --public to serve it read-only to everyone"
    )


@dataclass(frozen=True, slots=True)
class Guard:
    """The access rule of one server."""

    token: str | None = None
    public: bool = False

    def allows(self, path: str, authorization: str | None, query_token: str | None) -> bool:
        if self.token is None or path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return True
        given = None
        if authorization:
            scheme, _, value = authorization.strip().partition(" ")
            if scheme.lower() == "bearer":
                given = value.strip()
        if given is None:
            given = query_token
        if given is None:
            return False
        # Constant time: how much of a guess matched must not show in how long the answer takes.
        return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), self.token.encode("utf-8"))

    @property
    def may_probe(self) -> bool:
        """On-request probes spend the targets' quotas: not for anonymous visitors of a public page."""
        return not self.public
