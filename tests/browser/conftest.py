"""Browser fixtures: the real app on a live local server, one Chromium per session."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import ThreadedWSGIServer

from diary.db import close_thread_connections

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
TIMEZONE = "America/Chicago"
# Chromium logs these itself when the context is offline; they are expected.
EXPECTED_CONSOLE = ("net::ERR_INTERNET_DISCONNECTED", "Failed to fetch")


class _Server(ThreadedWSGIServer):
    """A thread per request; each closes its SQLite connection when it ends."""

    daemon_threads = True

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            close_thread_connections()


@pytest.fixture
def live_server(app):
    """The real app on 127.0.0.1 and a free port, sharing the `app` fixture's database."""
    server = _Server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Console:
    """Console errors and uncaught exceptions of every page in a context."""

    def __init__(self):
        self.errors: list[str] = []

    def watch(self, page):
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(x in e for x in EXPECTED_CONSOLE)]


@pytest.fixture
def console():
    return Console()


@pytest.fixture
def context(browser, console):
    """A phone-sized browser context (360×740) in the participant's time zone."""
    ctx = browser.new_context(timezone_id=TIMEZONE, locale="en-US", **PHONE)
    ctx.on("page", console.watch)
    yield ctx
    ctx.close()
    assert console.unexpected() == [], "console errors (CSP violations included)"


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def shoot():
    """Write a screenshot to test-artifacts/screenshots/<name>.png (git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name, *, full_page=False):
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        return path

    return take
