"""The status pages in a real browser (Debian's Chromium through Playwright) against a real
`rollcall watch --listen` of simulated providers: the overview follows a target from up to down
and back without reloading, the target page draws its charts, the run page is the report, and
hostile names and answers stay text. Nothing is fetched from anywhere but the server.

Chromium comes from ROLLCALL_TEST_CHROMIUM or /usr/bin/chromium; missing, the tests skip
locally and fail in CI (ROLLCALL_CI_STRICT=1).
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from services import chromium
from watch.watch_helpers import Proc, switch

from rollcall.sim import Behaviour, Fleet, run_sim_in_thread

EVIL_TARGET = "Evil<img src=x onerror=window.__pwned=1>\u202e"
EVIL_MODEL = "m<script>window.__pwned=2</script>"
EVIL_ANSWER = "<script>window.__pwned=3</script> <b>bold</b> \x1b]0;title\x07"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def watch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(server URL, simulator base URL) of a real `rollcall watch --listen` subprocess."""
    tmp = tmp_path_factory.mktemp("watch")
    fleet = Fleet({"wobbly": Behaviour(ttft_s=0.01, answer_tokens=3, tokens_per_s=0),
                   "steady": Behaviour(ttft_s=0.01, answer_tokens=3, tokens_per_s=0),
                   EVIL_MODEL: Behaviour(ttft_s=0.01, tokens_per_s=0, text=EVIL_ANSWER)})
    with run_sim_in_thread(fleet) as base_url:
        config = tmp / "rollcall.toml"
        entries = [("wobbly", "wobbly"), ("steady", "steady"), (EVIL_TARGET, EVIL_MODEL)]
        config.write_text("".join(
            f'[[target]]\nname = {toml(name)}\nkind = "openai"\nbase_url = "{base_url}"\nmodel = {toml(model)}\n\n'
            for name, model in entries))
        env = {**os.environ, "ROLLCALL_STORE": str(tmp / "history.sqlite3")}
        proc = Proc(env, "watch", "-c", str(config), "--every", "1s", "--fail-after", "2", "--recover-after", "2",
                    "--site", "lab", "--listen", "127.0.0.1:0", "--timeout", "5")
        try:
            line = proc.wait_line("rollcall: serving http://", timeout=60)
            url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
            proc.wait_line("round 2", timeout=60)
            yield url, base_url
        finally:
            if proc.proc.poll() is None:
                proc.proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
    assert code == 0, proc.output


def toml(text: str) -> str:
    return '"' + text.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'


class Page:
    def __init__(self, browser: Any, origin: str) -> None:
        self.origin = origin
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.navigations = 0
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.errors.append(f"dialog: {d.message}"), d.dismiss()))
        self.page.on("framenavigated", lambda f: self._navigated(f))

    def _navigated(self, frame: Any) -> None:
        if frame == self.page.main_frame:
            self.navigations += 1

    def open(self, path: str) -> None:
        self.page.goto(self.origin + path)
        self.page.wait_for_selector("body[data-ready='1']", state="attached", timeout=30_000)

    def row_state(self, target: str) -> str | None:
        return self.page.evaluate(
            "t => { const r = [...document.querySelectorAll('#overview tbody tr')].find(r => r.dataset.target === t);"
            " return r ? r.dataset.state : null; }", target)

    def wait_state(self, target: str, state: str, timeout_s: float = 60.0) -> None:
        import time

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.row_state(target) == state:
                return
            self.page.wait_for_timeout(200)
        raise AssertionError(f"{target} never showed {state} (shows {self.row_state(target)})")

    def painted(self, selector: str) -> int:
        return self.page.eval_on_selector(selector, """canvas => {
            const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
            return painted; }""")

    def only_own_requests(self) -> None:
        assert self.requests and all(u.startswith(self.origin + "/") for u in self.requests), self.requests
        assert self.errors == [], self.errors


def test_overview_follows_a_target_down_and_back_without_reloading(browser: Any, watch: tuple[str, str]) -> None:
    url, base_url = watch
    page = Page(browser, url)
    try:
        page.open("/")
        page.wait_state("wobbly", "up")
        page.page.evaluate("window.__marker = 42")
        navigations = page.navigations
        switch(base_url, "wobbly", status=503)
        page.wait_state("wobbly", "down")
        banner = page.page.text_content("#banner")
        assert banner == "Some targets are down"
        error = page.page.evaluate("[...document.querySelectorAll('#overview tbody tr')]"
                                   ".find(r => r.dataset.target === 'wobbly').querySelector('td.error').textContent")
        assert "http_status" in error and "503" in error
        switch(base_url, "wobbly")
        page.wait_state("wobbly", "up")
        assert page.page.evaluate("window.__marker") == 42 and page.navigations == navigations  # never reloaded
        assert int(page.page.evaluate("document.body.dataset.loads")) >= 3  # redrawn after rounds
        assert page.page.text_content("#live") == "live"
        page.only_own_requests()
    finally:
        page.page.close()


def test_hostile_names_and_answers_stay_text(browser: Any, watch: tuple[str, str]) -> None:
    url, _ = watch
    page = Page(browser, url)
    try:
        page.open("/")
        page.wait_state(EVIL_TARGET, "up")
        cells = page.page.evaluate("[...document.querySelectorAll('#overview tbody td.target')].map(c => c.textContent)")
        assert "Evil<img src=x onerror=window.__pwned=1>\\u202e" in cells  # shown, the override made visible
        assert page.page.evaluate("document.querySelectorAll('img, iframe, object, embed, main script').length") == 0
        page.page.click("#overview td.target a >> nth=0")  # the hostile one sorts first (E before s, w)
        page.page.wait_for_selector("body[data-ready='1']", state="attached")
        assert page.page.text_content("#head h1") == "Evil<img src=x onerror=window.__pwned=1>\\u202e · " + EVIL_MODEL
        page.page.click("#results details summary >> nth=0")
        answer = page.page.text_content("#results pre")
        assert answer.startswith("<script>window.__pwned=3</script> <b>bold</b> \\x1b]0;title\\x07")
        assert page.page.evaluate("typeof window.__pwned") == "undefined"
        assert page.page.title().startswith("Evil<img")
        page.only_own_requests()
    finally:
        page.page.close()


def test_target_page_draws_its_charts_and_links_the_run_report(browser: Any, watch: tuple[str, str]) -> None:
    url, _ = watch
    page = Page(browser, url)
    try:
        page.open("/targets/steady/steady")
        assert page.painted("#chart-latency canvas") > 1000 and page.painted("#chart-outcomes canvas") > 1000
        assert page.page.evaluate("Object.keys(window.rollcallCharts).sort()") == ["latency", "outcomes", "timeline"]
        assert page.page.evaluate("window.rollcallCharts.outcomes.data.datasets[0].data.reduce((a, b) => a + b, 0)") >= 2
        assert page.page.evaluate("document.querySelectorAll('#results tbody tr').length") >= 2
        assert page.page.evaluate("[...document.querySelectorAll('#sites tbody tr')].map(r => r.dataset.site)") == ["lab"]
        page.page.click("button[data-since='1h']")
        page.page.wait_for_selector("button[data-since='1h'][aria-pressed='true']", state="attached")
        page.page.wait_for_selector("#results tbody tr", state="attached")
        assert page.page.evaluate("window.rollcallCharts.latency.data.labels.length") == 13  # 5-minute buckets
        run_link = page.page.get_attribute("#results tbody tr a", "href")
        page.only_own_requests()
        page.open("/incidents")
        page.only_own_requests()
        report = Page(browser, url)
        try:
            report.page.goto(url + "/targets/steady/" + run_link)  # relative to the target page
            report.page.wait_for_selector("body[data-ready='1']", state="attached", timeout=30_000)
            assert report.painted("#chart-latency canvas") > 1000  # the HTML report's own chart
            assert report.errors == []  # its inline scripts run under the served policy
        finally:
            report.page.close()
    finally:
        page.page.close()


def test_a_page_opened_with_its_token_works(browser: Any, tmp_path: Any) -> None:
    from serve_helpers import OK, record, serving

    token = "browser-token-0123456789abcdef"
    location = str(tmp_path / "history.sqlite3")
    record(location, "lab", [{("alpha", "m"): OK}] * 2)
    with serving(location, token=token) as url:
        page = Page(browser, url)
        try:
            page.open(f"/?token={token}")
            assert page.row_state("alpha") == "up"
            page.page.click("#overview td.target a")
            page.page.wait_for_selector("body[data-ready='1']", state="attached")
            assert page.painted("#chart-latency canvas") > 1000
            assert all("token=" in u for u in page.requests if "/api/" in u)
            page.only_own_requests()
        finally:
            page.page.close()
