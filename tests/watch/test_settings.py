"""[watch], [[alert]], [[push]], slo and every: parsed with errors that name the field; flags win."""

from __future__ import annotations

import pytest

from rollcall.config import ConfigError, parse_config
from rollcall.redact import redact
from rollcall.durations import format_duration, parse_duration
from rollcall.watch.schedule import JITTER, Group, make_groups
from rollcall.watch.settings import Selector, settle
from rollcall.watch.state import Slo, State

TARGET = '[[target]]\nname = "groq"\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'


def _settings(text, given=None):
    return settle(parse_config(text, "rc.toml"), given)[0]


def test_durations():
    assert [parse_duration(v) for v in ("30s", "5m", "1h", "7d", "2w", "1h30m", "0.5s", "250ms", 90, "0")] == [
        30, 300, 3600, 604800, 1209600, 5400, 0.5, 0.25, 90, 0]
    for bad in ("5 minutes", "m5", "-1s", "", True, None, "1x"):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad, "--every")
    assert [format_duration(s) for s in (300, 90, 3600, 0.25, 86400 * 7)] == ["5m", "90s", "1h", "0.25s", "1w"]


def test_a_full_config():
    s = _settings(
        '[watch]\nevery = "1m"\nfail_after = 4\nrecover_after = 1\nremind = "0"\nkeep = "90d"\n'
        'url = "https://status.example"\n'
        '[defaults]\nslo = { ttft = 2.0, total = 10 }\n'
        + TARGET + 'every = "30s"\nslo = { ttft = 0.5 }\n'
        '[[alert]]\nnotify = "json://127.0.0.1:9/x"\non = ["down", "up"]\n'
        '[[alert]]\nwebhook = "http://127.0.0.1:9/hook"\ntargets = ["groq", "g4f/*"]\n'
        '[[alert]]\nalertmanager = "http://127.0.0.1:9093"\n'
        '[[push]]\ngatus = "http://127.0.0.1:8080"\ntoken = "gatus-token-1"\n'
        '[[push]]\nuptime_kuma = "http://127.0.0.1:3001/api/push/KumaT0ken99"\n'
    )
    assert (s.every_s, s.thresholds.fail_after, s.thresholds.recover_after, s.remind_s, s.keep_s) == (
        60, 4, 1, 0, 90 * 86400)
    assert s.every_for("groq") == 30 and s.every_for("other") == 60
    assert s.slo_for("groq") == Slo(ttft_s=0.5) and s.slo_for("other") == Slo(2.0, 10.0)
    assert [a.kind for a in s.alerts] == ["notify", "webhook", "alertmanager"]
    assert [p.kind for p in s.pushes] == ["gatus", "uptime_kuma"]
    assert "gatus-token-1" not in redact("token gatus-token-1") and "KumaT0ken99" not in redact("/push/KumaT0ken99")


@pytest.mark.parametrize(("text", "message"), [
    ('[watch]\nevry = "1m"\n', "unknown field 'evry' (did you mean 'every'?)"),
    ('[watch]\nevery = "soon"\n', "[watch]: field 'every': 'soon' is not a duration"),
    ('[watch]\nevery = "0s"\n', "field 'every': '0s' must be more than 0"),
    ('[watch]\nevery = true\n', "[watch]: field 'every': expected a duration (30s, 5m, 1h, 7d), got True"),
    ('[watch]\nfail_after = 0\n', "[watch]: field 'fail_after' must be between 1 and"),
    ('[watch]\nurl = "ftp://x"\n', "[watch]: field 'url' must be an http:// or https:// URL"),
    ('[defaults]\nslo = { ttft = -1 }\n', "[defaults]: field 'slo': field 'ttft' must be a number of seconds above 0"),
    ('[defaults]\nslo = { first = 1 }\n', "unknown field 'first'"),
    (TARGET + 'every = "fast"\n', "target 'groq': field 'every': 'fast' is not a duration"),
    ('[[alert]]\nwebhook = "ftp://x"\n', "[[alert]] #1: field 'webhook': must be an http:// or https:// URL"),
    ('[[alert]]\nwebhook = "http://a"\nnotify = "json://b"\n', "give exactly one of notify, webhook, alertmanager"),
    ('[[alert]]\nwebhook = "http://a"\non = ["sideways"]\n', "unknown state 'sideways'"),
    ('[[alert]]\nwebhook = "http://a/${NO_SUCH_VAR_RC}"\n', "environment variable NO_SUCH_VAR_RC is not set"),
    ('[[push]]\ngatus = "http://g"\n', "Gatus external endpoints need the endpoint's token"),
    ('[wach]\n', "unknown section 'wach' (did you mean 'watch'?)"),
])
def test_errors_name_the_field(text, message):
    with pytest.raises(ConfigError) as caught:
        _settings(text)
    assert message in str(caught.value) and str(caught.value).startswith("rc.toml")


def test_flags_win_and_channels_add(monkeypatch):
    monkeypatch.setenv("RC_HOOK_TOKEN", "hookTok3n42")
    text = '[watch]\nevery = "1m"\nfail_after = 4\n[[alert]]\nwebhook = "http://127.0.0.1:9/${RC_HOOK_TOKEN}"\n'
    s = _settings(text)
    assert s.alerts[0].url == "http://127.0.0.1:9/hookTok3n42" and "hookTok3n42" not in redact("x hookTok3n42")
    s = _settings(text, {"every_s": 10.0, "recover_after": 5, "notify": ("json://127.0.0.1:9/y",)})
    assert s.every_s == 10 and s.thresholds.fail_after == 4 and s.thresholds.recover_after == 5
    assert [a.kind for a in s.alerts] == ["webhook", "notify"]
    with pytest.raises(ConfigError, match="^--webhook: field 'webhook': must be an http"):
        _settings(text, {"webhook": ("ftp://nope",)})
    # The command's own defaults sit below the file (demo --watch: every 5 s unless told otherwise).
    assert settle(None, None, {"every_s": 5.0, "fail_after": 2})[0].every_s == 5.0
    assert settle(parse_config(text, "rc.toml"), None, {"every_s": 5.0})[0].every_s == 60.0


def test_selector():
    select = Selector(("groq", "g4f/*"), frozenset({"down"}))
    assert select.wants("groq", "llama", State.DOWN)
    assert not select.wants("groq", "llama", State.UP)
    assert select.wants("Yqcloud", "gpt-4", State.DOWN, origin="g4f")
    assert not select.wants("Yqcloud", "gpt-4", State.DOWN, origin="other")
    assert Selector().wants("anything", "", State.DEGRADED)


def test_schedule_jitter_and_lateness():
    import random

    group = Group(100.0, rng=random.Random(3))
    intervals = [group.interval() for _ in range(500)]
    assert all(100 * (1 - JITTER) <= i <= 100 * (1 + JITTER) for i in intervals)
    assert len(set(intervals)) > 400  # jittered, not fixed
    assert group.schedule_next(started=0.0, ended=5.0) == 0.0 and 90 <= group.next_at <= 110
    assert group.schedule_next(started=0.0, ended=150.0) > 0 and group.next_at == 150.0  # late, never overlapping
    a = make_groups([_T("a"), _T("b"), _T("c")], lambda t: 60 if t.name != "b" else 30, site="x", start=5.0)
    assert [(g.every_s, [t.name for t in g.targets], g.next_at) for g in a] == [(60, ["a", "c"], 5.0), (30, ["b"], 5.0)]
    b = make_groups([_T("a")], lambda t: 60, site="x", start=0.0)
    c = make_groups([_T("a")], lambda t: 60, site="y", start=0.0)
    assert a[0].interval() == b[0].interval() and b[0].interval() != c[0].interval()  # seeded per site


class _T:
    def __init__(self, name):
        self.name = name
