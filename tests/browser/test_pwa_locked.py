"""A locked diary on the phone (SPEC §14): the PWA says the diary is closed, and an
entry saved offline before the lock stays on the phone, unsent and not refused."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from diary import audit, clock
from diary.db import transaction
from diary.participants import queries as participant_queries
from diary.signoff import locks

pytestmark = pytest.mark.browser


def _lock(db, study_id="LBP-001"):
    participant = participant_queries.get_by_study_id(db, study_id)
    with transaction(db):
        locks.lock(db, participant, reason="casebook signed", actor=audit.CLI, now=clock.now())


def _unlock(db, study_id="LBP-001"):
    participant = participant_queries.get_by_study_id(db, study_id)
    with transaction(db):
        locks.unlock(db, participant, reason="reopened", actor=audit.CLI, now=clock.now())


def test_a_locked_diary_is_shown_closed_and_an_offline_entry_waits_on_the_phone(
    pwa, page, db, shoot
):
    pwa.activate(page)
    # Saved offline; the study team locks the diary before the phone is back online.
    page.context.set_offline(True)
    pwa.fill(page, back=5, leg=2, doses=())
    page.get_by_role("button", name="Save today's diary").click()
    main = page.get_by_role("main")
    expect(main.get_by_text("Saved on this phone — waiting to send.")).to_be_visible()
    _lock(db)
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")

    expect(main.get_by_text("Your diary is closed.")).to_be_visible()
    expect(main.get_by_role("button", name="Save today's diary")).to_have_count(0)
    shoot(page, "today-closed")
    assert pwa.entries() == []
    waiting = page.evaluate(
        """() => new Promise((resolve) => {
            DiaryOutbox.pending('LBP-001').then((rows) => resolve(rows.map((r) => r.status)));
        })"""
    )
    assert waiting == ["waiting"]

    # Reopened, the waiting entry goes through and the form comes back.
    _unlock(db)
    page.reload()
    expect(main.get_by_text("Today's diary is done.")).to_be_visible()
    [entry] = pwa.entries()
    assert entry["back_pain"] == 5
