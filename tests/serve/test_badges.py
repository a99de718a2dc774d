"""Badges: valid SVG (parsed as XML, drawn by nothing but itself), shields.io endpoint JSON, the
state or a metric, hostile names kept as text."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest
from serve_helpers import OK, get, record, serving

from rollcall.serve.badges import make_badge, svg
from rollcall.serve.snapshot import KeyRow, Window
from rollcall.watch.state import State

SVG = "{http://www.w3.org/2000/svg}"
EVIL = "<script>alert(1)</script>\x1b[2J\u202e&"
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs/api/badge.schema.json").read_text())


def _parse(text: str) -> ElementTree.Element:
    root = ElementTree.fromstring(text)
    assert root.tag == f"{SVG}svg" and int(root.get("width")) > 20 and root.get("height") == "20"
    assert not [e for e in root.iter() if e.tag in (f"{SVG}script", f"{SVG}foreignObject", f"{SVG}a", f"{SVG}image")]
    assert not [k for e in root.iter() for k in e.attrib if k.startswith("on") or "href" in k]
    return root


def _texts(root: ElementTree.Element) -> list[str]:
    return [e.text or "" for e in root.iter(f"{SVG}text")]


@pytest.fixture
def server(sqlite_location: str):
    record(sqlite_location, "eu", [{("alpha", "m1"): OK, ("alpha", "m2"): ("timeout", "no answer"),
                                    (EVIL, "m"): OK}] * 3)
    record(sqlite_location, "us", [{("alpha", "m1"): OK}] * 3)
    with serving(sqlite_location) as url:
        yield url


def test_svg_badges_for_a_target_and_a_model(server: str) -> None:
    answer = get(f"{server}/badge/alpha.svg")
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("image/svg+xml")
    assert _texts(_parse(answer.text))[:4] == ["alpha", "alpha", "2/3 up", "2/3 up"]
    assert _texts(_parse(get(f"{server}/badge/alpha/m1.svg").text))[2] == "up"
    assert _texts(_parse(get(f"{server}/badge/alpha/m2.svg").text))[2] == "down"
    assert _texts(_parse(get(f"{server}/badge/alpha/m1.svg?metric=uptime30d").text))[2] == "100%"
    assert _texts(_parse(get(f"{server}/badge/alpha.svg?metric=uptime24h&site=eu").text))[2] == "50.00%"
    assert _texts(_parse(get(f"{server}/badge/alpha/m1.svg?metric=ttft").text))[2].endswith(" s")
    missing = get(f"{server}/badge/nobody.svg")
    assert missing.status == 404 and _texts(_parse(missing.text))[2] == "not found"
    assert get(f"{server}/badge/alpha.svg?metric=bogus").status == 400


def test_shields_endpoint_json(server: str) -> None:
    doc = get(f"{server}/badge/alpha/m2.json").json()
    jsonschema.validate(doc, SCHEMA)
    assert doc == {"schemaVersion": 1, "label": "alpha/m2", "message": "down", "color": "red", "cacheSeconds": 300}


def test_hostile_names_are_text_in_the_svg(server: str) -> None:
    from urllib.parse import quote

    answer = get(f"{server}/badge/{quote(EVIL, safe='')}/m.svg")
    root = _parse(answer.text)
    label = _texts(root)[0]
    assert label.startswith("<script>alert(1)</script>\\x1b[2J\\u202e&")  # visible, escaped by XML, not markup
    assert "<script>" not in answer.text  # escaped in the document itself


def test_badge_colours_follow_the_value() -> None:
    def row(state: State, ok: int = 1, failed: int = 0) -> KeyRow:
        return KeyRow("t", "m", "s", state=state, windows={"30d": Window(ok + failed, ok, failed)})

    assert make_badge("t", [row(State.UP)], "state").color == "green"
    assert make_badge("t", [row(State.DEGRADED)], "state").color == "yellow"
    assert make_badge("t", [row(State.UP, 94, 6)], "uptime30d").color == "orange"
    assert make_badge("t", [row(State.UP, 999, 1)], "uptime30d").message == "99.90%"
    assert make_badge("t", [], "state").message == "not found"
    _parse(svg(make_badge("名前" * 30, [row(State.UNKNOWN)], "state")))
