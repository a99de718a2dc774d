"""JUnit XML: the run as one test suite CI systems (Jenkins, GitLab, GitHub test reporters) display.

Shape (valid under Jenkins' junit-10 schema and, apart from the per-test system-out it needs
for answers, under the strict Ant schema's required attributes and types):

    <testsuites name tests failures errors time>
      <testsuite id="0" package="rollcall" name="rollcall" timestamp hostname tests failures errors skipped time>
        <properties> run id, prompt, settings </properties>
        <testcase classname="rollcall.<kind>.<target>" name="<model>" time="<total_s>">
          <failure type="<error_kind>" message="<error>">details</failure>   (failed probes)
          <skipped message="..."/>                      (cancelled probes, targets not loaded)
          <system-out>the answer (truncated)</system-out>
        </testcase>
        <system-out>summary</system-out> <system-err/>
      </testsuite>
    </testsuites>

With --repeat every attempt is its own test case, named "<model> #<attempt>": CI systems
show each case's own failure type, message and time, so a flaky provider reads as "2 of 3
passed, #2 timed out" instead of one merged verdict that hides which attempt failed and
what each took; and the names stay stable from run to run, so CI test history lines up.

Dots inside a kind or target name become "_" in the classname: CI systems split classnames
at dots into package and class, and "api.example.com" must not turn into three packages.
Every string from a provider passes through `xml_text`: controls and bidi overrides shown visibly
(rollcall.safetext; CI pages and logs are read in browsers and terminals), and whatever else XML
1.0 cannot carry replaced.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from ..models import ErrorKind, ProbeResult, RunResult
from ..safetext import one_line, visible

# Answers are evidence in CI, not the product: keep the first part of each.
MAX_OUT_CHARS = 4000

# XML 1.0 Char production: tab, LF, CR, U+0020..U+D7FF, U+E000..U+FFFD, U+10000..U+10FFFF.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str | None) -> str:
    """`text` shown visibly (safetext.visible), then any character XML 1.0 cannot carry as U+FFFD."""
    return _NOT_XML.sub("\ufffd", visible(text))


def _seconds(value: float | None) -> str:
    # xs:decimal and the Surefire time pattern both want a plain non-negative number.
    return f"{max(0.0, value or 0.0):.3f}"


def _timestamp(iso: str) -> str:
    """UTC, to the second, without a zone: the only form the strict Ant schema accepts."""
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return "1970-01-01T00:00:00"
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _name_part(value: str, fallback: str) -> str:
    cleaned = xml_text(one_line(value)).replace(".", "_")
    return cleaned or fallback


def classname(result: ProbeResult) -> str:
    return f"rollcall.{_name_part(result.kind, 'target')}.{_name_part(result.target, 'unnamed')}"


def case_name(result: ProbeResult, repeat: int) -> str:
    name = xml_text(one_line(result.model)) or "default"
    return f"{name} #{result.attempt}" if repeat > 1 else name


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit} more characters not shown)"


def _details(result: ProbeResult) -> str:
    lines = [
        f"target: {result.target}",
        f"kind: {result.kind}",
        f"model: {result.model or 'default'}",
        f"attempt: {result.attempt}",
        f"error kind: {result.error_kind}",
    ]
    if result.status is not None:
        lines.append(f"http status: {result.status}")
    if result.retry_after_s is not None:
        lines.append(f"retry after: {result.retry_after_s:g} s")
    for label, value in (("ttft", result.ttft_s), ("total", result.total_s)):
        if value is not None:
            lines.append(f"{label}: {value:.3f} s")
    if result.server_timings is not None:
        lines.append(f"server timings: {result.server_timings.summary()}")
    lines.append(f"error: {result.error or ''}")
    return xml_text("\n".join(lines))


def _answer(result: ProbeResult) -> str:
    parts = []
    if result.text:
        parts.append(_clip(result.text, MAX_OUT_CHARS))
    if result.reasoning:
        parts.append("[reasoning]\n" + _clip(result.reasoning, MAX_OUT_CHARS))
    if result.server_timings is not None:
        parts.append(f"[server timings] {result.server_timings.summary()}")
    return xml_text("\n\n".join(parts))


def _testcase(parent: ET.Element, result: ProbeResult, repeat: int) -> None:
    case = ET.SubElement(
        parent, "testcase",
        classname=classname(result), name=case_name(result, repeat), time=_seconds(result.total_s),
    )
    message = xml_text(one_line(result.error))
    if result.ok:
        pass
    elif result.error_kind == ErrorKind.CANCELLED:
        ET.SubElement(case, "skipped", message=message or "cancelled")
    else:
        failure = ET.SubElement(case, "failure", type=str(result.error_kind or "error"), message=message)
        failure.text = _details(result)
    answer = _answer(result)
    if answer:
        ET.SubElement(case, "system-out").text = answer


def build(run: RunResult) -> ET.Element:
    """The document as an ElementTree element (root <testsuites>)."""
    repeat = run.settings.repeat
    cancelled = sum(1 for r in run.results if r.error_kind == ErrorKind.CANCELLED)
    failures = run.failed_count - cancelled
    tests = len(run.results) + len(run.skipped)
    counts = {"tests": str(tests), "failures": str(failures), "errors": "0"}
    root = ET.Element("testsuites", name="rollcall", time=_seconds(run.wall_s), **counts)
    suite = ET.SubElement(
        root, "testsuite", id="0", package="rollcall", name="rollcall",
        timestamp=_timestamp(run.started_at), hostname="localhost",
        skipped=str(cancelled + len(run.skipped)), time=_seconds(run.wall_s), **counts,
    )
    properties = ET.SubElement(suite, "properties")
    props = {
        "rollcall.run_id": run.id,
        "rollcall.started_at": run.started_at,
        "rollcall.prompt": run.prompt,
        "rollcall.complete": str(run.complete).lower(),
        "rollcall.version": run.version,
        **{f"rollcall.settings.{k}": "" if v is None else str(v) for k, v in sorted(run.settings.to_json().items())},
    }
    for name, value in props.items():
        ET.SubElement(properties, "property", name=xml_text(name), value=xml_text(value))
    # Sorted, so the file diffs cleanly between runs (results arrive in finishing order).
    for result in sorted(run.results, key=lambda r: (r.target, r.model, r.attempt)):
        _testcase(suite, result, repeat)
    for skipped in run.skipped:
        case = ET.SubElement(
            suite, "testcase", classname=f"rollcall.not_loaded.{_name_part(skipped.name, 'unnamed')}",
            name="load", time="0.000",
        )
        ET.SubElement(case, "skipped", message=xml_text(one_line(skipped.reason)) or "not loaded")
    summary = run.summary_line() + ("" if run.complete else " (interrupted)")
    ET.SubElement(suite, "system-out").text = xml_text(summary)
    ET.SubElement(suite, "system-err").text = ""
    return root


def dumps(run: RunResult) -> str:
    root = build(run)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
