"""Today: a participant activates and logs the day's entry through labelled controls."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

TIMEZONE = "America/Chicago"  # the participant's and the browser context's zone


def test_new_participant_activates_and_logs_an_entry_the_server_holds_exactly(pwa, page, shoot):
    pwa.activate(page)
    shoot(page, "today")
    pwa.fill(
        page,
        back=6,
        leg=3,
        doses=(("oxycodone", "10", "2"), ("tramadol", "50", "1")),
        symptoms=("Constipation",),
        note="Walked to the shop.",
    )
    page.get_by_role("button", name="Save today's diary").click()

    expect(page.get_by_role("main").get_by_text("Today's diary is done.")).to_be_visible()
    shoot(page, "today-done")
    [entry] = pwa.entries()
    assert (entry["back_pain"], entry["leg_pain"]) == (6, 3)
    assert json.loads(entry["symptoms"]) == ["constipation"]
    assert entry["note"] == "Walked to the shop."
    assert entry["temperature_c"] is None
    assert pwa.doses(entry["id"]) == [
        {"drug": "oxycodone", "strength": 10.0, "units": 2.0},
        {"drug": "tramadol", "strength": 50.0, "units": 1.0},
    ]
    assert entry["mme"] == pytest.approx(10 * 2 * 1.5 + 50 * 0.2)  # CDC factors: 40 MME
    assert entry["version"] == 1
    assert pwa.server.count("PUT", "/api/v1/entries/") == 1


def test_correcting_today_asks_for_a_reason_and_keeps_one_entry(pwa, page):
    pwa.activate(page)
    pwa.fill(page, back=6, leg=3, doses=())
    page.get_by_role("button", name="Save today's diary").click()
    expect(page.get_by_role("main").get_by_text("Today's diary is done.")).to_be_visible()

    page.get_by_role("button", name="Change today's entry").click()
    page.get_by_role("radiogroup", name="Back pain today").get_by_role(
        "radio", name="4", exact=True
    ).check()
    page.get_by_role("button", name="Save the change").click()
    expect(page.get_by_role("alert").filter(has_text="why you are changing")).to_be_visible()
    expect(page.get_by_label("Why are you changing this entry?")).to_be_focused()

    page.get_by_label("Why are you changing this entry?").fill("I pressed the wrong number")
    page.get_by_role("button", name="Save the change").click()
    expect(page.get_by_role("main").get_by_text("Today's diary is done.")).to_be_visible()
    [entry] = pwa.entries()
    assert (entry["back_pain"], entry["version"]) == (4, 2)


def test_same_as_yesterday_repeats_the_last_doses_in_one_tap(pwa, page):
    pwa.activate(page)
    pwa.entry_made_yesterday_evening(doses=[{"drug": "morphine", "strength": 15, "units": 3}])
    page.reload()
    same = page.get_by_role("button", name="Same as yesterday")
    expect(same).to_contain_text("Morphine 15 mg × 3")
    same.click()
    row = page.get_by_role("group", name="Medicine 1")
    expect(row.get_by_label("Medicine", exact=True)).to_have_value("morphine")
    expect(row.get_by_label("Strength", exact=True)).to_have_value("15")
    expect(row.get_by_label("How many")).to_have_value("3")
    # The participant's recent drugs come first in the list.
    first = row.get_by_label("Medicine", exact=True).locator("optgroup").first
    expect(first).to_have_attribute("label", "Your recent medicines")
    expect(first.locator("option").first).to_have_text("Morphine")


def test_yesterday_can_be_filled_in_until_its_window_closes(pwa, page):
    # The phone's clock reads 11:00 (or earlier): yesterday's window is still open.
    now = datetime.now(ZoneInfo(TIMEZONE))
    morning = min(now, now.replace(hour=11, minute=0, second=0, microsecond=0))
    page.clock.install(time=morning)
    pwa.activate(page)
    page.get_by_role("link", name="Fill in yesterday's diary").click()
    expect(page.get_by_role("heading", level=1, name="Yesterday")).to_be_visible()
    pwa.fill(page, back=5, leg=1, doses=(), day="yesterday")
    page.get_by_role("button", name="Save yesterday's diary").click()
    expect(page.get_by_role("main").get_by_text("Yesterday's diary is done.")).to_be_visible()

    [entry] = pwa.entries()
    assert entry["date"] == (morning.date() - timedelta(days=1)).isoformat()
    assert entry["late"] == 1
    saved_at = datetime.fromisoformat(entry["device_time"])  # the phone's clock, with its offset
    assert timedelta(0) <= saved_at - morning.replace(microsecond=0) < timedelta(minutes=1)
    assert saved_at.utcoffset() == morning.utcoffset()
    page.get_by_role("link", name="Today").click()
    expect(page.get_by_role("link", name="Fill in yesterday's diary")).to_have_count(0)
