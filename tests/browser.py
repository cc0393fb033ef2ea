"""A real headless browser for tests: Debian's Chromium driven by Playwright.

Playwright's own browser download is never used (`CHROMIUM=` points at another binary). Missing
Chromium or Playwright skips the test locally and fails it in CI, like any other service.
"""

import contextlib
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from tests.require import require_service

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
# A host name as in production, not loopback: some scripts skip work on localhost and 127.0.0.1
# (Swagger UI's online validator does). The browser resolves it to 127.0.0.1 itself.
PUBLIC_HOST = "goldsocial.test"


@contextlib.contextmanager
def chromium():
    require_service(shutil.which(CHROMIUM) is not None or Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM}",
                    "apt-get install -y chromium (Debian's; Playwright must not download its own)")
    try:
        from playwright import sync_api
    except ImportError:
        sync_api = None
    require_service(sync_api is not None, "the playwright package", "make install (it is a dev dependency)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", f"--host-resolver-rules=MAP {PUBLIC_HOST} 127.0.0.1"])
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page, name: str, *, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)


class NetworkLog:
    """Every request a page makes: what went out with its answer, and what the page's own
    Content-Security-Policy refused (never sent)."""

    def __init__(self, page):
        self.requests = []
        page.on("request", lambda request: self.requests.append(request))

    def _network(self):
        # data: and blob: URLs are bytes the page already holds (inlined icons, a worker's code).
        return [r for r in self.requests if urlsplit(r.url).scheme not in ("data", "blob")]

    def refused(self) -> list:
        return [r for r in self._network() if r.failure == "csp"]

    def sent(self) -> list[tuple[str, int | None]]:
        """(url, status) of each request that went out; status None: no answer came."""
        answers = []
        for request in self._network():
            if request.failure != "csp":
                response = request.response()
                answers.append((request.url, response.status if response else None))
        return answers

    def hosts(self) -> set[str]:
        return {urlsplit(url).netloc for url, _ in self.sent()}
