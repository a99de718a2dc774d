"""Regenerate docs/report.png: the HTML report of a `rollcall demo` run, in headless Chromium.

    python docs/make_screenshot.py            (needs Chromium: /usr/bin/chromium or $ROLLCALL_TEST_CHROMIUM)

The demo fleet is simulated on loopback and seeded, so the picture changes only when the
fleet or the report does.
"""

from __future__ import annotations

import os
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


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run_json, page_html = Path(tmp) / "demo.json", Path(tmp) / "report.html"
        rollcall = [sys.executable, "-m", "rollcall"]
        subprocess.run([*rollcall, "demo", "--quiet", "--json", str(run_json)], check=True)
        subprocess.run([*rollcall, "report", str(run_json), "-o", f"html:{page_html}"], check=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1560})
            page.goto(page_html.as_uri())
            page.wait_for_function("document.body.dataset.ready === '1'")
            page.screenshot(path=str(DOCS / "report.png"))
            browser.close()
    print(f"wrote {DOCS / 'report.png'}")


if __name__ == "__main__":
    main()
