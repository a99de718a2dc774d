"""The command line: parse, call the library, render. `rollcall` alone means `rollcall run`."""

from __future__ import annotations

import os
import sys

import click

from .. import __version__
from .common import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE



class DefaultGroup(click.Group):
    """A group whose default command is `run`, so `rollcall -p Yqcloud` works like `rollcall run -p Yqcloud`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0].startswith("-") and args[0] not in ("--help", "-h", "--version")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="rollcall")
def cli() -> None:
    """Ask many LLM providers the same question at once, time every answer,
    and say who is up, how fast, and why the others failed.

    With no command, runs `rollcall run`: every working GPT4Free (g4f) provider that needs no
    key gets "Hello, are you GPT 3.5?" at the same time.

    \b
    Exit codes: 0 every requirement held; 1 a requirement failed (--require, --min-ok,
    an answer failing --expect, --max-ttft or --max-total); 2 bad usage or config;
    130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (what finished is still shown, written and stored).
    """


from . import kinds_cmd, list_cmd, load_cmd, report_cmd, run_cmd, serve_cmd, sim_cmd, store_cmd, watch_cmd  # noqa: E402

cli.add_command(run_cmd.run)
cli.add_command(list_cmd.list_providers)
for _module in (kinds_cmd, report_cmd, store_cmd, sim_cmd, watch_cmd, load_cmd, serve_cmd):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one-line errors, exit codes per DESIGN.md, and no hang at exit."""
    from ..stdio import ensure_std_streams, say

    # Before anything opens a file: started with `>&-`, the first socket would become fd 1.
    ensure_std_streams()
    try:
        code = cli.main(args=argv, prog_name="rollcall", standalone_mode=False)
    except click.exceptions.Abort:
        code = EXIT_INTERRUPTED
    except click.ClickException as exc:
        from ..safetext import visible

        # Messages quote what the user or a file gave (names, values, paths): show it, never run it.
        say(f"rollcall: error: {visible(exc.format_message())}")
        code = EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    code = code if isinstance(code, int) else EXIT_OK
    _exit(code)


def _exit(code: int) -> None:
    # Provider threads abandoned at their deadline may still be blocked in sync I/O; they are
    # daemons, but thread pools they started are joined at interpreter exit. Leave at once.
    from ..stdio import flush_std_streams

    # Provider code runs through rollcall.isolation: without it loaded no provider ran, so there
    # are no provider processes to end nor worker threads to ask about, and a command that never
    # ran one (each --help) does not pay for importing asyncio and psutil (~50 ms).
    isolation = sys.modules.get("rollcall.isolation")
    if isolation is not None:
        from ..reaper import reap_children

        reap_children()
    flush_std_streams()  # a stream whose reader left is silenced, not reported at shutdown
    if isolation is not None and isolation.live_workers():
        os._exit(code)
    sys.exit(code)
