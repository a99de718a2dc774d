"""Misbehaving providers: each is bounded by its deadline, and the well-behaved ones are unaffected."""

from __future__ import annotations

import sys
import time

import fake_providers as fp
import pytest

from rollcall import ErrorKind, G4FTarget, Runner

DEADLINE_S = 1.0
# Generous bound for "the run ended at about the deadline", far below any hang.
RUN_BOUND_S = DEADLINE_S + 4.0


async def run_with_good_neighbour(bad, timeout_s=DEADLINE_S):
    runner = Runner([G4FTarget(bad), G4FTarget(fp.Answering)], timeout_s=timeout_s)
    start = time.perf_counter()
    run = await runner.run()
    elapsed = time.perf_counter() - start
    results = {r.target: r for r in run.results}
    good = results.pop("Answering")
    (bad_result,) = results.values()
    return bad_result, good, elapsed


@pytest.fixture
def silent_url():
    url, server = fp.silent_server()
    fp.SyncRequestsHang.url_to_hang_on = url
    yield url
    server.close()


@pytest.mark.parametrize(
    "bad",
    [fp.SyncSleep, fp.SyncHangForever, fp.AsyncHangForever, fp.ExecutorHang, fp.BurnsCpu,
     fp.YieldsForever, fp.SyncYieldsForever],
    ids=lambda c: c.__name__,
)
async def test_bounded_by_deadline_and_neighbour_unaffected(bad):
    bad_result, good, elapsed = await run_with_good_neighbour(bad)
    assert bad_result.error_kind is ErrorKind.TIMEOUT, bad_result.error
    assert elapsed < RUN_BOUND_S
    assert good.ok and good.text == "Hello, I am not GPT 3.5."
    # The neighbour was not stalled until the deadline by the misbehaving provider.
    assert good.total_s < DEADLINE_S


async def test_blocking_sync_io_against_a_silent_server(silent_url):
    bad, good, elapsed = await run_with_good_neighbour(fp.SyncRequestsHang)
    assert bad.error_kind is ErrorKind.TIMEOUT
    assert bad.error == f"Timeout: no first token within {DEADLINE_S:g} s"
    assert good.ok and elapsed < RUN_BOUND_S


async def test_endless_stream_keeps_what_arrived():
    bad, _, _ = await run_with_good_neighbour(fp.YieldsForever)
    assert bad.ttft_s is not None and bad.text.startswith("xxx")
    assert bad.error == f"Timeout: no end of answer within {DEADLINE_S:g} s"


async def test_output_cap_stops_an_endless_stream():
    runner = Runner([G4FTarget(fp.SyncYieldsForever)], timeout_s=10, max_output_chars=200)
    run = await runner.run()
    (r,) = run.results
    assert r.error_kind is ErrorKind.BAD_RESPONSE and "cap of 200" in r.error


@pytest.mark.parametrize("bad", [fp.Exits, fp.Interrupts], ids=lambda c: c.__name__)
async def test_system_exit_and_keyboard_interrupt_are_contained(bad):
    bad_result, good, _ = await run_with_good_neighbour(bad)
    assert bad_result.error_kind is ErrorKind.PROVIDER_ERROR
    assert bad_result.error.startswith("ProviderCrash: provider raised")
    assert good.ok


async def test_prints_do_not_reach_our_stdout(capfd):
    bad_result, good, _ = await run_with_good_neighbour(fp.Prints)
    assert bad_result.ok and bad_result.text == "printed and answered"
    out, err = capfd.readouterr()
    assert "PROVIDER NOISE" not in out and "PROVIDER NOISE" not in err
    print("our own output still works")
    assert "our own output still works" in capfd.readouterr().out


async def test_non_string_chunks_are_ignored():
    bad_result, good, _ = await run_with_good_neighbour(fp.NonStrings)
    assert bad_result.ok and bad_result.text == "real text"


def test_routed_streams_answer_like_the_real_ones():
    from rollcall.isolation import _ThreadRoutedStream

    class FakeTty:
        encoding = "latin-1"
        errors = "strict"

        def isatty(self):
            return True

        def fileno(self):
            return 2

    routed = _ThreadRoutedStream(FakeTty())
    assert routed.isatty() and routed.fileno() == 2 and routed.encoding == "latin-1"


# --- hostile exceptions and chunks: read off the event loop, within the deadline ---------------

@pytest.mark.parametrize(
    "bad, kind, error",
    [
        (fp.StrRaises, ErrorKind.PROVIDER_ERROR, "StrRaisesError: (the exception could not be read: RuntimeError)"),
        (fp.StatusRaises, ErrorKind.RATE_LIMIT, "StatusRaisesError: slow down"),
        (fp.MetaName, ErrorKind.PROVIDER_ERROR, "MetaNameError"),
        (fp.CauseRaises, ErrorKind.PROVIDER_ERROR, "CauseRaisesError"),
        (fp.EvilStrMessage, ErrorKind.PROVIDER_ERROR, "EvilStrMessageError: a message in disguise"),
        (fp.CrashStr, ErrorKind.PROVIDER_ERROR,
         "ProviderCrash: provider raised CrashStrExit: (the exception could not be read: RuntimeError)"),
    ],
    ids=["str-raises", "status-raises", "metaclass-name", "cause-raises", "str-subclass-message", "system-exit"],
)
async def test_exceptions_that_misbehave_when_read_are_classified(bad, kind, error):
    bad_result, good, _ = await run_with_good_neighbour(bad)
    assert bad_result.error_kind is kind
    assert bad_result.error == error
    assert good.ok


async def test_an_exception_slow_to_read_stalls_nobody():
    # Its __str__ sleeps past the deadline: read on a worker thread, given up on at the deadline,
    # while the neighbour finishes in its usual time.
    bad, good, elapsed = await run_with_good_neighbour(fp.StrStalls)
    assert bad.error_kind is ErrorKind.PROVIDER_ERROR
    assert bad.error == "StrStallsError: (the exception could not be read before the deadline)"
    assert good.ok and good.total_s < DEADLINE_S
    assert elapsed < fp.STR_STALL_S


async def test_str_subclass_chunks_arrive_as_plain_text():
    bad_result, good, _ = await run_with_good_neighbour(fp.EvilChunks)
    assert bad_result.ok and bad_result.text == "evil chunks" and type(bad_result.text) is str
    assert bad_result.reasoning == "pondering"
    assert bad_result.output_tokens == 2 and good.ok


class _InLoop:
    """A library user's in-loop target raising `exc` (its stream runs on our loop)."""

    kind = "custom"
    models = ("",)

    def __init__(self, name, exc):
        self.name, self.exc = name, exc

    async def stream(self, request):
        raise self.exc()
        yield  # pragma: no cover

    async def aclose(self):
        return None


@pytest.mark.parametrize("exc, name", [(fp.StrStallsError, "StrStallsError"), (fp.StrRaisesError, "StrRaisesError"),
                                       (fp.MetaNameError, "MetaNameError")], ids=["stalls", "raises", "metaclass"])
async def test_in_loop_targets_raising_hostile_exceptions(exc, name):
    runner = Runner([_InLoop("mine", exc), G4FTarget(fp.Answering)], timeout_s=DEADLINE_S)
    run = await runner.run()
    by = {r.target: r for r in run.results}
    assert by["mine"].error_kind is ErrorKind.PROVIDER_ERROR
    assert by["mine"].error.startswith(name)
    assert by["Answering"].ok and by["Answering"].total_s < DEADLINE_S


async def test_call_off_loop_runs_on_a_worker_and_contains_system_exit():
    import threading

    from rollcall.isolation import ProviderCrash, call_off_loop

    assert await call_off_loop(lambda: threading.current_thread().name) != threading.current_thread().name
    with pytest.raises(ProviderCrash):
        await call_off_loop(lambda: sys.exit(3))
