# ruff: noqa: F811 - the fixtures imported from test_console_support are parameters here
"""The flag screen shows why a flag was raised and its whole history: opened, the
urgent alerts sent, acknowledged, reopened by a new finding, and resolved."""

from __future__ import annotations

import re
from datetime import time

import pytest
from playwright.sync_api import expect
from test_console_support import DESK, desk, snap, study  # noqa: F401

from diary import audit, clock
from diary.db import transaction
from diary.flags import queries as flag_queries
from diary.flags import service as flag_service

pytestmark = pytest.mark.browser


def test_a_reopened_red_flag_shows_what_it_gained_and_its_timeline(desk, make_staff, study, snap):
    make_staff("doc@a.test", "investigator", ("SITE-A",))
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    study.participant("LBP-001", days_ago=10)
    day = study.entry("LBP-001", 2, symptoms=("injection_site_reaction",))
    flag_id = study.flag_id("LBP-001", "red_flag_symptom")
    with transaction(study.db):
        flag_service.acknowledge(
            study.db,
            flag=flag_queries.get_flag(study.db, flag_id, None),
            actor=audit.Actor("staff", 2, "coord@a.test"),
            staff_id=2,
            now=clock.local_instant(day, time(20, 30), "America/Chicago"),
        )
    # The participant corrects the same date: a new red flag on an acknowledged flag.
    study.entry(
        "LBP-001",
        2,
        symptoms=("injection_site_reaction", "bowel_bladder_loss"),
        reason="forgot to tick it",
        at_time="21:15",
    )

    page = desk.page()
    desk.sign_in(page, "doc@a.test", route=f"#/flags/{flag_id}")
    what = page.get_by_role("region", name="What was found")
    expect(what).to_contain_text("Open")
    expect(what).to_contain_text(
        "gained after it was acknowledged: Loss of bladder or bowel control"
    )
    expect(what).to_contain_text(
        "Red-flag symptom rule, version 1 (checked when an entry is saved)"
    )
    history = page.get_by_role("region", name="History")
    items = history.get_by_role("listitem")
    expect(items.first).to_contain_text("Opened")
    texts = items.all_inner_texts()
    acknowledged = next(i for i, t in enumerate(texts) if "Acknowledged" in t)
    reopened = next(i for i, t in enumerate(texts) if "Reopened" in t)
    assert acknowledged < reopened
    expect(history).to_contain_text("Urgent alert by e-mail to doc@a.test")
    expect(history).to_contain_text("Acknowledged by coord@a.test")
    expect(history).to_contain_text("Reopened: new finding after acknowledgement")
    expect(history).to_contain_text("gained Loss of bladder or bowel control")
    snap(page, "flag-history", full_page=True)


def test_the_mme_chart_marks_days_whose_opioid_has_no_factor(desk, make_staff, study, snap):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    study.participant("LBP-001", days_ago=6)
    study.entry("LBP-001", 4, doses=[("oxycodone", 10, 1)])
    study.entry("LBP-001", 3, doses=[("buprenorphine", 8, 1)])
    study.entry("LBP-001", 2, doses=[("oxycodone", 10, 1), ("buprenorphine", 2, 1)])

    page = desk.page()
    desk.sign_in(page, "coord@a.test", route="#/participants/LBP-001")
    mme = page.get_by_role("img", name=re.compile("^Daily MME of LBP-001"))
    marks = mme.locator(".chart-marker.incomplete title")
    expect(marks).to_have_count(2)
    assert all("Buprenorphine not converted" in t for t in marks.all_text_contents())
    expect(mme.locator("desc")).to_contain_text("2 days with an opioid that has no MME factor")
    expect(page.get_by_text("MME incomplete (opioid without a factor)")).to_be_visible()
    # The new opioid was raised for review at once, with what it is.
    flags = page.get_by_role("region", name=re.compile("Flags"))
    expect(flags.first).to_contain_text("Opioid without MME factor")
    snap(page, "participant-mme-incomplete", full_page=True)


def test_admins_see_a_participant_the_closing_job_is_failing_on(desk, make_staff, study):
    make_staff("admin@study.test", "admin", ())
    study.participant("LBP-001", days_ago=3)
    study.participant("LBP-002", days_ago=3)
    with transaction(study.db):  # data the API refuses, left by an older version
        study.db.execute(
            "UPDATE injections SET date = '9999-12-31'"
            " WHERE participant_id = (SELECT id FROM participants WHERE study_id = 'LBP-002')"
        )
    from diary.jobs import runner
    from diary.jobs.registry import JOBS

    runner.run_all(
        JOBS[:1],
        database=study.app.config["DIARY_DATABASE"],
        study=study.app.extensions["diary.study"],
        config=study.app.config,
        now=clock.now(),
    )

    page = desk.page()
    desk.sign_in(page, "admin@study.test", route="#/audit")
    jobs = page.get_by_role("region", name="Scheduled jobs")
    expect(jobs).to_contain_text("A job could not process 1 participant.")
    failing = jobs.get_by_role("table", name="Participants a job is failing on")
    expect(failing).to_contain_text("LBP-002")
    expect(failing).not_to_contain_text("LBP-001")
    expect(jobs.get_by_role("table", name="Latest run of each job")).to_contain_text("OK")
