# ruff: noqa: F811 - the fixtures imported from test_console_support are parameters here
"""One entry the server cannot take never holds the phone's later entries (SPEC §11):
a server error on it makes it wait its back-off while the rest go; an entry refused
for good is parked and shown; either way the study team sees the phone's problem."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import pytest
from playwright.sync_api import expect
from test_console_support import desk  # noqa: F401

from diary import clock

pytestmark = pytest.mark.browser

TIMEZONE = "America/Chicago"
# Time travel for the phone: every back-off is over now.
SKIP_BACKOFF = """async () => {
  const db = await new Promise((ok) => {
    const r = indexedDB.open('participant-diary', 2);
    r.onsuccess = () => ok(r.result);
  });
  const t = db.transaction(['outbox'], 'readwrite');
  const s = t.objectStore('outbox');
  s.getAll().onsuccess = (e) => e.target.result.forEach((r) => {
    if (r.retry_at) { r.retry_at = 0; s.put(r); }
  });
  await new Promise((ok) => { t.oncomplete = ok; });
  db.close();
}"""


def body(day, **fields):
    made = datetime.combine(day, time(20, 0), clock.zone(TIMEZONE))
    if day == clock.local_date(clock.now(), TIMEZONE):
        made = min(made, clock.now().astimezone(clock.zone(TIMEZONE)) - timedelta(minutes=1))
    return {
        "client_id": f"00000000-0000-4000-8000-{day:%Y%m%d}0000",
        "back_pain": 4,
        "leg_pain": 2,
        "doses": [],
        "symptoms": [],
        "device_time": made.isoformat(),
        **fields,
    }


def test_a_server_error_on_one_entry_does_not_hold_the_next_and_staff_see_the_problems(
    pwa, page, staff_client, desk, make_staff
):
    pwa.activate(page)
    today = clock.local_date(clock.now(), TIMEZONE)
    yesterday, before = today - timedelta(days=1), today - timedelta(days=2)
    # Three entries wait on the phone, oldest first: one the server fails on (500),
    # one it refuses for good (422), and today's.
    page.evaluate(
        "async (items) => { for (const [d, b] of items) await DiaryOutbox.save('LBP-001', d, b); }",
        [
            [before.isoformat(), body(before)],
            [yesterday.isoformat(), body(yesterday, back_pain=11)],
            [today.isoformat(), body(today)],
        ],
    )
    broken = f"**/api/v1/entries/{before.isoformat()}"
    page.route(
        broken,
        lambda route: route.fulfill(
            status=500,
            content_type="application/json",
            body=json.dumps({"error": {"code": "internal_error", "message": "x"}}),
        ),
    )
    # The reports cannot get through at first either: the phone must not claim the
    # study team knows, and must keep them to send later.
    reports = "**/api/v1/sync-problems"
    page.route(reports, lambda route: route.fulfill(status=503, body="{}"))
    for _ in range(3):  # three tries, each after its back-off
        page.evaluate("() => DiaryOutbox.flush()")
        page.evaluate(SKIP_BACKOFF)
    # Today's entry reached the server although an older one failed before it.
    assert [e["date"] for e in pwa.entries()] == [today.isoformat()]
    pending = {
        r["date"]: r for r in page.evaluate("async () => await DiaryOutbox.pending('LBP-001')")
    }
    assert pending[before.isoformat()]["status"] == "waiting"
    assert pending[before.isoformat()]["attempts"] == 3
    assert pending[yesterday.isoformat()]["status"] == "refused"
    assert not any(r.get("reported") for r in pending.values())
    with_staff = staff_client("coordinator")
    reach = with_staff.get("staff/participants/LBP-001/reachability").get_json()
    assert reach["sync_problems"] == []

    page.reload()
    page.get_by_role("link", name="History").click()
    main = page.get_by_role("main")
    expect(main.get_by_text("Not accepted")).to_be_visible()
    expect(main.get_by_text("The server had a problem with this entry.")).to_be_visible()
    expect(main.get_by_text("The phone will tell your study team")).to_be_visible()

    # The next flush gets the reports through (the failing entry still fails).
    page.unroute(reports)
    page.evaluate("() => DiaryOutbox.flush()")
    page.reload()
    page.get_by_role("link", name="History").click()
    expect(main.get_by_text("Your study team has been told.")).to_be_visible()

    # The study team sees both problems with the participant's reachability.
    problems = with_staff.get("staff/participants/LBP-001/reachability").get_json()["sync_problems"]
    assert {(p["date"], p["status"]) for p in problems} == {
        (before.isoformat(), 500),
        (yesterday.isoformat(), 422),
    }

    # ... and in the console, on the participant's page, in words.
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    staff_page = desk.page()
    desk.sign_in(staff_page, "coord@a.test", route="#/participants/LBP-001")
    problems_table = staff_page.get_by_role("table", name="Sync problems reported by the phone")
    expect(problems_table).to_be_visible()
    expect(problems_table.get_by_role("row")).to_have_count(3)  # header and two items
    expect(problems_table.get_by_text("the phone keeps retrying")).to_be_visible()
    expect(problems_table.get_by_text("Refused by the server (422")).to_be_visible()

    # The server mends: the waiting entry goes on the next try; the refused one stays parked.
    page.unroute(broken)
    page.evaluate(SKIP_BACKOFF)
    page.evaluate("() => DiaryOutbox.flush()")
    after = {
        r["date"]: r for r in page.evaluate("async () => await DiaryOutbox.pending('LBP-001')")
    }
    dates = sorted(e["date"] for e in pwa.entries())
    assert before.isoformat() not in after
    assert before.isoformat() in dates and yesterday.isoformat() not in dates
