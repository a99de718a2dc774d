"""Probing in-process providers built on g4f's real base classes: answers, reasoning, usage, errors."""

from __future__ import annotations

import fake_providers as fp
import pytest

from rollcall import ErrorKind, G4FTarget, ProbeRequest, run_probe


async def probe(provider, timeout_s=5.0, model=None):
    target = G4FTarget(provider, model=model)
    return await run_probe(target, ProbeRequest(model=target.models[0]), timeout_s=timeout_s)


async def test_answer_with_reasoning_and_usage():
    r = await probe(fp.Answering)
    assert r.ok and r.error_kind is None
    assert r.text == "Hello, I am not GPT 3.5."
    assert r.reasoning == "Let me think."  # kept apart from the answer
    assert r.output_tokens == 9 and not r.output_tokens_estimated
    assert r.model == "fake-model"  # the provider's default model
    assert r.target == "Answering" and r.kind == "g4f"
    assert 0 <= r.ttft_s <= r.total_s
    assert r.tokens_per_s is not None and r.tokens_per_s > 0
    assert r.max_gap_s is not None
    assert r.started_at.endswith("Z")


async def test_provider_receives_model_messages_and_stream_flag():
    fp.MESSAGES_SEEN.clear()
    await probe(fp.Answering, model="my-model")
    model, messages, stream = fp.MESSAGES_SEEN[-1]
    assert model == "my-model"
    assert messages == [{"role": "user", "content": "Hello, are you GPT 3.5?"}]
    assert stream is True


async def test_tokens_estimated_without_usage():
    r = await probe(fp.NoUsage)
    assert r.ok and r.text == "one two three"
    assert r.output_tokens_estimated and r.output_tokens == 3  # max(3 chunks, round(13 chars / 4))


async def test_an_implausible_usage_count_is_ignored():
    r = await probe(fp.HugeUsage)
    assert r.ok and r.output_tokens == 2 and r.output_tokens_estimated


@pytest.mark.parametrize("provider, answer", [(fp.OldStyle, "old style answer"), (fp.SyncOnly, "sync answer")])
async def test_create_async_and_create_completion_providers(provider, answer):
    r = await probe(provider)
    assert r.ok and r.text == answer


@pytest.mark.parametrize(
    "provider, kind, status",
    [
        (fp.NeedsKey, ErrorKind.AUTH, None),
        (fp.RateLimited, ErrorKind.RATE_LIMIT, 429),
        (fp.MissingPackage, ErrorKind.MISSING_DEPENDENCY, None),
        (fp.NoBrowser, ErrorKind.MISSING_DEPENDENCY, None),
        (fp.ServerError, ErrorKind.HTTP_STATUS, 502),
        (fp.Challenged, ErrorKind.BAD_RESPONSE, 403),
        (fp.Buggy, ErrorKind.PROVIDER_ERROR, None),
        (fp.Refused, ErrorKind.CONNECT, None),
        (fp.Empty, ErrorKind.EMPTY, None),
        (fp.ReasoningOnly, ErrorKind.EMPTY, None),
    ],
)
async def test_error_kinds(provider, kind, status):
    r = await probe(provider)
    assert not r.ok
    assert r.error_kind is kind, r.error
    assert r.status == status
    assert r.error and "\n" not in r.error


async def test_error_line_keeps_exception_type_for_the_classic_format():
    r = await probe(fp.NeedsKey)
    assert r.error == "MissingAuthError: Add a .har file or an api_key"


async def test_secrets_in_provider_errors_are_redacted():
    r = await probe(fp.LeaksKey)
    assert "sk-abcdef1234567890XYZ" not in (r.error or "")
    assert "api_key=***" in r.error


async def test_reasoning_only_keeps_the_reasoning():
    r = await probe(fp.ReasoningOnly)
    assert r.reasoning == "thinking very hard" and r.text == ""
    assert r.ttft_s is not None  # a reasoning token is a first token


async def test_include_auth_passes_the_key_from_the_environment(monkeypatch):
    monkeypatch.setenv("KEYEDPROVIDER_API_KEY", "env-key-1234567890")
    target = G4FTarget(fp.KeyedProvider, include_auth=True)
    r = await run_probe(target, ProbeRequest(model=""), timeout_s=5)
    assert r.ok and r.text == "got a key of 18 characters"
    without = await run_probe(G4FTarget(fp.KeyedProvider), ProbeRequest(model=""), timeout_s=5)
    assert without.error_kind is ErrorKind.AUTH
