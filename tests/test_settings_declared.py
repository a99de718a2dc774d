"""Settings declared once: one field per option feeds the record's checks, the config table, the
merge (flag > config > the command's default > declared), the JSON, and the command line."""

from __future__ import annotations

from dataclasses import dataclass

import click
import pytest
from click.testing import CliRunner

from rollcall.cli.options import given, options
from rollcall.kinds import registry
from rollcall.serve.options import ListenOptions
from rollcall.settings import (DURATION, TEXTS, Declared, OutputSettings, ProbeSettings, TargetSelection, count,
                               setting)
from rollcall.watch.options import WatchOptions


@dataclass(frozen=True, slots=True)
class Knobs(Declared):
    """A record as a module would declare one: adding an option is adding a field."""

    wait_s: float = setting(2.0, flag="-w/--wait", config="wait", type=DURATION, unit="s", help="How long.")
    tries: int = setting(3, flag="--tries", config="tries", type=count(1, 9), help="How often.")
    names: tuple[str, ...] = setting((), flag="--name", type=TEXTS, help="Who (repeatable).")


def test_a_record_checks_and_normalizes_what_it_is_given() -> None:
    assert Knobs(wait_s="1m", tries=2).wait_s == 60.0
    with pytest.raises(ValueError, match="^tries must be between 1 and 9, got 10"):
        Knobs(tries=10)
    with pytest.raises(ValueError, match="^wait_s: 'soon' is not a duration"):
        Knobs(wait_s="soon")
    assert ProbeSettings(connect_timeout_s=None).connect_timeout_s is None  # the annotation admits None
    with pytest.raises(ValueError, match="^timeout_s: expected a duration"):
        ProbeSettings(timeout_s=None)


def test_flag_beats_config_beats_the_command_default_beats_the_declaration() -> None:
    table = Knobs.from_table("k.toml: [knobs]", {"wait": "5s", "tries": 4})
    assert table == {"wait_s": 5.0, "tries": 4}
    assert Knobs.resolve({"tries": 7}, table, {"wait_s": 1.0, "tries": 1}) == Knobs(wait_s=5.0, tries=7)
    assert Knobs.resolve(defaults={"wait_s": 1.0}) == Knobs(wait_s=1.0)
    assert Knobs.resolve() == Knobs()


@pytest.mark.parametrize("table, message", [
    ({"wiat": 1}, "k.toml: [knobs]: unknown field 'wiat' (did you mean 'wait'?); known fields: tries, wait"),
    ({"wait": True}, "k.toml: [knobs]: field 'wait': expected a duration (30s, 5m, 1h, 7d), got True"),
    ({"tries": 0}, "k.toml: [knobs]: field 'tries' must be between 1 and 9, got 0"),
    ({"names": ["a"]}, "unknown field 'names'"),  # no config key: a flag only
])
def test_config_tables_are_checked_against_the_declarations(table: dict, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        Knobs.from_table("k.toml: [knobs]", table)
    assert message in str(caught.value)


def test_the_run_settings_json_keeps_its_keys_and_sets_aside_what_it_does_not_know() -> None:
    settings = ProbeSettings(timeout_s=5, repeat=2, require=("a",), extra={"config": "c.toml", "seed": 3})
    doc = settings.to_json()
    assert {"timeout_s": 5.0, "concurrency": 64, "repeat": 2, "model": None, "require": ["a"]}.items() <= doc.items()
    assert "prompt" not in doc  # the run's own `prompt` says it
    assert doc["config"] == "c.toml" and doc["seed"] == 3
    assert ProbeSettings.from_json(doc) == settings
    old = {"timeout_s": 30.0, "concurrency": 64, "repeat": 1, "model": None, "providers": [], "config": None}
    read = ProbeSettings.from_json(old)  # a document from before the declarations
    assert read.repeat == 1 and read.extra == {"providers": [], "config": None}
    with pytest.raises(ValueError, match=r"^run.settings: repeat must be a whole number, got 'x'"):
        ProbeSettings.from_json({"repeat": "x"}, "run.settings")


def test_the_command_line_is_made_from_the_declarations() -> None:
    defaults = {"tries": 5}  # the command's own: shown in --help and below the config file

    @click.command()
    @options(Knobs, defaults=defaults)
    @click.pass_context
    def knobs(ctx: click.Context, **_: object) -> None:
        click.echo(repr(Knobs.resolve(given(ctx, Knobs), {"wait_s": 9.0}, defaults)))

    runner = CliRunner()
    out = runner.invoke(knobs, ["--name", "a", "--name", "b"])
    assert out.output.strip() == "Knobs(wait_s=9.0, tries=5, names=('a', 'b'))"  # config fills what was not given
    out = runner.invoke(knobs, ["-w", "30s", "--tries", "2"])
    assert out.output.strip() == "Knobs(wait_s=30.0, tries=2, names=())"
    bad = runner.invoke(knobs, ["--tries", "12"])
    assert bad.exit_code == 2 and "Invalid value for '--tries': must be between 1 and 9, got '12'" in bad.output
    helped = runner.invoke(knobs, ["--help"]).output
    assert "-w, --wait DURATION" in helped and "How often.  [default: 5]" in helped


def test_every_run_option_is_a_declared_setting() -> None:
    from rollcall.cli import cli

    declared = {s.name for r in (TargetSelection, ProbeSettings, OutputSettings) for s in r.settings() if s.flag}
    ctx = click.Context(cli.commands["run"])
    kinds = {f.name for k in registry() for f in k.flagged}
    params = {p.name for p in cli.commands["run"].get_params(ctx) if not p.name.endswith("help")}
    assert params == declared | kinds
    watch = cli.commands["watch"]
    watch_params = {p.name for p in watch.get_params(click.Context(watch)) if not p.name.endswith("help")}
    own = {s.name for r in (WatchOptions, ListenOptions) for s in r.settings() if s.flag}
    assert watch_params == declared | kinds | own
