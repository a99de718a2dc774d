"""Misbehaving providers: each is bounded by its deadline, and the well-behaved ones are unaffected."""

from __future__ import annotations

import sys
import time

import fake_providers as fp
import pytest

from rollcall import ErrorKind, G4FTarget, ProbeSettings, Runner
from rollcall.testing import ScriptedTarget

DEADLINE_S = 1.0
# Generous bound for "the run ended at about the deadline", far below any hang.
RUN_BOUND_S = DEADLINE_S + 4.0


async def run_with_good_neighbour(bad, timeout_s=DEADLINE_S):
    runner = Runner([G4FTarget(bad), G4FTarget(fp.Answering)], settings=ProbeSettings(timeout_s=timeout_s))
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
    runner = Runner([G4FTarget(fp.SyncYieldsForever)], settings=ProbeSettings(timeout_s=10), max_output_chars=200)
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


@pytest.mark.parametrize("exc, name", [(fp.StrStallsError, "StrStallsError"), (fp.StrRaisesError, "StrRaisesError"),
                                       (fp.MetaNameError, "MetaNameError")], ids=["stalls", "raises", "metaclass"])
async def test_in_loop_targets_raising_hostile_exceptions(exc, name):
    # A library user's in-loop target raising `exc` (its stream runs on our loop).
    mine = ScriptedTarget("mine", models=("",), status=None, error=exc())
    runner = Runner([mine, G4FTarget(fp.Answering)], settings=ProbeSettings(timeout_s=DEADLINE_S))
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


# ---- LoopThread: one shared loop for a library whose state is bound to its loop -----------------

async def test_loop_thread_streams_stamped_items_on_one_shared_loop():
    import asyncio
    import threading

    from rollcall.isolation import STARTED, LoopThread

    setup_thread = []
    shared = LoopThread("test-shared", setup=lambda: setup_thread.append(threading.current_thread()))

    async def items(n):
        yield (threading.current_thread(), id(asyncio.get_running_loop()), n)

    seen = []
    for n in range(3):
        async for stamp, item in shared.stream(lambda n=n: items(n)):
            assert isinstance(stamp, float)
            seen.append(item)
    assert seen[0] is STARTED and len(seen) == 6
    calls = [item for item in seen if item is not STARTED]
    assert {thread for thread, _, _ in calls} == set(setup_thread)  # setup ran on the same thread
    assert len({loop for _, loop, _ in calls}) == 1  # one loop for every call
    assert [n for _, _, n in calls] == [0, 1, 2]
    assert setup_thread[0] is not threading.current_thread()


async def test_loop_thread_contains_failures_and_cancels_abandoned_calls():
    import asyncio

    from rollcall.isolation import STARTED, LoopThread, ProviderCrash

    shared = LoopThread("test-failures")
    cancelled = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def raises():
        raise ValueError("from the library")
        yield  # pragma: no cover

    async def exits():
        raise SystemExit(3)
        yield  # pragma: no cover

    async def hangs():
        try:
            yield "first"
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            loop.call_soon_threadsafe(cancelled.set)
            raise

    with pytest.raises(ValueError, match="from the library"):
        async for _ in shared.stream(raises):
            pass
    with pytest.raises(ProviderCrash):
        async for _ in shared.stream(exits):
            pass
    got = []
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            async for _, item in shared.stream(hangs):
                got.append(item)
    assert got == [STARTED, "first"]
    await asyncio.wait_for(cancelled.wait(), 10)  # leaving the stream cancelled the call's task


async def test_loop_thread_blocked_by_the_library_never_blocks_the_caller():
    import asyncio
    import threading

    from rollcall.isolation import LoopThread

    shared = LoopThread("test-blocked")
    release = threading.Event()

    async def blocks():
        release.wait(60)  # sync code holding the shared loop
        yield "late"

    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    tick_task = asyncio.create_task(ticker())
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                async for _ in shared.stream(blocks):
                    pass
        assert not release.is_set() and ticks > 0  # the deadline fired while the library was stuck
    finally:
        release.set()
        tick_task.cancel()


def test_an_abandoned_executor_call_closes_the_coroutine_it_returns():
    """LiteLLM's acompletion builds its request coroutine in an executor; when the awaiting task
    is cancelled first, the coroutine is closed instead of warning 'never awaited' later."""
    import asyncio
    import gc
    import threading
    import warnings

    from rollcall.isolation import _DaemonExecutor

    started, finish = threading.Event(), threading.Event()
    made = []

    async def request():  # pragma: no cover - never run, only closed
        return "answer"

    def build():
        started.set()
        finish.wait(10)
        made.append(request())
        return made[-1]

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_default_executor(_DaemonExecutor(max_workers=1))
        task = asyncio.ensure_future(loop.run_in_executor(None, build))
        while not started.is_set():
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.sleep(0)
        finish.set()
        for _ in range(200):
            if made and made[0].cr_frame is None:
                break
            await asyncio.sleep(0.01)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        asyncio.run(main())
        assert made and made[0].cr_frame is None  # closed
        del made[:]
        gc.collect()
