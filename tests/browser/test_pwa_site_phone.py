"""The red-flag advice offers the participant's own site by a tap-to-call link, online
and offline (from the cached protocol); without a number it keeps the protocol's words."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from diary import clock
from diary.auth import queries as auth_queries
from diary.db import transaction

pytestmark = pytest.mark.browser

TIMEZONE = "America/Chicago"
LEG = "New weakness or numbness in a leg"
PHONE_A = "+1 (312) 555-0100"
PHONE_B = "+1 415 555 0199"
GENERIC = "your study team (the number on your study card)"


def _site_phone(db, code, phone):
    with transaction(db):
        auth_queries.ensure_site(db, code, TIMEZONE, now=clock.now())
        db.execute("UPDATE sites SET phone = ? WHERE code = ?", [phone, code])


@pytest.fixture
def sites(pwa):
    """SITE-A (the participant's) and SITE-B, each with its own number."""
    _site_phone(pwa.db, "SITE-A", PHONE_A)
    _site_phone(pwa.db, "SITE-B", PHONE_B)


def _report_red_flag(pwa, page):
    pwa.fill(page, doses=(), symptoms=(LEG,))
    page.get_by_role("button", name="Save today's diary").click()
    dialog = page.get_by_role("alertdialog", name="Contact your study team now")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(LEG)
    return dialog


def _shows_the_site_phone(dialog):
    call = dialog.get_by_role("link", name=f"Call your study team: {PHONE_A}")
    expect(call).to_be_visible()
    expect(call).to_have_attribute("href", "tel:+13125550100")
    expect(call).to_have_text(PHONE_A)  # readable as the site wrote it
    expect(dialog).to_contain_text(f"Call your study team: {PHONE_A}")
    expect(dialog).not_to_contain_text(PHONE_B)
    expect(dialog).not_to_contain_text(GENERIC)
    emergency = dialog.get_by_role("link", name="Emergency: call 911")
    expect(emergency).to_have_attribute("href", "tel:911")
    # A large target: as wide as the emergency call (the dialog's width), 44 px high or more.
    box, wide = call.bounding_box(), emergency.bounding_box()
    assert box["height"] >= 44 and box["width"] == pytest.approx(wide["width"], abs=1)


def test_the_advice_online_offers_the_participants_own_site_phone(pwa, page, sites, shoot):
    pwa.activate(page)
    dialog = _report_red_flag(pwa, page)
    _shows_the_site_phone(dialog)
    shoot(page, "red-flag-advice-site-phone")
    violations = Axe().run(page).response["violations"]
    assert [v["id"] for v in violations if v["impact"] in ("serious", "critical")] == []
    dialog.get_by_role("button", name="I understand").click()
    expect(dialog).to_be_hidden()
    assert pwa.server.count("PUT", "/api/v1/entries/") == 1


def test_the_advice_offline_offers_the_cached_site_phone(pwa, page, context, sites, db):
    pwa.activate(page)
    page.wait_for_function(
        "() => (JSON.parse(localStorage.getItem('diary.protocol')) || {}).site_phone"
    )
    context.set_offline(True)
    page.reload()  # from the service worker and the protocol the phone keeps
    expect(page.get_by_role("banner").get_by_text("Offline")).to_be_visible()
    dialog = _report_red_flag(pwa, page)
    _shows_the_site_phone(dialog)
    dialog.get_by_role("button", name="I understand").click()
    assert pwa.server.count("PUT", "/api/v1/entries/") == 0

    context.set_offline(False)
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("main").get_by_text("Sent", exact=True)).to_be_visible()
    flags = db.execute("SELECT kind, severity FROM flags").fetchall()
    assert [tuple(f) for f in flags] == [("red_flag_symptom", "urgent")]


def test_without_a_site_phone_the_advice_keeps_the_protocols_words(pwa, page):
    _site_phone(pwa.db, "SITE-B", PHONE_B)  # another site's number is never offered
    pwa.activate(page)
    dialog = _report_red_flag(pwa, page)
    expect(dialog).to_contain_text(f"Study team: {GENERIC}")
    expect(dialog).not_to_contain_text("Call your study team:")
    expect(dialog).not_to_contain_text(PHONE_B)
    expect(dialog.get_by_role("link")).to_have_count(1)  # the emergency call only


def test_a_protocol_cached_before_the_phone_was_served_keeps_the_generic_words(
    pwa, page, context, sites
):
    pwa.activate(page)
    page.wait_for_function("() => localStorage.getItem('diary.protocol') !== null")
    context.set_offline(True)
    # What an older server sent: the same protocol without the field.
    old = page.evaluate("() => JSON.parse(localStorage.getItem('diary.protocol'))")
    del old["site_phone"]
    page.evaluate("(p) => localStorage.setItem('diary.protocol', JSON.stringify(p))", old)
    page.reload()
    expect(page.get_by_role("heading", level=1, name="Today")).to_be_visible()
    dialog = _report_red_flag(pwa, page)
    expect(dialog).to_contain_text(f"Study team: {GENERIC}")
    expect(dialog).not_to_contain_text("Call your study team:")
    expect(dialog.get_by_role("link", name="Emergency: call 911")).to_be_visible()
