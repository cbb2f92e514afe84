# ruff: noqa: F811 - the fixtures imported from test_console_support are parameters here
"""The flag inbox shows 50 flags at a time, in its working order, and the next ones on
request (a study's flags grow for two years)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from test_console_support import DESK, PHONE, desk, serious_violations, study  # noqa: F401

from diary import audit, clock
from diary.db import transaction
from diary.flags import episodes as flag_episodes
from diary.flags.rules import Finding
from diary.participants import queries as participant_queries

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", [DESK, PHONE], ids=["desk", "phone"])
def test_the_inbox_pages_by_50_and_shows_the_rest_on_request(
    size, app, db, enroll, desk, make_staff
):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    for i in range(55):
        study_id = f"LBP-{100 + i}"
        enroll(study_id, injection_date=date(2025, 10, 1))
        with transaction(db):
            flag_episodes.upsert(
                db,
                app.extensions["diary.study"].thresholds,
                participant=participant_queries.get_by_study_id(db, study_id),
                finding=Finding(
                    "pain_flare",
                    "high",
                    date(2025, 10, 5),
                    date(2025, 10, 6),
                    {"max_back_pain": 9, "baseline_back_pain": 4, "days": 2},
                ),
                episode_key=f"flare-{i}",
                actor=audit.system("test"),
                now=clock.now(),
            )
    page = desk.page(size)
    desk.sign_in(page, "coord@a.test", route="#/flags")
    main = page.get_by_role("main")
    links = main.get_by_role("link", name="Pain flare", exact=True)
    expect(links).to_have_count(50)
    assert serious_violations(page) == []
    main.get_by_role("button", name="Show 5 more flags").click()
    expect(links).to_have_count(55)
    expect(main.get_by_role("button", name="Show 5 more flags")).to_have_count(0)
    expect(page.locator("tr:focus-within")).to_contain_text("LBP-150")


@pytest.mark.parametrize("opioids", [False, True], ids=["none", "oxycodone"])
def test_the_flag_chart_draws_an_mme_axis_only_when_there_are_opioids(
    opioids, desk, make_staff, study
):
    make_staff("doc@a.test", "investigator", ("SITE-A",))
    study.participant("LBP-001", days_ago=5, mme=0.0)
    doses = (("oxycodone", 5, 2),) if opioids else ()
    for ago in (4, 3, 2):
        study.entry("LBP-001", ago, doses=doses)
    study.entry("LBP-001", 1, symptoms=("fever",), doses=doses)
    flag = study.flag_id("LBP-001", "red_flag_symptom")
    page = desk.page()
    desk.sign_in(page, "doc@a.test", route=f"#/flags/{flag}")
    chart = page.get_by_role("img", name=re.compile("^Pain and MME of LBP-001"))
    expect(chart).to_be_visible()
    if opioids:
        expect(chart.locator(".chart-bars rect")).not_to_have_count(0)
        expect(page.get_by_text("No opioids in these")).to_have_count(0)
    else:
        expect(chart.locator(".chart-bars rect")).to_have_count(0)
        expect(
            page.get_by_text(re.compile(r"No opioids in these \d+ days: no MME"))
        ).to_be_visible()


def test_a_participant_enrolled_after_the_injection_has_no_missed_entries_flag(
    app, db, desk, make_staff, study
):
    """Enrolled today, injected five days ago: the closing job finds nothing missed, and
    the inbox and the participant's page say so (no flag for days before they existed)."""
    from diary.jobs import close_days

    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    injected = clock.local_date(clock.now(), "America/Chicago") - timedelta(days=5)
    enroll_now = study._enroll  # enrolled now, as a coordinator would today
    enroll_now("LBP-001", timezone="America/Chicago", injection_date=injected)
    close_days.run(db, now=clock.now(), study=app.extensions["diary.study"], config=app.config)
    assert db.execute("SELECT count(*) FROM flags").fetchone()[0] == 0
    page = desk.page()
    desk.sign_in(page, "coord@a.test", route="#/flags")
    expect(page.get_by_role("main").get_by_text("No flags match these filters.")).to_be_visible()
    desk.go(page, "participants/LBP-001")
    flags = page.get_by_role("region", name="Flags")
    expect(flags.get_by_text("No flags.")).to_be_visible()
