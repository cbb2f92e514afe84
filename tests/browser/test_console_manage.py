# ruff: noqa: F811 - the fixtures imported from test_console_support are parameters here
"""Managing a participant from the console: a crossover injection, a corrected
baseline with its reason in the audit trail, and a withdrawal after a confirmation."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from test_console_support import PHONE, TIMEZONE, desk, serious_violations, snap, study  # noqa: F401

from diary import clock

pytestmark = pytest.mark.browser


def shown(d) -> str:
    """A date as the console shows it in en-US: "Nov 23, 2026"."""
    return f"{d:%b} {d.day}, {d.year}"


def test_crossover_injection_is_added_and_refusals_are_shown(desk, make_staff, study, snap):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    study.participant("LBP-001", days_ago=183)
    today = clock.local_date(clock.now(), TIMEZONE)
    first, crossover = today - timedelta(days=183), today - timedelta(days=2)
    page = desk.page()
    desk.sign_in(page, "coord@a.test", route="#/participants/LBP-001")
    profile = page.get_by_role("region", name="Profile")
    expect(profile).to_contain_text(shown(first))

    page.get_by_role("button", name="Add injection").click()
    form = page.get_by_role("form", name="Add an injection")
    expect(form.get_by_label("Injection date")).to_be_focused()
    form.get_by_label("Injection date").fill(crossover.isoformat())
    snap(page, "injection-form")
    form.get_by_role("button", name="Add the injection").click()
    done = page.get_by_role("main").get_by_text(
        f"Injection of {shown(crossover)} added for LBP-001."
    )
    expect(done).to_be_visible()
    expect(profile).to_contain_text(f"{shown(first)}, {shown(crossover)}")
    assert study.db.execute("SELECT COUNT(*) FROM injections").fetchone()[0] == 2

    # The same date again (409) and a date before day 0 (422), in the API's words.
    page.get_by_role("button", name="Add injection").click()
    form.get_by_label("Injection date").fill(crossover.isoformat())
    form.get_by_role("button", name="Add the injection").click()
    expect(form.get_by_role("alert")).to_contain_text("is already recorded")
    expect(form.get_by_label("Injection date")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Injection date").fill((first - timedelta(days=1)).isoformat())
    form.get_by_role("button", name="Add the injection").click()
    expect(form.get_by_role("alert")).to_contain_text("must not be before the first injection")
    expect(form.get_by_label("Injection date")).to_have_accessible_description(
        re.compile(r"must not be before the first injection \(day 0 is fixed\)")
    )
    assert study.db.execute("SELECT COUNT(*) FROM injections").fetchone()[0] == 2


def test_baseline_mme_is_changed_with_a_reason_kept_as_a_draft(desk, make_staff, study, snap):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    study.participant("LBP-001", days_ago=10, mme=10.0)
    page = desk.page()
    desk.sign_in(page, "coord@a.test", route="#/participants/LBP-001")
    profile = page.get_by_role("region", name="Profile")
    expect(profile).to_contain_text("10 MME per day")

    page.get_by_role("button", name="Change baselines or status").click()
    form = page.get_by_role("form", name="Change baselines or status")
    expect(form.get_by_label("Baseline back pain (0–10)")).to_have_value("4")
    expect(form.get_by_label("Status")).to_have_value("active")
    form.get_by_label("Baseline MME per day (0–50)").fill("12.5")

    # Half-written: a reload brings it back.
    page.reload()
    page.get_by_role("button", name="Change baselines or status").click()
    expect(form.get_by_text("Your unsaved change was restored.")).to_be_visible()
    mme = form.get_by_label("Baseline MME per day (0–50)")
    expect(mme).to_have_value("12.5")

    # No reason: the API's message stands next to the reason field.
    form.get_by_role("button", name="Save the changes").click()
    reason = form.get_by_label("Reason for the change (required)")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_accessible_description(
        re.compile("a reason is required when changing baselines or status")
    )
    reason.fill("Screening notes say 12.5 MME, not 10.")
    snap(page, "baseline-form")
    form.get_by_role("button", name="Save the changes").click()
    expect(
        page.get_by_role("main").get_by_text("Saved for LBP-001: baseline 12.5 MME per day.")
    ).to_be_visible()
    expect(profile).to_contain_text("12.5 MME per day")
    row = study.db.execute(
        "SELECT before, after, reason FROM audit_log WHERE action = 'participant.update'"
    ).fetchone()
    assert json.loads(row[0]) == {"baseline_mme": 10.0}
    assert json.loads(row[1]) == {"baseline_mme": 12.5}
    assert row[2] == "Screening notes say 12.5 MME, not 10."
    assert (
        page.evaluate(
            "() => Object.keys(sessionStorage).filter(k => k.startsWith('console.draft.'))"
        )
        == []
    )


def test_withdrawal_asks_first_and_shows_the_new_status(desk, make_staff, study):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    study.participant("LBP-001", days_ago=30)
    page = desk.page()
    desk.sign_in(page, "coord@a.test", route="#/participants/LBP-001")
    profile = page.get_by_role("region", name="Profile")
    expect(profile).to_contain_text("Active")
    page.get_by_role("button", name="Change baselines or status").click()
    form = page.get_by_role("form", name="Change baselines or status")
    form.get_by_label("Status").select_option("withdrawn")
    form.get_by_label("Reason for the change (required)").fill("Withdrew consent by phone.")

    asked: list[str] = []

    def answer(dialog, accept):
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    form.get_by_role("button", name="Save the changes").click()
    expect(form.get_by_role("button", name="Save the changes")).to_be_enabled()
    assert study.db.execute("SELECT status FROM participants").fetchone()[0] == "active"

    page.once("dialog", lambda d: answer(d, True))
    form.get_by_role("button", name="Save the changes").click()
    expect(
        page.get_by_role("main").get_by_text("Saved for LBP-001: status withdrawn.")
    ).to_be_visible()
    expect(profile).to_contain_text("Withdrawn")
    assert len(asked) == 2 and all(re.search(r"Withdraw LBP-001.*session", m) for m in asked)
    assert study.db.execute("SELECT status FROM participants").fetchone()[0] == "withdrawn"
    reason = study.db.execute(
        "SELECT reason FROM audit_log WHERE action = 'participant.update'"
    ).fetchone()[0]
    assert reason == "Withdrew consent by phone."


def test_manage_forms_pass_axe_and_fit_a_phone(desk, make_staff, study, snap):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    study.participant("LBP-001", days_ago=30)
    page = desk.page(PHONE)
    desk.sign_in(page, "coord@a.test", route="#/participants/LBP-001")
    fits = "() => document.documentElement.scrollWidth <= window.innerWidth"

    page.get_by_role("button", name="Add injection").click()
    form = page.get_by_role("form", name="Add an injection")
    form.get_by_role("button", name="Add the injection").click()  # no date: the API's 422
    expect(form.get_by_role("alert")).to_be_visible()
    assert serious_violations(page) == []
    assert page.evaluate(fits)
    snap(page, "injection-form-phone")

    page.get_by_role("button", name="Change baselines or status").click()
    form = page.get_by_role("form", name="Change baselines or status")
    form.get_by_label("Baseline back pain (0–10)").select_option("6")
    form.get_by_role("button", name="Save the changes").click()  # no reason: the API's 422
    expect(form.get_by_role("alert")).to_be_visible()
    assert serious_violations(page) == []
    assert page.evaluate(fits)
    snap(page, "manage-form-phone", full_page=True)


def test_an_investigator_voids_and_corrects_injections_with_a_reason(desk, make_staff, study, snap):
    from diary import audit
    from diary.db import transaction
    from diary.participants import queries, service

    make_staff("inv@a.test", "investigator", ("SITE-A",))
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    study.participant("LBP-001", days_ago=20)
    today = clock.local_date(clock.now(), TIMEZONE)
    first, crossover = today - timedelta(days=20), today - timedelta(days=3)
    with study.app.app_context(), transaction(study.db):
        service.add_injection(
            study.db,
            study.app.extensions["diary.study"],
            actor=audit.CLI,
            participant=queries.get_by_study_id(study.db, "LBP-001"),
            day=crossover,
            now=clock.now(),
        )

    # A coordinator sees the injections but no way to take one back.
    page = desk.page()
    desk.sign_in(page, "coord@a.test", route="#/participants/LBP-001")
    expect(page.get_by_role("region", name="Profile")).to_contain_text(shown(crossover))
    expect(
        page.get_by_role("button", name=re.compile("^(Void|Correct) the injection"))
    ).to_have_count(0)

    page = desk.page()
    desk.sign_in(page, "inv@a.test", route="#/participants/LBP-001")
    profile = page.get_by_role("region", name="Profile")
    injections = profile.get_by_role("table", name="Injections of LBP-001")
    expect(injections.get_by_role("row")).to_have_count(3)  # the header and two injections

    # Void the crossover: the reason is required, in the API's words, then kept.
    injections.get_by_role("button", name=f"Void the injection of {shown(crossover)}").click()
    form = page.get_by_role("form", name=f"Void the injection of {shown(crossover)}")
    reason = form.get_by_label("Reason for voiding (required)")
    expect(reason).to_be_focused()
    form.get_by_role("button", name="Void the injection").click()
    expect(form.get_by_role("alert")).to_be_visible()
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_accessible_description(re.compile("give a reason of 3 to 500"))
    reason.fill("Recorded for the wrong participant.")
    assert serious_violations(page) == []
    snap(page, "injection-void-form")
    form.get_by_role("button", name="Void the injection").click()
    expect(
        page.get_by_role("main").get_by_text(
            f"The injection of {shown(crossover)} was voided for LBP-001."
        )
    ).to_be_visible()
    expect(injections.get_by_role("row")).to_have_count(2)
    expect(profile).to_contain_text("Reason: Recorded for the wrong participant.")
    # The only injection left can be corrected, never voided.
    expect(injections.get_by_role("button", name=re.compile("^Void"))).to_have_count(0)

    # Correct day 0: a future date is refused next to the field; the right one moves day 0.
    injections.get_by_role("button", name=f"Correct the injection of {shown(first)}").click()
    form = page.get_by_role("form", name=f"Correct the injection of {shown(first)}")
    new_date = form.get_by_label("Correct injection date")
    expect(new_date).to_have_value(first.isoformat())
    new_date.fill((today + timedelta(days=1)).isoformat())
    form.get_by_label("Reason for the correction (required)").fill("Clinic log says a day later.")
    form.get_by_role("button", name="Save the correct date").click()
    expect(new_date).to_have_attribute("aria-invalid", "true")
    expect(new_date).to_have_accessible_description(re.compile("must not be in the future"))
    corrected = first + timedelta(days=1)
    new_date.fill(corrected.isoformat())
    form.get_by_role("button", name="Save the correct date").click()
    expect(
        page.get_by_role("main").get_by_text(
            f"The injection of {shown(first)} was corrected to {shown(corrected)} for LBP-001."
        )
    ).to_be_visible()
    expect(profile).to_contain_text(f"{(today - corrected).days} (today there:")
    expect(profile).to_contain_text(f"{shown(first)}, corrected to {shown(corrected)}")

    assert [r[0] for r in study.db.execute("SELECT date FROM injections")] == [
        corrected.isoformat()
    ]
    rows = study.db.execute(
        "SELECT action, reason, actor_label FROM audit_log"
        " WHERE action IN ('participant.injection_voided', 'participant.injection_corrected')"
        " ORDER BY id"
    ).fetchall()
    assert rows == [
        ("participant.injection_voided", "Recorded for the wrong participant.", "inv@a.test"),
        ("participant.injection_corrected", "Clinic log says a day later.", "inv@a.test"),
    ]

    # On a phone: the injections and the correction form fit and pass axe.
    phone = desk.page(PHONE)
    desk.sign_in(phone, "inv@a.test", route="#/participants/LBP-001")
    phone.get_by_role("button", name=f"Correct the injection of {shown(corrected)}").click()
    expect(
        phone.get_by_role("form", name=f"Correct the injection of {shown(corrected)}")
    ).to_be_visible()
    assert serious_violations(phone) == []
    assert phone.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    snap(phone, "injection-correct-form-phone", full_page=True)
