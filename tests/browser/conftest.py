"""Browser fixtures: the real app on a live local server, one Chromium per session."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import ThreadedWSGIServer

from diary import audit, clock
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
# Chromium logs every non-2xx response and every request made while offline as
# a console "error"; those are expected (the app handles them). Script errors,
# uncaught exceptions and CSP refusals are not.
EXPECTED_CONSOLE = ("Failed to load resource", "net::ERR_INTERNET_DISCONNECTED")


_bodies = threading.local()  # the response bodies this request thread handed out


class _Server(ThreadedWSGIServer):
    """A thread per request; each closes its SQLite connection when it ends, and the
    response bodies it served: when the browser drops a connection mid-file (a page or
    context closing while the service worker precaches), werkzeug leaves the file open."""

    daemon_threads = True

    def process_request_thread(self, request, client_address):
        _bodies.open = []
        try:
            super().process_request_thread(request, client_address)
        finally:
            for body in _bodies.open:
                if hasattr(body, "close"):
                    body.close()
            _bodies.open = []
            close_thread_connections()


class LiveServer:
    def __init__(self, app):
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request served
        self._app = app
        self._server = _Server("127.0.0.1", 0, self._log)
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def _log(self, environ, start_response):
        self.requests.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        body = self._app(environ, start_response)
        getattr(_bodies, "open", []).append(body)
        return body

    def count(self, method: str, prefix: str) -> int:
        return sum(1 for m, p in self.requests if m == method and p.startswith(prefix))


@pytest.fixture
def live_server(app):
    """The real app on 127.0.0.1 and a free port, sharing the `app` fixture's database."""
    server = LiveServer(app)
    thread = threading.Thread(target=server._server.serve_forever, daemon=True)
    thread.start()
    yield server
    server._server.shutdown()
    server._server.server_close()
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


class Steps:
    """What a participant does in the app, through labelled controls only."""

    def __init__(self, app, server, enroll, db):
        self.app = app
        self.server = server
        self._enroll = enroll
        self.db = db

    def activate(self, page, study_id="LBP-001", days_since_injection=5, **kwargs):
        """Enroll (injected a few days ago), open the activation link, activate."""
        injected = clock.local_date(clock.now(), TIMEZONE) - timedelta(days=days_since_injection)
        code = self._enroll(study_id, timezone=TIMEZONE, injection_date=injected, **kwargs)
        page.goto(f"{self.server.url}/#/activate?code={code}")
        expect(page.get_by_label("Activation code")).to_have_value(code)
        page.get_by_role("button", name="Activate my diary").click()
        expect(page.get_by_role("heading", level=1, name="Today")).to_be_visible()
        expect(page.get_by_role("radiogroup", name="Back pain today")).to_be_visible()
        # The worker controls the page from now on: the shell is cached.
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        return code

    def fill(
        self,
        page,
        *,
        back=6,
        leg=3,
        doses=(("oxycodone", "10", "2"),),
        symptoms=(),
        note=None,
        day="today",
    ):
        page.get_by_role("radiogroup", name=f"Back pain {day}").get_by_role(
            "radio", name=str(back), exact=back not in (0, 10)
        ).check()
        page.get_by_role("radiogroup", name=f"Leg pain {day}").get_by_role(
            "radio", name=str(leg), exact=leg not in (0, 10)
        ).check()
        took = page.get_by_role("radiogroup", name=f"Did you take any opioid pain medicine {day}?")
        took.get_by_role("radio", name="Yes" if doses else "No").check()
        for i, (drug, strength, units) in enumerate(doses, start=1):
            if i > 1:
                page.get_by_role("button", name="+ Add another medicine").click()
            row = page.get_by_role("group", name=f"Medicine {i}")
            row.get_by_label("Medicine", exact=True).select_option(drug)
            row.get_by_label("Strength", exact=True).select_option(strength)
            row.get_by_label("How many").fill(units)
        for label in symptoms:
            page.get_by_role("checkbox", name=label).check()
        if not symptoms:  # "no symptoms" is an answer, not a skipped question
            page.get_by_role("checkbox", name="None of these").check()
        if note:
            self.open_extras(page)
            page.get_by_label("Note for your study team (optional)").fill(note)

    def open_extras(self, page):
        """Unfold the temperature and the note (folded until wanted)."""
        extras = page.locator("details.extras")
        if not extras.evaluate("(el) => el.open"):
            extras.locator("summary").click()

    def entry_made_yesterday_evening(self, study_id="LBP-001", **fields):
        """Yesterday's entry, written through the entries service as of 20:00 yesterday."""
        from diary.entries.schemas import EntryIn
        from diary.entries.service import put_entry

        zone = clock.zone(TIMEZONE)
        day = clock.local_date(clock.now(), TIMEZONE) - timedelta(days=1)
        at = datetime.combine(day, time(20, 0), zone)
        participant = self.db.execute(
            "SELECT id FROM participants WHERE study_id = ?", [study_id]
        ).fetchone()
        with self.app.app_context():
            body = EntryIn().load(
                {
                    "client_id": str(uuid.uuid4()),
                    "back_pain": 5,
                    "leg_pain": 2,
                    "doses": [],
                    "symptoms": [],
                    "device_time": at.isoformat(),
                    **fields,
                }
            )
            put_entry(
                self.db,
                self.app.extensions["diary.study"],
                participant_id=participant[0],
                day=day,
                body=body,
                actor=audit.Actor("participant", str(participant[0]), study_id),
                now=at.astimezone(UTC),
            )

    def entries(self, study_id="LBP-001"):
        return [
            dict(r)
            for r in self.db.query(
                "SELECT e.* FROM entries e JOIN participants p ON p.id = e.participant_id "
                "WHERE p.study_id = ? ORDER BY e.date",
                [study_id],
            )
        ]

    def doses(self, entry_id):
        return [
            dict(r)
            for r in self.db.query(
                "SELECT drug, strength, units FROM doses WHERE entry_id = ? ORDER BY position",
                [entry_id],
            )
        ]


@pytest.fixture
def pwa(app, live_server, enroll, db):
    return Steps(app, live_server, enroll, db)
