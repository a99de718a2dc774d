"""The config file: what it expresses, and errors that name the file, the target and the field."""

from __future__ import annotations

import pytest

from rollcall.config import ConfigError, default_config_path, load_config, parse_config
from rollcall.kinds import registry
from rollcall.plan import SelectionError, build_plan
from rollcall.redact import redact
from rollcall.settings import ProbeSettings

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

KINDS = ", ".join(registry().names())  # every registered kind, in the registry's order


def test_the_issue_example(monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-secretsecretsecret")
    config = parse_config(EXAMPLE, "rollcall.toml")
    assert config.defaults == {"timeout_s": 20.0, "prompt": "Hello, are you GPT 3.5?"}
    openrouter, g4f = config.targets
    assert openrouter.values["api_key"] == "sk-or-v1-secretsecretsecret"
    assert openrouter.models == ("meta-llama/llama-3.3-70b-instruct:free", "qwen/qwen3-14b:free")
    assert openrouter.values["headers"] == {"X-Title": "rollcall"}
    assert g4f.values["providers"] == ("*",) and g4f.values["exclude"] == ("Gemini",)
    assert g4f.values["include_auth"] is False  # every field of its kind, defaults filled in
    # The key from the environment is a registered secret: scrubbed from anything shown.
    assert redact("failed with key sk-or-v1-secretsecretsecret") == "failed with key ***"


def test_plan_makes_one_probe_per_model_and_flags_win(monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", "k" * 20)
    config = parse_config(EXAMPLE, "rollcall.toml")
    plan = build_plan(config, flags={"providers": ("fake_providers:Answering",)})
    names = [t.name for t in plan.targets]
    assert names == ["openrouter", "Answering"]  # -p replaced the g4f entry's registry sweep
    assert plan.targets[0].models == config.targets[0].models
    plan = build_plan(config, flags={"providers": ("fake_providers:Answering",)}, settings=ProbeSettings(model="m1"),
                      only=["openrouter"])
    assert [(t.name, t.models) for t in plan.targets] == [("openrouter", ("m1",)), ("Answering", ("m1",))]


def test_unknown_target_filter():
    config = parse_config('[[target]]\nname = "a"\nkind = "openai"\nbase_url = "http://127.0.0.1:1/v1"\n')
    with pytest.raises(SelectionError, match="unknown target 'b'"):
        build_plan(config, only=["b"])


@pytest.mark.parametrize(
    "text, message",
    [
        ("[defaults]\ntimeout = -1", "rollcall.toml: [defaults]: field 'timeout': -1 must be more than 0"),
        ("[defaults]\ntimout = 5", "unknown field 'timout' (did you mean 'timeout'?)"),
        ("[defaults]\ntimeout = 'soon'", "field 'timeout': 'soon' is not a duration (use e.g. 30s, 5m, 1h, 7d)"),
        ("[[target]]\nkind = 'openai'", "[[target]] #1: field 'name' is required"),
        ("[[target]]\nname = 'x'\nkind = 'grpc'", f"target 'x': field 'kind' must be one of {KINDS}, got 'grpc'"),
        ("[[target]]\nname = 'x'\nkind = 'opnai'", f"must be one of {KINDS}, got 'opnai' (did you mean 'openai'?)"),
        ("[[target]]\nname = 'x'\nkind = 'openai'", "target 'x': field 'base_url' is required"),
        ("[[target]]\nname = 'x'\nkind = 'openai'\nbase_url = 'http://a'\nmodels = []", "must not be empty"),
        ("[[target]]\nname = 'x'\nkind = 'openai'\nbase_url = 'http://a'\nheaders = { a = 1 }",
         "field 'headers' must map names to strings"),
        ("[[target]]\nname = 'x'\nkind = 'openai'\nbase_url = 'http://a'\napi_key = 5",
         "field 'api_key' must be a string, got a int"),  # a secret's value is never quoted
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


# -- values from outside: numbers, nesting, odd files (issue 8, part 7) -------------------------

@pytest.mark.parametrize("line, message", [
    ("timeout = nan", "field 'timeout': nan must be a finite duration (e.g. 30s, 5m, 1h, 7d)"),
    ("timeout = inf", "field 'timeout': inf must be a finite duration"),
    ("connect_timeout = -inf", "field 'connect_timeout': -inf must be a finite duration"),
    ("first_byte_timeout = 'never'", "field 'first_byte_timeout': 'never' is not a duration (use e.g. 30s, 5m"),
    ("max_total = 0", "field 'max_total': 0 must be more than 0"),
    ("max_ttft = true", "field 'max_ttft': expected a duration (30s, 5m, 1h, 7d), got True"),
    ("concurrency = 100000000000000000", "field 'concurrency' must be between 1 and 100,000"),
    ("repeat = 0", "field 'repeat' must be between 1 and"),
    ("min_ok = -1", "field 'min_ok' must be between 0 and"),
    ("min_ok = 1.5", "field 'min_ok' must be a whole number"),
])
def test_defaults_numbers_are_checked_by_the_shared_parsers(line, message):
    with pytest.raises(ConfigError) as info:
        parse_config(f"[defaults]\n{line}\n", "rollcall.toml")
    assert str(info.value).startswith(f"rollcall.toml: [defaults]: {message}")


def test_durations_in_the_config_take_units():
    config = parse_config('[defaults]\ntimeout = "2m"\nmax_ttft = "1.5s"\nconnect_timeout = 3\n', "c.toml")
    assert config.defaults == {"timeout_s": 120.0, "max_ttft_s": 1.5, "connect_timeout_s": 3.0}
    settings = ProbeSettings.resolve({"max_ttft_s": 9.0}, config.defaults, {"timeout_s": 3.0})
    assert (settings.timeout_s, settings.max_ttft_s) == (120.0, 9.0)  # flag > config > command default


def test_a_byte_order_mark_is_not_an_error(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf[defaults]\ntimeout = 5\n")
    assert load_config(path).defaults == {"timeout_s": 5.0}


@pytest.mark.parametrize("text, message", [
    ("a = " + "[" * 100_000, "not valid TOML: nested more than 32 levels deep"),  # tomllib recursion
    ("[defaults]\nprompt = 'x'\n[[target]]\nname = 'x'\nkind = 'openai'\nbase_url = 'http://a'\n"
     "extra_body = { a = " + "[" * 40 + "]" * 40 + " }", "target[0].extra_body.a[0]"),
])
def test_deep_nesting_is_a_config_error(text, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        parse_config(text, "deep.toml")


def test_a_device_is_refused_after_a_bounded_read(tmp_path):
    # In a child with capped memory: an unbounded read (as before) fails there, not this machine.
    import subprocess
    import sys

    from g4f_env import offline_g4f_env
    from memory_cap import capped_memory

    proc = subprocess.run([sys.executable, "-m", "rollcall", "run", "-c", "/dev/zero"], capture_output=True, text=True,
                          env=offline_g4f_env(tmp_path), timeout=60, stdin=subprocess.DEVNULL, preexec_fn=capped_memory)
    assert proc.returncode == 2
    assert proc.stderr == "rollcall: error: /dev/zero: the config file is larger than 4 MiB; is it the right file?\n"


def test_nul_bytes_are_refused(tmp_path):
    path = tmp_path / "nul.toml"
    path.write_bytes(b"[defaults]\x00")
    with pytest.raises(ConfigError, match="holds NUL bytes"):
        load_config(path)


def test_an_environment_value_that_is_not_utf8_is_named(monkeypatch):
    monkeypatch.setenv("BAD_BYTES_KEY", b"sk-\xff".decode("utf-8", "surrogateescape"))
    text = "[[target]]\nname = 'x'\nkind = 'openai'\nbase_url = 'https://a/v1'\napi_key = '${BAD_BYTES_KEY}'\n"
    with pytest.raises(ConfigError, match="c.toml: target 'x': environment variable BAD_BYTES_KEY is not valid UTF-8"):
        parse_config(text, "c.toml")
