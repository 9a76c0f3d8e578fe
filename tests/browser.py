"""Shared browser-test parts: Debian's chromium driven by Playwright, and a real static HTTP server.

    from tests.browser import serve   # `browser` and `artifacts` are fixtures (tests/conftest.py)

    def test_page(browser, artifacts, tmp_path):
        with serve(tmp_path) as base:                     # http://127.0.0.1:PORT serving tmp_path
            page = browser.new_page()
            page.goto(f"{base}/index.html")
            page.screenshot(path=artifacts / "page.png")

`browser` is one headless chromium per test session, launched from
/usr/bin/chromium (the Debian package; tests/setup_browser.sh installs it
with fonts-wqy-zenhei for Chinese text). Playwright never downloads a browser
here. Without /usr/bin/chromium the tests that use it are skipped, saying why.
Screenshots go to $DRLEDGER_ARTIFACTS if set, else to a pytest temporary
folder; never into the repository.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
MIME = {".js": "text/javascript", ".json": "application/json", ".html": "text/html; charset=utf-8",
        ".css": "text/css", ".svg": "image/svg+xml"}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Debian chromium for the whole session (pages are cheap, browsers are not)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run tests/setup_browser.sh (apt-get install chromium fonts-wqy-zenhei)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $DRLEDGER_ARTIFACTS, else a session temporary folder."""
    where = os.environ.get("DRLEDGER_ARTIFACTS")
    path = Path(where) if where else tmp_path_factory.mktemp("artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME}

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """A real HTTP server for the files under `root` on a free loopback port; its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
