"""JUnit XML: schema-valid, read correctly by junitparser, every kind mapped, hostile text survives."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml, Skipped
from test_reports_common import BIG, HOSTILE, UNICODE, hostile_run, repeat_run

from rollcall.models import ErrorKind
from rollcall.reports import junit
from rollcall.reports.outputs import write_report
from rollcall.safetext import one_line

# Our own rendering of what CI systems check, written for this test (not a copy of either
# schema): the element structure of Jenkins xunit-plugin's junit-10.xsd (testcases may carry
# system-out; skipped/failure/error carry type and message) combined with the stricter
# attribute rules of the Ant JUnit schema (windyroad JUnit.xsd): suite name, timestamp without
# a zone, hostname, integer counts and decimal times are required, testcase needs name,
# classname and a decimal time, failures need a type.
SCHEMA = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:simpleType name="nonEmptyToken">
    <xs:restriction base="xs:token"><xs:minLength value="1"/></xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="seconds">
    <xs:restriction base="xs:decimal">
      <xs:minInclusive value="0"/><xs:pattern value="[0-9]+(\\.[0-9]+)?"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="count">
    <xs:restriction base="xs:int"><xs:minInclusive value="0"/></xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="localTimestamp">
    <xs:restriction base="xs:dateTime">
      <xs:pattern value="[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:complexType name="outcome" mixed="true">
    <xs:attribute name="type" type="nonEmptyToken" use="required"/>
    <xs:attribute name="message" type="xs:string"/>
  </xs:complexType>
  <xs:complexType name="skip" mixed="true">
    <xs:attribute name="type" type="xs:string"/>
    <xs:attribute name="message" type="xs:string"/>
  </xs:complexType>
  <xs:element name="testsuites">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="testsuite" maxOccurs="unbounded">
          <xs:complexType>
            <xs:sequence>
              <xs:element name="properties">
                <xs:complexType>
                  <xs:sequence>
                    <xs:element name="property" minOccurs="0" maxOccurs="unbounded">
                      <xs:complexType>
                        <xs:attribute name="name" type="nonEmptyToken" use="required"/>
                        <xs:attribute name="value" type="xs:string" use="required"/>
                      </xs:complexType>
                    </xs:element>
                  </xs:sequence>
                </xs:complexType>
              </xs:element>
              <xs:element name="testcase" minOccurs="0" maxOccurs="unbounded">
                <xs:complexType>
                  <xs:sequence>
                    <xs:choice minOccurs="0">
                      <xs:element name="skipped" type="skip"/>
                      <xs:element name="error" type="outcome"/>
                      <xs:element name="failure" type="outcome"/>
                    </xs:choice>
                    <xs:element name="system-out" type="xs:string" minOccurs="0"/>
                    <xs:element name="system-err" type="xs:string" minOccurs="0"/>
                  </xs:sequence>
                  <xs:attribute name="name" type="nonEmptyToken" use="required"/>
                  <xs:attribute name="classname" type="nonEmptyToken" use="required"/>
                  <xs:attribute name="time" type="seconds" use="required"/>
                </xs:complexType>
              </xs:element>
              <xs:element name="system-out" type="xs:string"/>
              <xs:element name="system-err" type="xs:string"/>
            </xs:sequence>
            <xs:attribute name="name" type="nonEmptyToken" use="required"/>
            <xs:attribute name="id" type="count" use="required"/>
            <xs:attribute name="package" type="nonEmptyToken" use="required"/>
            <xs:attribute name="timestamp" type="localTimestamp" use="required"/>
            <xs:attribute name="hostname" type="nonEmptyToken" use="required"/>
            <xs:attribute name="tests" type="count" use="required"/>
            <xs:attribute name="failures" type="count" use="required"/>
            <xs:attribute name="errors" type="count" use="required"/>
            <xs:attribute name="skipped" type="count" use="required"/>
            <xs:attribute name="time" type="seconds" use="required"/>
          </xs:complexType>
        </xs:element>
      </xs:sequence>
      <xs:attribute name="name" type="xs:string"/>
      <xs:attribute name="tests" type="count"/>
      <xs:attribute name="failures" type="count"/>
      <xs:attribute name="errors" type="count"/>
      <xs:attribute name="time" type="seconds"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""


def _validate(document: str) -> None:
    etree = pytest.importorskip("lxml.etree", reason="lxml (schema validation) is not installed")
    schema = etree.XMLSchema(etree.fromstring(SCHEMA.encode()))
    doc = etree.fromstring(document.encode("utf-8"))
    assert schema.validate(doc), schema.error_log


def _cases(document: str) -> list[ET.Element]:
    return ET.fromstring(document).findall("./testsuite/testcase")


def test_hostile_run_is_well_formed_and_schema_valid() -> None:
    document = junit.dumps(hostile_run())
    ET.fromstring(document)  # well-formed for the standard library parser too
    _validate(document)


def test_repeat_run_is_schema_valid_with_one_case_per_attempt() -> None:
    document = junit.dumps(repeat_run())
    _validate(document)
    names = [(c.get("classname"), c.get("name")) for c in _cases(document)]
    assert len(names) == len(set(names)) == 9  # unique: CI history lines up run to run
    assert ("rollcall.g4f.Flaky", "gpt-4o-mini #2") in names


def test_counts_and_outcomes_per_error_kind(tmp_path: Path) -> None:
    run = hostile_run()
    path = tmp_path / "results.xml"
    write_report(run, f"junit:{path}")
    suite = next(iter(JUnitXml.fromfile(str(path))))
    assert suite.tests == len(run.results) + len(run.skipped)
    assert suite.failures == len(ErrorKind) - 1  # every kind but cancelled is a failure
    assert suite.skipped == 2  # the cancelled probe and the provider that did not load
    assert suite.errors == 0
    outcomes = {}
    for case in suite:
        results = case.result
        outcomes[case.classname] = results[0] if results else None
    for r in run.results:
        outcome = outcomes[junit.classname(r)]
        if r.ok:
            assert outcome is None
        elif r.error_kind is ErrorKind.CANCELLED:
            assert isinstance(outcome, Skipped)
        else:
            assert isinstance(outcome, Failure)
            assert outcome.type == r.error_kind.value
            assert outcome.message == junit.xml_text(one_line(r.error))


def test_classname_groups_by_kind_and_target_and_the_name_is_the_model() -> None:
    cases = _cases(junit.dumps(hostile_run()))
    by_class = {c.get("classname"): c for c in cases}
    fast = by_class["rollcall.g4f.Fast_Provider"]  # the dot would split a package in CI views
    assert fast.get("name") == "gpt-4o-mini"
    assert float(fast.get("time") or "nan") == pytest.approx(0.93)
    assert by_class["rollcall.openai.Failing-timeout"].get("name") == "default"
    assert by_class["rollcall.not_loaded.Broken_Import"].find("skipped") is not None


def test_answers_go_to_system_out_and_hostile_text_survives_escaping() -> None:
    cases = {c.get("classname"): c for c in _cases(junit.dumps(hostile_run()))}
    assert cases["rollcall.g4f.Unicode💬"].findtext("system-out") == UNICODE
    evil = next(c for k, c in cases.items() if k and k.startswith("rollcall.g4f.Evil"))
    out = evil.findtext("system-out") or ""
    expected = junit.xml_text(HOSTILE).replace("\r\n", "\n").replace("\r", "\n")  # XML normalises line ends
    assert out.startswith(expected)
    assert "<script>" in out and "]]>" in out and "\\x00NUL \\x01\\x07\\x1b[31m" in out  # controls shown
    assert "[reasoning]" in out


def test_xml_forbidden_characters_are_replaced() -> None:
    assert junit.xml_text("a\x00b\x0bc\x1fd\ufffee\ud800f\tg\nh") == "a\\x00b\\x0bc\\x1fd\ufffde\\ud800f\tg\nh"
    assert junit.xml_text("emoji 🎉 and CJK 你好 stay") == "emoji 🎉 and CJK 你好 stay"


def test_big_answer_is_truncated_with_a_note() -> None:
    big = next(c for c in _cases(junit.dumps(hostile_run())) if c.get("classname") == "rollcall.g4f.BigAnswer")
    out = big.findtext("system-out") or ""
    assert out.startswith(BIG[: junit.MAX_OUT_CHARS])
    assert f"({len(BIG) - junit.MAX_OUT_CHARS} more characters not shown)" in out
    assert len(out) < junit.MAX_OUT_CHARS + 100


def test_timestamp_is_utc_without_zone() -> None:
    run = hostile_run(started_at="2024-05-01T14:30:05.5+02:00")
    assert ET.fromstring(junit.dumps(run)).find("testsuite").get("timestamp") == "2024-05-01T12:30:05"  # type: ignore[union-attr]
    assert ET.fromstring(junit.dumps(hostile_run(started_at=""))).find("testsuite") is not None


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('timestamp="2024-05-01T12:00:00"', 'timestamp="2024-05-01T12:00:00+00:00"'),  # a zone
        ('type="timeout"', ""),  # a failure without its type
        ('time="0.930"', 'time="-1"'),  # a negative time
        ('<properties>', '<properties><property name="" value="x" />'),  # an empty property name
    ],
)
def test_the_schema_rejects_what_ci_systems_reject(old: str, new: str) -> None:
    etree = pytest.importorskip("lxml.etree", reason="lxml (schema validation) is not installed")
    document = junit.dumps(hostile_run())
    assert old in document
    schema = etree.XMLSchema(etree.fromstring(SCHEMA.encode()))
    assert not schema.validate(etree.fromstring(document.replace(old, new, 1).encode("utf-8")))


def test_server_timings_go_to_system_out() -> None:
    import dataclasses

    from rollcall.models import ServerTimings

    run = hostile_run()
    timed = dataclasses.replace(next(r for r in run.results if r.ok), server_timings=ServerTimings(load_s=2.0, eval_s=0.5))
    cases = _cases(junit.dumps(dataclasses.replace(run, results=(timed,))))
    assert "[server timings] load 2.00 s, eval 0.50 s" in (cases[0].findtext("system-out") or "")
