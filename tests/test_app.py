"""`execute`: a stop signal (delivered for real to this process) ends the run the way Ctrl-C does,
every sink still gets the run, and a repeated signal while finishing names what was not written."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from rollcall import ErrorKind, ProbeSettings, Runner
from rollcall.app import execute
from rollcall.testing import ScriptedTarget


def Target(name: str, *, hang: bool = False) -> ScriptedTarget:  # noqa: N802
    return ScriptedTarget(name, answer=f"hello from {name}", hang=hang, usage=False)


class Recorder:
    """A sink that sends signals to this process at chosen moments."""

    def __init__(self, label: str | None, *, on_result: int | None = None, on_finish: int | None = None) -> None:
        self.label = label
        self.on_result, self.on_finish = on_result, on_finish
        self.finished = None

    def start(self, info) -> None:
        self.info = info

    def result(self, result) -> None:
        if self.on_result is not None:
            os.kill(os.getpid(), self.on_result)

    def finish(self, run) -> None:
        if self.on_finish is not None:
            os.kill(os.getpid(), self.on_finish)
            time.sleep(0.05)  # the handler runs here (and raises here when it abandons)
        self.finished = run


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_keeps_what_finished_and_every_sink_gets_the_run(sig: int) -> None:
    before = signal.getsignal(sig)
    trigger, report = Recorder(None, on_result=sig), Recorder("json:run.json")
    runner = Runner([Target("quick"), Target("stuck", hang=True)], settings=ProbeSettings(timeout_s=600),
                    sinks=[trigger, report])
    execution = execute(runner)
    assert execution.interrupted and execution.signum == sig and execution.exit_status == 128 + sig
    assert execution.abandoned == ()
    run = report.finished
    assert run is execution.run and run.complete is False
    assert {r.target: r.error_kind for r in run.results} == {"quick": None, "stuck": ErrorKind.CANCELLED}
    assert signal.getsignal(sig) is before  # the handler was put back


def test_a_run_without_signals_is_not_interrupted() -> None:
    sink = Recorder("json:x")
    settings = ProbeSettings(timeout_s=60, prompt="are you there?")
    execution = execute(Runner([Target("quick")], settings=settings, sinks=[sink]))
    assert not execution.interrupted and execution.signum is None and execution.exit_status is None
    assert execution.run.complete
    # Sinks learn the run from start(): its id, prompt, typed settings and planned targets.
    info = sink.info
    assert (info.id, info.prompt, info.settings, info.planned) == (execution.run.id, "are you there?", settings, 1)
    assert [(t.name, t.kind, t.models) for t in info.targets] == [("quick", "scripted", ("m",))]


def test_signals_while_finishing_are_noticed_then_abandon_naming_what_is_left(capfd) -> None:
    sinks = [
        Recorder("the history (h.db)", on_result=signal.SIGTERM),  # 1st: stop probing
        Recorder(None, on_finish=signal.SIGINT),                     # 2nd: noticed, finishing goes on
        Recorder("json:run.json"),
        Recorder("html:run.html", on_finish=signal.SIGINT),          # 3rd: abandon from here
        Recorder("csv:run.csv"),
    ]
    runner = Runner([Target("quick"), Target("stuck", hang=True)], settings=ProbeSettings(timeout_s=600), sinks=sinks)
    execution = execute(runner)
    assert execution.signum == signal.SIGTERM and execution.exit_status == 143
    assert execution.abandoned == ("html:run.html", "csv:run.csv")
    assert [s.finished is not None for s in sinks] == [True, True, True, False, False]
    assert "signal again to abandon" in capfd.readouterr().err
