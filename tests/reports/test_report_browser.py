"""The HTML report in a real browser (headless Chromium via Playwright): charts draw, the table
sorts and filters, hostile provider text stays text, and nothing is fetched from anywhere.

Chromium comes from ROLLCALL_TEST_CHROMIUM or /usr/bin/chromium (Debian's package; .ci/run
installs it). Missing Chromium skips locally and fails in CI (ROLLCALL_CI_STRICT=1).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from services import chromium
from test_reports_common import HOSTILE, IMG, SCRIPT, hostile_run, repeat_run

from rollcall.reports.outputs import write_report



@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as instance:
        yield instance


class Page:
    """An opened report plus everything it tried: requests, console errors, page errors, dialogs."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.errors.append(f"dialog: {d.message}"), d.dismiss()))
        self.page.goto(path.as_uri())
        self.page.wait_for_function("document.body.dataset.ready === '1'", timeout=30_000)

    def column(self, key: str) -> list[str]:
        return self.page.eval_on_selector_all(
            f"#results tbody tr:not([hidden]) td[data-col='{key}']", "cells => cells.map(c => c.textContent)"
        )


@pytest.fixture(scope="module")
def hostile_page(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(hostile_run(), f"html:{path}")
    page = Page(browser, path)
    yield page
    page.page.close()


def _painted_pixels(page: Page, selector: str) -> int:
    return page.page.eval_on_selector(
        selector,
        """canvas => {
            const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
            return painted;
        }""",
    )


def test_injected_script_did_not_run_and_shows_as_text(hostile_page: Page) -> None:
    page = hostile_page.page
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("document.querySelectorAll('script').length") == 3  # data, Chart.js, report.js
    assert page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    providers = hostile_page.column("target")
    assert f"Evil{SCRIPT}" in providers  # the markup is visible text in the cell
    assert any(m == f"m{IMG}" for m in hostile_page.column("model"))
    answers = page.eval_on_selector_all("#results pre", "pres => pres.map(p => p.textContent)")
    assert any(a.startswith(HOSTILE.replace("\r\n", "\n")[:40]) for a in answers)
    prompt = page.text_content("#head .prompt")
    assert prompt is not None and SCRIPT in prompt


def test_nothing_is_fetched_and_nothing_fails(hostile_page: Page) -> None:
    assert all(url.startswith("file://") for url in hostile_page.requests), hostile_page.requests
    assert len(hostile_page.requests) == 1  # the report itself, nothing more
    assert hostile_page.errors == []  # no script errors, no CSP violations, no alert()


def test_charts_render(hostile_page: Page) -> None:
    page = hostile_page.page
    for chart_id in ("chart-latency", "chart-scatter", "chart-failures"):
        assert _painted_pixels(hostile_page, f"#{chart_id} canvas") > 1000, chart_id
    assert page.evaluate("Object.keys(window.rollcallCharts).sort()") == ["failures", "latency", "scatter"]
    labels = page.evaluate("window.rollcallCharts.failures.data.labels")
    assert sorted(labels) == sorted(k.value for k in __import__("rollcall").ErrorKind)
    assert page.evaluate("window.rollcallCharts.scatter.data.datasets[0].data.length") == 4


def test_summary_cards(hostile_page: Page) -> None:
    cards = hostile_page.page.eval_on_selector_all(
        "#cards .card", "cards => cards.map(c => [c.dataset.card, c.querySelector('.value').textContent])"
    )
    values = dict(cards)
    assert values["answered"] == "4" and values["failed"] == "11" and values["wall time"] == "30.88 s"


def _seconds(cells: list[str]) -> list[float | None]:
    return [None if c == "–" else float(c.removesuffix(" s")) for c in cells]


def test_table_sorts_on_click(hostile_page: Page) -> None:
    page = hostile_page.page
    page.click("#results th[data-key='total_s']")
    totals = _seconds(hostile_page.column("total_s"))
    known = [t for t in totals if t is not None]
    assert known == sorted(known) and totals[: len(known)] == known  # missing values last
    assert page.get_attribute("#results th[data-key='total_s']", "aria-sort") == "ascending"
    page.click("#results th[data-key='total_s']")
    totals = _seconds(hostile_page.column("total_s"))
    known = [t for t in totals if t is not None]
    assert known == sorted(known, reverse=True) and totals[: len(known)] == known
    assert page.get_attribute("#results th[data-key='total_s']", "aria-sort") == "descending"
    page.click("#results th[data-key='target']")
    targets = hostile_page.column("target")
    assert targets == sorted(targets, key=str.lower)


def test_table_filters(hostile_page: Page) -> None:
    page = hostile_page.page
    total = len(hostile_run().results)
    page.fill("#filter-text", "failing-rate")
    assert hostile_page.column("target") == ["Failing-rate_limit"]
    assert page.text_content("#filter-count") == f"showing 1 of {total}"
    page.fill("#filter-text", "")
    page.select_option("#filter-status", "ok")
    assert len(hostile_page.column("target")) == 4
    page.select_option("#filter-status", "kind:timeout")
    assert hostile_page.column("target") == ["Failing-timeout"]
    page.select_option("#filter-status", "all")
    page.fill("#filter-text", "你好")  # matches the unicode answer and the unicode error
    assert sorted(hostile_page.column("target")) == ["Failing-provider_error", "Unicode💬"]
    page.fill("#filter-text", "")
    assert len(hostile_page.column("target")) == total


def test_repeat_run_draws_latency_distributions(browser: Any, tmp_path: Path) -> None:
    path = tmp_path / "repeat.html"
    write_report(repeat_run(), f"html:{path}")
    page = Page(browser, path)
    try:
        assert _painted_pixels(page, "#chart-distribution canvas") > 1000
        datasets = page.page.evaluate(
            "window.rollcallCharts.distribution.data.datasets.map(d => [d.label, d.data.length])"
        )
        # Steady and Flaky have timings (Down never answered): ranges, 5 answers, 1 timed-out attempt.
        assert datasets == [["range of answers", 2], ["answer", 5], ["failed attempt", 1]]
        assert page.column("attempt") == ["1", "2", "1", "3", "3", "1", "2", "3", "2"]
        assert page.errors == []
    finally:
        page.page.close()
