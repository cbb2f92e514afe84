"""How much a participant does for a common day on Today at 360×740: taps and scrolling.

Each step scrolls its control into view the least it can (below the sticky tab bar)
and taps it once. The figures are written to test-artifacts/effort.json and held to
limits, so that the path to Save stays short. Before the one-page redesign (issue 19)
a day without opioids took 4 taps and 2,155 px of scrolling (2.9 screens) and a
usual-dose day 4 taps and 2,645 px (3.6 screens): Save sat under the whole checklist,
and "no symptoms" was a question left blank rather than an answer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

FIGURES = Path(__file__).resolve().parents[2] / "test-artifacts" / "effort.json"

# The control must be fully visible below the sticky header and nav before it is tapped.
REVEAL = """(el) => {
  const nav = document.getElementById('nav');
  const top = nav && !nav.hidden ? nav.getBoundingClientRect().bottom : 0;
  const box = el.getBoundingClientRect();
  const before = window.scrollY;
  if (box.bottom > window.innerHeight) window.scrollBy(0, box.bottom - window.innerHeight + 8);
  else if (box.top < top) window.scrollBy(0, box.top - top - 8);
  return Math.abs(window.scrollY - before);
}"""


class Effort:
    def __init__(self, page):
        self.page = page
        self.taps = 0
        self.scrolled = 0
        self.height = 0

    def tap(self, locator):
        locator = locator.first
        locator.wait_for(state="visible")
        self.scrolled += locator.evaluate(REVEAL)
        locator.click()
        self.taps += 1


def _answer(effort: Effort, page, *, same: bool):
    today = "today"
    effort.tap(
        page.get_by_role("radiogroup", name=f"Back pain {today}").get_by_role(
            "radio", name="4", exact=True
        )
    )
    effort.tap(
        page.get_by_role("radiogroup", name=f"Leg pain {today}").get_by_role(
            "radio", name="2", exact=True
        )
    )
    if same:
        effort.tap(page.get_by_role("button", name="Same as yesterday"))
    else:
        took = page.get_by_role("radiogroup", name="Did you take any opioid pain medicine today?")
        effort.tap(took.get_by_role("radio", name="No"))
    none = page.get_by_label("None of these", exact=True)
    if none.count():  # an explicit answer where the checklist asks for one
        effort.tap(none)
    effort.height = page.evaluate("() => document.documentElement.scrollHeight")
    effort.tap(page.get_by_role("button", name="Save today's diary"))
    expect(page.get_by_role("main").get_by_text("Today's diary is done.")).to_be_visible()


def _measure(pwa, page, *, same: bool) -> dict:
    pwa.activate(page)
    # Yesterday is always entered: before noon its window is still open, and Today would
    # otherwise ask for it first, so the figures would change with the hour.
    usual = [{"drug": "oxycodone", "strength": 5, "units": 4}]
    pwa.entry_made_yesterday_evening(doses=usual if same else [])
    page.reload()
    expect(page.get_by_role("radiogroup", name="Back pain today")).to_be_visible()
    if same:
        expect(page.get_by_role("button", name="Same as yesterday")).to_be_visible()
    page.evaluate("() => window.scrollTo(0, 0)")
    height = page.evaluate("() => document.documentElement.scrollHeight")
    effort = Effort(page)
    _answer(effort, page, same=same)
    return {
        "taps": effort.taps,
        "scroll_px": round(effort.scrolled),
        "screens_scrolled": round(effort.scrolled / 740, 2),
        "page_screens_at_start": round(height / 740, 2),
        "page_screens_at_save": round(effort.height / 740, 2),
    }


def _record(name: str, figures: dict) -> None:
    path = FIGURES
    path.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(path.read_text()) if path.exists() else {}
    known[name] = figures
    path.write_text(json.dumps(known, indent=2, sort_keys=True))
    print(name, figures)


# Pain twice, the opioid answer, "None of these", Save; under 0.6 of a screen scrolled.
MOST_TAPS = 5
MOST_SCROLL = 0.6 * 740


def test_a_day_without_opioids_needs_five_taps_and_almost_no_scrolling(pwa, page):
    figures = _measure(pwa, page, same=False)
    _record("no_opioids", figures)
    assert figures["taps"] <= MOST_TAPS
    assert figures["scroll_px"] <= MOST_SCROLL, figures


def test_a_usual_dose_day_needs_five_taps_and_almost_no_scrolling(pwa, page):
    figures = _measure(pwa, page, same=True)
    _record("usual_doses", figures)
    assert figures["taps"] <= MOST_TAPS
    assert figures["scroll_px"] <= MOST_SCROLL, figures
