"""The options of `rollcall watch` (and `demo --watch`), declared once: each one's flag, [watch]
key, default and help (rollcall.settings). Light to import: the command line builds its options
from it; watch/settings.py settles them with the config file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .. import inputs
from ..settings import DURATION, DURATION_OR_ZERO, SWITCH, TEXTS, Declared, ValueType, count, setting

DEFAULT_FAIL_AFTER = 3
DEFAULT_RECOVER_AFTER = 2


def _http(value: Any) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return value


HTTP_URL = ValueType("url", _http, (str,), "URL")
SEED = ValueType("integer", lambda v: inputs.parse_count(v, minimum=-(2**63), maximum=2**63 - 1), (int,), "N")


@dataclass(frozen=True, slots=True)
class WatchOptions(Declared):
    """The options of `watch` (and `demo --watch`), flags and [watch] keys alike."""

    every_s: float = setting(300.0, flag="--every", config="every", type=DURATION, unit="s",
                             help="Time between rounds: 30s, 5m, 1h ... Targets may set their own (`every` in a "
                                  "[[target]]).")
    fail_after: int = setting(DEFAULT_FAIL_AFTER, flag="--fail-after", config="fail_after", type=count(1),
                              help="Consecutive failed (or over-SLO) rounds before a target is down (or degraded).")
    recover_after: int = setting(DEFAULT_RECOVER_AFTER, flag="--recover-after", config="recover_after",
                                 type=count(1), help="Consecutive good rounds before it is up again.")
    remind_s: float = setting(3600.0, flag="--remind", config="remind", type=DURATION_OR_ZERO, unit="s",
                              help="Repeat a still-open alert at most this often; 0 never.")
    keep_s: float = setting(30 * 86400.0, flag="--keep", config="keep", type=DURATION_OR_ZERO, unit="s",
                            help="Prune results older than this while watching (daily rollups stay); 0 keeps all.")
    url: str | None = setting(None, config="url", type=HTTP_URL,
                              help="Where `rollcall serve` runs: alerts link to the target's page there.")
    notify: tuple[str, ...] = setting((), flag="--notify", type=TEXTS, metavar="URL",
                                      help="Alert through Apprise (repeatable): slack://, discord://, tgram://, "
                                           "mailto://, ntfy://, json://... (pip install 'rollcall[watch]').")
    webhook: tuple[str, ...] = setting((), flag="--webhook", type=TEXTS, metavar="URL",
                                       help="POST rollcall's alert JSON (schema rollcall.alert/1) here (repeatable).")
    alertmanager: tuple[str, ...] = setting((), flag="--alertmanager", type=TEXTS, metavar="URL",
                                            help="Send alerts to Prometheus Alertmanager at this base URL, API v2 "
                                                 "(repeatable).")
    rounds: int | None = setting(None, flag="--rounds", type=count(1),
                                 help="Stop after N rounds (of each interval group); default: until stopped.")
    verbose: bool = setting(False, flag="-v/--verbose", type=SWITCH,
                            help="Print every probe's line, not only rounds and changes.")
    jitter_seed: int | None = setting(None, flag="--jitter-seed", type=SEED, hidden=True,
                                      help="Seed the jitter between rounds.")
