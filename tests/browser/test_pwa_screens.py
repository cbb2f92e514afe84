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


def test_every_screen_is_accessible_and_photographed_at_phone_size(pwa, page, shoot):
    page.goto(f"{pwa.server.url}/#/activate")
    expect(page.get_by_role("heading", level=1, name="Welcome")).to_be_visible()
    shoot(page, "activate")
    assert serious_violations(page) == []

    pwa.activate(page)
    pwa.entry_made_yesterday_evening(
        back_pain=6, leg_pain=4, doses=[{"drug": "oxycodone", "strength": 5, "units": 4}]
    )
    page.reload()
    expect(page.get_by_role("button", name="Same as yesterday")).to_be_visible()
    assert serious_violations(page) == []
    pwa.fill(page, back=4, leg=2, doses=(("oxycodone", "5", "2"),), symptoms=("Constipation",))
    page.get_by_role("group", name="Opioid pain medicines").scroll_into_view_if_needed()
    page.evaluate("() => document.querySelector('.group').scrollIntoView()")
    shoot(page, "today-medicines")
    page.evaluate("() => window.scrollTo(0, 0)")
    shoot(page, "today-filled")
    shoot(page, "today-form", full_page=True)
    assert serious_violations(page) == []
    page.get_by_role("button", name="Save today's diary").click()
    expect(page.get_by_role("main").get_by_text("Today's diary is done.")).to_be_visible()
    assert serious_violations(page) == []

    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", level=1, name="History")).to_be_visible()
    expect(page.get_by_role("main").get_by_text("Sent", exact=True)).to_have_count(2)
    expect(page.get_by_role("img", name="Pain and opioid use, last 30 days")).to_be_visible()
    shoot(page, "history")
    shoot(page, "history-full", full_page=True)
    assert serious_violations(page) == []

    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", level=1, name="Settings")).to_be_visible()
    shoot(page, "settings")
    shoot(page, "settings-full", full_page=True)
    assert serious_violations(page) == []

    # Each screen has its own URL, and the back button walks back through them.
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
        tops = {round(options.nth(i).bounding_box()["y"]) for i in range(11)}
        assert len(tops) == 1
        shoot(page, "today-desktop")
    finally:
        context.close()


def test_tap_targets_are_at_least_44_px(pwa, page):
    pwa.activate(page)
    page.get_by_role("radiogroup", name="Did you take any opioid pain medicine today?").get_by_role(
        "radio", name="Yes"
    ).check()
    small = page.evaluate(
        """() => [...document.querySelectorAll('main button, main select, main input, main textarea, nav a')]
          .map((el) => {
            const box = (el.type === 'radio' || el.type === 'checkbox' ? el.parentElement : el).getBoundingClientRect();
            return {name: el.id || el.textContent || el.value, w: box.width, h: box.height};
          })
          .filter((b) => b.w > 0 && (b.w < 44 || b.h < 44))"""
    )
    assert small == []
