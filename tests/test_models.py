"""The result model and its JSON document (DESIGN.md contracts)."""

from __future__ import annotations

import json

import pytest

from rollcall import ErrorKind, ProbeResult, RunResult, Skipped, write_report
from rollcall.reports import json as json_report

DESIGN_FIELDS = [
    "target", "kind", "model", "ok", "error_kind", "error", "status", "queue_s", "headers_s", "ttft_s",
    "total_s", "output_chars", "output_tokens", "output_tokens_estimated", "tokens_per_s", "text",
    "reasoning", "started_at",
]


def make_run() -> RunResult:
    return RunResult(
        id="abc", started_at="2026-11-30T10:00:00.000Z", ended_at="2026-11-30T10:00:02.000Z", wall_s=2.0,
        prompt="Hello, are you GPT 3.5?",
        results=(
            ProbeResult("A", "g4f", "m", True, ttft_s=0.5, total_s=1.0, text="hé <b>", output_chars=6),
            ProbeResult("B", "g4f", "", False, ErrorKind.RATE_LIMIT, "RateLimitError: x", status=429, retry_after_s=3.0),
        ),
        skipped=(Skipped("G4FSpace", "ConnectionError: offline"),),
        settings={"timeout_s": 30.0, "repeat": 1},
        loop_lag_max_s=0.01,
    )


def test_error_kind_strings_are_the_contract():
    assert [k.value for k in ErrorKind] == [
        "timeout", "connect", "auth", "rate_limit", "http_status", "bad_response", "empty",
        "missing_dependency", "provider_error", "check_failed", "cancelled",
    ]


def test_document_shape_and_fields():
    doc = make_run().to_dict()
    assert doc["schema"] == "rollcall.run/1"
    assert doc["run"]["ok"] == 1 and doc["run"]["failed"] == 1
    for result in doc["results"]:
        assert list(result)[: len(DESIGN_FIELDS)] == DESIGN_FIELDS
    assert doc["results"][1]["error_kind"] == "rate_limit"
    json.dumps(doc)  # serialisable as is


def test_round_trip_through_a_file(tmp_path):
    run = make_run()
    path = tmp_path / "run.json"
    write_report(run, f"json:{path}")
    again = json_report.load(str(path))
    assert again == run


@pytest.mark.parametrize(
    "content, message",
    [("not json", "not a run"), ("{not json", "not valid JSON"), ('{"schema": "other/1"}', "not a rollcall run document"),
     ('{"schema": "rollcall.run/1", "results": [{"nope": 1}]}', r"results\[0\]: field 'target' is missing")],
)
def test_loading_bad_documents_gives_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as info:
        json_report.load(str(path))
    assert str(path) in str(info.value)


def test_summary_and_grouping():
    run = make_run()
    assert run.summary_line() == "1 ok, 1 failed in 2.00 s"
    assert list(run.failures_by_kind()) == [ErrorKind.RATE_LIMIT]
    assert run.measurements_reliable
