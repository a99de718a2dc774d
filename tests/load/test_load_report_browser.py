"""The load HTML report in a real browser (headless Chromium via Playwright, as
tests/reports/test_report_browser.py): every chart draws, the stage table fills, hostile names and server
messages stay text, the client-bound and knee notices show, and nothing is fetched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_load_html import hostile_doc
from test_report_browser import Page, _painted_pixels, browser  # noqa: F401 - the browser fixture
from test_reports_common import HOSTILE, IMG, SCRIPT

from rollcall.load.sinks import DocumentWriter

CHARTS = ["cdf_e2e", "cdf_tpot", "cdf_ttft", "latency", "throughput", "timeline"]


@pytest.fixture(scope="module")
def page(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:  # noqa: F811
    path = tmp_path_factory.mktemp("load") / "load.html"
    DocumentWriter("html", str(path)).finish(hostile_doc())
    opened = Page(browser, path)
    yield opened
    opened.page.close()


def test_nothing_ran_nothing_was_fetched_nothing_failed(page: Page) -> None:
    assert page.page.evaluate("typeof window.__pwned") == "undefined"
    assert page.page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert page.requests == [page.requests[0]] and page.requests[0].startswith("file://")
    assert page.errors == []


def test_every_chart_draws(page: Page) -> None:
    assert sorted(page.page.evaluate("Object.keys(window.rollcallCharts)")) == CHARTS
    for chart_id in ("chart-cdf-ttft", "chart-cdf-tpot", "chart-cdf-e2e", "chart-throughput", "chart-latency",
                     "chart-timeline"):
        assert _painted_pixels(page, f"#{chart_id} canvas") > 1000, chart_id
    assert page.page.evaluate("window.rollcallCharts.cdf_ttft.data.datasets.map(d => d.label)") == [
        "concurrency 1", "concurrency 8", "concurrency 32"]
    labels = page.page.evaluate("window.rollcallCharts.timeline.data.datasets.map(d => d.label)")
    assert labels == ["sent", "answered", "http_status"]
    assert page.page.evaluate("window.rollcallCharts.throughput.data.datasets.map(d => d.label)") == [
        "requests/s", "goodput/s", "output tokens/s"]


def test_hostile_text_is_shown_as_text(page: Page) -> None:
    assert page.page.text_content("#head h1 .target") == f"Evil{SCRIPT}"
    assert f"model m{IMG}" in page.page.text_content("#head .meta")
    errors = page.page.eval_on_selector_all(".stage-errors li", "items => items.map(i => i.textContent)")
    flat = " ".join(HOSTILE.split())
    assert any(flat[:60] in " ".join(e.split()) for e in errors), errors


def test_stage_table_and_notices(page: Page) -> None:
    rows = page.page.eval_on_selector_all("#stages tbody tr", "rows => rows.map(r => r.dataset.stage)")
    assert rows == ["0", "1", "2"]
    first = page.page.eval_on_selector_all("#stages tbody tr:first-child td", "cells => cells.map(c => c.textContent)")
    assert first[:4] == ["1", "10", "10", "0"]
    assert page.page.locator(".notice.client-bound").count() == 1
    assert "concurrency 32: client-bound, numbers unreliable" in page.page.text_content(".notice.client-bound")
    assert "Knee at concurrency 8" in page.page.text_content(".notice.knee")
    cards = dict(page.page.eval_on_selector_all(
        "#cards .card", "cards => cards.map(c => [c.dataset.card, c.querySelector('.value').textContent])"))
    assert cards["answered"] == "147" and cards["failed"] == "25"


def test_an_empty_run_still_renders(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    from load_helpers import make_doc

    doc = make_doc((1,), rps_records=(3,), fail=(3,), interrupted="SIGINT")
    path = tmp_path / "empty.html"
    DocumentWriter("html", str(path)).finish(doc)
    opened = Page(browser, path)
    try:
        assert opened.errors == []
        assert "Interrupted (SIGINT)" in opened.page.text_content("#head")
        assert "Nothing to draw" in opened.page.text_content("#chart-cdf-ttft")
    finally:
        opened.page.close()
