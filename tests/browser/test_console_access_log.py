# ruff: noqa: F811 - the fixtures imported from test_console_support are parameters here
"""The access log screen: an admin sees who read which participant's record, filters it
by participant, downloads it; site staff have neither the link nor the screen."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect
from test_console_support import desk, serious_violations, snap, study  # noqa: F401

pytestmark = pytest.mark.browser


def test_an_admin_sees_a_coordinators_read_and_filters_by_participant(
    desk, make_staff, study, snap
):
    make_staff("coord@a.test", "coordinator", ("SITE-A",), full_name="Casey Coordinator")
    make_staff("admin@study.test", "admin", ())
    study.participant("LBP-001", days_ago=3)
    study.participant("LBP-002", days_ago=3)

    coordinator = desk.page()
    desk.sign_in(coordinator, "coord@a.test")
    expect(coordinator.get_by_role("link", name="Access log")).to_be_hidden()
    desk.go(coordinator, "participants/LBP-001")
    expect(coordinator.get_by_role("heading", level=1, name=re.compile("LBP-001"))).to_be_visible()
    coordinator.wait_for_load_state("networkidle")
    desk.go(coordinator, "participants/LBP-002")
    expect(coordinator.get_by_role("heading", level=1, name=re.compile("LBP-002"))).to_be_visible()
    coordinator.wait_for_load_state("networkidle")
    desk.go(coordinator, "access")  # not theirs: back to the inbox
    expect(coordinator.get_by_role("heading", level=1, name="Flags")).to_be_visible()

    page = desk.page()
    desk.sign_in(page, "admin@study.test")
    page.get_by_role("link", name="Access log").click()
    expect(page.get_by_role("heading", level=1, name="Access log")).to_be_visible()
    log = page.get_by_role("table", name="Access log, newest first")
    reads = log.get_by_role("row").filter(has_text="Read a participant's record")
    first = reads.filter(has_text="LBP-001").filter(has_text="participants/<study_id>").first
    expect(first).to_contain_text("Casey Coordinator")
    expect(first).to_contain_text("SITE-A")
    expect(first).to_contain_text("127.0.0.1")
    expect(reads.filter(has_text="LBP-002").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    snap(page, "access-log-1280x800", full_page=True)
    assert serious_violations(page) == []

    page.get_by_label("Participant (study ID)").fill("LBP-002")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"#/access\?participant=LBP-002$"))
    expect(log.get_by_role("row").filter(has_text="LBP-001")).to_have_count(0)
    expect(reads.filter(has_text="LBP-002").first).to_be_visible()

    with page.expect_download() as waited:
        page.get_by_role("link", name="Download CSV").click()
    download = waited.value
    assert re.search(r"access_log.*\.csv$", download.suggested_filename)
    with open(download.path(), encoding="utf-8") as file:
        rows = list(csv.DictReader(io.StringIO(file.read())))
    assert rows and {r["participant"] for r in rows} == {"LBP-002"}
    assert "Casey Coordinator" in {r["staff_name"] for r in rows}


def test_a_bad_date_range_is_named_on_the_field(desk, make_staff):
    make_staff("admin@study.test", "admin", ())
    page = desk.page()
    desk.sign_in(page, "admin@study.test", route="#/access")
    expect(page.get_by_role("heading", level=1, name="Access log")).to_be_visible()
    page.get_by_label("From").fill("2026-03-04")
    page.get_by_label("To").fill("2026-03-03")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_label("To")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("must not be before the first date").first).to_be_visible()
