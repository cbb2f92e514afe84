# ruff: noqa: F811 - the fixtures imported from test_console_support are parameters here
"""Issue 7 end to end: enroll in the console, the participant activates and
reports a fever, the coordinator acknowledges, an investigator confirms an
adverse event, and the exports hold it with those values."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from playwright.sync_api import expect
from test_console_support import FEVER, PHONE, desk, serious_violations, snap  # noqa: F401

pytestmark = pytest.mark.browser


def _enroll(page, study_id, *, back_pain="4", mme="10"):
    page.get_by_role("link", name="Enroll", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Enroll a participant")).to_be_visible()
    page.get_by_label("Study ID").fill(study_id)
    page.get_by_label("Baseline back pain (0–10)").fill(back_pain)
    page.get_by_label("Baseline opioid use (MME per day)").fill(mme)
    page.get_by_role("button", name="Enroll and create the activation code").click()
    sheet = page.get_by_role("region", name="Your pain diary")
    expect(sheet).to_be_visible()
    return sheet


def test_enrolled_participant_reports_fever_and_staff_confirm_an_adverse_event(
    desk, make_staff, pwa, snap
):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    make_staff("doc@a.test", "investigator", ("SITE-A",))

    # The coordinator enrolls LBP-101 and prints the sheet.
    coord = desk.page()
    desk.sign_in(coord, "coord@a.test")
    sheet = _enroll(coord, "LBP-101")
    expect(sheet.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    code = sheet.locator(".sheet-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9-]{10,}", code), code
    assert coord.locator("img.qr").evaluate("img => img.naturalWidth > 0")
    snap(coord, "enroll-sheet")
    coord.emulate_media(media="print")
    snap(coord, "enroll-sheet-print")
    expect(coord.get_by_role("button", name="Print this page for the participant")).to_be_hidden()
    coord.emulate_media(media="screen")

    # The participant types the printed code into the PWA and reports a fever.
    phone = desk.context(PHONE).new_page()
    phone.goto(f"{desk.server.url}/#/activate")
    phone.get_by_label("Activation code").fill(code)
    phone.get_by_role("button", name="Activate my diary").click()
    expect(phone.get_by_role("heading", level=1, name="Today")).to_be_visible()
    pwa.fill(phone, back=5, leg=2, doses=(), symptoms=(FEVER,))
    phone.get_by_role("button", name="Save today's diary").click()
    phone.get_by_role("alertdialog").get_by_role("button", name="I understand").click()
    expect(phone.get_by_role("main").get_by_text("Today's diary is done.")).to_be_visible()

    # The coordinator's inbox shows the urgent flag after a reload; acknowledge it.
    coord.get_by_role("link", name="Flags", exact=True).click()
    coord.reload()
    row = coord.get_by_role("row").filter(has_text="LBP-101")
    expect(row).to_have_count(1)
    expect(row.get_by_text("Urgent", exact=True)).to_be_visible()
    expect(row.get_by_role("link", name="Red-flag symptom")).to_be_visible()
    expect(row).to_contain_text("Fever or chills")
    snap(coord, "flags-urgent")
    row.get_by_role("button", name="Acknowledge red-flag symptom flag of LBP-101").click()
    expect(row.get_by_text("Acknowledged", exact=True)).to_be_visible()
    expect(coord.get_by_role("main").get_by_role("status").first).to_contain_text("acknowledged")

    # A coordinator cannot resolve a clinical flag: no such button, a line says who can.
    row.get_by_role("link", name=re.compile("^View")).click()
    expect(coord.get_by_role("heading", level=1, name="Red-flag symptom – LBP-101")).to_be_visible()
    expect(coord.get_by_role("button", name="Resolve flag")).to_have_count(0)
    expect(
        coord.get_by_text("Investigators record the outcome of this clinical flag")
    ).to_be_visible()

    # The investigator resolves it as an adverse event, grade 2, not serious.
    doc = desk.page()
    desk.sign_in(doc, "doc@a.test")
    doc.get_by_role("row").filter(has_text="LBP-101").get_by_role(
        "link", name=re.compile("^Resolve")
    ).click()
    expect(doc.get_by_role("heading", level=1, name="Red-flag symptom – LBP-101")).to_be_visible()
    notes = doc.get_by_role("region", name="Notifications sent for this flag")
    expect(notes.get_by_text("coord@a.test (coordinator)")).to_be_visible()
    expect(notes.get_by_text("doc@a.test (investigator)")).to_be_visible()
    doc.get_by_role("radio", name="Adverse event", exact=True).check()
    doc.get_by_label("CTCAE grade").select_option("2")
    doc.get_by_role("group", name="Serious adverse event?").get_by_role("radio", name="No").check()
    doc.get_by_label("Relatedness to the study treatment").select_option("possible")
    doc.get_by_label("Note").fill(
        "Fever 38.6 °C on day 0; seen in clinic, settled with paracetamol."
    )
    snap(doc, "flag-resolve")
    assert serious_violations(doc) == []
    doc.get_by_role("button", name="Resolve flag").click()
    expect(
        doc.get_by_role("main").get_by_text("Flag resolved as an adverse event, grade 2.")
    ).to_be_visible()
    ae = doc.locator(".ae-box")
    expect(ae).to_contain_text("Grade 2 – moderate")
    expect(ae).to_contain_text("Possible")
    expect(ae).to_contain_text("doc@a.test")
    snap(doc, "flag-resolved", full_page=True)

    # The exports hold it, with those values (downloaded with the console's session).
    base = f"{desk.server.url}/api/v1/staff/exports"
    response = doc.request.get(f"{base}/adverse_events.csv")
    assert response.ok, response.text()
    [event] = [
        r for r in csv.DictReader(io.StringIO(response.text())) if r["study_id"] == "LBP-101"
    ]
    assert event["ctcae_grade"] == "2"
    assert event["serious"].lower() in ("false", "0", "no", "n")
    assert event["related"] == "possible"

    response = doc.request.get(f"{base}/sdtm.zip")
    assert response.ok
    with zipfile.ZipFile(io.BytesIO(response.body())) as package:
        name = next(
            n
            for n in package.namelist()
            if n.upper().endswith("AE.CSV") and "SUPP" not in n.upper()
        )
        rows = list(csv.DictReader(io.StringIO(package.read(name).decode("utf-8-sig"))))
    [ae_row] = [r for r in rows if r["USUBJID"].endswith("LBP-101")]
    assert ae_row["AETOXGR"] == "2"
    assert ae_row["AESER"] == "N"

    # The export links on the Exports screen point at the same files.
    coord.get_by_role("link", name="Exports", exact=True).click()
    with coord.expect_download() as download:
        coord.get_by_role("link", name="Download adverse_events.csv").click()
    assert download.value.suggested_filename.endswith(".csv")
    assert "adverse_events" in download.value.suggested_filename
