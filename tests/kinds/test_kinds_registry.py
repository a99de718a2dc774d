"""The registry of kinds: built from entry points, each problem kept apart with its reason; a
kind's own declarations (fields, flags, defaults) checked where entries are made."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from rollcall.kinds import SWITCH, TEXTS, Built, Field, Kind, KindError, registry
from rollcall.kinds.loader import load


@dataclass
class EntryPoint:
    """What importlib.metadata gives: a name, a value, a distribution, and load()."""

    name: str
    obj: Any
    dist_name: str = "someone"

    @property
    def value(self) -> str:
        return f"{self.name}_mod:KIND"

    @property
    def dist(self) -> Any:
        return type("Dist", (), {"name": self.dist_name})()

    def load(self) -> Any:
        if isinstance(self.obj, BaseException):
            raise self.obj
        return self.obj


def kind(name: str, *fields: Field, **options: Any) -> Kind:
    return Kind(name=name, summary=f"the {name} kind", build=lambda entry, ctx: Built(), fields=fields, **options)


def test_the_installed_registry_has_rollcalls_own_kinds() -> None:
    kinds = registry()
    assert {"g4f", "openai", "litellm"} <= set(kinds.names())
    assert kinds.implicit().name == "g4f" and kinds.get("openai").protocol == "openai"
    assert kinds.sources["openai"] == "rollcall (rollcall.kinds.openai:KIND)"


def test_problems_are_kept_with_their_reason_and_the_rest_loads() -> None:
    flagged = Field("flavour", TEXTS, (), flag="-f/--flavour")
    reg = load([
        EntryPoint("good", kind("good", flagged)),
        EntryPoint("raises", ImportError("no module named nope")),
        EntryPoint("wrong", object()),
        EntryPoint("misnamed", kind("other")),
        EntryPoint("good", kind("good")),
        EntryPoint("clash", kind("clash", Field("x", TEXTS, (), flag="--flavour"))),
        EntryPoint("common", kind("common", Field("models", TEXTS, ()))),
        EntryPoint("twice", kind("twice", implicit=True)),
        EntryPoint("thrice", kind("thrice", implicit=True)),
    ])
    assert reg.names() == ("good", "twice")
    errors = {(p.name, p.error) for p in reg.problems}
    assert errors == {
        ("raises", "raises_mod:KIND cannot be loaded: ImportError: no module named nope"),
        ("wrong", "the entry point gives a 'object' object, not a rollcall.kinds.Kind"),
        ("misnamed", "registered as 'misnamed' but the Kind is named 'other'"),
        ("good", "the name is already taken by someone (good_mod:KIND)"),
        ("clash", "its flag --flavour is taken by kind 'good'"),
        ("common", "field 'models' is declared twice or is a common field "
                   "(name, kind, optional, model, models, every, slo)"),
        ("thrice", "only one kind is probed without a config, and that is 'twice'"),
    }
    assert "good" not in reg.broken and reg.broken["raises"].startswith("raises_mod:KIND cannot be loaded")
    with pytest.raises(KindError, match="^kind 'raises' is installed but cannot be used: raises_mod:KIND"):
        reg.get("raises")


def test_an_unknown_kind_names_the_choices_and_the_closest() -> None:
    with pytest.raises(KindError) as caught:
        registry().get("opnai")
    assert str(caught.value).startswith(f"must be one of {', '.join(registry().names())}")
    assert str(caught.value).endswith("got 'opnai' (did you mean 'openai'?)")
    with pytest.raises(KindError, match="no target kinds are registered: .*reinstall it"):
        load([]).get("openai")


def test_entries_made_in_code_are_checked_and_flags_override_fields() -> None:
    g4f = registry().get("g4f")
    entry = g4f.entry("g4f", providers=["Yqcloud"])
    assert entry.values == {"providers": ("Yqcloud",), "exclude": (), "all_providers": False,
                            "include_auth": False, "include_extra": False}
    flagged = g4f.with_flags(entry, {"providers": ("A",), "exclude": ("B",), "include_auth": True})
    assert flagged.values["providers"] == ("A",) and flagged.values["include_auth"] is True  # replaced
    again = g4f.with_flags(flagged, {"exclude": ("C",)})
    assert again.values["exclude"] == ("B", "C")  # -x adds to the entry's own
    with pytest.raises(ValueError, match="^field 'all_providers' must be true or false, got 'yes'"):
        g4f.entry("g4f", all_providers="yes")
    openai = registry().get("openai")
    with pytest.raises(ValueError, match="^field 'base_url' is required"):
        openai.entry("x")
    with pytest.raises(ValueError, match="^field 'base_url' must be an http:// or https:// URL"):
        openai.entry("x", base_url="ftp://a")
    with pytest.raises(ValueError, match="has no field 'nope'"):
        openai.entry("x", base_url="http://a", nope=1)
    assert openai.entry("x", base_url="http://a").values["stream"] is True


def test_a_kind_declared_in_code_is_one_object() -> None:
    switch = Field("loud", SWITCH, False, flag="--loud", help="Shout.")
    k = kind("tiny", switch, protocol="ollama")
    assert k.field("loud") is switch and k.flagged == (switch,) and k.field("nope") is None
    assert load([EntryPoint("tiny", k)]).get("tiny") is k


def test_a_distributions_name_is_read_once_for_all_its_kinds() -> None:
    # Reading it parses the distribution's whole METADATA file (rollcall's holds its README),
    # and `run --help` reads every kind's source.
    class Dist:
        reads = 0

        @property
        def name(self) -> str:
            Dist.reads += 1
            return "shared"

    dist = Dist()

    @dataclass
    class SharedEntryPoint(EntryPoint):
        @property
        def dist(self) -> Any:
            return dist

    reg = load([SharedEntryPoint("one", kind("one")), SharedEntryPoint("two", kind("two"))])
    assert reg.sources == {"one": "shared (one_mod:KIND)", "two": "shared (two_mod:KIND)"}
    assert Dist.reads == 1
