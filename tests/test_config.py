"""The config file: what it expresses, and errors that name the file, the target and the field."""

from __future__ import annotations

import pytest

from rollcall.config import ConfigError, default_config_path, load_config, parse_config
from rollcall.plan import G4FFlags, build_plan
from rollcall.redact import redact
from rollcall.targets.g4f import SelectionError

EXAMPLE = """
[defaults]
timeout = 20
prompt = "Hello, are you GPT 3.5?"

[[target]]
name = "openrouter"
kind = "openai"
base_url = "https://openrouter.ai/api/v1"
api_key = "${OPENROUTER_API_KEY}"      # from the environment; never printed
models = ["meta-llama/llama-3.3-70b-instruct:free", "qwen/qwen3-14b:free"]
headers = { "X-Title" = "rollcall" }

[[target]]
name = "g4f"
kind = "g4f"
providers = ["*"]                      # the registry, with the same filters as the CLI
exclude = ["Gemini"]
"""


def test_the_issue_example(monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-secretsecretsecret")
    config = parse_config(EXAMPLE, "rollcall.toml")
    assert config.defaults.timeout == 20.0 and config.defaults.prompt == "Hello, are you GPT 3.5?"
    openrouter, g4f = config.targets
    assert openrouter.api_key == "sk-or-v1-secretsecretsecret"
    assert openrouter.models == ("meta-llama/llama-3.3-70b-instruct:free", "qwen/qwen3-14b:free")
    assert openrouter.headers == {"X-Title": "rollcall"}
    assert g4f.providers == () and g4f.exclude == ("Gemini",)
    # The key from the environment is a registered secret: scrubbed from anything shown.
    assert redact("failed with key sk-or-v1-secretsecretsecret") == "failed with key ***"


def test_plan_makes_one_probe_per_model_and_flags_win(monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", "k" * 20)
    config = parse_config(EXAMPLE, "rollcall.toml")
    plan = build_plan(config, flags=G4FFlags(providers=("fake_providers:Answering",)))
    names = [t.name for t in plan.targets]
    assert names == ["openrouter", "Answering"]  # -p replaced the g4f entry's registry sweep
    assert plan.targets[0].models == config.targets[0].models
    plan = build_plan(config, flags=G4FFlags(providers=("fake_providers:Answering",)), model="m1", only=["openrouter"])
    assert [(t.name, t.models) for t in plan.targets] == [("openrouter", ("m1",)), ("Answering", ("m1",))]


def test_unknown_target_filter():
    config = parse_config('[[target]]\nname = "a"\nkind = "openai"\nbase_url = "http://127.0.0.1:1/v1"\n')
    with pytest.raises(SelectionError, match="unknown target 'b'"):
        build_plan(config, only=["b"])


@pytest.mark.parametrize(
    "text, message",
    [
        ("[defaults]\ntimeout = -1", "rollcall.toml: [defaults]: field 'timeout' must be greater than 0"),
        ("[defaults]\ntimout = 5", "unknown field 'timout' (did you mean 'timeout'?)"),
        ("[defaults]\ntimeout = 'soon'", "field 'timeout' must be a whole number or a number"),
        ("[[target]]\nkind = 'openai'", "[[target]] #1: field 'name' is required"),
        ("[[target]]\nname = 'x'\nkind = 'grpc'", "target 'x': field 'kind' must be one of g4f, openai"),
        ("[[target]]\nname = 'x'\nkind = 'openai'\nbase_url = 'ftp://a'", "target 'x': field 'base_url' must be an http"),
        ("[[target]]\nname = 'x'\nkind = 'openai'\nbase_url = 'http://a'\nmodels = 'one'", "field 'models' must be a list"),
        ("[[target]]\nname = 'x'\nkind = 'openai'\nbase_url = 'http://a'\nstream = 'yes'", "field 'stream' must be true or false"),
        ("[[target]]\nname = 'x'\nkind = 'g4f'\nbase_url = 'http://a'", "target 'x': unknown field 'base_url'"),
        ("[[target]]\nname = 'x'\nkind = 'g4f'\n[[target]]\nname = 'X'\nkind = 'g4f'", "the name is used twice"),
        ("[targets]\nname = 1", "unknown section 'targets' (did you mean 'target'?)"),
        ("this is = not toml =", "rollcall.toml: not valid TOML"),
    ],
)
def test_errors_name_file_target_and_field(text, message):
    with pytest.raises(ConfigError) as info:
        parse_config(text, "rollcall.toml")
    assert message in str(info.value)
    assert str(info.value).startswith("rollcall.toml")


def test_unset_variable_is_an_error_or_a_skipped_optional_target(monkeypatch):
    monkeypatch.delenv("NOPE_KEY", raising=False)
    text = "[[target]]\nname = 'x'\nkind = 'openai'\nbase_url = 'https://a/v1'\napi_key = '${NOPE_KEY}'\n"
    with pytest.raises(ConfigError, match="target 'x': environment variable NOPE_KEY is not set"):
        parse_config(text, "c.toml")
    config = parse_config(text + "optional = true\n", "c.toml")
    assert config.targets == () and config.skipped[0].name == "x"
    assert "NOPE_KEY" in config.skipped[0].reason


def test_missing_file_and_default_locations(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_config(tmp_path / "missing.toml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ROLLCALL_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert default_config_path() is None
    (tmp_path / "rollcall.toml").write_text("")
    assert str(default_config_path()) == "rollcall.toml"
