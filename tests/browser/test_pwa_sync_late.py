"""An entry made offline in its window and sent after it closed: the phone's own
time is kept, the server accepts it and marks it synced late, never refused."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from playwright.sync_api import expect

from diary import clock

pytestmark = pytest.mark.browser

OUTBOX = "async () => await DiaryOutbox.pending('LBP-001')"
TIMEZONE = "America/Chicago"


def test_an_entry_made_offline_two_days_ago_syncs_as_synced_late_with_its_time(pwa, page, context):
    pwa.activate(page)
    today = clock.local_date(clock.now(), TIMEZONE)
    day = today - timedelta(days=2)  # its window closed at noon yesterday
    made = datetime.combine(day, time(21, 15), clock.zone(TIMEZONE))
    context.set_offline(True)
    page.clock.install(time=made)  # the phone, two days ago, in a dead zone
    page.reload()
    expect(page.get_by_role("heading", level=1, name="Today")).to_be_visible()
    pwa.fill(page, back=5, leg=2, doses=())
    page.get_by_role("button", name="Save today's diary").click()
    expect(
        page.get_by_role("main").get_by_text("Saved on this phone — waiting to send.")
    ).to_be_visible()
    [record] = page.evaluate(OUTBOX)
    assert record["date"] == day.isoformat()
    assert datetime.fromisoformat(record["body"]["device_time"]) == made

    context.set_offline(False)  # back in signal now, two days later
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("main").get_by_text("Sent", exact=True)).to_be_visible()
    expect(page.get_by_role("main").get_by_text("Waiting to send")).to_have_count(0)
    expect(page.get_by_role("main").get_by_text("Not accepted")).to_have_count(0)
    assert page.evaluate(OUTBOX) == []
    [entry] = pwa.entries()
    assert entry["date"] == day.isoformat()
    assert datetime.fromisoformat(entry["device_time"]) == made  # the retry kept it
    assert (entry["late"], entry["synced_late"], entry["entered_by"]) == (0, 1, "participant")
    assert clock.parse_iso(entry["received_at"]) > made + timedelta(days=1)
