"""Answer conditions (turn an ok result into `check_failed`) and run requirements (exit code 1)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .models import ErrorKind, ProbeResult, RunResult

Check = Callable[[ProbeResult], str | None]  # returns why the answer fails, or None


def expect_regex(pattern: str) -> Check:
    """The answer must match `pattern` (case-insensitive search)."""
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"--expect {pattern!r} is not a valid regular expression: {exc}") from None

    def check(result: ProbeResult) -> str | None:
        if compiled.search(result.text):
            return None
        return f"answer does not match /{pattern}/"

    return check


def max_total(limit_s: float) -> Check:
    def check(result: ProbeResult) -> str | None:
        if result.total_s is not None and result.total_s > limit_s:
            return f"total {result.total_s:.2f} s exceeds the limit of {limit_s:g} s"
        return None

    return check


def max_ttft(limit_s: float) -> Check:
    def check(result: ProbeResult) -> str | None:
        if result.ttft_s is not None and result.ttft_s > limit_s:
            return f"time to first token {result.ttft_s:.2f} s exceeds the limit of {limit_s:g} s"
        return None

    return check


def apply(result: ProbeResult, checks: Sequence[Check]) -> ProbeResult:
    """The result, failed with `check_failed` if it was ok and a check objects."""
    if not result.ok:
        return result
    for check in checks:
        reason = check(result)
        if reason:
            return dataclasses.replace(
                result, ok=False, error_kind=ErrorKind.CHECK_FAILED, error=f"CheckFailed: {reason}"
            )
    return result


@dataclass(frozen=True, slots=True)
class Requirements:
    """What must hold for exit code 0: named targets answered, at least N answered."""

    require: tuple[str, ...] = ()
    min_ok: int = 0

    def unmet(self, run: RunResult) -> list[str]:
        problems = []
        ok_targets = {r.target.lower() for r in run.results if r.ok}
        probed = {r.target.lower() for r in run.results}
        for name in self.require:
            if name.lower() not in probed:
                problems.append(f"required target {name} was not probed")
            elif name.lower() not in ok_targets:
                problems.append(f"required target {name} did not answer")
        if run.ok_count < self.min_ok:
            problems.append(f"only {run.ok_count} answered, --min-ok requires {self.min_ok}")
        return problems


def combine(checks: Iterable[Check | None]) -> list[Check]:
    return [c for c in checks if c is not None]
