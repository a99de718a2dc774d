"""`rollcall serve` (the history as a status page, JSON API, badges and Prometheus metrics) and the
--listen/--token/--public options that `watch` shares. Thin: the server is rollcall.serve."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .common import EXIT_OK

LISTEN_PARAMS = ("listen", "token", "public")


def listen_options(default: str | None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    what = "Serve the status page, API, badges and /metrics" if default else \
        "Also serve the status page, API, badges and /metrics (as `rollcall serve` does)"
    options = [
        click.option("--listen", default=default, show_default=bool(default), metavar="HOST:PORT",
                     help=f"{what} at this address. Loopback unless --token or --public."),
        click.option("--token", envvar="ROLLCALL_SERVE_TOKEN", show_envvar=True, metavar="TOKEN",
                     help="Require this token on every path but /healthz (Authorization: Bearer TOKEN or "
                          "?token=TOKEN); needed to listen beyond loopback."),
        click.option("--public", is_flag=True,
                     help="Serve beyond loopback without a token: read-only, /probe off."),
    ]

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def serve_options(listen: str | None, token: str | None, public: bool, site: str | None) -> Any:
    """ServeOptions from the flags, checked before anything binds (UsageError, exit 2)."""
    from ..redact import register_secret
    from ..serve.auth import check_exposure, parse_listen
    from ..serve.app import ServeOptions
    from ..store import default_site

    if listen is None:
        if token or public:
            raise click.UsageError("--token and --public go with --listen HOST:PORT")
        return None
    try:
        address = parse_listen(listen)
        check_exposure(address, token=token or None, public=public)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    register_secret(token)  # never printed, logged or served, even if a provider echoes it
    return ServeOptions(listen=address, token=token or None, public=public, site=site or default_site())


def say_serving(url: str, options: Any) -> None:
    from ..serve import metrics
    from ..stdio import say

    guard = "token required" if options.token else ("public, read-only" if options.public else "loopback only")
    say(f"rollcall: serving {url} ({guard}): / status page, /api/v1/status, /metrics, /badge/TARGET.svg")
    if not metrics.available():
        say(f"rollcall: warning: /metrics and /probe answer 503 until then: {metrics.INSTALL_HINT}")


@click.command("serve", short_help="Serve the history: status page, JSON API, badges, Prometheus metrics.")
@click.option("--store", "store_location", metavar="PATH|URL", envvar="ROLLCALL_STORE", show_envvar=True,
              help="History store to serve: a SQLite file or a postgresql:// URL that watchers write into "
                   "[default: ~/.local/share/rollcall/history.sqlite3].")
@listen_options("127.0.0.1:8080")
@click.option("-c", "--config", "config_path", metavar="FILE",
              help="Config whose targets /probe?target=NAME may probe now (blackbox_exporter style), with its "
                   "[defaults] (prompt, timeout, checks). Without it /probe is off.")
@click.option("--site", metavar="NAME", help="Site label of /probe's metrics [default: hostname].")
def serve(store_location: str | None, listen: str, token: str | None, public: bool, config_path: str | None,
          site: str | None) -> int:
    """Serve what the history knows, read-only: every watcher writing into the store (a shared
    PostgreSQL for several sites) on one page.

    \b
    Paths: / overview (updates itself after each round), /targets/TARGET/MODEL, /runs/ID,
    /incidents; JSON under /api/v1/ (status, targets, targets/T/M/history, incidents, runs,
    runs/ID; see docs/serve-api.md); /badge/TARGET.svg, /badge/TARGET/MODEL.svg (and .json for
    shields.io); /metrics (Prometheus); /probe?target=NAME (with -c); /healthz.
    \b
    Examples:
      rollcall serve                                        http://127.0.0.1:8080
      rollcall serve --store postgresql://rc@db/rollcall --listen 0.0.0.0:8080 --token "$TOKEN"
      rollcall serve --listen :8080 --public                read-only for everyone
    \b
    Exit codes: 0 stopped (SIGTERM, Ctrl-C); 1 the address cannot be bound; 2 bad usage (a
    non-loopback --listen without --token or --public, a store that cannot be read).
    """
    from pathlib import Path

    from ..store import StoreError, open_store, resolve_location
    from ..store.location import is_explicit
    from .store_cmd import StoreProblem

    options = serve_options(listen, token, public, site)
    prober = _config_prober(config_path) if config_path else None
    where = resolve_location(store_location)
    if "://" not in where and not Path(where).expanduser().exists():
        hint = "" if is_explicit(store_location) else " (the default; give --store)"
        raise StoreProblem(f"no history store at {where}{hint}: `rollcall watch` records one")
    try:
        open_store(store_location, create=False).close()  # readable, and migrated, before binding
    except StoreError as exc:
        raise StoreProblem(str(exc)) from None
    from ..serve.app import run_foreground

    try:
        run_foreground(options, lambda: open_store(store_location, create=False), prober=prober,
                       on_ready=lambda server: say_serving(server.url, options))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {options.listen}: {exc.strerror or exc}") from None
    return EXIT_OK


def _config_prober(path: str) -> Any:
    """A Prober over the config's targets (built now, probed on the server's loop)."""
    from .. import checks
    from ..config import ConfigError, load_config
    from ..plan import build_plan
    from ..serve.prober import Prober
    from ..targets.g4f import SelectionError

    try:
        config = load_config(path)
        plan = build_plan(config)
        defaults = config.defaults
        answer_checks = checks.combine([
            checks.expect_regex(defaults.expect) if defaults.expect else None,
            checks.max_total(defaults.max_total) if defaults.max_total else None,
            checks.max_ttft(defaults.max_ttft) if defaults.max_ttft else None,
        ])
    except (ConfigError, SelectionError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    options: dict[str, Any] = {"timeout_s": defaults.timeout or 30.0, "checks": answer_checks}
    if defaults.prompt:
        options["prompt"] = defaults.prompt
    return Prober(plan.targets, options, owned=True)


COMMANDS: list[click.Command] = [serve]
