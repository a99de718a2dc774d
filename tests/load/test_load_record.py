"""The metric definitions on hand-made streams: each event arrives at an exact offset from the
send, so TTFT, TTFO, ITL, TPOT and E2E are checked against known values."""

from __future__ import annotations

import pytest
from load_helpers import Scripted, content

from rollcall.load.record import RequestRecord, measure
from rollcall.models import ErrorKind
from rollcall.targets.base import Content, Headers, ProbeError, ProbeRequest, ReasoningDelta, Usage

REQUEST = ProbeRequest(prompt="hi")


async def record_of(target: Scripted, timeout_s: float = 5.0, **kwargs) -> RequestRecord:
    m = await measure(target, REQUEST, timeout_s=timeout_s, **kwargs)
    return RequestRecord.from_measurement(m, stage=0, shard=0, number=0, warmup=False, scheduled=m.sent,
                                          queue_s=0.0, t0=m.sent, wall0=1_700_000_000.0)


async def test_ttft_counts_reasoning_and_ttfo_waits_for_content() -> None:
    r = await record_of(Scripted([(0.01, Headers(200)), (0.1, ReasoningDelta("hmm")), (0.2, ReasoningDelta(" so")),
                                  *content(0.5, 0.6, 0.7), (0.7, Usage(3, 6))]))
    assert r.ok and r.status == 200
    assert r.ttft_s == pytest.approx(0.1) and r.ttfo_s == pytest.approx(0.5)
    assert r.itl_s == pytest.approx([0.1, 0.3, 0.1, 0.1])  # every gap between chunks, reasoning included
    assert r.output_tokens == 6 and not r.output_tokens_estimated and r.input_tokens == 3
    assert r.tpot_s == pytest.approx((r.e2e_s - 0.1) / 5)
    assert r.reasoning_chars == 6 and r.output_chars == 12


async def test_tpot_with_many_tokens_from_usage() -> None:
    r = await record_of(Scripted([*content(0.2, 0.3, 0.4, 0.5), (0.5, Usage(None, 11))]))
    assert r.output_tokens == 11 and not r.output_tokens_estimated
    assert r.tpot_s == pytest.approx((r.e2e_s - 0.2) / 10)
    assert r.e2e_s >= 0.5


async def test_one_token_has_no_tpot() -> None:
    r = await record_of(Scripted([(0.2, Content("Hi")), (0.2, Usage(1, 1))]))
    assert r.ok and r.output_tokens == 1 and r.tpot_s is None and r.itl_s == []
    assert r.ttft_s == pytest.approx(0.2)


async def test_without_usage_tokens_are_estimated_and_marked() -> None:
    r = await record_of(Scripted(content(0.1, 0.2, 0.3, text="ab ")))
    assert r.output_tokens == 3 and r.output_tokens_estimated
    long_chunk = await record_of(Scripted([(0.1, Content("x" * 400))]))
    assert long_chunk.output_tokens == 100 and long_chunk.output_tokens_estimated  # ~4 characters a token


async def test_chunks_read_together_are_zero_apart() -> None:
    r = await record_of(Scripted(content(0.1, 0.1, 0.1, 0.3)))
    assert r.itl_s == pytest.approx([0.0, 0.0, 0.2])


async def test_reasoning_only_is_empty() -> None:
    r = await record_of(Scripted([(0.1, ReasoningDelta("thinking"))]))
    assert not r.ok and r.error_kind == "empty" and "reasoning only" in r.error
    assert r.ttft_s == pytest.approx(0.1) and r.ttfo_s is None and r.tpot_s is None


async def test_whitespace_only_is_empty() -> None:
    r = await record_of(Scripted(content(0.1, text="  \n")))
    assert r.error_kind == "empty"


async def test_a_classified_failure_mid_stream_keeps_what_arrived() -> None:
    error = ProbeError(ErrorKind.RATE_LIMIT, "HTTP 429: slow down", status=429, retry_after_s=2)
    r = await record_of(Scripted(content(0.1, 0.2), error=error))
    assert not r.ok and r.error_kind == "rate_limit" and r.status == 429
    assert r.error == "ProbeError: HTTP 429: slow down"
    assert r.ttft_s == pytest.approx(0.1) and r.tpot_s is None


async def test_any_exception_from_a_target_is_classified() -> None:
    r = await record_of(Scripted(content(0.1), error=ConnectionResetError("peer reset")))
    assert r.error_kind == "connect"
    r = await record_of(Scripted([], error=RuntimeError("bug in provider")))
    assert r.error_kind == "provider_error"


async def test_the_deadline_is_a_timeout_naming_the_phase() -> None:
    r = await record_of(Scripted([], hang=True), timeout_s=0.2)
    assert r.error_kind == "timeout" and r.error == "Timeout: no first token within 0.2 s"
    r = await record_of(Scripted(content(0.01), hang=True), timeout_s=0.2)
    assert r.error == "Timeout: no end of answer within 0.2 s"


async def test_the_output_cap_is_a_bad_response() -> None:
    r = await record_of(Scripted(content(0.01, 0.02, text="x" * 600)), max_output_chars=1000)
    assert r.error_kind == "bad_response" and "cap of 1,000 characters" in r.error


async def test_lateness_and_queue_come_from_the_schedule() -> None:
    target = Scripted(content(0.05))
    m = await measure(target, REQUEST, timeout_s=5)
    r = RequestRecord.from_measurement(m, stage=2, shard=1, number=7, warmup=True, scheduled=m.sent - 0.3,
                                       queue_s=0.1, t0=m.sent - 1.0, wall0=1_700_000_000.0)
    assert r.scheduled_s == pytest.approx(0.7) and r.sent_s == pytest.approx(1.0)
    assert r.lateness_s == pytest.approx(0.2, abs=1e-3)  # 0.3 s after it was due, 0.1 s of it waiting for a slot
    assert r.sent_at == pytest.approx(1_700_000_001.0)
    assert (r.stage, r.shard, r.number, r.warmup) == (2, 1, 7, True)


async def test_records_survive_their_json_line() -> None:
    r = await record_of(Scripted([(0.1, ReasoningDelta("a")), *content(0.2, 0.25), (0.25, Usage(4, 3))]))
    back = RequestRecord.from_dict(r.to_dict())
    assert back.to_dict() == r.to_dict()
    assert set(r.to_dict()) >= {"scheduled_s", "sent_s", "lateness_s", "queue_s", "ttft_s", "ttfo_s", "tpot_s",
                                "itl_s", "e2e_s", "output_tokens", "output_tokens_estimated", "ok", "error_kind"}


def test_jsonl_lines_keep_any_message_exactly() -> None:
    import json

    from load_helpers import record

    from rollcall.load.sinks import record_lines

    messages = ["bad \ud800 text \u2028 end", "next\u0085line \x7f \u2029 ✓"]
    lines = record_lines([record(number=1), *(record(number=2 + i, ok=False, error=m) for i, m in enumerate(messages))])
    parsed = [json.loads(line) for line in lines.decode().splitlines()]
    assert [p["number"] for p in parsed] == [1, 2, 3]
    assert [p["error"] for p in parsed[1:]] == messages
    assert record_lines([]) == b""


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no")


class Stalling(Exception):
    def __str__(self) -> str:
        import time

        time.sleep(3)
        return "finally"


async def test_a_hostile_exception_is_a_provider_error_read_off_the_loop() -> None:
    r = await record_of(Scripted(content(0.01), error=Unprintable()))
    assert not r.ok and r.error_kind == "provider_error" and r.error.startswith("Unprintable")
    r = await record_of(Scripted([], error=Stalling()), timeout_s=0.3)
    assert r.error_kind == "provider_error" and "could not be read before the deadline" in r.error


async def test_text_that_is_not_an_exact_str_is_copied_without_its_code() -> None:
    class Sly(str):
        def __len__(self) -> int:
            raise RuntimeError("len")

        def isspace(self) -> bool:
            raise RuntimeError("isspace")

    r = await record_of(Scripted([(0.01, Content(Sly("hello"))), (0.02, Usage(2, 2))]))
    assert r.ok and r.output_chars == 5 and r.output_tokens == 2
