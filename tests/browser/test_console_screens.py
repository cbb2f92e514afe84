# ruff: noqa: F811 - the fixtures imported from test_console_support are parameters here
"""Each console screen at 1280×800 and 360×740: reachable by its URL, photographed,
and free of serious or critical axe-core violations; the participant charts."""

from __future__ import annotations

import re

import pytest
from app_support import protocol_changed
from playwright.sync_api import expect
from test_console_support import DESK, PHONE, desk, serious_violations, snap, study  # noqa: F401

pytestmark = pytest.mark.browser

SIZES = {"1280x800": DESK, "360x740": PHONE}


@pytest.mark.parametrize("size", SIZES)
def test_every_screen_is_accessible_and_photographed(size, desk, make_staff, study, snap):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    make_staff("admin@study.test", "admin", ())
    study.busy_participant("LBP-001")
    study.participant("LBP-002", days_ago=3)
    fever = study.flag_id("LBP-001", "red_flag_symptom")
    page = desk.page(SIZES[size])

    def check(name, *, full=False):
        page.wait_for_load_state("networkidle")
        snap(page, f"{name}-{size}")
        if full:
            snap(page, f"{name}-{size}-full", full_page=True)
        assert serious_violations(page) == [], name

    page.goto(f"{desk.server.url}/staff/")
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    check("signin")

    desk.sign_in(page, "coord@a.test")
    expect(page.get_by_role("heading", level=1, name="Flags")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="LBP-001").first).to_be_visible()
    check("flags", full=True)

    desk.go(page, f"flags/{fever}")
    expect(page.get_by_role("heading", level=1, name="Red-flag symptom – LBP-001")).to_be_visible()
    expect(
        page.get_by_role("region", name="Notifications sent for this flag").get_by_role("table")
    ).to_be_visible()
    check("flag", full=True)

    desk.go(page, "participants")
    expect(page.get_by_role("link", name="LBP-002")).to_be_visible()
    check("participants", full=True)

    desk.go(page, "participants/LBP-001")
    expect(page.get_by_role("img", name=re.compile("^Daily MME of LBP-001"))).to_be_visible()
    expect(page.get_by_role("region", name="Diary entries").get_by_role("row")).to_have_count(
        12
    )  # header + 11
    check("participant", full=True)

    desk.go(page, "enroll")
    expect(page.get_by_role("heading", level=1, name="Enroll a participant")).to_be_visible()
    check("enroll")

    desk.go(page, "exports")
    expect(page.get_by_role("link", name="Download sdtm.zip")).to_be_visible()
    check("exports")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    desk.sign_in(page, "admin@study.test", route="#/audit")
    expect(page.get_by_role("heading", level=1, name="Audit trail")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Hash chain intact: \d+ rows checked"))).to_be_visible()
    check("audit", full=True)


def test_participant_charts_show_baselines_the_50_mme_line_and_flags(desk, make_staff, study, snap):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    study.busy_participant("LBP-001")
    page = desk.page()
    desk.sign_in(page, "coord@a.test", route="#/participants/LBP-001")

    mme = page.get_by_role("img", name=re.compile("^Daily MME of LBP-001"))
    expect(mme).to_be_visible()
    threshold = mme.locator(".chart-ref.threshold")
    expect(threshold.locator("text")).to_have_text("50 MME")
    expect(mme.locator(".chart-ref.baseline text")).to_have_text("Baseline 10 MME")
    # Three days of oxycodone 20 mg × 2 (60 MME) reach above the 50 MME line; the rest below.
    line_y = float(threshold.locator("line").get_attribute("y1"))
    tops = sorted(
        float(y)
        for y in mme.locator(".chart-bars rect").evaluate_all(
            "rs => rs.map(r => r.getAttribute('y'))"
        )
    )
    assert len(tops) == 11
    assert max(tops[:3]) < line_y < min(tops[3:])
    expect(mme).to_have_attribute("aria-labelledby", re.compile(".+"))
    expect(mme.locator("desc")).to_contain_text("3 days above 50 MME")

    pain = page.get_by_role("img", name=re.compile("^Pain of LBP-001"))
    expect(pain.locator(".chart-ref.baseline text")).to_have_text("Baseline back pain 4")
    assert pain.locator(".chart-line.back circle").count() == 11
    # Each flag of the period is marked on the time axis, with what it is.
    markers = pain.locator(".chart-marker title")
    flags = study.db.execute("SELECT count(*) FROM flags").fetchone()[0]
    assert flags >= 4
    expect(markers).to_have_count(flags)
    titles = " | ".join(markers.all_text_contents())
    for text in (
        "Urgent flag: Red-flag symptom",
        "High flag: Pain flare",
        "Opioid use above threshold",
        "Missed entries",
    ):
        assert text in titles
    snap(page, "participant-charts")

    # The 90-day view still starts at the first injection.
    page.get_by_label("Period").select_option("90")
    expect(page).to_have_url(re.compile(r"#/participants/LBP-001\?days=90$"))
    expect(page.get_by_role("img", name=re.compile("^Pain of LBP-001"))).to_be_visible()


def test_the_console_draws_the_protocols_thresholds_not_its_own(desk, make_staff, study):
    """A protocol with another high-MME threshold and fever mark changes the chart line
    and the entries' temperature mark, with no change to the console's code."""
    with protocol_changed(study.app, thresholds={"mme_high": 55, "fever_c": 38.5}):
        make_staff("coord@a.test", "coordinator", ("SITE-A",))
        study.busy_participant("LBP-001")
        page = desk.page()
        desk.sign_in(page, "coord@a.test", route="#/participants/LBP-001")
        mme = page.get_by_role("img", name=re.compile("^Daily MME of LBP-001"))
        expect(mme.locator(".chart-ref.threshold text")).to_have_text("55 MME")
        expect(mme.locator("desc")).to_contain_text("3 days above 55 MME")
        expect(page.get_by_text("and the 55 MME line")).to_be_visible()
        temperature = page.get_by_role("listitem").filter(has_text="Temperature 38.4 °C")
        expect(temperature).to_have_count(1)
        expect(temperature).not_to_have_class(re.compile(r"\bred\b"))


def test_the_console_shows_the_protocols_symptom_words(desk, make_staff, study):
    """A symptom relabelled in the protocol shows with its new words in the console."""
    with protocol_changed(study.app, labels={"fever": "Fever, as the protocol words it"}):
        make_staff("coord@a.test", "coordinator", ("SITE-A",))
        study.busy_participant("LBP-001")
        page = desk.page()
        desk.sign_in(page, "coord@a.test", route="#/participants/LBP-001")
        expect(page.get_by_text("Fever, as the protocol words it").first).to_be_visible()
