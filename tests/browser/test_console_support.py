"""Fixtures and steps for the staff console's browser tests (no tests here).

Imported by the test_console_*.py modules; kept out of conftest.py so that the
console's helpers stay with the console's tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots" / "console"
PASSWORD = "correct horse battery"  # the root conftest's staff password
DESK = {"viewport": {"width": 1280, "height": 800}}
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
TIMEZONE = "America/Chicago"
FEVER = "Fever or chills (38.0 °C / 100.4 °F or higher)"


def serious_violations(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


class Desk:
    """Browser contexts for staff (desktop or phone) and participants, all watched
    for console errors and CSP refusals."""

    def __init__(self, browser, server, console):
        self.browser = browser
        self.server = server
        self.console = console
        self.contexts = []

    def context(self, size=DESK, **kwargs):
        ctx = self.browser.new_context(
            timezone_id=TIMEZONE, locale="en-US", accept_downloads=True, **size, **kwargs
        )
        ctx.on("page", self.console.watch)
        self.contexts.append(ctx)
        return ctx

    def page(self, size=DESK):
        return self.context(size).new_page()

    def sign_in(self, page, email, password=PASSWORD, route=""):
        page.goto(f"{self.server.url}/staff/{route}")
        expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    def go(self, page, route):
        page.goto(f"{self.server.url}/staff/#/{route}")

    def close(self):
        for ctx in self.contexts:
            ctx.close()


@pytest.fixture
def desk(browser, live_server, console):
    d = Desk(browser, live_server, console)
    yield d
    d.close()
    assert console.unexpected() == [], "console errors (CSP violations included)"


@pytest.fixture
def snap():
    """Screenshots to test-artifacts/screenshots/console/ (git-ignored)."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name, *, full_page=False):
        path = SHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        return path

    return take
