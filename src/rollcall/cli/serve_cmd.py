"""`rollcall serve` (the history as a status page, JSON API, badges and Prometheus metrics) and the
--listen/--token/--public options that `watch` shares. Thin: the server is rollcall.serve."""

from __future__ import annotations

from typing import Any

import click

from ..serve.options import SERVE_LISTEN, ListenOptions
from ..settings import OutputSettings, TargetSelection
from .common import EXIT_OK
from .options import given, options


def serve_options(chosen: ListenOptions, site: str | None) -> Any:
    """ServeOptions from the flags, checked before anything binds (UsageError, exit 2)."""
    listen, token, public = chosen.listen, chosen.token, chosen.public
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
@options(OutputSettings, only=("store_location",),
         help={"store_location": "History store to serve: a SQLite file or a postgresql:// URL that watchers write "
                                 "into [default: ~/.local/share/rollcall/history.sqlite3]."})
@options(ListenOptions, defaults={"listen": SERVE_LISTEN},
         help={"listen": "Serve the status page, API, badges and /metrics at this address. Loopback unless --token "
                         "or --public."})
@options(TargetSelection, only=("config_path",),
         help={"config_path": "Config whose targets /probe?target=NAME may probe now (blackbox_exporter style), "
                              "with its [defaults] (prompt, timeout, checks). Without it /probe is off."})
@options(OutputSettings, only=("site",), help={"site": "Site label of /probe's metrics [default: hostname]."})
@click.pass_context
def serve(ctx: click.Context, **_: Any) -> int:
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

    out = OutputSettings.resolve(given(ctx, OutputSettings))
    store_location = out.store_location
    options = serve_options(ListenOptions.resolve(given(ctx, ListenOptions), defaults={"listen": SERVE_LISTEN}),
                            out.site)
    config_path = TargetSelection.resolve(given(ctx, TargetSelection)).config_path
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
    """A Prober over the config's targets (built now, probed on the server's loop), with the
    settings its [defaults] give (prompt, deadline, checks)."""
    from ..config import ConfigError, load_config
    from ..plan import SelectionError, build_plan
    from ..serve.prober import Prober
    from ..settings import ProbeSettings

    try:
        config = load_config(path)
        settings = ProbeSettings.resolve(config=config.defaults)
        plan = build_plan(config, settings=settings)
    except (ConfigError, SelectionError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    return Prober(plan.targets, settings, owned=True)


COMMANDS: list[click.Command] = [serve]
