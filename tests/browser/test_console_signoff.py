# ruff: noqa: F811 - the fixtures imported from test_console_support are parameters here
"""Investigator sign-off in the console (SPEC §14): a serious adverse event recorded
with its criteria starts the 24-hour countdown and is signed with the password; a wrong
password signs nothing; a correction invalidates the signature and puts the event back
on the To-sign screen; a participant is locked with a reason; a change request is
applied and signed; the forms pass axe and fit a phone."""

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

pytestmark = pytest.mark.browser

NAME = "Dana Ortiz"
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"


def onset(days_ago=2):
    return (clock.local_date(clock.now(), TIMEZONE) - timedelta(days=days_ago)).isoformat()


def record_serious_event(page, term="Pneumonia", *, fresh=True):
    page.get_by_role("button", name="Record an adverse event").click()
    form = page.get_by_role("form", name="Record an adverse event")
    form.get_by_label("Source").select_option("site_visit")
    form.get_by_label("Term").fill(term)
    form.get_by_label("Onset date").fill(onset())
    form.get_by_label("CTCAE grade").select_option("3")
    criteria = form.get_by_role("group", name="Seriousness criteria (one or more)")
    if fresh:  # a restored draft may already say Yes
        expect(criteria).to_be_hidden()
    form.get_by_role("group", name="Serious adverse event?").get_by_role(
        "radio", name="Yes"
    ).check()
    expect(criteria).to_be_visible()
    criteria.get_by_role("checkbox", name="Hospitalisation (new or prolonged)").check()
    form.get_by_label("Relatedness to the study treatment").select_option("unlikely")
    form.get_by_label("Expectedness").select_option("unexpected")
    form.get_by_label("Action taken").select_option("hospitalised")
    form.get_by_label("Outcome of the event").select_option("recovering")
    return form


def sign(page, card, password):
    card.get_by_role("button", name=re.compile("^Sign the adverse event")).click()
    form = card.get_by_role("form", name=re.compile("^Sign the adverse event"))
    form.get_by_role("radio", name="Reviewed").check()
    form.get_by_label("Your password").fill(password)
    form.get_by_role("button", name="Sign", exact=True).click()
    return form


def test_an_investigator_records_a_serious_event_sees_the_clock_and_signs_it(
    desk, make_staff, study, snap
):
    make_staff("doc@a.test", "investigator", ("SITE-A",), full_name=NAME)
    study.participant("LBP-001", days_ago=10)
    page = desk.page()
    desk.sign_in(page, "doc@a.test", route="#/participants/LBP-001")
    form = record_serious_event(page)
    form.get_by_role("button", name="Record the adverse event").click()
    main = page.get_by_role("main")
    expect(main.get_by_text("Serious adverse event recorded: report it")).to_be_visible()

    card = page.get_by_role("article", name=re.compile("^Adverse event: Pneumonia"))
    expect(card.locator(".countdown")).to_have_text(re.compile(r"^2[34] h \d+ min left$"))
    expect(card).to_contain_text("Hospitalisation (new or prolonged)")
    expect(card).to_contain_text("Not signed")

    # A wrong password: the server's message, nothing signed, still signed in.
    wrong = sign(page, card, "not my password")
    expect(wrong.get_by_role("alert")).to_have_text(
        re.compile("Wrong password: nothing was signed")
    )
    expect(wrong.get_by_label("Your password")).to_have_value("")
    expect(page.get_by_role("heading", level=1, name="LBP-001")).to_be_visible()
    assert study.db.execute("SELECT COUNT(*) FROM signatures").fetchone()[0] == 0
    snap(page, "signoff-wrong-password")

    wrong.get_by_role("radio", name="Reviewed").check()
    wrong.get_by_label("Your password").fill("correct horse battery")
    wrong.get_by_role("button", name="Sign", exact=True).click()
    shown = main.locator(".manifestation")
    expect(shown).to_have_text(
        re.compile(rf"^Signed by {NAME} <doc@a.test> on \d{{4}}-\d\d-\d\d \d\d:\d\d UTC: reviewed$")
    )
    card = page.get_by_role("article", name=re.compile("^Adverse event: Pneumonia"))
    expect(card).to_contain_text(re.compile(rf"Signed by {NAME} on .* UTC — Reviewed"))
    expect(card.get_by_role("button", name=re.compile("^Sign the adverse event"))).to_have_count(0)
    row = study.db.execute("SELECT record_type, meaning, signer_name FROM signatures").fetchone()
    assert tuple(row) == ("adverse_event", "reviewed", NAME)
    snap(page, "signoff-signed", full_page=True)

    # The clock is on the Serious events screen, counting down.
    page.get_by_role("navigation", name="Console").get_by_role(
        "link", name="Serious events"
    ).click()
    expect(page.get_by_role("heading", level=1, name="Serious events")).to_be_visible()
    rows = page.get_by_role("main").get_by_role("row").filter(has_text="Pneumonia")
    expect(rows).to_have_count(1)
    expect(rows.locator(".countdown")).to_have_text(re.compile(r"h \d+ min left$"))
    snap(page, "serious-events")


def test_a_correction_invalidates_the_signature_and_the_event_waits_to_be_signed(
    desk, make_staff, study, snap
):
    make_staff("doc@a.test", "investigator", ("SITE-A",), full_name=NAME)
    study.participant("LBP-001", days_ago=10)
    page = desk.page()
    desk.sign_in(page, "doc@a.test", route="#/participants/LBP-001")
    record_serious_event(page).get_by_role("button", name="Record the adverse event").click()
    card = page.get_by_role("article", name=re.compile("^Adverse event: Pneumonia"))
    sign(page, card, "correct horse battery")
    expect(page.get_by_role("main").locator(".manifestation")).to_be_visible()

    card = page.get_by_role("article", name=re.compile("^Adverse event: Pneumonia"))
    card.get_by_role("button", name=re.compile("^Correct the adverse event")).click()
    fix = card.get_by_role("form", name="Correct the adverse event Pneumonia")
    expect(fix).to_contain_text("saving a correction invalidates the signature")
    fix.get_by_label("Outcome of the event").select_option("recovered")
    fix.get_by_label("End date (optional)").fill(onset(0))
    fix.get_by_role("button", name="Save the correction").click()  # no reason: the API's 422
    expect(fix.get_by_label("Reason for the correction (required)")).to_have_attribute(
        "aria-invalid", "true"
    )
    fix.get_by_label("Reason for the correction (required)").fill("Discharge letter received.")
    fix.get_by_role("button", name="Save the correction").click()
    expect(page.get_by_role("main").get_by_text("its signature is invalidated")).to_be_visible()
    card = page.get_by_role("article", name=re.compile("^Adverse event: Pneumonia"))
    expect(card).to_contain_text("Signature invalidated")
    expect(card).to_contain_text(
        re.compile(
            r"invalidated by a correction of the adverse event on .* UTC .*\(Discharge letter received\.\)"
        )
    )
    expect(card).to_contain_text("Recovered")
    snap(page, "signoff-invalidated", full_page=True)

    page.get_by_role("navigation", name="Console").get_by_role("link", name="To sign").click()
    expect(page.get_by_role("heading", level=1, name="To sign")).to_be_visible()
    row = page.get_by_role("main").get_by_role("row").filter(has_text="Adverse event: Pneumonia")
    expect(row).to_contain_text("Signature invalidated")
    expect(row).to_contain_text("LBP-001")
    snap(page, "to-sign")
    row.get_by_role("link", name="Adverse event: Pneumonia").click()
    expect(page.get_by_role("heading", level=1, name="LBP-001")).to_be_visible()


def test_lock_a_participant_with_a_reason_shows_the_banner(desk, make_staff, study, snap):
    make_staff("doc@a.test", "investigator", ("SITE-A",), full_name=NAME)
    study.participant("LBP-001", days_ago=10)
    page = desk.page()
    desk.sign_in(page, "doc@a.test", route="#/participants/LBP-001")
    section = page.get_by_role("region", name="Sign-off and lock")
    section.get_by_role("button", name="Lock…").click()
    form = section.get_by_role("form", name="Lock the data of LBP-001")
    form.get_by_role("button", name="Lock", exact=True).click()  # no reason: the API's 422
    expect(form.get_by_role("alert")).to_be_visible()
    form.get_by_label("Reason (required)").fill("Final visit done, casebook to sign.")
    form.get_by_role("button", name="Lock", exact=True).click()
    banner = page.locator(".lock-banner").first
    expect(banner).to_contain_text("This participant’s data is locked.")
    expect(banner).to_contain_text("Final visit done, casebook to sign.")
    expect(section.get_by_role("button", name="Lock…")).to_have_count(0)
    # Investigators lock; only an admin unlocks.
    expect(section.get_by_role("button", name="Unlock…")).to_have_count(0)
    assert (
        study.db.execute(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'participant.lock'"
        ).fetchone()[0]
        == 1
    )
    snap(page, "participant-locked")


def test_an_applied_change_request_is_signed(desk, make_staff, study, snap):
    make_staff("doc@a.test", "investigator", ("SITE-A",), full_name=NAME)
    study.participant("LBP-001", days_ago=10)
    day = study.entry("LBP-001", 2, back=9)
    page = desk.page()
    desk.sign_in(page, "doc@a.test", route="#/participants/LBP-001")
    section = page.get_by_role("region", name="Change requests")
    section.get_by_role("button", name="Record a change request…").click()
    form = section.get_by_role("form", name="Record a change request")
    form.get_by_label("Diary date").fill(day.isoformat())
    form.get_by_label("Source").select_option("participant_call")
    form.get_by_label("New back pain").select_option("3")
    form.get_by_label("Why (required)").fill("Participant called: the 9 was a typing error.")
    form.get_by_role("button", name="Record the change request").click()
    row = section.get_by_role("row").filter(has_text="Back pain → 3")
    expect(row).to_contain_text("Open")
    row.get_by_role("button", name=re.compile("^Apply change request")).click()
    apply = section.get_by_role("form", name=re.compile("^Apply change request"))
    apply.get_by_label("Reason (required)").fill("Confirmed by phone.")
    apply.get_by_role("button", name="Apply the change").click()
    row = section.get_by_role("row").filter(has_text="Back pain → 3")
    expect(row).to_contain_text("Applied")
    expect(row).to_contain_text("Not signed")
    row.get_by_role("button", name=re.compile("^Sign change request")).click()
    signing = section.get_by_role("form", name=re.compile("^Sign the applied change request"))
    signing.get_by_role("radio", name="Approved").check()
    signing.get_by_label("Your password").fill("correct horse battery")
    signing.get_by_role("button", name="Sign", exact=True).click()
    row = section.get_by_role("row").filter(has_text="Back pain → 3")
    expect(row).to_contain_text(re.compile(rf"Signed by {NAME} on .* UTC — Approved"))
    back = study.db.execute("SELECT back_pain FROM entries WHERE date = ?", [day.isoformat()])
    assert back.fetchone()[0] == 3
    snap(page, "change-request-signed", full_page=True)


@pytest.mark.parametrize("size", [DESK, PHONE], ids=["desk", "phone"])
def test_the_adverse_event_and_sign_forms_pass_axe(desk, make_staff, study, snap, size):
    make_staff("doc@a.test", "investigator", ("SITE-A",), full_name=NAME)
    study.participant("LBP-001", days_ago=10)
    page = desk.page(size)
    name = "desk" if size is DESK else "phone"
    desk.sign_in(page, "doc@a.test", route="#/participants/LBP-001")
    page.get_by_role("button", name="Record an adverse event").click()
    form = page.get_by_role("form", name="Record an adverse event")
    form.get_by_role("group", name="Serious adverse event?").get_by_role(
        "radio", name="Yes"
    ).check()
    form.get_by_role("button", name="Record the adverse event").click()  # empty: the API's 422
    expect(form.get_by_role("alert")).to_be_visible()
    expect(form.get_by_label("Term")).to_have_attribute("aria-invalid", "true")
    assert serious_violations(page) == []
    assert page.evaluate(FITS)
    form.get_by_role(
        "group", name="Seriousness criteria (one or more)"
    ).scroll_into_view_if_needed()
    snap(page, f"ae-form-{name}")

    form = record_serious_event(page, fresh=False)
    form.get_by_role("button", name="Record the adverse event").click()
    card = page.get_by_role("article", name=re.compile("^Adverse event: Pneumonia"))
    card.get_by_role("button", name=re.compile("^Sign the adverse event")).click()
    card.get_by_role("form", name=re.compile("^Sign the adverse event")).get_by_role(
        "button", name="Sign", exact=True
    ).click()  # no meaning, no password: the API's 422
    expect(card.get_by_role("alert")).to_be_visible()
    assert serious_violations(page) == []
    assert page.evaluate(FITS)
    card.scroll_into_view_if_needed()
    snap(page, f"sign-form-{name}")
