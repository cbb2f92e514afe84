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


class Study:
    """Diary data written through the real services, as of the evening of each day."""

    def __init__(self, app, db, enroll):
        self.app = app
        self.db = db
        self._enroll = enroll

    def participant(self, study_id, *, site="SITE-A", days_ago=14, back_pain=4, mme=10.0):
        from datetime import timedelta

        from diary import clock

        injected = clock.local_date(clock.now(), TIMEZONE) - timedelta(days=days_ago)
        return self._enroll(
            study_id,
            site=site,
            timezone=TIMEZONE,
            injection_date=injected,
            back_pain=back_pain,
            mme=mme,
            on_injection_day=True,  # in the study, with a diary, since day 0
        )

    def entry(
        self,
        study_id,
        days_ago,
        *,
        back=5,
        leg=2,
        doses=(),
        symptoms=(),
        temperature=None,
        note=None,
        reason=None,
        at_time="20:00",
    ):
        """The entry of `days_ago` days back, sent at `at_time` that day (inside its window);
        a second one for the same date is a correction and needs a `reason`."""
        import uuid
        from datetime import UTC, datetime, time, timedelta

        from diary import audit, clock
        from diary.entries.schemas import EntryIn
        from diary.entries.service import put_entry

        day = clock.local_date(clock.now(), TIMEZONE) - timedelta(days=days_ago)
        at = datetime.combine(day, time.fromisoformat(at_time), clock.zone(TIMEZONE))
        pid = self.db.execute(
            "SELECT id FROM participants WHERE study_id = ?", [study_id]
        ).fetchone()[0]
        with self.app.app_context():
            body = EntryIn().load(
                {
                    "client_id": str(uuid.uuid4()),
                    "back_pain": back,
                    "leg_pain": leg,
                    "doses": [{"drug": d, "strength": s, "units": u} for d, s, u in doses],
                    "symptoms": list(symptoms),
                    "temperature_c": temperature,
                    "note": note,
                    "device_time": at.isoformat(),
                    **({"reason": reason} if reason else {}),
                }
            )
            put_entry(
                self.db,
                self.app.extensions["diary.study"],
                participant_id=pid,
                day=day,
                body=body,
                actor=audit.Actor("participant", str(pid), study_id),
                now=at.astimezone(UTC),
            )
        return day

    def close_days(self, now=None):
        """The nightly job: missed entries, pain flares and opioid flags (as of now)."""
        from diary import clock
        from diary.jobs import close_days

        with self.app.app_context():
            return close_days.run(
                self.db,
                now=now or clock.now(),
                study=self.app.extensions["diary.study"],
                config=self.app.config,
            )

    def flag_id(self, study_id, kind):
        return self.db.execute(
            "SELECT f.id FROM flags f JOIN participants p ON p.id = f.participant_id"
            " WHERE p.study_id = ? AND f.kind = ? ORDER BY f.id LIMIT 1",
            [study_id, kind],
        ).fetchone()[0]

    def busy_participant(self, study_id="LBP-001", site="SITE-A"):
        """Two weeks of diary ending on the last date the closing job closes now, whatever
        the time of day: a fever, three missed days, a flare, and three days above 50 MME."""
        from diary import clock

        now = clock.now()  # once: the lag and the closing agree even if noon passes meanwhile
        lag = self.closing_lag(now)
        self.participant(study_id, site=site, days_ago=14 + lag)
        for day in range(14, 0, -1):
            ago = day + lag
            if day in (9, 8, 7):
                continue  # missed
            oxy = [("oxycodone", 10, 1)] if day > 3 else [("oxycodone", 20, 2)]
            back = {3: 8, 2: 9, 1: 8}.get(day, 4 + day % 2)
            self.entry(
                study_id,
                ago,
                back=back,
                leg=max(0, back - 3),
                doses=oxy,
                symptoms=("fever",) if day == 5 else (),
                temperature=38.4 if day == 5 else None,
                note="Felt hot and shivery." if day == 5 else None,
            )
        self.close_days(now)

    def closing_lag(self, now):
        """Days from yesterday back to the last date the closing job has closed at `now`:
        0 once yesterday's entry window has closed (noon), 1 before."""
        from datetime import timedelta

        from diary import clock

        closes_at = self.app.extensions["diary.study"].window_closes_next_day_at
        yesterday = clock.local_date(now, TIMEZONE) - timedelta(days=1)
        return (yesterday - clock.last_closed_date(now, TIMEZONE, closes_at)).days


@pytest.fixture
def study(app, db, enroll):
    return Study(app, db, enroll)
