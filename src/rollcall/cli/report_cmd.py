"""`rollcall report RUN.json -o FORMAT:PATH ...`: re-render a saved run into any report format."""

from __future__ import annotations

import click


class WriteError(click.ClickException):
    """A report could not be written (disk full, permissions): exit 1, like `run --json`."""

    exit_code = 1


@click.command("report")
@click.argument("run_file", metavar="RUN.json")
@click.option("-o", "--output", "outputs", multiple=True, metavar="FORMAT:PATH",
              help="Write a report (repeatable). FORMAT: json, jsonl, csv, junit, markdown|md, html; "
                   "PATH: a file, or - for stdout. Without -o, prints the terminal table.")
@click.option("--badges", metavar="URL",
              help="Where `rollcall serve` runs (https://status.example): Markdown tables get a live state "
                   "badge per target, linking to its page there.")
def report(run_file: str, outputs: tuple[str, ...], badges: str | None) -> None:
    """Re-render a saved run (from `rollcall run --json RUN.json`) as other reports.

    RUN.json may be - to read the run from stdin.

    \b
    Examples:
      rollcall report results.json -o html:report.html
      rollcall report results.json -o junit:results.xml -o md:STATUS.md
      rollcall report results.json -o csv:- | column -s, -t
      rollcall report results.json -o md:STATUS.md --badges https://status.example
    """
    from ..reports import json as json_report
    from ..reports import outputs as report_outputs

    if badges is not None:
        from urllib.parse import urlsplit

        parts = urlsplit(badges.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise click.BadParameter("must be an http(s) URL such as https://status.example", param_hint="--badges")
    try:
        parsed = report_outputs.parse_specs(outputs)
        if badges is not None and not any(p.format == "markdown" for p in parsed):
            raise click.UsageError("--badges goes into Markdown reports: add -o markdown:PATH")
        run = json_report.load(run_file)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if not outputs:
        from rich.console import Console

        from ..reports.table import full_report

        Console(highlight=False).print(full_report(run))
        return
    for spec in outputs:
        try:
            report_outputs.write_report(run, spec, badges=badges)
        except OSError as exc:
            raise WriteError(f"cannot write {spec}: {exc}") from None


COMMANDS: list[click.Command] = [report]
