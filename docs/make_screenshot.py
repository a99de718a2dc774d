"""Regenerate the README's pictures in headless Chromium:

    python docs/make_screenshot.py            both
    python docs/make_screenshot.py report     docs/report.png: the HTML report of a `rollcall demo` run
    python docs/make_screenshot.py overview   docs/overview.png: `rollcall demo --watch --listen`'s status
                                              page, taken while the demo's outage is on

(needs Chromium: /usr/bin/chromium or $ROLLCALL_TEST_CHROMIUM). The demo fleet is simulated on
loopback and seeded, so the pictures change only when the fleet or the pages do.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("ROLLCALL_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ROLLCALL = [sys.executable, "-m", "rollcall"]


def report(browser) -> None:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        run_json, page_html = Path(tmp) / "demo.json", Path(tmp) / "report.html"
        subprocess.run([*ROLLCALL, "demo", "--quiet", "--json", str(run_json)], check=True)
        subprocess.run([*ROLLCALL, "report", str(run_json), "-o", f"html:{page_html}"], check=True)
        page = browser.new_page(viewport={"width": 1280, "height": 1560})
        page.goto(page_html.as_uri())
        page.wait_for_function("document.body.dataset.ready === '1'")
        page.screenshot(path=str(DOCS / "report.png"))
    print(f"wrote {DOCS / 'report.png'}")


def overview(browser) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    demo = subprocess.Popen([*ROLLCALL, "demo", "--watch", "--listen", f"127.0.0.1:{port}", "--every", "2s",
                             "--rounds", "7", "--site", "eu-1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        assert demo.stdout is not None
        for line in demo.stdout:
            if re.search(r"round 6\b", line):  # steady has been down since round 4
                break
        page = browser.new_page(viewport={"width": 1560, "height": 900})
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("body[data-ready='1']", state="attached")
        page.screenshot(path=str(DOCS / "overview.png"))
    finally:
        demo.terminate()
        demo.wait(30)
    print(f"wrote {DOCS / 'overview.png'}")


def main() -> None:
    which = sys.argv[1:] or ["report", "overview"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for name in which:
            {"report": report, "overview": overview}[name](browser)
        browser.close()


if __name__ == "__main__":
    main()
