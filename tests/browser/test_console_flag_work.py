# ruff: noqa: F811 - the fixtures imported from test_console_support are parameters here
"""Working a flag in Chromium, as a coordinator at 8 am would: the flag shows that
day's entry, the last 14 days and a log of contact attempts; coordinators close what
is theirs and see no button they cannot use; the inbox puts what needs action first,
says who an urgent flag was escalated to and shows simultaneous opioid flags as one
item acted on as one. Each screen axe-clean at 1280×800 and 360×740."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from test_console_support import (  # noqa: F401
    DESK,
    PHONE,
    TIMEZONE,
    desk,
    serious_violations,
    snap,
    study,
)

from diary import clock
from diary.audit import access_queries
from diary.jobs import escalations

pytestmark = pytest.mark.browser

SIZES = {"1280x800": DESK, "360x740": PHONE}


def _status(db, flag_id):
    return db.execute("SELECT status FROM flags WHERE id = ?", [flag_id]).fetchone()[0]


def _clean(page, name, snap, size):
    page.wait_for_load_state("networkidle")
    snap(page, f"{name}-{size}")
    page.evaluate("window.scrollTo(0, 0)")  # the sticky menu at the top of the full page
    snap(page, f"{name}-{size}-full", full_page=True)
    assert serious_violations(page) == [], name


@pytest.mark.parametrize("size", SIZES)
def test_the_flag_shows_that_days_entry_the_last_14_days_and_a_contact_log(
    size, desk, make_staff, study, snap
):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    make_staff("doc@a.test", "investigator", ("SITE-A",))
    make_staff("admin@study.test", "admin", ())
    study.busy_participant("LBP-001")
    fever = study.flag_id("LBP-001", "red_flag_symptom")

    page = desk.page(SIZES[size])
    desk.sign_in(page, "coord@a.test", route=f"#/flags/{fever}")
    expect(page.get_by_role("heading", level=1, name="Red-flag symptom – LBP-001")).to_be_visible()
    diary = page.get_by_role("region", name="The diary around it")
    expect(diary).to_contain_text("The entry of")
    entry = diary.get_by_role("table", name="Diary entries of LBP-001 shown with the flag")
    rows = entry.get_by_role("row")
    expect(rows).to_have_count(2)  # header + that day's entry
    that_day = rows.nth(1)
    for text in (
        "Oxycodone",
        "10 mg × 1",
        "15",
        "Fever or chills",
        "38.4 °C",
        "Felt hot and shivery.",
    ):
        expect(that_day).to_contain_text(text)
    chart = diary.get_by_role("img", name=re.compile("^Pain and MME of LBP-001"))
    expect(chart).to_be_visible()
    assert chart.locator(".chart-bars rect").count() >= 1
    expect(chart.locator("desc")).to_contain_text(re.compile(r"\d+ of \d+ days entered"))
    expect(chart.locator(".chart-marker title")).to_have_text(re.compile("Flag starts$"))

    contacts = page.get_by_role("region", name="Contact attempts")
    expect(contacts.get_by_text("No contact attempts recorded yet.")).to_be_visible()
    form = contacts.get_by_role("form", name="Record a contact attempt")
    form.get_by_label("How").select_option("phone")
    form.get_by_label("Outcome").select_option("no_answer")
    form.get_by_label("Details").fill("Rang twice at 8:10, no voicemail set up.")
    form.get_by_role("button", name="Add to the log").click()
    expect(
        page.get_by_role("main").get_by_text("Contact attempt added: phone call, no answer.")
    ).to_be_visible()
    log = contacts.get_by_role("table", name=re.compile("^Attempts to reach LBP-001"))
    expect(log).to_contain_text("Phone call")
    expect(log).to_contain_text("No answer")
    expect(log).to_contain_text("Rang twice at 8:10, no voicemail set up.")
    expect(log).to_contain_text("coord@a.test")
    _clean(page, "flag-context", snap, size)
    diary.evaluate("e => { e.scrollIntoView(); window.scrollBy(0, -56); }")
    snap(page, f"flag-diary-{size}")

    # The investigator adds the next attempt; the latest comes first.
    doc = desk.page(SIZES[size])
    desk.sign_in(doc, "doc@a.test", route=f"#/flags/{fever}")
    form = doc.get_by_role("form", name="Record a contact attempt")
    form.get_by_label("How").select_option("sms")
    form.get_by_label("Outcome").select_option("reached")
    form.get_by_role("button", name="Add to the log").click()
    log = doc.get_by_role("table", name=re.compile("^Attempts to reach LBP-001"))
    expect(log.get_by_role("row")).to_have_count(3)
    expect(log.get_by_role("row").nth(1)).to_contain_text("Text message (SMS)")

    (first, second) = study.db.query(
        "SELECT method, outcome, note FROM contact_attempts ORDER BY id"
    )
    assert (first["method"], first["outcome"]) == ("phone", "no_answer")
    assert (second["method"], second["outcome"], second["note"]) == ("sms", "reached", None)
    audited = access_queries.trail(study.db, object_type="contact_attempt")
    assert [r["actor_label"] for r in audited] == ["doc@a.test", "coord@a.test"]

    # An admin reads the log but adds nothing: no form, a line says who can.
    admin = desk.page(SIZES[size])
    desk.sign_in(admin, "admin@study.test", route=f"#/flags/{fever}")
    contacts = admin.get_by_role("region", name="Contact attempts")
    expect(contacts.get_by_role("table")).to_contain_text("Rang twice")
    expect(contacts.get_by_role("form")).to_have_count(0)
    expect(
        admin.get_by_text("Coordinators and investigators add contact attempts.")
    ).to_be_visible()


@pytest.mark.parametrize("size", SIZES)
def test_a_coordinator_closes_a_missed_entries_flag_and_is_offered_no_clinical_outcome(
    size, desk, make_staff, study, snap
):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    make_staff("doc@a.test", "investigator", ("SITE-A",))
    study.busy_participant("LBP-001")
    fever = study.flag_id("LBP-001", "red_flag_symptom")
    missed = study.flag_id("LBP-001", "missed_entries")

    page = desk.page(SIZES[size])
    desk.sign_in(page, "coord@a.test", route=f"#/flags/{fever}")
    expect(page.get_by_role("heading", level=1, name="Red-flag symptom – LBP-001")).to_be_visible()
    # A clinical flag: acknowledge, no resolve form, no close form; a line says who can.
    expect(page.get_by_role("button", name="Acknowledge")).to_be_visible()
    expect(page.get_by_role("form", name="Resolve")).to_have_count(0)
    expect(page.get_by_role("form", name="Close")).to_have_count(0)
    expect(page.get_by_role("button", name="Resolve flag")).to_have_count(0)
    expect(
        page.get_by_text("Investigators record the outcome of this clinical flag")
    ).to_be_visible()
    expect(page.locator("button[disabled], fieldset[disabled]")).to_have_count(0)

    desk.go(page, f"flags/{missed}")
    expect(page.get_by_role("heading", level=1, name="Missed entries – LBP-001")).to_be_visible()
    expect(page.get_by_role("form", name="Resolve")).to_have_count(0)
    close = page.get_by_role("form", name="Close")
    close.get_by_role("button", name="Close flag").click()
    expect(close.get_by_text("Write the reason")).to_be_visible()
    assert _status(study.db, missed) == "open"
    _clean(page, "flag-close", snap, size)
    close.get_by_label("Reason (required)").fill("Participant contacted, will resume.")
    close.get_by_role("button", name="Close flag").click()
    expect(page.get_by_role("main").get_by_text("Flag closed.")).to_be_visible()
    what = page.get_by_role("region", name="What was found")
    expect(what).to_contain_text("Closed with a reason (no clinical outcome)")
    expect(what).to_contain_text("Participant contacted, will resume.")
    history = page.get_by_role("region", name="History")
    expect(history).to_contain_text("Closed with a reason (no clinical outcome) by coord@a.test")
    expect(page.get_by_role("form", name="Close")).to_have_count(0)
    assert _status(study.db, missed) == "resolved"
    row = study.db.execute(
        "SELECT outcome, resolution_note FROM flags WHERE id = ?", [missed]
    ).fetchone()
    assert tuple(row) == (None, "Participant contacted, will resume.")

    # An investigator may close a non-clinical flag too, or record its clinical outcome.
    doc = desk.page(SIZES[size])
    pain = study.flag_id("LBP-001", "pain_flare")
    desk.sign_in(doc, "doc@a.test", route=f"#/flags/{pain}")
    expect(doc.get_by_role("form", name="Resolve")).to_be_visible()
    expect(doc.get_by_role("form", name="Close")).to_have_count(0)


@pytest.mark.parametrize("size", SIZES)
def test_the_inbox_puts_what_needs_action_first_shows_escalation_and_merges_opioid_flags(
    size, desk, make_staff, study, snap
):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    make_staff("doc@a.test", "investigator", ("SITE-A",))
    make_staff("admin@study.test", "admin", ())
    study.busy_participant("LBP-001")
    study.participant("LBP-002", days_ago=3)
    threshold = study.flag_id("LBP-001", "opioid_threshold")
    increase = study.flag_id("LBP-001", "opioid_increase")
    flare = study.flag_id("LBP-001", "pain_flare")
    fever = study.flag_id("LBP-001", "red_flag_symptom")
    # The fever flag was raised days ago and nobody acknowledged it: it escalates.
    with study.app.app_context():
        escalations.run(
            study.db, now=clock.now(), study=study.app.extensions["diary.study"], config={}
        )
    # LBP-002 reports a red swollen injection site a few minutes ago: not escalated yet.
    local = clock.now().astimezone(clock.zone(TIMEZONE))
    moments_ago = max(local - timedelta(minutes=5), local.replace(hour=0, minute=0))
    study.entry("LBP-002", 0, symptoms=("injection_site_reaction",), at_time=f"{moments_ago:%H:%M}")
    page = desk.page(SIZES[size])
    desk.sign_in(page, "coord@a.test")
    expect(page.get_by_role("heading", level=1, name="Flags")).to_be_visible()
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows.filter(has_text="Pain flare")).to_have_count(1)
    # The pain flare is acknowledged: it moves below the open high flags.
    rows.filter(has_text="Pain flare").get_by_role(
        "button", name=re.compile("^Acknowledge")
    ).click()
    expect(
        rows.filter(has_text="Pain flare").get_by_text("Acknowledged", exact=True)
    ).to_be_visible()
    page.reload()  # the inbox as it opens, from the top
    expect(
        rows.filter(has_text="Pain flare").get_by_text("Acknowledged", exact=True)
    ).to_be_visible()

    # One item for the two opioid flags, with both findings.
    opioid = rows.filter(has_text="Opioid use above threshold")
    expect(opioid).to_have_count(1)
    expect(opioid).to_contain_text("Opioid increase")
    expect(opioid).to_contain_text("2 findings, one item")
    expect(opioid).to_contain_text("Up to 60 MME per day")
    expect(opioid).to_contain_text("Mean up to 60 MME per day")

    # What needs action first: by severity, then unacknowledged before acknowledged.
    rank = {"Urgent": 0, "High": 1, "Low": 2}
    state = {"Open": 0, "Acknowledged": 1, "Resolved": 2}
    order = []
    for row in rows.all()[1:]:
        sev = row.locator(".badge[class*=sev-]").first.inner_text()
        st = row.locator(".badge[class*=st-]").first.inner_text()
        order.append((rank[sev], state[st]))
    assert order == sorted(order), order
    assert order[0] == (0, 0) and order[-1] == (1, 1)

    # Escalation: when, and to whom.
    urgent = rows.filter(has_text="LBP-001").filter(has_text="Red-flag symptom")
    expect(urgent).to_contain_text(
        re.compile(r"Escalated .* ago to admin@study\.test, doc@a\.test")
    )
    fresh = rows.filter(has_text="LBP-002")
    expect(fresh).to_contain_text(re.compile(r"Escalates in \d+ (min|h) unless acknowledged"))
    _clean(page, "inbox", snap, size)

    # Acknowledging the item acknowledges both flags.
    opioid.get_by_role(
        "button", name="Acknowledge opioid use above threshold and opioid increase flags of LBP-001"
    ).click()
    expect(page.get_by_role("main").get_by_role("status").first).to_contain_text(
        "Opioid use above threshold and Opioid increase flags of LBP-001 acknowledged."
    )
    assert _status(study.db, threshold) == _status(study.db, increase) == "acknowledged"
    assert _status(study.db, flare) == "acknowledged" and _status(study.db, fever) == "open"

    # The investigator opens the item: both findings, and resolves it as one.
    doc = desk.page(SIZES[size])
    desk.sign_in(doc, "doc@a.test")
    doc.get_by_role("row").filter(has_text="Opioid increase").get_by_role(
        "link", name=re.compile("^Resolve")
    ).click()
    expect(
        doc.get_by_role(
            "heading", level=1, name="Opioid use above threshold and Opioid increase – LBP-001"
        )
    ).to_be_visible()
    expect(
        doc.get_by_text("One inbox item: 2 flags of LBP-001 on overlapping dates")
    ).to_be_visible()
    what = doc.get_by_role("region", name="What was found")
    expect(what.get_by_role("heading", level=3)).to_have_count(2)
    diary = doc.get_by_role("region", name="The diary around it")
    # a header, then the five days of the two flags
    expect(diary.get_by_role("table").get_by_role("row")).to_have_count(6)
    _clean(doc, "flag-merged", snap, size)
    form = doc.get_by_role("form", name="Resolve")
    form.get_by_role("radio", name="Not an adverse event").check()
    form.get_by_label("Note").fill("New GP prescription after the flare; agreed a taper plan.")
    form.get_by_role("button", name="Resolve both flags").click()
    expect(
        doc.get_by_role("main").get_by_text("2 flags resolved: not an adverse event.")
    ).to_be_visible()
    assert _status(study.db, threshold) == _status(study.db, increase) == "resolved"
    # Resolved, the flags are an item no more; each one's history names the other.
    history = doc.get_by_role("region", name="History")
    expect(history).to_contain_text(f"Resolved by doc@a.test, together with flag {increase}")
    expect(history).to_contain_text("New GP prescription after the flare")
