"""The native kinds (anthropic, gemini, ollama) as registered: their declarations, their entries,
and the command line with every kind in one config against the simulator: `rollcall list -c`
lists each endpoint's models, `rollcall run -c` probes them all at once, and every report format
shows each kind's results."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from g4f_env import offline_g4f_env

from rollcall.kinds import BuildContext, registry
from rollcall.sim import Behaviour, Fleet
from rollcall.sim.background import run_sim_in_thread

NATIVE = ("anthropic", "gemini", "ollama")
KEY = "sk-native-cli-5ecret-0123456789"


def test_the_native_kinds_are_registered_like_openai() -> None:
    kinds = registry()
    for name in NATIVE:
        kind = kinds.get(name)
        assert kind.protocol == name and kind.list_models is not None
        assert kinds.sources[name] == f"rollcall (rollcall.kinds.{name}:KIND)"
        assert {"base_url", "api_key", "headers", "stream", "extra_body"} <= {f.name for f in kind.fields}
        assert not kind.field("base_url").required  # each API's own default
    assert kinds.get("anthropic").field("max_tokens").default == 1024


def test_the_kinds_defaults_are_the_targets() -> None:
    from rollcall.kinds import anthropic as anthropic_kind, gemini as gemini_kind, ollama as ollama_kind
    from rollcall.targets import anthropic, gemini, ollama

    assert (anthropic_kind.DEFAULT_BASE_URL, anthropic_kind.API_VERSION, anthropic_kind.DEFAULT_MAX_TOKENS) == (
        anthropic.DEFAULT_BASE_URL, anthropic.API_VERSION, anthropic.DEFAULT_MAX_TOKENS)
    assert (gemini_kind.DEFAULT_BASE_URL, gemini_kind.API_VERSION) == (gemini.DEFAULT_BASE_URL, gemini.API_VERSION)
    assert ollama_kind.DEFAULT_BASE_URL == ollama.DEFAULT_BASE_URL


def test_declaring_the_kinds_imports_no_target_code() -> None:
    code = ("import sys, rollcall.kinds.anthropic, rollcall.kinds.gemini, rollcall.kinds.ollama; "
            "print([m for m in sys.modules if m.startswith('rollcall.targets.') or m in ('aiohttp', 'g4f')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_an_entry_becomes_its_target_with_the_kinds_defaults() -> None:
    kinds = registry()
    ctx = BuildContext()
    claude = kinds.get("anthropic").build(kinds.get("anthropic").entry("c", models=["claude-x"], max_tokens=99), ctx)
    (target,) = claude.targets
    assert (target.kind, target.base_url, target.models, target.max_tokens) == (
        "anthropic", "https://api.anthropic.com", ("claude-x",), 99)
    (gem,) = kinds.get("gemini").build(kinds.get("gemini").entry("g", models=["gemini-x"], api_version="v1"), ctx).targets
    assert (gem.base_url, gem.api_version) == ("https://generativelanguage.googleapis.com", "v1")
    (local,) = kinds.get("ollama").build(kinds.get("ollama").entry("o", models=["llama3.2"]), ctx).targets
    assert local.base_url == "http://localhost:11434" and local.client is target.client  # one client per run
    assert local.meta == {"base_url": "http://localhost:11434"}


@pytest.mark.parametrize("kind", NATIVE)
def test_an_entry_without_models_is_refused_naming_the_target(kind: str) -> None:
    declared = registry().get(kind)
    with pytest.raises(ValueError, match=f"^target 'x': field 'models' must name the models to probe \\(the {kind} API"):
        declared.build(declared.entry("x"), BuildContext())


def test_bad_values_are_config_errors(tmp_path: Path) -> None:
    from rollcall.config import ConfigError, load_config

    path = tmp_path / "bad.toml"
    path.write_text('[[target]]\nname = "c"\nkind = "anthropic"\nmodels = ["m"]\nmax_tokens = 0\n')
    with pytest.raises(ConfigError, match="target 'c': field 'max_tokens'"):
        load_config(path)
    path.write_text('[[target]]\nname = "g"\nkind = "gemini"\nmodels = ["m"]\napi_vresion = "v1"\n')
    with pytest.raises(ConfigError, match="unknown field 'api_vresion' \\(did you mean 'api_version'\\?\\)"):
        load_config(path)


# ---- the command line: every kind in one config ---------------------------------------------

FLEET = Fleet({
    "swift": Behaviour(ttft_s=0.01, tokens_per_s=0, answer_tokens=6),
    "thinker": Behaviour(ttft_s=0.01, tokens_per_s=0, answer_tokens=4, reasoning_tokens=3),
    "throttled": Behaviour(status=429, retry_after_s=9),
    "filtered": Behaviour(ttft_s=0, tokens_per_s=0, answer_tokens=6, fault="filtered", after_tokens=2),
    "blocked": Behaviour(fault="blocked"),
})
# (target, model): the error kind each probe ends with (None: answered).
EXPECTED = {
    ("oa", "swift"): None, ("oa", "throttled"): "rate_limit",
    ("claude", "thinker"): None, ("claude", "filtered"): "provider_error",
    ("gem", "swift"): None, ("gem", "blocked"): "provider_error",
    ("local", "thinker"): None, ("local", "throttled"): "rate_limit",
    ("Answering", "fake-model"): None,  # a g4f entry's targets are its providers
}
KINDS = {"oa": "openai", "claude": "anthropic", "gem": "gemini", "local": "ollama", "Answering": "g4f"}


def config(root: str) -> str:
    return f"""
[defaults]
timeout = 10

[[target]]
name = "oa"
kind = "openai"
base_url = "{root}/v1"
models = ["swift", "throttled"]

[[target]]
name = "claude"
kind = "anthropic"
base_url = "{root}"
api_key = "${{SIM_KEY}}"
models = ["thinker", "filtered"]

[[target]]
name = "gem"
kind = "gemini"
base_url = "{root}"
api_key = "${{SIM_KEY}}"
models = ["swift", "blocked"]

[[target]]
name = "local"
kind = "ollama"
base_url = "{root}"
models = ["thinker", "throttled"]

[[target]]
name = "g4f"
kind = "g4f"
providers = ["fake_providers:Answering"]
"""


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("mixed")
    env = {**offline_g4f_env(tmp), "SIM_KEY": KEY}
    with run_sim_in_thread(FLEET, seed=5) as base_url:
        path = tmp / "rollcall.toml"
        path.write_text(config(base_url.removesuffix("/v1")))
        yield tmp, env, path


def rollcall(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rollcall", *args], capture_output=True, text=True, env=env,
                          timeout=120, stdin=subprocess.DEVNULL)


def test_list_shows_the_models_of_every_kind(mixed) -> None:  # type: ignore[no-untyped-def]
    tmp, env, path = mixed
    proc = rollcall(env, "list", "-c", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    endpoints = {row["target"]: row for row in json.loads(proc.stdout)["endpoints"]}
    assert {name: row["kind"] for name, row in endpoints.items()} == {k: v for k, v in KINDS.items() if v != "g4f"}
    for row in endpoints.values():
        assert row["error"] is None and row["models"] == list(FLEET.names), row
    table = rollcall(env, "list", "-c", str(path))
    assert table.returncode == 0, table.stderr
    for title in ("Anthropic targets (1)", "Gemini targets (1)", "Ollama targets (1)"):
        assert title in table.stdout
    assert KEY not in proc.stdout + table.stdout + table.stderr


def test_run_mixes_every_kind_and_every_report_shows_them(mixed) -> None:  # type: ignore[no-untyped-def]
    tmp, env, path = mixed
    out = {fmt: tmp / f"run.{fmt}" for fmt in ("json", "csv", "jsonl", "junit", "markdown", "html")}
    proc = rollcall(env, "run", "-c", str(path), "--store", str(tmp / "history.db"), "--json", str(out["json"]),
                    *(arg for fmt in ("csv", "jsonl", "junit", "markdown", "html")
                      for arg in ("-o", f"{fmt}:{out[fmt]}")))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out["json"].read_text())
    got = {(r["target"], r["model"]): r for r in doc["results"]}
    assert {key: r["error_kind"] for key, r in got.items()} == EXPECTED
    assert {r["target"]: r["kind"] for r in doc["results"]} == KINDS
    assert got[("claude", "thinker")]["reasoning"] and got[("local", "thinker")]["reasoning"]
    assert got[("local", "thinker")]["server_timings"]["eval_tokens"] == 7  # Ollama's own count
    assert got[("oa", "swift")]["server_timings"] is None
    assert "ContentFiltered" in got[("gem", "blocked")]["error"]
    assert {t["name"]: t["kind"] for t in doc["run"]["targets"]} == KINDS

    every = [proc.stdout + proc.stderr, *(p.read_text(encoding="utf-8") for p in out.values())]
    assert all(KEY not in text for text in every)
    # Each format has each kind's results: the targets by name, and their outcomes.
    rows = list(csv.DictReader(io.StringIO(out["csv"].read_text(encoding="utf-8"), newline="")))
    assert {r["target"]: r["kind"] for r in rows} == KINDS
    assert json.loads(next(r for r in rows if r["target"] == "local" and r["ok"] == "true")["server_timings"])
    lines = [json.loads(line) for line in out["jsonl"].read_text(encoding="utf-8").splitlines()]
    assert {(r["target"], r["kind"]) for r in lines if "target" in r and "kind" in r} >= set(KINDS.items())
    cases = ET.fromstring(out["junit"].read_text(encoding="utf-8")).iter("testcase")
    classnames = {c.get("classname") for c in cases}
    assert all(any(f".{kind}." in (name or "") for name in classnames) for kind in KINDS.values()), classnames
    markdown = out["markdown"].read_text(encoding="utf-8")
    html = out["html"].read_text(encoding="utf-8")
    for target in KINDS:
        assert f"| {target} |" in markdown and f'"target":"{target}"' in html.replace(" ", "")
    for text, rate_limit in ((markdown, "rate\\_limit"), (proc.stdout, "rate_limit")):  # Markdown escapes _
        assert "ContentFiltered: Gemini blocked the prompt" in text and rate_limit in text
    assert "server load/eval" in proc.stdout  # the terminal table shows Ollama's own timings
