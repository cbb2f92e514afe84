"""Each screen: reachable by URL and the back button, accessible (axe), photographed at 360×740."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

FEVER = "Fever or chills (38.0 °C / 100.4 °F or higher)"


def serious_violations(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_reporting_fever_shows_the_advice_and_raises_an_urgent_flag(pwa, page, db, shoot):
    pwa.activate(page)
    pwa.fill(page, back=5, leg=2, doses=(), symptoms=(FEVER,))
    page.get_by_label("Temperature unit").select_option("C")
    page.get_by_label("Temperature (optional)").fill("38.6")
    page.get_by_role("button", name="Save today's diary").click()

    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Contact your study team now")
    expect(dialog).to_contain_text("Call your study team now")
    expect(dialog).to_contain_text(FEVER)
    expect(dialog.get_by_role("link", name="Emergency: call 911")).to_be_visible()
    expect(dialog.get_by_role("button", name="I understand")).to_be_focused()
    shoot(page, "red-flag-advice")
    assert serious_violations(page) == []
    flags = [dict(r) for r in db.query("SELECT kind, severity, status, first_date FROM flags")]
    [entry] = pwa.entries()
    assert flags == [
        {
            "kind": "red_flag_symptom",
            "severity": "urgent",
            "status": "open",
            "first_date": entry["date"],
        }
    ]
    assert entry["temperature_c"] == pytest.approx(38.6)

    page.keyboard.press("Escape")  # the advice is not dismissed by accident
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="I understand").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("main").get_by_text("Today's diary is done.")).to_be_visible()


def test_activation_errors_are_clear(live_server, page, shoot):
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/#/activate")
    page.get_by_role("button", name="Activate my diary").click()
    expect(page.get_by_role("alert")).to_have_text("Please enter your activation code.")
    page.get_by_label("Activation code").fill("AAAA-BBBB-CCCC")
    page.get_by_role("button", name="Activate my diary").click()
    expect(page.get_by_role("alert")).to_contain_text("This code did not work.")
    expect(page.get_by_label("Activation code")).to_have_attribute("aria-invalid", "true")
    shoot(page, "activate-wrong-code")
    for _ in range(12):  # past the limit of tries per 15 minutes
        page.get_by_role("button", name="Activate my diary").click()
        expect(page.get_by_role("button", name="Activate my diary")).to_be_enabled()
    expect(page.get_by_role("alert")).to_contain_text("Too many tries. Please wait")


SIZES = {
    "phone": {
        "viewport": {"width": 360, "height": 740},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}


@pytest.mark.parametrize("size", SIZES)
def test_every_screen_is_accessible_and_photographed(pwa, browser, console, shoot, size):
    """Each screen and state at 360×740 and 1280×800: axe finds nothing serious."""
    context = browser.new_context(timezone_id="America/Chicago", locale="en-US", **SIZES[size])
    context.on("page", console.watch)
    suffix = "" if size == "phone" else "-desktop"
    try:
        page = context.new_page()
        _tour(pwa, page, lambda name, **kw: shoot(page, f"{name}{suffix}", **kw))
    finally:
        context.close()


def _tour(pwa, page, shot):
    page.goto(f"{pwa.server.url}/#/activate")
    expect(page.get_by_role("heading", level=1, name="Welcome")).to_be_visible()
    shot("activate")
    assert serious_violations(page) == []

    pwa.activate(page)
    pwa.entry_made_yesterday_evening(
        back_pain=6, leg_pain=4, doses=[{"drug": "oxycodone", "strength": 5, "units": 4}]
    )
    page.reload()
    expect(page.get_by_role("button", name="Same as yesterday")).to_be_visible()
    shot("today")
    shot("today-form", full_page=True)
    assert serious_violations(page) == []

    page.get_by_role("button", name="Same as yesterday").click()
    page.get_by_role("button", name="Change medicine 1").click()
    page.get_by_role("group", name="Medicine 1").get_by_label("How many").fill("2")
    for name, value in (("Back pain today", "4"), ("Leg pain today", "2")):
        page.get_by_role("radiogroup", name=name).get_by_role(
            "radio", name=value, exact=True
        ).check()
    page.get_by_role("checkbox", name="Constipation").check()
    pwa.open_extras(page)
    page.get_by_label("Note for your study team (optional)").fill("Slept badly.")
    page.get_by_role(
        "radiogroup", name="Did you take any opioid pain medicine today?"
    ).scroll_into_view_if_needed()
    shot("today-medicines")
    shot("today-filled", full_page=True)
    assert serious_violations(page) == []
    page.get_by_role("button", name="Save today's diary").click()
    expect(page.get_by_role("main").get_by_text("Today's diary is done.")).to_be_visible()
    shot("today-done")
    assert serious_violations(page) == []

    page.get_by_role("button", name="Change today's entry").click()
    page.get_by_role("checkbox", name=FEVER).check()
    page.get_by_label("Why are you changing this entry?").fill("I have a fever now")
    page.get_by_role("button", name="Save the change").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible()
    shot("red-flag")
    assert serious_violations(page) == []
    dialog.get_by_role("button", name="I understand").click()
    expect(page.get_by_role("main").get_by_text(f"You reported: {FEVER}.")).to_be_visible()
    shot("today-red-flag-kept")
    assert serious_violations(page) == []

    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", level=1, name="History")).to_be_visible()
    expect(page.get_by_role("main").get_by_text("Sent", exact=True)).to_have_count(2)
    expect(
        page.get_by_role("img", name="Pain and opioid use, first 6 days of your diary")
    ).to_be_visible()
    page.locator("details.entry-row summary").first.click()
    shot("history")
    shot("history-full", full_page=True)
    assert serious_violations(page) == []

    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", level=1, name="Settings")).to_be_visible()
    expect(page.get_by_label("City or area")).to_have_value("America/Chicago")
    shot("settings")
    shot("settings-full", full_page=True)
    assert serious_violations(page) == []

    page.get_by_role("link", name="Questions").click()
    expect(page.get_by_role("heading", level=1, name="Questionnaires")).to_be_visible()
    shot("questionnaires")
    assert serious_violations(page) == []

    # Each screen has its own URL, and the back button walks back through them.
    page.go_back()
    expect(page.get_by_role("heading", level=1, name="Settings")).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", level=1, name="History")).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", level=1, name="Today")).to_be_visible()
    page.goto(f"{pwa.server.url}/#/settings")
    expect(page.get_by_role("heading", level=1, name="Settings")).to_be_visible()


def test_desktop_layout_puts_each_pain_scale_on_one_row(pwa, browser, shoot):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, timezone_id="America/Chicago"
    )
    try:
        page = context.new_page()
        pwa.activate(page)
        options = page.get_by_role("radiogroup", name="Back pain today").get_by_role("radio")
        # A box is read as it is now (no waiting): the screen must have drawn the scale.
        expect(options).to_have_count(11)
        for i in range(11):
            expect(options.nth(i)).to_be_visible()
        tops = {round(options.nth(i).bounding_box()["y"]) for i in range(11)}
        assert len(tops) == 1
        shoot(page, "today-desktop-scales")
    finally:
        context.close()


def test_tap_targets_are_large_and_the_pain_scale_meets_wcag_target_size(pwa, page):
    pwa.activate(page)
    page.get_by_role("radiogroup", name="Did you take any opioid pain medicine today?").get_by_role(
        "radio", name="Yes"
    ).check()
    pwa.open_extras(page)
    targets = page.evaluate(
        """() => [...document.querySelectorAll('main button, main select, main input, main textarea, main summary, nav a')]
          .map((el) => {
            const box = (el.type === 'radio' || el.type === 'checkbox' ? el.parentElement : el).getBoundingClientRect();
            return {name: el.id || el.textContent || el.value, scale: Boolean(el.closest('.scale')), w: box.width, h: box.height};
          })
          .filter((b) => b.w > 0)"""
    )
    # Eleven choices share a row on a phone: at least 24 px wide (WCAG 2.2 target size), 44 high.
    small = [t for t in targets if t["h"] < 44 or t["w"] < (24 if t["scale"] else 44)]
    assert small == []
    assert sum(t["scale"] for t in targets) == 22
