# ruff: noqa: F811 - the fixtures imported from test_console_support are parameters here
"""The flag inbox shows 50 flags at a time, in its working order, and the next ones on
request (a study's flags grow for two years)."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect
from test_console_support import DESK, PHONE, desk, serious_violations  # noqa: F401

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
