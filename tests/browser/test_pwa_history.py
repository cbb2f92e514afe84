"""History (issue 19): a past entry opens read-only, or to be changed while its window
is open; times on the clock of the participant's zone; no internal words; a chart
that names only the diary's days and no MME axis without opioids."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
from playwright.sync_api import expect

from diary import audit, clock

pytestmark = pytest.mark.browser

TIMEZONE = "America/Chicago"


def entry_days_ago(pwa, days, study_id="LBP-001", **fields):
    """The entry of `days` ago, written through the entries service at 20:00 that day."""
    from diary.entries.schemas import EntryIn
    from diary.entries.service import put_entry

    day = clock.local_date(clock.now(), TIMEZONE) - timedelta(days=days)
    at = datetime.combine(day, time(20, 0), clock.zone(TIMEZONE))
    pid = pwa.db.execute("SELECT id FROM participants WHERE study_id = ?", [study_id]).fetchone()[0]
    with pwa.app.app_context():
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
            pwa.db,
            pwa.app.extensions["diary.study"],
            participant_id=pid,
            day=day,
            body=body,
            actor=audit.Actor("participant", str(pid), study_id),
            now=at.astimezone(UTC),
        )
    return day


def row(page, day):
    label = page.evaluate(
        "(iso) => new Date(`${iso}T12:00:00Z`).toLocaleDateString(undefined,"
        " { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' })",
        day.isoformat(),
    )
    return page.locator("details.entry-row").filter(has=page.get_by_text(label, exact=True))


def test_a_past_entry_opens_read_only_and_todays_opens_to_be_changed(pwa, page):
    pwa.activate(page)
    old = entry_days_ago(
        pwa,
        3,
        back_pain=7,
        doses=[{"drug": "tramadol", "strength": 50, "units": 2}],
        symptoms=["nausea"],
        note="Bad night.",
    )
    pwa.fill(page, back=4, leg=1, doses=())
    page.get_by_role("button", name="Save today's diary").click()
    expect(page.get_by_role("main").get_by_text("Today's diary is done.")).to_be_visible()

    page.get_by_role("link", name="History").click()
    past = row(page, old)
    expect(past).to_have_count(1)
    doses = past.locator("dl.summary")
    expect(doses).to_be_hidden()  # closed until opened
    past.locator("summary").click()
    expect(doses).to_contain_text("50 mg × 2")
    expect(past.get_by_text("Nausea or vomiting")).to_be_visible()
    expect(past.get_by_text("Bad night.")).to_be_visible()
    expect(past.get_by_text("This day can no longer be changed here.")).to_be_visible()
    expect(past.get_by_role("link")).to_have_count(0)
    expect(past.locator("input, select, textarea")).to_have_count(0)  # read-only

    today = row(page, clock.local_date(clock.now(), TIMEZONE))
    today.locator("summary").click()
    change = today.get_by_role("link", name=re.compile(r"^Change the .* entry$"))
    change.click()
    expect(page.get_by_role("heading", level=1, name="Today")).to_be_visible()
    back = page.get_by_role("radiogroup", name="Back pain today")
    expect(back.get_by_role("radio", name="4", exact=True)).to_be_checked()
    back.get_by_role("radio", name="5", exact=True).check()
    page.get_by_label("Why are you changing this entry?").fill("It got worse tonight")
    page.get_by_role("button", name="Save the change").click()
    expect(page.get_by_role("main").get_by_text("Today's diary is done.")).to_be_visible()

    page.get_by_role("link", name="History").click()
    today.locator("summary").click()
    expect(today).to_contain_text("changed since")
    expect(page.get_by_role("main")).not_to_contain_text("version")


def test_times_follow_the_participants_zone_not_the_phones(pwa, browser):
    context = browser.new_context(
        timezone_id="Europe/London", viewport={"width": 360, "height": 740}, locale="en-US"
    )
    try:
        page = context.new_page()
        pwa.activate(page)
        pwa.fill(page, back=4, leg=1, doses=())
        page.get_by_role("button", name="Save today's diary").click()
        done = page.get_by_role("main").get_by_text("Today's diary is done.")
        expect(done).to_be_visible()
        [entry] = pwa.entries()
        received = datetime.fromisoformat(entry["received_at"]).astimezone(clock.zone(TIMEZONE))
        chicago = received.strftime("%I:%M %p %Z")  # CST in winter, CDT in summer
        london = received.astimezone(clock.zone("Europe/London")).strftime("%I:%M %p")
        status = page.get_by_role("main").get_by_role("status").filter(has_text="diary is done")
        expect(status).to_contain_text(f"Sent at {chicago}")
        expect(status).not_to_contain_text(london)
        page.get_by_role("link", name="History").click()
        item = page.locator("details.entry-row").first
        item.locator("summary").click()
        expect(item).to_contain_text(f"Sent {chicago}")
    finally:
        context.close()


def test_the_chart_names_only_diary_days_and_has_no_mme_axis_without_opioids(pwa, page):
    pwa.activate(page, days_since_injection=5)
    entry_days_ago(pwa, 2)
    page.get_by_role("link", name="History").click()
    chart = page.get_by_role("img", name="Pain and opioid use, first 6 days of your diary")
    expect(chart).to_be_visible()
    first = clock.local_date(clock.now(), TIMEZONE) - timedelta(days=5)
    label = page.evaluate(
        "(iso) => new Date(`${iso}T12:00:00Z`).toLocaleDateString(undefined,"
        " { day: 'numeric', month: 'short', timeZone: 'UTC' })",
        first.isoformat(),
    )
    axis = chart.locator("text.chart-axis").evaluate_all("(all) => all.map((t) => t.textContent)")
    assert axis[3] == label  # after the pain axis 0/5/10 comes the first day: day 0
    assert axis.count("0") == 1 and "10" in axis  # pain only: no MME 0/5/10 on the right
    assert chart.locator(".chart-bars").count() == 0
    main = page.get_by_role("main")
    expect(main.get_by_text("No opioid medicines in these days.")).to_be_visible()
    expect(main.get_by_text("Opioids, MME per day (right)")).to_have_count(0)
    expect(chart).to_have_attribute("aria-labelledby", re.compile(r".+"))
    assert "1 of 6 days entered" in chart.locator("desc").text_content()
