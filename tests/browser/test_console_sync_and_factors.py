# ruff: noqa: F811 - the fixtures imported from test_console_support are parameters here
"""The console tells an entry synced late from one received in time (in words, not
colour alone), and shows each MME conversion factor with its source."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
from playwright.sync_api import expect
from test_console_support import PHONE, TIMEZONE, desk, serious_violations, snap, study  # noqa: F401

from diary import audit, clock
from diary.entries.schemas import EntryIn
from diary.entries.service import put_entry

pytestmark = pytest.mark.browser


def entry_synced_late(study, study_id: str, days_ago: int):
    """Made on the phone at 21:00 on its day, received at 15:00 the next day (offline)."""
    day = clock.local_date(clock.now(), TIMEZONE) - timedelta(days=days_ago)
    zone = clock.zone(TIMEZONE)
    made = datetime.combine(day, time(21, 0), zone)
    received = datetime.combine(day + timedelta(days=1), time(15, 0), zone)
    pid = study.db.execute("SELECT id FROM participants WHERE study_id = ?", [study_id]).fetchone()
    with study.app.app_context():
        body = EntryIn().load(
            {
                "client_id": str(uuid.uuid4()),
                "back_pain": 6,
                "leg_pain": 3,
                "device_time": made.isoformat(),
            }
        )
        put_entry(
            study.db,
            study.app.extensions["diary.study"],
            participant_id=pid[0],
            day=day,
            body=body,
            actor=audit.Actor("participant", str(pid[0]), study_id),
            now=received.astimezone(UTC),
        )
    return day


@pytest.mark.parametrize("size", [None, PHONE], ids=["desk", "phone"])
def test_an_entry_synced_late_is_labelled_and_every_factor_names_its_source(
    size, desk, make_staff, study, snap
):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    study.participant("LBP-001", days_ago=6)
    study.entry("LBP-001", 4)
    late_day = entry_synced_late(study, "LBP-001", 3)
    assert study.db.execute("SELECT date, synced_late FROM entries ORDER BY date").fetchall() == [
        ((late_day - timedelta(days=1)).isoformat(), 0),
        (late_day.isoformat(), 1),
    ]
    page = desk.page(size) if size else desk.page()
    name = "desk" if size is None else "phone"
    desk.sign_in(page, "coord@a.test", route="#/participants/LBP-001")

    entries = page.get_by_role("region", name="Diary entries")
    expect(entries.get_by_role("row")).to_have_count(3)
    expect(entries).to_contain_text("1 synced late (made in time on the phone")
    synced = entries.get_by_role("row").filter(has_text="Synced late")
    expect(synced).to_have_count(1)
    expect(synced).to_contain_text("received after the entry window closed")
    expect(synced).to_contain_text(str(late_day.day))

    charts = page.get_by_role("region", name="Pain and opioid use")
    charts.get_by_text("How the daily MME is calculated").click()
    factors = charts.get_by_role("table", name="MME conversion factors and their sources")
    expect(factors.get_by_role("row")).to_have_count(13)  # header + 12 drugs
    dihydrocodeine = factors.get_by_role("row").filter(has_text="Dihydrocodeine")
    expect(dihydrocodeine).to_contain_text("0.25 MME per mg")
    expect(dihydrocodeine).to_contain_text("analytic file")
    oxycodone = factors.get_by_role("row").filter(has_text=re.compile("^Oxycodone"))
    expect(oxycodone).to_contain_text("Clinical Practice Guideline for Prescribing Opioids")
    expect(factors.get_by_role("row").filter(has_text="Buprenorphine")).to_contain_text(
        "Not converted"
    )
    page.wait_for_load_state("networkidle")
    snap(page, f"participant-synced-late-{name}", full_page=True)
    assert serious_violations(page) == []

    desk.go(page, "exports")
    expect(page.get_by_role("heading", level=1, name="Exports")).to_be_visible()
    listed = page.get_by_role("region", name="MME conversion factors").get_by_role("table")
    expect(listed.get_by_role("row").filter(has_text="Dihydrocodeine")).to_contain_text(
        "not in the CDC 2022 guideline table"
    )
    expect(page.get_by_role("main")).to_contain_text("synced_late")
    snap(page, f"exports-factors-{name}", full_page=True)
    assert serious_violations(page) == []
