"""Shared by the tests that use a real server or browser: a threaded loopback server, Debian's Chromium driven by
Playwright (no browser download), and the artifacts folder."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
# Headless, and without the background connections that this machine's closed network refuses.
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing: apt-get install chromium"),
]


def launch(playwright):
    """Debian's Chromium, headless."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)


@contextlib.contextmanager
def chromium_context(**options):
    """A fresh Chromium browser context (viewport, locale, ... as Playwright's new_context takes them)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw)
        context = browser.new_context(**options)
        try:
            yield context
        finally:
            context.close()
            browser.close()


@contextlib.contextmanager
def serve(app):
    """The app on a real threaded HTTP server on a free loopback port; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.socket.listen(1024)  # room for a burst of simultaneous connections
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
