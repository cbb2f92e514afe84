"""Offline-first: the shell loads from the service worker, entries wait on the phone."""

from __future__ import annotations

import pytest
from app_support import protocol_changed
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

OUTBOX = "async () => await DiaryOutbox.pending('LBP-001')"


def test_offline_entry_waits_on_the_phone_and_syncs_once_back_online(pwa, page, context, shoot):
    pwa.activate(page)
    context.set_offline(True)
    page.reload()  # served by the service worker: the network is gone
    expect(page.get_by_role("heading", level=1, name="Today")).to_be_visible()
    expect(page.get_by_role("banner").get_by_text("Offline")).to_be_visible()

    pwa.fill(page, back=7, leg=5, doses=(("hydrocodone", "10", "3"),))
    page.get_by_role("button", name="Save today's diary").click()
    expect(
        page.get_by_role("main").get_by_text("Saved on this phone — waiting to send.")
    ).to_be_visible()
    shoot(page, "today-offline-waiting")
    [record] = page.evaluate(OUTBOX)
    assert record["status"] == "waiting"
    offline_moment = record["body"]["device_time"]

    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("main").get_by_text("Waiting to send")).to_be_visible()
    shoot(page, "history-offline")
    assert pwa.entries() == []
    assert pwa.server.count("PUT", "/api/v1/entries/") == 0

    context.set_offline(False)
    expect(page.get_by_role("main").get_by_text("Sent", exact=True)).to_be_visible()
    expect(page.get_by_role("main").get_by_text("Waiting to send")).to_have_count(0)
    assert page.evaluate(OUTBOX) == []
    [entry] = pwa.entries()
    assert entry["device_time"] == offline_moment
    assert (entry["back_pain"], entry["leg_pain"], entry["version"]) == (7, 5, 1)
    assert entry["mme"] == pytest.approx(30.0)
    page.get_by_role("link", name="Today").click()
    expect(page.get_by_role("main").get_by_text("Today's diary is done.")).to_be_visible()
    assert pwa.server.count("PUT", "/api/v1/entries/") == 1


def test_red_flag_reported_offline_shows_the_advice_at_once(pwa, page, context, db):
    pwa.activate(page)
    context.set_offline(True)
    pwa.fill(page, doses=(), symptoms=("New weakness or numbness in a leg",))
    page.get_by_role("button", name="Save today's diary").click()
    dialog = page.get_by_role("alertdialog", name="Contact your study team now")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("New weakness or numbness in a leg")
    expect(dialog.get_by_role("link", name="Emergency: call 911")).to_have_attribute(
        "href", "tel:911"
    )
    dialog.get_by_role("button", name="I understand").click()

    context.set_offline(False)
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("main").get_by_text("Sent", exact=True)).to_be_visible()
    flags = db.execute("SELECT kind, severity FROM flags").fetchall()
    assert [tuple(f) for f in flags] == [("red_flag_symptom", "urgent")]


def test_an_entry_the_server_refuses_stays_visible_with_its_message(pwa, page):
    pwa.activate(page)
    pwa.fill(page, doses=())
    took = page.get_by_role("radiogroup", name="Did you take any opioid pain medicine today?")
    took.get_by_role("radio", name="Yes").check()
    row = page.get_by_role("group", name="Medicine 1")
    row.get_by_label("Medicine", exact=True).select_option("oxycodone")
    row.get_by_label("Strength", exact=True).select_option("other")
    row.get_by_label("Other strength (mg)").fill("500")  # above the protocol's maximum
    row.get_by_label("How many").fill("1")
    page.get_by_role("button", name="Save today's diary").click()

    refusal = page.get_by_role("main").get_by_role("alert")
    expect(refusal).to_contain_text("This entry was not accepted.")
    expect(refusal).to_contain_text("at most 160 mg for oxycodone")
    assert pwa.entries() == []
    page.reload()  # still there after a restart, never silently dropped
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("main").get_by_text("Not accepted")).to_be_visible()
    expect(
        page.get_by_role("main").get_by_text("Some of what was entered needs a change")
    ).to_be_visible()
    [record] = page.evaluate(OUTBOX)
    assert record["status"] == "refused"

    page.get_by_role("link", name="Today").click()
    page.get_by_role("button", name="Edit and send again").click()
    row = page.get_by_role("group", name="Medicine 1")
    row.get_by_role("button", name="Change medicine 1").click()
    expect(row.get_by_label("Strength", exact=True)).to_have_value("500")
    row.get_by_label("Strength", exact=True).select_option("other")
    row.get_by_label("Other strength (mg)").fill("50")
    page.get_by_role("button", name="Save the change").click()
    expect(page.get_by_role("main").get_by_text("Today's diary is done.")).to_be_visible()
    assert page.evaluate(OUTBOX) == []
    [entry] = pwa.entries()
    assert entry["mme"] == pytest.approx(75.0)


def test_changing_an_unsent_entry_replaces_it_and_the_api_is_never_cached(pwa, page, context):
    pwa.activate(page)
    context.set_offline(True)
    pwa.fill(page, back=7, leg=5, doses=())
    page.get_by_role("button", name="Save today's diary").click()
    page.get_by_role("button", name="Change this entry").click()
    page.get_by_role("radiogroup", name="Back pain today").get_by_role(
        "radio", name="8", exact=True
    ).check()
    # The server never saw the first version, so no reason is asked for.
    expect(page.get_by_label("Why are you changing this entry?")).to_have_count(0)
    page.get_by_role("button", name="Save the change").click()
    expect(
        page.get_by_role("main").get_by_text("Saved on this phone — waiting to send.")
    ).to_be_visible()
    assert len(page.evaluate(OUTBOX)) == 1

    context.set_offline(False)
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("main").get_by_text("Sent", exact=True)).to_be_visible()
    [entry] = pwa.entries()
    assert (entry["back_pain"], entry["version"]) == (8, 1)
    cached = page.evaluate(
        """async () => {
          const urls = [];
          for (const name of await caches.keys()) {
            for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
          }
          return urls;
        }"""
    )
    assert cached and not [url for url in cached if "/api/" in url]


def test_today_is_usable_from_the_phone_while_the_api_hangs(pwa, page):
    pwa.activate(page)
    held = []
    # Everything but the session waits forever: the first screen must not wait for it.
    page.route(
        "**/api/v1/**",
        lambda route: (
            held.append(route.request.url)
            if "/api/v1/session" not in route.request.url
            else route.continue_()
        ),
    )
    page.reload()
    back = page.get_by_role("radiogroup", name="Back pain today")
    back.get_by_role("radio", name="3", exact=True).check()
    expect(back.get_by_role("radio", name="3", exact=True)).to_be_checked()
    assert any("/api/v1/me" in url or "/api/v1/protocol" in url for url in held)
    page.unroute("**/api/v1/**")


def test_a_fever_entered_offline_without_a_ticked_symptom_shows_the_advice(pwa, page, context, db):
    """The phone judges a red flag by the protocol's own rule (symptoms and the fever
    threshold, both from the server), not by a copy that knows only ticked boxes."""
    pwa.activate(page)
    context.set_offline(True)
    pwa.fill(page, doses=())
    pwa.open_extras(page)  # temperature and note are folded until wanted
    page.get_by_label("Temperature unit").select_option("C")
    page.get_by_label("Temperature (optional)").fill("38.6")
    page.get_by_role("button", name="Save today's diary").click()
    dialog = page.get_by_role("alertdialog", name="Contact your study team now")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Fever")
    dialog.get_by_role("button", name="I understand").click()

    context.set_offline(False)
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("main").get_by_text("Sent", exact=True)).to_be_visible()
    flags = db.execute("SELECT kind, severity, detail FROM flags").fetchall()
    assert [(f[0], f[1]) for f in flags] == [("red_flag_symptom", "urgent")]
    assert '"fever"' in flags[0][2]


def test_a_temperature_below_the_protocol_threshold_offline_shows_no_advice(pwa, page, context):
    pwa.activate(page)
    context.set_offline(True)
    pwa.fill(page, doses=())
    pwa.open_extras(page)  # temperature and note are folded until wanted
    page.get_by_label("Temperature unit").select_option("C")
    page.get_by_label("Temperature (optional)").fill("37.9")
    page.get_by_role("button", name="Save today's diary").click()
    expect(
        page.get_by_role("main").get_by_text("Saved on this phone — waiting to send.")
    ).to_be_visible()
    expect(page.get_by_role("alertdialog")).to_have_count(0)


def test_the_phone_takes_the_fever_threshold_from_the_protocol(pwa, page, context):
    """A protocol that sets the threshold lower changes the phone's advice, no JS touched."""
    with protocol_changed(pwa.app, thresholds={"fever_c": 37.5}):
        pwa.activate(page)
        context.set_offline(True)
        pwa.fill(page, doses=())
        pwa.open_extras(page)
        page.get_by_label("Temperature unit").select_option("C")
        page.get_by_label("Temperature (optional)").fill("37.9")
        page.get_by_role("button", name="Save today's diary").click()
        expect(page.get_by_role("alertdialog", name="Contact your study team now")).to_be_visible()


def test_the_phone_shows_the_protocols_symptom_words(pwa, page):
    with protocol_changed(pwa.app, labels={"fever": "Fever, as the protocol words it"}):
        pwa.activate(page)
        expect(page.get_by_role("checkbox", name="Fever, as the protocol words it")).to_be_visible()
