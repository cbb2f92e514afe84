"""Today: a participant activates and logs the day's entry through labelled controls."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from itertools import pairwise
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
    expect(row).to_contain_text("Morphine 15 mg × 3")  # one line, until changed
    expect(same).to_be_hidden()
    row.get_by_role("button", name="Change medicine 1").click()
    expect(row.get_by_label("Medicine", exact=True)).to_have_value("morphine")
    expect(row.get_by_label("Strength", exact=True)).to_have_value("15")
    expect(row.get_by_label("How many")).to_have_value("3")
    # The participant's recent drugs come first in the list.
    first = row.get_by_label("Medicine", exact=True).locator("optgroup").first
    expect(first).to_have_attribute("label", "Your recent medicines")
    expect(first.locator("option").first).to_have_text("Morphine")
    page.get_by_role("checkbox", name="None of these").check()
    page.get_by_role("radiogroup", name="Back pain today").get_by_role(
        "radio", name="3", exact=True
    ).check()
    page.get_by_role("radiogroup", name="Leg pain today").get_by_role(
        "radio", name="1", exact=True
    ).check()
    page.get_by_role("button", name="Save today's diary").click()
    expect(page.get_by_role("main").get_by_text("Today's diary is done.")).to_be_visible()
    today = [e for e in pwa.entries() if e["version"] == 1 and e["back_pain"] == 3]
    assert pwa.doses(today[0]["id"]) == [{"drug": "morphine", "strength": 15.0, "units": 3.0}]


def test_choosing_a_medicine_fills_in_no_strength_and_no_count(pwa, page):
    pwa.activate(page)
    page.get_by_role("radiogroup", name="Back pain today").get_by_role(
        "radio", name="5", exact=True
    ).check()
    page.get_by_role("radiogroup", name="Leg pain today").get_by_role(
        "radio", name="2", exact=True
    ).check()
    page.get_by_role("radiogroup", name="Did you take any opioid pain medicine today?").get_by_role(
        "radio", name="Yes"
    ).check()
    page.get_by_role("checkbox", name="None of these").check()
    row = page.get_by_role("group", name="Medicine 1")
    expect(row.get_by_label("How many")).to_have_value("")
    row.get_by_label("Medicine", exact=True).select_option("oxycodone")
    expect(row.get_by_label("Strength", exact=True)).to_have_value("")  # not the first strength
    expect(row.get_by_label("How many")).to_have_value("")  # not 1
    page.get_by_role("button", name="Save today's diary").click()
    problems = page.get_by_role("alert").filter(has_text="Please check")
    expect(problems).to_contain_text("Medicine 1: choose the strength.")
    expect(problems).to_contain_text("Medicine 1: enter how many.")
    expect(row.get_by_label("Strength", exact=True)).to_be_focused()
    assert pwa.entries() == []

    row.get_by_label("Strength", exact=True).select_option("10")
    row.get_by_role("button", name="One more of medicine 1").click()  # from empty: 1
    expect(row.get_by_label("How many")).to_have_value("1")
    page.get_by_role("button", name="Save today's diary").click()
    expect(page.get_by_role("main").get_by_text("Today's diary is done.")).to_be_visible()
    [entry] = pwa.entries()
    assert pwa.doses(entry["id"]) == [{"drug": "oxycodone", "strength": 10.0, "units": 1.0}]


def test_no_symptoms_is_an_answer_the_diary_asks_for(pwa, page):
    pwa.activate(page)
    page.get_by_role("radiogroup", name="Back pain today").get_by_role(
        "radio", name="4", exact=True
    ).check()
    page.get_by_role("radiogroup", name="Leg pain today").get_by_role(
        "radio", name="2", exact=True
    ).check()
    page.get_by_role("radiogroup", name="Did you take any opioid pain medicine today?").get_by_role(
        "radio", name="No"
    ).check()
    page.get_by_role("button", name="Save today's diary").click()
    problems = page.get_by_role("alert").filter(has_text="Please check")
    expect(problems).to_contain_text('Symptoms: tick the ones you had today, or "None of these".')
    none = page.get_by_role("checkbox", name="None of these")
    expect(none).to_be_focused()
    assert pwa.entries() == []

    headache = page.get_by_role("checkbox", name="Headache", exact=True)
    headache.check()
    none.check()  # none of these: the ticks go and the list folds away
    expect(headache).to_be_hidden()
    expect(page.get_by_role("checkbox", name="Constipation")).to_be_hidden()
    none.uncheck()
    expect(headache).not_to_be_checked()
    headache.check()
    expect(none).not_to_be_checked()  # a symptom is not "none"
    none.check()
    page.get_by_role("button", name="Save today's diary").click()
    expect(page.get_by_role("main").get_by_text("Today's diary is done.")).to_be_visible()
    [entry] = pwa.entries()
    assert json.loads(entry["symptoms"]) == []

    # Changing the day starts from its answer: "None of these" stays ticked.
    page.get_by_role("button", name="Change today's entry").click()
    expect(page.get_by_role("checkbox", name="None of these")).to_be_checked()


def test_each_pain_scale_is_one_row_of_eleven_targets_on_a_360_px_phone(pwa, page):
    pwa.activate(page)
    assert page.viewport_size["width"] == 360
    for name in ("Back pain today", "Leg pain today"):
        group = page.get_by_role("radiogroup", name=name)
        labels = group.locator("label.scale-option")
        expect(labels).to_have_count(11)  # a box is read as it is now: the scale is drawn
        for i in range(11):
            expect(labels.nth(i)).to_be_visible()
        boxes = [labels.nth(i).bounding_box() for i in range(11)]
        assert len({round(b["y"]) for b in boxes}) == 1, name  # one row
        assert all(b["width"] >= 24 and b["height"] >= 44 for b in boxes), boxes
        assert all(a["x"] + a["width"] <= b["x"] for a, b in pairwise(boxes))
        assert boxes[-1]["x"] + boxes[-1]["width"] <= 360 - 16
        # The anchors under both ends, and in the end choices' names.
        expect(group).to_contain_text("0 = No pain")
        expect(group).to_contain_text("10 = Worst pain imaginable")
        expect(group.get_by_role("radio", name="10 Worst pain imaginable")).to_have_count(1)


def test_every_medicine_name_shows_in_full_once_chosen_on_a_360_px_phone(pwa, page):
    pwa.activate(page)
    page.get_by_role("radiogroup", name="Did you take any opioid pain medicine today?").get_by_role(
        "radio", name="Yes"
    ).check()
    row = page.get_by_role("group", name="Medicine 1")
    picker = row.get_by_label("Medicine", exact=True)
    shown = row.locator(".picker-text")
    drugs = picker.evaluate(
        "(s) => [...s.options].filter((o) => o.value).map((o) => [o.value, o.text])"
    )
    assert len(drugs) == 12
    for code, label in drugs:
        picker.select_option(code)
        expect(shown).to_have_text(label)
        fits = shown.evaluate(
            "(el) => el.scrollWidth <= el.clientWidth && el.getBoundingClientRect().right <= 360"
        )
        assert fits, label


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


FEVER = "Fever or chills (38.0 °C / 100.4 °F or higher)"
LEG = "New weakness or numbness in a leg"


def _change(page, reason, *, back=None, symptom=None):
    page.get_by_role("button", name="Change today's entry").click()
    if back is not None:
        page.get_by_role("radiogroup", name="Back pain today").get_by_role(
            "radio", name=str(back), exact=True
        ).check()
    if symptom:
        page.get_by_role("checkbox", name=symptom).check()
    page.get_by_label("Why are you changing this entry?").fill(reason)
    page.get_by_role("button", name="Save the change").click()


def test_changing_a_red_flag_day_shows_the_alarm_again_only_for_a_new_red_flag(pwa, page, context):
    pwa.activate(page)
    pwa.fill(page, back=5, leg=2, doses=(), symptoms=(FEVER,))
    page.get_by_role("button", name="Save today's diary").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text(FEVER)
    dialog.get_by_role("button", name="I understand").click()
    # The day keeps saying what to do, without the alarm.
    main = page.get_by_role("main")
    expect(main.get_by_text(f"You reported: {FEVER}.")).to_be_visible()

    _change(page, "pain got worse", back=7)
    expect(page.get_by_role("button", name="Change today's entry")).to_be_visible()
    assert pwa.server.count("PUT", "/api/v1/entries/") == 2
    assert pwa.entries()[0]["version"] == 2
    expect(dialog).to_be_hidden()  # advice is shown before the page redraws

    _change(page, "my leg went numb", symptom=LEG)
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(LEG)
    dialog.get_by_role("button", name="I understand").click()

    # Offline the phone decides by the same rule: no new red flag, no alarm.
    context.set_offline(True)
    _change(page, "pain eased", back=4)
    expect(main.get_by_text("Saved on this phone — waiting to send.")).to_be_visible()
    status = page.locator("#status")
    expect(status).to_have_text("Saved on this phone. It will be sent when you are online.")
    expect(dialog).to_be_hidden()
    context.set_offline(False)
    page.get_by_role("link", name="History").click()
    expect(main.get_by_text("Sent", exact=True)).to_be_visible()
    expect(status).to_have_text("Your diary entry was sent.")  # announced after any advice
    assert pwa.entries()[0]["version"] == 4
    expect(dialog).to_be_hidden()
