"""The service worker on its own: Background Sync sends the outbox, push shows a reminder."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def registration_id(cdp, origin):
    found = {}
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: found.update(
            {
                r["registrationId"]: r
                for r in event["registrations"]
                if r["scopeURL"].startswith(origin)
            }
        ),
    )
    cdp.send("ServiceWorker.enable")
    return found


def dispatch_sync(page, context, origin):
    """A Background Sync event for the outbox, as Chromium fires one when the network returns."""
    cdp = context.new_cdp_session(page)
    registrations = registration_id(cdp, origin)
    page.wait_for_timeout(200)
    [reg] = registrations.values()
    cdp.send(
        "ServiceWorker.dispatchSyncEvent",
        {
            "origin": origin,
            "registrationId": reg["registrationId"],
            "tag": "diary-outbox",
            "lastChance": False,
        },
    )


def test_background_sync_sends_the_outbox_without_the_app_open(pwa, page, context):
    pwa.activate(page)
    context.set_offline(True)
    pwa.fill(page, back=3, leg=1, doses=(("morphine", "15", "2"),))
    page.get_by_role("button", name="Save today's diary").click()
    expect(
        page.get_by_role("main").get_by_text("Saved on this phone — waiting to send.")
    ).to_be_visible()

    # Leave the app, come back online: only the worker is left to send the entry.
    page.goto("about:blank")
    context.set_offline(False)
    dispatch_sync(page, context, pwa.server.url)
    for _ in range(50):
        if pwa.entries():
            break
        page.wait_for_timeout(100)
    [entry] = pwa.entries()
    assert (entry["back_pain"], entry["mme"]) == (3, pytest.approx(30.0))
    # Chromium may fire its own sync event as the network returns; a replay is
    # harmless: the server keeps one entry, never a second version.
    assert entry["version"] == 1


def test_an_entry_the_worker_sends_while_the_app_is_open_is_announced_as_sent(pwa, page, context):
    """Back online, the worker's Background Sync may send the entry before the page
    does: the participant is still told it was sent, as when the page sends it."""
    pwa.activate(page)
    context.set_offline(True)
    pwa.fill(page, back=4, leg=1, doses=())
    page.get_by_role("button", name="Save today's diary").click()
    status = page.locator("#status")
    expect(status).to_have_text("Saved on this phone. It will be sent when you are online.")
    # The page's own sends fail (its requests only): the worker is the one that gets through.
    page.route("**/api/v1/entries/**", lambda route: route.abort())
    context.set_offline(False)
    dispatch_sync(page, context, pwa.server.url)
    expect(status).to_have_text("Your diary entry was sent.")
    expect(
        page.get_by_role("main").get_by_text("Saved on this phone — waiting to send.")
    ).to_be_hidden()
    [entry] = pwa.entries()
    assert entry["back_pain"] == 4


def test_a_push_message_shows_the_reminder(pwa, page, context):
    pwa.activate(page)
    context.grant_permissions(["notifications"], origin=pwa.server.url)
    cdp = context.new_cdp_session(page)
    registrations = registration_id(cdp, pwa.server.url)
    page.wait_for_timeout(200)
    [reg] = registrations.values()
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": pwa.server.url,
            "registrationId": reg["registrationId"],
            "data": json.dumps(
                {"title": "Pain Diary", "body": "Time for today's diary.", "url": "/#/today"}
            ),
        },
    )
    shown = []
    for _ in range(50):
        shown = page.evaluate(
            """async () => (await (await navigator.serviceWorker.ready).getNotifications())
                 .map((n) => ({title: n.title, body: n.body, url: n.data.url}))"""
        )
        if shown:
            break
        page.wait_for_timeout(100)
    assert shown == [{"title": "Pain Diary", "body": "Time for today's diary.", "url": "/#/today"}]
