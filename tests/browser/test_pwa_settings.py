"""Settings: reminder time, time zone, notifications, signing out without losing entries."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from diary.participants.queries import get_by_study_id

pytestmark = pytest.mark.browser


def participant(db, study_id="LBP-001"):
    row = get_by_study_id(db, study_id)
    return {"reminder_time": row["reminder_time"], "timezone": row["timezone"]}


def test_reminder_time_and_time_zone_are_saved(pwa, page, db):
    pwa.activate(page)
    page.get_by_role("link", name="Settings").click()
    country = page.get_by_label("Country or region")
    city = page.get_by_label("City or area")
    expect(city).to_have_value("America/Chicago")
    expect(country.locator("option:checked")).to_have_text("United States")
    page.get_by_label("Daily reminder time").fill("19:30")
    city.select_option(label="Denver – Mountain (most areas)")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("main").get_by_text("Settings saved.")).to_be_visible()
    assert participant(db) == {"reminder_time": "19:30", "timezone": "America/Denver"}

    # The phone is in Chicago: the app offers to go back to the phone's zone.
    page.reload()
    expect(city).to_have_value("America/Denver")
    page.get_by_role("button", name="Use my phone's time zone (Chicago, United States)").click()
    expect(city).to_have_value("America/Chicago")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("main").get_by_text("Settings saved.")).to_be_visible()
    assert participant(db)["timezone"] == "America/Chicago"


def test_time_zones_are_chosen_by_country_and_city_from_the_servers_canonical_list(pwa, page, db):
    pwa.activate(page)
    page.get_by_role("link", name="Settings").click()
    country = page.get_by_label("Country or region")
    city = page.get_by_label("City or area")
    expect(city).to_have_value("America/Chicago")
    # What is chosen reads in full on a 360 px phone (a select's own box cuts it).
    shown = page.locator("#zone-city + .picker-text")
    expect(shown).to_have_text("Chicago – Central (most areas)")
    assert shown.evaluate("(el) => el.scrollWidth <= el.clientWidth")
    countries = country.locator("option").all_inner_texts()
    assert "India" in countries and "Germany" in countries and len(countries) > 200
    assert not any("/" in c for c in countries)  # names, not IANA identifiers
    country.select_option(label="India")
    expect(city.locator("option")).to_have_text(["Kolkata"])  # not Asia/Calcutta too
    country.select_option(label="Australia")
    cities = city.locator("option").all_inner_texts()
    assert "Sydney – New South Wales (most areas)" in cities
    city.select_option(label="Sydney – New South Wales (most areas)")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("main").get_by_text("Settings saved.")).to_be_visible()
    assert participant(db)["timezone"] == "Australia/Sydney"


def test_a_phone_reporting_an_old_zone_name_is_offered_the_canonical_one(pwa, browser, db):
    # Chromium in India reports Asia/Calcutta, a name the server refuses.
    context = browser.new_context(
        timezone_id="Asia/Kolkata", viewport={"width": 360, "height": 740}
    )
    try:
        page = context.new_page()
        pwa.activate(page)
        assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") in (
            "Asia/Calcutta",
            "Asia/Kolkata",
        )
        page.get_by_role("link", name="Settings").click()
        expect(page.get_by_role("main")).to_contain_text("Your phone is set to Kolkata, India.")
        page.get_by_role("button", name="Use my phone's time zone (Kolkata, India)").click()
        page.get_by_role("button", name="Save settings").click()
        expect(page.get_by_role("main").get_by_text("Settings saved.")).to_be_visible()
        assert participant(db)["timezone"] == "Asia/Kolkata"
    finally:
        context.close()


def test_notifications_say_when_they_are_not_available(pwa, page):
    pwa.activate(page)
    page.get_by_role("link", name="Settings").click()
    switch = page.get_by_role("switch", name="Send me reminder notifications")
    switch.click()
    expect(page.get_by_text("not available", exact=False)).to_be_visible()
    expect(switch).not_to_be_checked()


def test_sign_out_warns_while_entries_wait_and_keeps_them(pwa, page, context):
    pwa.activate(page)
    context.set_offline(True)
    pwa.fill(page, doses=())
    page.get_by_role("button", name="Save today's diary").click()
    expect(
        page.get_by_role("main").get_by_text("Saved on this phone — waiting to send.")
    ).to_be_visible()

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("button", name="Sign out").click()
    warning = page.get_by_role("main").get_by_role("alert")
    expect(warning).to_contain_text("1 entry has not been sent yet.")
    page.get_by_role("button", name="Cancel").click()

    context.set_offline(False)
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("main").get_by_text("Sent", exact=True)).to_be_visible()
    assert len(pwa.entries()) == 1

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("main").get_by_text("You will need a new code")).to_be_visible()
    page.get_by_role("button", name="Yes, sign out").click()
    expect(page.get_by_role("heading", level=1, name="Welcome")).to_be_visible()
    expect(page.get_by_role("main").get_by_text("You are signed out.")).to_be_visible()
    session = page.evaluate("async () => (await fetch('/api/v1/session')).json()")
    assert session["user"] is None
