# ruff: noqa: F811 - the fixtures imported from test_console_support are parameters here
"""Console behaviour: sign-in refusals, the idle timeout keeping a half-written
resolution, site scoping on every screen and export, data clarification, an
adverse event no flag raised, and re-issuing a code."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import time_machine
from playwright.sync_api import expect
from test_console_support import DESK, desk, snap, study  # noqa: F401

from diary import clock

pytestmark = pytest.mark.browser


def test_the_sign_in_throttle_is_shown_in_the_servers_words(desk, make_staff, snap):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    page = desk.page()
    page.goto(f"{desk.server.url}/staff/")
    page.get_by_label("E-mail").fill("coord@a.test")
    for attempt in range(6):
        page.get_by_label("Password").fill(f"wrong password {attempt}")
        page.get_by_role("button", name="Sign in").click()
        if attempt < 5:
            expect(page.get_by_role("alert")).to_have_text("Wrong e-mail or password.")
            expect(page.get_by_role("button", name="Sign in")).to_be_enabled()
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(
        re.compile(r"^Too many sign-in attempts\. Try again in 1[45] minutes\.$")
    )
    expect(page.get_by_label("Password")).to_have_value("")
    snap(page, "signin-throttled")


def test_an_urgent_red_flag_is_not_closed_as_not_an_ae_without_a_note_and_a_confirmation(
    desk, make_staff, study
):
    make_staff("doc@a.test", "investigator", ("SITE-A",))
    study.participant("LBP-001", days_ago=2)
    study.entry("LBP-001", 1, symptoms=("fever",))
    flag = study.flag_id("LBP-001", "red_flag_symptom")
    page = desk.page()
    desk.sign_in(page, "doc@a.test", route=f"#/flags/{flag}")
    form = page.get_by_role("form", name="Resolve")
    expect(form.get_by_label("Note (required)")).to_be_visible()
    form.get_by_role("radio", name="Not an adverse event").check()
    form.get_by_role("button", name="Resolve flag").click()
    expect(form.get_by_text("Write the reason in the note")).to_be_visible()
    assert study.db.execute("SELECT status FROM flags WHERE id = ?", [flag]).fetchone()[0] == "open"

    form.get_by_label("Note (required)").fill("Spoke to her: 37.9 °C at home, no chills; expected.")
    asked = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    form.get_by_role("button", name="Resolve flag").click()
    expect(form.get_by_role("button", name="Resolve flag")).to_be_enabled()
    assert asked and "NOT an adverse event" in asked[0]
    assert study.db.execute("SELECT status FROM flags WHERE id = ?", [flag]).fetchone()[0] == "open"

    page.once("dialog", lambda d: d.accept())
    form.get_by_role("button", name="Resolve flag").click()
    expect(
        page.get_by_role("main").get_by_text("Flag resolved: not an adverse event.")
    ).to_be_visible()
    history = page.get_by_role("main")
    expect(
        history.get_by_text("Spoke to her: 37.9 °C at home, no chills; expected.").first
    ).to_be_visible()


def test_idle_timeout_returns_to_sign_in_and_keeps_the_half_written_resolution(
    desk, make_staff, study, snap
):
    make_staff("doc@a.test", "investigator", ("SITE-A",))
    study.participant("LBP-001", days_ago=2)
    study.entry("LBP-001", 1, symptoms=("injection_site_reaction",))
    flag = study.flag_id("LBP-001", "red_flag_symptom")
    page = desk.page()
    desk.sign_in(page, "doc@a.test", route=f"#/flags/{flag}")
    expect(page.get_by_role("heading", level=1, name="Red-flag symptom – LBP-001")).to_be_visible()
    page.get_by_role("radio", name="Adverse event", exact=True).check()
    page.get_by_label("CTCAE grade").select_option("1")
    page.get_by_role("group", name="Serious adverse event?").get_by_role("radio", name="No").check()
    page.get_by_label("Relatedness to the study treatment").select_option("probable")
    page.get_by_label("Note").fill("Called her: small red patch, no fever. Review at the visit on")

    # 31 minutes pass on the server with no request: the session ends.
    with time_machine.travel(clock.now() + timedelta(minutes=31), tick=True):
        page.get_by_role("button", name="Resolve flag").click()
        expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
        expect(page.get_by_role("main").get_by_text("Your session has ended.")).to_be_visible()
        snap(page, "signin-after-timeout")
        page.get_by_label("E-mail").fill("doc@a.test")
        page.get_by_label("Password").fill("correct horse battery")
        page.get_by_role("button", name="Sign in").click()

        # Back on the same flag, with the draft as it was.
        expect(
            page.get_by_role("heading", level=1, name="Red-flag symptom – LBP-001")
        ).to_be_visible()
        expect(page.get_by_text("Your unsaved resolution was restored.")).to_be_visible()
        expect(page.get_by_role("radio", name="Adverse event", exact=True)).to_be_checked()
        expect(page.get_by_label("CTCAE grade")).to_have_value("1")
        note = page.get_by_label("Note")
        expect(note).to_have_value("Called her: small red patch, no fever. Review at the visit on")
        expect(page.get_by_label("Relatedness to the study treatment")).to_have_value("probable")
        note.press_sequentially(" Friday.")
        page.get_by_role("button", name="Resolve flag").click()
        expect(
            page.get_by_role("main").get_by_text("Flag resolved as an adverse event, grade 1.")
        ).to_be_visible()

    row = study.db.execute(
        "SELECT ctcae_grade, serious, related, note FROM adverse_events WHERE flag_id = ?", [flag]
    ).fetchone()
    assert tuple(row) == (
        1,
        0,
        "probable",
        "Called her: small red patch, no fever. Review at the visit on Friday.",
    )
    # The draft is gone once the resolution is saved.
    assert (
        page.evaluate(
            "() => Object.keys(sessionStorage).filter(k => k.startsWith('console.draft.'))"
        )
        == []
    )


def test_coordinator_of_site_a_sees_nothing_of_site_b(desk, make_staff, study):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    study.participant("LBP-001", site="SITE-A", days_ago=3)
    study.participant("LBP-901", site="SITE-B", days_ago=3)
    study.entry("LBP-001", 1, symptoms=("fever",))
    study.entry("LBP-901", 1, symptoms=("fever",), note="site B only")
    b_flag = study.flag_id("LBP-901", "red_flag_symptom")
    page = desk.page()
    desk.sign_in(page, "coord@a.test")
    main = page.get_by_role("main")

    expect(main.get_by_role("link", name="LBP-001")).to_be_visible()
    page.get_by_label("Status").select_option("all")
    expect(main.get_by_role("link", name="LBP-001")).to_be_visible()
    expect(main).not_to_contain_text("LBP-901")
    expect(page.get_by_label("Site").locator("option")).to_have_text(["All my sites", "SITE-A"])

    desk.go(page, "participants")
    expect(main.get_by_role("link", name="LBP-001", exact=True)).to_be_visible()
    expect(main).not_to_contain_text("LBP-901")
    expect(main).not_to_contain_text("SITE-B")
    page.get_by_label("Study ID (or part of it)").fill("901")
    page.get_by_role("button", name="Search").click()
    expect(main.get_by_text("No participants match.")).to_be_visible()

    desk.go(page, "participants/LBP-901")
    expect(main.get_by_role("alert")).to_contain_text("No participant LBP-901 at your sites.")
    expect(main).not_to_contain_text("site B only")
    desk.go(page, f"flags/{b_flag}")
    expect(main.get_by_role("alert")).to_contain_text(f"No flag {b_flag} at your sites.")
    desk.go(page, "enroll")
    expect(page.get_by_label("Site").locator("option")).to_have_text(["SITE-A"])
    desk.go(page, "audit")  # admins only: the inbox opens instead
    expect(page.get_by_role("heading", level=1, name="Flags")).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Console").get_by_role("link", name="Audit")
    ).to_be_hidden()

    for name in ("entries.csv", "flags.csv", "adherence.csv", "doses.csv", "adverse_events.csv"):
        response = page.request.get(f"{desk.server.url}/api/v1/staff/exports/{name}")
        assert response.ok, name
        assert "LBP-901" not in response.text() and "SITE-B" not in response.text(), name
    rows = list(
        csv.DictReader(
            io.StringIO(
                page.request.get(f"{desk.server.url}/api/v1/staff/exports/entries.csv").text()
            )
        )
    )
    assert {r["study_id"] for r in rows} == {"LBP-001"}


def test_entry_corrected_after_its_window_shows_old_values_reason_and_who(
    desk, make_staff, study, snap
):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    study.participant("LBP-001", days_ago=6)
    study.entry("LBP-001", 4, back=6, leg=2, doses=(("oxycodone", 10, 10),), note="took ten")
    page = desk.page()
    desk.sign_in(page, "coord@a.test", route="#/participants/LBP-001")
    entries = page.get_by_role("region", name="Diary entries")
    day = study.db.execute("SELECT date FROM entries").fetchone()[0]
    expect(entries.get_by_role("row")).to_have_count(2)
    expect(entries).to_contain_text("150")  # 10 mg × 10 × 1.5
    entries.get_by_role("button", name=re.compile("^Correct the entry of")).click()
    form = page.get_by_role("form", name=re.compile("^Correct the entry of"))
    form.get_by_role("group", name="Medicine 1").get_by_label("Units taken").fill("1")
    form.get_by_label("Back pain (0–10)").select_option("5")
    form.get_by_role("button", name="Save the correction").click()
    expect(form.get_by_role("alert")).to_contain_text("Give the reason")
    form.get_by_label("Reason for the correction (required)").fill(
        "Participant confirmed by phone: one tablet, not ten."
    )
    snap(page, "entry-correction")
    form.get_by_role("button", name="Save the correction").click()
    expect(page.get_by_role("main").get_by_text(re.compile("was corrected"))).to_be_visible()

    row = entries.get_by_role("row").nth(1)
    expect(row).to_contain_text("15")
    row.get_by_text(re.compile("1 correction")).click()
    expect(row).to_contain_text("Participant confirmed by phone: one tablet, not ten.")
    expect(row).to_contain_text("coord@a.test")
    old = row.locator("td.old")
    expect(old.first).to_be_visible()
    assert any("6" == t.strip() for t in old.all_text_contents())  # the old back pain
    snap(page, "entry-corrections")
    version, back = study.db.execute(
        "SELECT version, back_pain FROM entries WHERE date = ?", [day]
    ).fetchone()
    assert (version, back) == (2, 5)


def test_investigator_records_an_adverse_event_no_flag_raised(desk, make_staff, study, snap):
    make_staff("doc@a.test", "investigator", ("SITE-A",))
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    study.participant("LBP-001", days_ago=10)

    coord = desk.page()
    desk.sign_in(coord, "coord@a.test", route="#/participants/LBP-001")
    expect(coord.get_by_text("Investigators record adverse events.")).to_be_visible()
    expect(coord.get_by_role("button", name="Record an adverse event")).to_have_count(0)

    page = desk.page()
    desk.sign_in(page, "doc@a.test", route="#/participants/LBP-001")
    page.get_by_role("button", name="Record an adverse event").click()
    form = page.get_by_role("form", name="Record an adverse event")
    form.get_by_label("Source").select_option("clinical_exam")
    form.get_by_label("Term").fill("Lumbar muscle spasm")
    onset = (clock.local_date(clock.now(), "America/Chicago") - timedelta(days=3)).isoformat()
    form.get_by_label("Onset date").fill(onset)
    form.get_by_label("CTCAE grade").select_option("2")
    form.get_by_role("group", name="Serious adverse event?").get_by_role("radio", name="No").check()
    form.get_by_label("Relatedness to the study treatment").select_option("unlikely")
    form.get_by_label("Note").fill("Found at the month-1 visit.")
    snap(page, "adverse-event-form")
    form.get_by_role("button", name="Record the adverse event").click()
    expect(page.get_by_role("main").get_by_text("Adverse event recorded.")).to_be_visible()
    events = page.get_by_role("region", name="Adverse events")
    expect(events).to_contain_text("Lumbar muscle spasm")
    expect(events).to_contain_text("Clinical exam")
    expect(events).to_contain_text("doc@a.test")
    row = study.db.execute(
        "SELECT source, term, onset_date, ctcae_grade, serious, related, flag_id FROM adverse_events"
    ).fetchone()
    assert tuple(row) == ("clinical_exam", "Lumbar muscle spasm", onset, 2, 0, "unlikely", None)


def test_reissued_code_comes_with_a_new_printable_sheet(desk, make_staff, study, new_client):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    old = study.participant("LBP-001", days_ago=1)
    assert new_client().post("participant/activate", {"code": old}).status_code == 200
    page = desk.page(DESK)
    desk.sign_in(page, "coord@a.test", route="#/participants/LBP-001")
    profile = page.get_by_role("region", name="Profile")
    expect(profile.get_by_text("unused, expires")).to_have_count(0)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Re-issue activation code").click()
    # The profile says at once that a new code waits, without a reload.
    expect(profile.get_by_text("unused, expires")).to_be_visible()
    sheet = page.get_by_role("region", name="Your pain diary")
    expect(sheet).to_contain_text("LBP-001")
    new = sheet.locator(".sheet-code").inner_text().strip()
    assert new and new != old
    expect(sheet.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    expect(
        page.get_by_role("main").get_by_text("The previous code no longer works.")
    ).to_be_visible()


def test_admin_browses_the_audit_trail_by_object_and_actor(desk, make_staff, study):
    make_staff("admin@study.test", "admin", ())
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    study.participant("LBP-001", days_ago=2)
    study.entry("LBP-001", 1, symptoms=("fever",))
    flag = study.flag_id("LBP-001", "red_flag_symptom")
    coord = desk.page()
    desk.sign_in(coord, "coord@a.test", route=f"#/flags/{flag}")
    coord.get_by_role("button", name="Acknowledge").click()
    expect(coord.get_by_role("main").get_by_text("Flag acknowledged.")).to_be_visible()

    page = desk.page()
    desk.sign_in(page, "admin@study.test", route="#/audit")
    expect(page.get_by_text(re.compile(r"Hash chain intact: \d+ rows checked\."))).to_be_visible()
    page.get_by_label("Object type").select_option("flag")
    page.get_by_label("Object ID").fill(str(flag))
    page.get_by_role("button", name="Show").click()
    rows = page.get_by_role("main").get_by_role("table").get_by_role("row")
    expect(rows.filter(has_text="flag.acknowledge")).to_have_count(1)
    expect(page).to_have_url(re.compile(rf"#/audit\?object_type=flag&object_id={flag}"))
    # Every row now is about that flag.
    for text in rows.locator("td:nth-child(5)").all_text_contents():
        assert text.strip() == f"Flag {flag}"

    rows.filter(has_text="flag.acknowledge").get_by_role("link", name=re.compile("^staff ")).click()
    expect(page.get_by_label("Actor type")).to_have_value("staff")
    expect(rows.filter(has_text="staff.login").first).to_be_visible()
    for text in rows.locator("td:nth-child(3)").all_text_contents():
        assert "coord@a.test" in text


def test_thirty_idle_minutes_in_the_browser_sign_out_and_keep_the_draft(desk, make_staff, study):
    make_staff("doc@a.test", "investigator", ("SITE-A",))
    study.participant("LBP-001", days_ago=2)
    study.entry("LBP-001", 1, symptoms=("severe_headache",))
    flag = study.flag_id("LBP-001", "red_flag_symptom")
    page = desk.page()
    page.clock.install()
    desk.sign_in(page, "doc@a.test", route=f"#/flags/{flag}")
    page.get_by_role("radio", name="Not an adverse event").check()
    page.get_by_label("Note").fill("Tension headache, known migraine history;")

    page.clock.run_for("29:00")
    expect(page.get_by_role("heading", level=1, name="Red-flag symptom – LBP-001")).to_be_visible()
    page.clock.run_for("02:00")
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("signed out after 30 minutes without activity")
    assert desk.server.count("POST", "/api/v1/staff/logout") == 1  # the server session ends too

    desk.sign_in(page, "doc@a.test")
    expect(page.get_by_text("Your unsaved resolution was restored.")).to_be_visible()
    expect(page.get_by_role("radio", name="Not an adverse event")).to_be_checked()
    expect(page.get_by_label("Note")).to_have_value("Tension headache, known migraine history;")


def test_the_browser_times_out_by_the_servers_idle_timeout(desk, make_staff, study):
    study.app.config["STAFF_IDLE_TIMEOUT"] = timedelta(minutes=10)
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    page = desk.page()
    page.clock.install()
    desk.sign_in(page, "coord@a.test")
    expect(page.get_by_role("heading", level=1, name="Flags")).to_be_visible()
    page.clock.run_for("11:00")
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("signed out after 10 minutes without activity")
