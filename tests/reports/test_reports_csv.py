"""CSV: header in ProbeResult field order, RFC 4180 quoting, and a lossless DictReader round trip."""

from __future__ import annotations

import csv
import dataclasses
import io
import typing
from pathlib import Path

from test_reports_common import BIG, HOSTILE, UNICODE, hostile_run

from rollcall.models import ErrorKind, ProbeResult
from rollcall.reports import csv as csv_report
from rollcall.reports.outputs import write_report

_TYPES = typing.get_type_hints(ProbeResult)


def _parse(name: str, cell: str) -> object:
    """The inverse of the writer's cell format, driven by ProbeResult's type hints."""
    hint = _TYPES[name]
    if cell == "" and type(None) in typing.get_args(hint):
        return None
    base = next((t for t in (bool, int, float, ErrorKind) if t == hint or t in typing.get_args(hint)), str)
    if base is bool:
        assert cell in ("true", "false"), cell
        return cell == "true"
    return base(cell)


def _read(text: str) -> list[ProbeResult]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert reader.fieldnames == [f.name for f in dataclasses.fields(ProbeResult)]
    return [ProbeResult(**{k: _parse(k, v) for k, v in row.items()}) for row in reader]  # type: ignore[arg-type]


def test_header_is_every_result_field_in_dataclass_order() -> None:
    first_line = csv_report.dumps(hostile_run()).split("\r\n", 1)[0]
    assert first_line.split(",") == [f.name for f in dataclasses.fields(ProbeResult)]


def test_round_trip_through_dictreader_keeps_everything_but_controls() -> None:
    run = hostile_run()
    back = _read(csv_report.dumps(run))
    # Printable text (quotes, commas, line breaks, CR LF, unicode, 100 kB) comes back exactly;
    # the controls of HOSTILE come back as the escapes a terminal shows literally.
    shown = HOSTILE.replace("\x00", "\\x00").replace("\x01", "\\x01").replace("\x07", "\\x07")
    shown = shown.replace("\x1b", "\\x1b").replace("\x7f", "\\x7f").replace("\x85", "\\x85")
    expected = [
        dataclasses.replace(r, error=r.error.replace(HOSTILE, shown)) if r.error else r
        for r in run.results
    ]
    expected = [dataclasses.replace(r, text=shown) if r.text == HOSTILE else r for r in expected]
    assert back == expected
    texts = [r.text for r in back]
    assert shown in texts and UNICODE in texts and BIG in texts and "\r\nCRLF\n" in shown
    assert {r.error_kind for r in back if not r.ok} == set(ErrorKind)


def test_formula_cells_are_defused_but_numbers_and_plain_text_are_not() -> None:
    cells = {
        "=HYPERLINK(\"http://evil.example/\",\"x\")": "'=HYPERLINK(\"http://evil.example/\",\"x\")",
        "+1+cmd|' /C calc'!A0": "'+1+cmd|' /C calc'!A0",
        "-2+3": "'-2+3",
        "@SUM(A1:A9)": "'@SUM(A1:A9)",
        "\t=1": "'\t=1",
        "-1.5": "-1.5",
        "+3": "+3",
        "-2e-3": "-2e-3",
        "a=b": "a=b",
        " =1": " =1",
        "": "",
    }
    results = tuple(ProbeResult(target=f"t{i}", kind="k", model=text, ok=True, text=text, ttft_s=-1.5)
                    for i, text in enumerate(cells))
    rows = list(csv.DictReader(io.StringIO(csv_report.dumps(hostile_run(results=results)), newline="")))
    assert [(row["model"], row["text"]) for row in rows] == [(v, v) for v in cells.values()]
    assert {row["ttft_s"] for row in rows} == {"-1.5"}  # our own numbers are never prefixed
    assert csv_report.rows(hostile_run(results=(ProbeResult("=t", "k", "", False, ErrorKind.TIMEOUT,
                                                            "-oops"),)))[1][:6] == [
        "'=t", "k", "", "false", "timeout", "'-oops"]


def test_rfc4180_quoting_of_commas_quotes_and_line_breaks() -> None:
    result = ProbeResult(target="a,b", kind="k", model='say "hi"', ok=True, text="line1\r\nline2\nend")
    text = csv_report.dumps(hostile_run(results=(result,)))
    assert text.endswith("\r\n")  # CRLF record ends
    record = text.split("\r\n", 1)[1]
    assert record.startswith('"a,b",k,"say ""hi""",true,')
    assert '"line1\r\nline2\nend"' in record


def test_nulls_booleans_and_floats() -> None:
    result = ProbeResult(target="t", kind="k", model="", ok=False, error_kind=ErrorKind.TIMEOUT, total_s=0.1 + 0.2)
    row = next(csv.DictReader(io.StringIO(csv_report.dumps(hostile_run(results=(result,))), newline="")))
    assert row["ok"] == "false" and row["output_tokens_estimated"] == "false"
    assert row["ttft_s"] == "" and row["status"] == ""  # null is an empty cell
    assert float(row["total_s"]) == 0.1 + 0.2  # full precision
    assert row["error_kind"] == "timeout"


def test_written_file_is_utf8_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    run = hostile_run()
    write_report(run, f"csv:{path}")
    with path.open(encoding="utf-8", newline="") as f:
        assert _read(f.read()) == _read(csv_report.dumps(run))


def test_an_empty_run_is_just_the_header() -> None:
    assert csv_report.dumps(hostile_run(results=())).count("\r\n") == 1


def test_server_timings_are_a_json_object_in_their_cell() -> None:
    import json

    from rollcall.models import ServerTimings

    run = hostile_run()
    timed = dataclasses.replace(run.results[0], server_timings=ServerTimings(load_s=2.0, eval_tokens=3))
    reader = csv.DictReader(io.StringIO(csv_report.dumps(dataclasses.replace(run, results=(timed,))), newline=""))
    assert json.loads(next(reader)["server_timings"]) == {"load_s": 2.0, "eval_tokens": 3}
