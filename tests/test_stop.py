"""Stop signals, delivered for real to this process: the first cancels the running coroutine and
is remembered for the exit status, the next only says what is still being finished, the one
after abandons it; ignored signals stay ignored; handlers are put back."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from rollcall.stop import Abandoned, StopSignals, exit_status


def _deliver(sig: int) -> None:
    """Send `sig` to this process and give its Python handler the chance to run."""
    os.kill(os.getpid(), sig)
    time.sleep(0.01)  # a handler runs between bytecodes; this sleep is also interrupted by it


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_the_first_signal_cancels_the_running_coroutine_and_is_remembered(sig: int, status: int) -> None:
    cleaned = []

    async def work() -> str:
        try:
            os.kill(os.getpid(), sig)
            await asyncio.sleep(3600)
            return "finished"
        finally:
            cleaned.append("cleanup ran")

    with StopSignals() as stop:
        assert stop.exit_status is None
        result = asyncio.run(stop.until_stopped(work()))
    assert result is None
    assert cleaned == ["cleanup ran"]
    assert stop.stopped and stop.signum == sig and stop.exit_status == status == exit_status(sig)


def test_a_coroutine_that_ends_normally_is_returned_and_other_cancellation_propagates() -> None:
    async def answer() -> int:
        return 42

    async def cancelled_by_someone_else(stop: StopSignals) -> None:
        task = asyncio.ensure_future(stop.until_stopped(asyncio.sleep(3600)))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with StopSignals() as stop:
        assert asyncio.run(stop.until_stopped(answer())) == 42
        asyncio.run(cancelled_by_someone_else(stop))
    assert not stop.stopped


def test_a_signal_before_the_loop_starts_skips_the_work(capfd: pytest.CaptureFixture[str]) -> None:
    ran = []

    async def work() -> None:
        ran.append(True)

    with StopSignals(notice="stopping early\n") as stop:
        _deliver(signal.SIGTERM)
        assert asyncio.run(stop.until_stopped(work())) is None
    assert ran == [] and stop.signum == signal.SIGTERM
    assert capfd.readouterr().err == "stopping early\n"


def test_further_signals_notice_once_then_abandon(capfd: pytest.CaptureFixture[str]) -> None:
    async def work() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.sleep(3600)

    with StopSignals(notice="still finishing\n") as stop:
        assert asyncio.run(stop.until_stopped(work())) is None
        _deliver(signal.SIGTERM)  # while finishing: noticed, nothing stops
        with pytest.raises(Abandoned) as info:
            _deliver(signal.SIGHUP)
            time.sleep(5)  # not reached: the handler raises out of the sleep
    assert info.value.signum == signal.SIGHUP
    assert stop.signum == signal.SIGINT  # the first signal decides the exit status
    assert capfd.readouterr().err == "still finishing\n"


def test_handlers_are_restored_and_an_ignored_signal_stays_ignored() -> None:
    before_term = signal.getsignal(signal.SIGTERM)
    before_hup = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as `nohup` leaves it
    try:
        with StopSignals() as stop:
            assert signal.SIGHUP not in stop.installed and signal.SIGTERM in stop.installed
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) not in (before_term, signal.SIG_DFL)
            _deliver(signal.SIGHUP)  # ignored: no stop
            assert not stop.stopped
        assert signal.getsignal(signal.SIGTERM) is before_term
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before_hup)
