# ruff: noqa: F811 - the fixtures imported from test_console_support are parameters here
"""Long lists in the console, a page at a time, with date filters: a 24-month diary's
730 entries, participants, the audit trail (its object types from the server, each
change as "field: old → new"), exports by site and dates; counts in words that fit
them, an MME chart only where there are opioids, a summary that names only dates with
an entry, and time zones chosen by country and city from the server's list."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

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

SIZES = {"1280x800": DESK, "360x740": PHONE}


def today():
    return clock.local_date(clock.now(), TIMEZONE)


def long_text(day) -> str:
    """A date as the console writes it (en-US): Dec 7, 2026."""
    return f"{day:%b} {day.day}, {day.year}"


def entries_region(page):
    return page.get_by_role("region", name="Diary entries")


@pytest.mark.parametrize("size", SIZES)
def test_a_24_month_diary_pages_by_50_and_filters_by_dates(size, desk, make_staff, study, snap):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    study.participant("LBP-001", days_ago=730)
    for ago in range(730, 0, -1):
        study.entry("LBP-001", ago, back=3 + ago % 5, leg=2)
    page = desk.page(SIZES[size])
    desk.sign_in(page, "coord@a.test", route="#/participants/LBP-001")
    region = entries_region(page)
    rows = region.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(51)  # a header and the 50 newest
    newest, oldest_shown = today() - timedelta(days=1), today() - timedelta(days=50)
    expect(region).to_contain_text(
        f"Showing the 50 newest of 730 entries, newest first: {long_text(oldest_shown)} –"
        f" {long_text(newest)}"
    )
    expect(region.get_by_text("Showing 50 of 730 entries.")).to_be_visible()
    assert serious_violations(page) == []
    page.evaluate("document.getElementById('p-entries').scrollIntoView()")
    snap(page, f"entries-paged-{size}")

    region.get_by_role("button", name="Show 50 more entries").click()
    expect(rows).to_have_count(101)
    expect(region.get_by_text("Showing 100 of 730 entries.")).to_be_visible()
    # The first of the new rows takes the focus, so the reader carries on from there.
    expect(page.locator("tr:focus-within")).to_contain_text(long_text(today() - timedelta(days=51)))

    first = today() - timedelta(days=200)
    region.get_by_label("Entries from").fill(first.isoformat())
    region.get_by_label("Entries to").fill((first + timedelta(days=29)).isoformat())
    region.get_by_role("button", name="Show entries").click()
    expect(rows).to_have_count(31)
    expect(region).to_contain_text(
        f"All 30 entries between these dates, newest first: {long_text(first)} –"
        f" {long_text(first + timedelta(days=29))}"
    )
    expect(region.get_by_role("button", name=re.compile("^Show .* more"))).to_have_count(0)
    # The charts keep their own period: a year at most, read in one page.
    page.get_by_label("Period").select_option("365")
    pain = page.get_by_role("img", name=re.compile("^Pain of LBP-001"))
    expect(pain.locator(".chart-line.back circle")).to_have_count(364)  # today: no entry yet
    assert serious_violations(page) == []
    region.scroll_into_view_if_needed()
    snap(page, f"entries-filtered-{size}")


def test_the_summary_names_only_dates_with_an_entry_and_no_entries_says_so(desk, make_staff, study):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    study.participant("LBP-001", days_ago=5)
    for ago in (4, 3, 2):
        study.entry("LBP-001", ago)
    study.participant("LBP-002", days_ago=0)
    page = desk.page()
    desk.sign_in(page, "coord@a.test", route="#/participants/LBP-001")
    region = entries_region(page)
    # Days 5, 1 and today have no entry: the sentence names the first and last entry.
    expect(region).to_contain_text(
        f"All 3 entries, newest first: {long_text(today() - timedelta(days=4))} –"
        f" {long_text(today() - timedelta(days=2))}"
    )
    assert long_text(today()) not in region.inner_text()

    desk.go(page, "participants/LBP-002")
    region = entries_region(page)
    expect(region).to_contain_text(f"No entries yet. The diary starts on {long_text(today())}")
    expect(region).not_to_contain_text("0 entries")


def test_a_period_with_no_opioids_says_so_instead_of_an_empty_mme_axis(
    desk, make_staff, study, snap
):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    study.participant("LBP-001", days_ago=6, mme=0)
    for ago in range(6, 0, -1):
        study.entry("LBP-001", ago)
    study.participant("LBP-002", days_ago=6, mme=10)
    study.entry("LBP-002", 2, doses=[("oxycodone", 5, 1)])
    page = desk.page()
    desk.sign_in(page, "coord@a.test", route="#/participants/LBP-001")
    expect(page.get_by_role("img", name=re.compile("^Pain of LBP-001"))).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("^Daily MME"))).to_have_count(0)
    note = page.get_by_text("No opioids in this period: none of its 6 entries reports one.")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Baseline 0 MME per day.")
    snap(page, "participant-no-opioids", full_page=True)
    # With opioids the chart is there, its axis scaled to the protocol's line.
    desk.go(page, "participants/LBP-002")
    mme = page.get_by_role("img", name=re.compile("^Daily MME of LBP-002"))
    expect(mme).to_be_visible()


def test_counts_are_written_in_words_that_fit_them(desk, make_staff, study):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    study.participant("LBP-001", days_ago=4)
    study.entry("LBP-001", 4)
    study.entry("LBP-001", 2)  # day 3 back is missed: one date
    study.entry("LBP-001", 1)
    study.close_days()
    page = desk.page()
    desk.sign_in(page, "coord@a.test", route="#/participants/LBP-001")
    flags = page.get_by_role("region", name="Flags")
    expect(flags).to_contain_text("1 diary date without an entry")
    main = page.get_by_role("main")
    expect(main.get_by_role("table", name="Diary entries of LBP-001")).to_be_visible()
    assert "(s)" not in main.inner_text()
    desk.go(page, "flags")
    expect(page.get_by_role("main")).to_contain_text("1 diary date without an entry")
    assert "(s)" not in page.get_by_role("main").inner_text()


@pytest.mark.parametrize("size", SIZES)
def test_participants_page_by_50_and_filter_by_the_first_injection(
    size, desk, make_staff, enroll, snap
):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    for n in range(1, 61):
        enroll(f"LBP-{n:03d}", injection_date=today() - timedelta(days=n % 30))
    page = desk.page(SIZES[size])
    desk.sign_in(page, "coord@a.test", route="#/participants")
    main = page.get_by_role("main")
    rows = main.get_by_role("table", name="Participants").get_by_role("row")
    expect(rows).to_have_count(51)
    expect(main.get_by_text("Showing 50 of 60 participants.")).to_be_visible()
    assert serious_violations(page) == []
    snap(page, f"participants-paged-{size}")
    main.get_by_role("button", name="Show 10 more participants").click()
    expect(rows).to_have_count(61)
    expect(main.get_by_text("All 60 participants shown.")).to_be_visible()
    expect(page.locator("tr:focus-within")).to_contain_text("LBP-051")

    # Day 0 between 3 and 4 days ago: LBP-003, -004, -033, -034.
    main.get_by_label("First injection from").fill((today() - timedelta(days=4)).isoformat())
    main.get_by_label("First injection to").fill((today() - timedelta(days=3)).isoformat())
    main.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(5)
    expect(main.get_by_text("All 4 participants shown.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"#/participants\?from=\d{4}-\d\d-\d\d&to="))
    assert serious_violations(page) == []
    snap(page, f"participants-filtered-{size}")


@pytest.mark.parametrize("size", SIZES)
def test_the_audit_trail_reads_changes_in_words_by_type_and_dates(
    size, desk, make_staff, study, snap
):
    make_staff("admin@study.test", "admin", ())
    study.participant("LBP-001", days_ago=3)
    study.entry("LBP-001", 2, back=4, doses=[("oxycodone", 5, 2)])
    study.entry(
        "LBP-001", 2, back=7, doses=[("oxycodone", 10, 2)], reason="typed 4, meant 7"
    )  # a correction inside the window
    page = desk.page(SIZES[size])
    desk.sign_in(page, "admin@study.test", route="#/audit")
    main = page.get_by_role("main")
    choice = main.get_by_label("Object type")
    # The types are the trail's own, named in words by the server.
    expect(choice.locator("option")).to_contain_text(["Any type", "Diary entry", "Participant"])
    choice.select_option(label="Diary entry")
    main.get_by_label("From date").fill((today() - timedelta(days=2)).isoformat())
    main.get_by_label("To date").fill((today() - timedelta(days=2)).isoformat())
    main.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"object_type=entry.*from=\d{4}"))
    table = main.get_by_role("table", name="Audit trail, newest first")
    rows = table.get_by_role("row")
    expect(rows).to_have_count(3)  # the correction, the entry made
    correction = rows.filter(has_text="entry.correct")
    expect(correction).to_contain_text("Reason: typed 4, meant 7")
    expect(correction.get_by_role("listitem").filter(has_text="Back pain:")).to_have_text(
        re.compile(r"Back pain: 4\s*→\s*(changed to\s*)?7")
    )
    expect(correction.get_by_role("listitem").filter(has_text="Doses:")).to_contain_text(
        "Oxycodone"
    )
    made = rows.filter(has_text="entry.create")
    expect(made.get_by_role("listitem").filter(has_text="Back pain:").first).to_have_text(
        "Back pain: 4"
    )
    for text in table.locator("td:nth-child(6)").all_text_contents():
        assert "{" not in text and '"' not in text  # no raw JSON
    assert "(s)" not in main.inner_text()
    assert serious_violations(page) == []
    snap(page, f"audit-readable-{size}", full_page=True)
    page.evaluate("document.querySelector('form.filters').scrollIntoView()")
    snap(page, f"audit-table-{size}")


def test_the_audit_trail_pages_back_a_hundred_rows_at_a_time(desk, make_staff, study):
    make_staff("admin@study.test", "admin", ())
    study.participant("LBP-001", days_ago=130)
    for ago in range(130, 0, -1):
        study.entry("LBP-001", ago)
    page = desk.page()
    desk.sign_in(page, "admin@study.test", route="#/audit?object_type=entry")
    main = page.get_by_role("main")
    expect(main.get_by_label("Object type")).to_have_value("entry")
    rows = main.get_by_role("table", name="Audit trail, newest first").get_by_role("row")
    expect(rows).to_have_count(101)
    main.get_by_role("button", name="Show 100 older rows").click()
    expect(rows).to_have_count(131)
    expect(main.get_by_text("Showing 130 rows.")).to_be_visible()
    expect(main.get_by_role("button", name="Show 100 older rows")).to_have_count(0)
    # The chain was checked with the first page; older pages keep what it said.
    expect(main.get_by_text(re.compile(r"Hash chain intact: \d+ rows checked\."))).to_be_visible()


@pytest.mark.parametrize("size", SIZES)
def test_exports_are_chosen_by_site_and_diary_dates(size, desk, make_staff, study, snap):
    make_staff("coord@ab.test", "coordinator", ("SITE-A", "SITE-B"))
    study.participant("LBP-001", days_ago=10)
    study.participant("LBP-201", site="SITE-B", days_ago=10)
    for ago in range(10, 0, -1):
        study.entry("LBP-001", ago)
        study.entry("LBP-201", ago)
    page = desk.page(SIZES[size])
    desk.sign_in(page, "coord@ab.test", route="#/exports")
    main = page.get_by_role("main")
    first, last = today() - timedelta(days=6), today() - timedelta(days=4)
    main.get_by_label("Site").select_option("SITE-A")
    main.get_by_label("Diary dates from").fill(first.isoformat())
    main.get_by_label("Diary dates to").fill(last.isoformat())
    expect(main.get_by_role("status")).to_have_text(
        f"The files hold site SITE-A, diary dates {long_text(first)} – {long_text(last)}."
    )
    expect(main.get_by_text("Only the entries dated in the range.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"#/exports\?site=SITE-A&from="))
    assert serious_violations(page) == []
    snap(page, f"exports-chosen-{size}")
    with page.expect_download() as got:
        main.get_by_role("link", name="Download entries.csv").click()
    download = got.value
    assert f"_SITE-A_{first}-to-{last}_" in download.suggested_filename
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text("utf-8"))))
    assert [(r["study_id"], r["date"]) for r in rows] == [
        ("LBP-001", str(first + timedelta(days=n))) for n in range(3)
    ]
    # Dates the wrong way round are said, and the files fall back to the whole diary.
    main.get_by_label("Diary dates to").fill((first - timedelta(days=1)).isoformat())
    expect(main.get_by_role("status")).to_contain_text("is before")
    href = main.get_by_role("link", name="Download entries.csv").get_attribute("href")
    assert "from=" not in href and "site=SITE-A" in href


@pytest.mark.parametrize("size", SIZES)
def test_enrolment_offers_the_servers_zones_by_country_and_city(
    size, desk, make_staff, study, snap
):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    page = desk.page(SIZES[size])
    desk.sign_in(page, "coord@a.test", route="#/enroll")
    main = page.get_by_role("main")
    country = main.get_by_label("Time zone: country or region")
    city = main.get_by_label("Time zone: city or area")
    expect(city).to_have_value("America/Chicago")  # the site's zone
    country.select_option(label="India")
    expect(city.locator("option")).to_have_count(1)
    expect(city).to_have_value("Asia/Kolkata")  # never the alias Asia/Calcutta
    # Every name offered is one the server takes: the list is the server's.
    offered = page.evaluate(
        "async () => { const r = await fetch('/api/v1/staff/timezones');"
        " const b = await r.json(); return b.countries.flatMap(c => c.zones.map(z => z.zone)); }"
    )
    assert "Asia/Calcutta" not in offered and "US/Central" not in offered
    assert "Asia/Kolkata" in offered
    main.get_by_label("Study ID").fill("LBP-050")
    main.get_by_label("Baseline back pain (0–10)").fill("4")
    main.get_by_label("Baseline opioid use (MME per day)").fill("0")
    main.get_by_text("Codeine", exact=True).click()  # the box is drawn on its label
    assert serious_violations(page) == []
    snap(page, f"enroll-zones-{size}", full_page=True)
    main.get_by_role("button", name="Enroll and create the activation code").click()
    expect(main.get_by_text("LBP-050 is enrolled.")).to_be_visible()
    zone, opioids = study.db.execute(
        "SELECT t.timezone, p.baseline_opioids FROM participants p"
        " JOIN participant_timezones t ON t.participant_id = p.id WHERE p.study_id = 'LBP-050'"
    ).fetchone()
    assert zone == "Asia/Kolkata" and opioids == '["codeine"]'
