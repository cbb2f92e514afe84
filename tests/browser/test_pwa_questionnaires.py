# ruff: noqa: F811 - the fixtures imported from test_console_support are parameters here
"""Questionnaires on the phone: every item type, skip logic as answers change, offline
completion and one sync; axe finds nothing serious (SPEC §11, §13)."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect
from questionnaire_support import questionnaire_app
from test_console_support import desk, serious_violations  # noqa: F401 (fixture)

from diary.db import close_thread_connections

pytestmark = pytest.mark.browser

TITLE = "Every item type (test only)"
PENDING = "async () => await DiaryOutbox.pendingQuestionnaires('LBP-001')"


@pytest.fixture
def app(tmp_path):
    """The study with the test instrument scheduled on day 0 (window: day 0 to day 2)."""
    app = questionnaire_app(tmp_path)
    yield app
    close_thread_connections()


def next_step(page, progress=None):
    page.get_by_role("button", name="Next").click()
    if progress:
        expect(page.get_by_text(progress)).to_be_visible()


def test_every_item_type_with_skip_logic_answered_offline_and_sent_once(
    pwa, page, context, db, shoot
):
    pwa.activate(page, days_since_injection=0)
    expect(
        page.get_by_role("main").get_by_text(f"Your study asks you to answer: {TITLE}.")
    ).to_be_visible()
    page.get_by_role("link", name="Questions").click()
    expect(page.get_by_role("link", name=f"Answer: {TITLE}")).to_be_visible()
    shoot(page, "questionnaires")

    context.set_offline(True)
    page.reload()  # from the service worker and the phone's copy
    page.get_by_role("link", name=f"Answer: {TITLE}").click()
    expect(page.get_by_role("heading", level=1, name=TITLE)).to_be_visible()
    expect(page.get_by_text("A few questions about the past week.")).to_be_visible()
    next_step(page, "Question 2 of 7")  # the walking-aid question counts until "far" is chosen

    walk = page.get_by_role("radiogroup", name="How far can you walk?")
    next_step(page)  # nothing chosen: a required question holds the participant here
    expect(page.get_by_role("alert").get_by_text("Please answer this question.")).to_be_visible()
    assert serious_violations(page) == []
    walk = page.get_by_role("radiogroup", name="How far can you walk?")
    walk.get_by_role("radio", name="More than a mile").check()
    next_step(page, "Question 3 of 6")
    expect(page.get_by_label("Days off work in the past week")).to_be_visible()  # no aid asked
    expect(page.get_by_text("Work", exact=True)).to_be_visible()  # the group it belongs to

    page.get_by_role("button", name="Back").click()
    page.get_by_role("radiogroup", name="How far can you walk?").get_by_role(
        "radio", name="Less than a mile"
    ).check()
    next_step(page, "Question 3 of 7")
    page.get_by_role("radiogroup", name="Do you use a walking aid?").get_by_role(
        "radio", name="Yes"
    ).check()
    next_step(page, "Question 4 of 8")
    page.get_by_label("Which aid?").fill("a stick")
    next_step(page, "Question 5 of 8")
    days = page.get_by_label("Days off work in the past week")
    days.fill("9")
    next_step(page)
    expect(page.get_by_role("alert").get_by_text("Enter a number from 0 to 7.")).to_be_visible()
    days.fill("2")
    next_step(page, "Question 6 of 8")
    page.get_by_label("Hours a day you could sit").fill("3.5")
    next_step(page, "Question 7 of 8")
    page.get_by_label("When did you last see a doctor about your back?").fill("2026-01-15")
    next_step(page, "Question 8 of 8")
    page.get_by_label("Anything else?").fill("Better mornings")
    assert serious_violations(page) == []
    shoot(page, "questionnaire-question")
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_text("You answered 7 questions.")).to_be_visible()
    page.get_by_role("button", name="Send my answers").click()
    expect(
        page.get_by_role("main").get_by_text(
            "Saved on this phone. It will be sent when you are online."
        )
    ).to_be_visible()
    shoot(page, "questionnaire-saved-offline")
    [record] = page.evaluate(PENDING)
    assert record["status"] == "waiting"
    assert db.execute("SELECT count(*) FROM questionnaire_responses").fetchone()[0] == 0

    context.set_offline(False)
    # back online: the outbox sends the answers, once, and the screen says so
    expect(
        page.get_by_role("main").get_by_text("Thank you: your answers were sent.")
    ).to_be_visible()
    assert page.evaluate(PENDING) == []
    [(answers, scores)] = db.execute(
        "SELECT answers, scores FROM questionnaire_responses"
    ).fetchall()
    assert json.loads(answers) == {
        "walk": "some",
        "aid": True,
        "aid_kind": "a stick",
        "days_off": 2,
        "hours": 3.5,
        "last_visit": "2026-01-15",
        "comment": "Better mornings",
    }
    assert json.loads(scores) == {"effort": 3.0}
    assert pwa.server.count("PUT", "/api/v1/questionnaires/") == 1
    page.get_by_role("link", name="Questions").click()
    expect(page.get_by_text(f"✓ {TITLE}")).to_be_visible()


def test_staff_see_the_answers_beside_the_questions(pwa, page, desk, make_staff, shoot):
    pwa.activate(page, days_since_injection=0)
    page.get_by_role("link", name="Questions").click()
    page.get_by_role("link", name=f"Answer: {TITLE}").click()
    next_step(page)
    page.get_by_role("radiogroup", name="How far can you walk?").get_by_role(
        "radio", name="More than a mile"
    ).check()
    next_step(page)
    page.get_by_label("Days off work in the past week").fill("1")
    for _ in range(3):
        next_step(page)
    page.get_by_role("button", name="Review").click()
    page.get_by_role("button", name="Send my answers").click()
    expect(
        page.get_by_role("main").get_by_text("Thank you: your answers were sent.")
    ).to_be_visible()

    # while the window is open the participant may change the answers, with a reason
    page.get_by_role("link", name="Back to questionnaires").click()
    page.get_by_role("link", name="Change my answers").click()
    next_step(page)
    expect(
        page.get_by_role("radiogroup", name="How far can you walk?").get_by_role(
            "radio", name="More than a mile"
        )
    ).to_be_checked()
    next_step(page)
    expect(page.get_by_label("Days off work in the past week")).to_have_value("1")
    page.get_by_label("Days off work in the past week").fill("2")
    for _ in range(3):
        next_step(page)
    page.get_by_role("button", name="Review").click()
    page.get_by_role("button", name="Send the change").click()
    expect(page.get_by_role("alert").get_by_text("Say briefly why")).to_be_visible()
    page.get_by_label("Why are you changing your answers?").fill("I counted one day too few")
    page.get_by_role("button", name="Send the change").click()
    expect(
        page.get_by_role("main").get_by_text("Thank you: your answers were sent.")
    ).to_be_visible()

    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    staff = desk.page()
    desk.sign_in(staff, "coord@a.test")
    desk.go(staff, "participants/LBP-001")
    section = staff.get_by_role("region", name="Questionnaires")
    expect(section.get_by_role("cell", name="Completed")).to_be_visible()
    expect(section.get_by_text("effort: 2")).to_be_visible()
    section.get_by_text("(version 2)").click()
    expect(section.get_by_text("More than a mile (far, score 0)")).to_be_visible()
    assert serious_violations(staff) == []
    shoot(staff, "console-questionnaires")

    # a data clarification: the coordinator corrects an answer, with a reason
    section.get_by_role("button", name=f"Correct the answers of {TITLE}").click()
    form = staff.get_by_role("form", name=re.compile("Correct the answers"))
    form.get_by_label("Days off work in the past week").fill("9")
    form.get_by_label("Reason (required)").fill("confirmed by phone")
    form.get_by_role("button", name="Save the answers").click()
    expect(form.get_by_text("must be at most 7").first).to_be_visible()
    assert serious_violations(staff) == []
    form.get_by_label("Days off work in the past week").fill("5")
    form.get_by_role("button", name="Save the answers").click()
    expect(staff.get_by_text(f"The answers of {TITLE} were saved.")).to_be_visible()
    expect(section.get_by_text("effort: 5")).to_be_visible()


def test_the_shipped_peg_is_answered_and_scored(pwa, page, db, shoot):
    pwa.activate(page, days_since_injection=5)  # PEG is due on day 7, open from day 4
    page.get_by_role("link", name="Questions").click()
    page.get_by_role(
        "link", name="Answer: Pain, enjoyment of life and general activity (PEG)"
    ).click()
    for question, value in (
        ("What number best describes your pain on average in the past week?", "6"),
        ("interfered with your enjoyment of life?", "4"),
        ("interfered with your general activity?", "5"),
    ):
        group = page.get_by_role("radiogroup", name=re.compile(re.escape(question)))
        group.get_by_role("radio", name=value, exact=True).check()
        if value == "6":
            shoot(page, "questionnaire-peg")
        page.get_by_role("button", name=re.compile("Next|Review")).click()
    page.get_by_role("button", name="Send my answers").click()
    expect(
        page.get_by_role("main").get_by_text("Thank you: your answers were sent.")
    ).to_be_visible()
    [scores] = db.execute(
        "SELECT r.scores FROM questionnaire_responses r JOIN questionnaire_occurrences o"
        " ON o.id = r.occurrence_id WHERE o.instrument = 'peg'"
    ).fetchone()
    assert json.loads(scores) == {"peg_score": 5.0}
