# ruff: noqa: F811 - the fixtures imported from test_console_support are parameters here
"""The console says whether a participant's reminders will actually arrive: 'on' in the
settings means nothing while no phone has allowed notifications (SPEC §8)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from test_console_support import PHONE, desk, serious_violations, study  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", [None, PHONE], ids=["desk", "phone"])
def test_reminders_that_cannot_arrive_are_shown_as_such_with_the_reason(
    size, desk, make_staff, study
):
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    study.participant("LBP-001", days_ago=3)
    page = desk.page(size) if size else desk.page()
    desk.sign_in(page, "coord@a.test", route="#/participants/LBP-001")
    reach = page.get_by_role("region", name="Reachability")
    expect(
        reach.get_by_text("No reminders will arrive: no phone has allowed notifications")
    ).to_be_visible()
    expect(reach.get_by_text("on, at")).to_have_count(0)
    assert serious_violations(page) == []
