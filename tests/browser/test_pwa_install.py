"""Installing the diary (issue 19): Settings says how on this kind of phone, or nothing,
and the app's icon comes from the service worker's cache like the rest of the shell."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
ANDROID_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/126.0.0.0 Mobile Safari/537.36"
)
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


def open_settings_directly(pwa, page):
    pwa.activate(page)
    page.goto(f"{pwa.server.url}/#/settings")
    page.reload()  # opened (or reloaded) on Settings: no install offer has come
    expect(page.get_by_role("heading", level=1, name="Settings")).to_be_visible()
    expect(page.get_by_role("heading", name="Your study")).to_be_visible()


def test_settings_opened_directly_shows_no_stray_null(pwa, page):
    open_settings_directly(pwa, page)
    text = page.get_by_role("main").inner_text()
    assert "null" not in text and "undefined" not in text
    # A browser that offers no way to install shows nothing about it.
    expect(page.get_by_role("heading", name="Put the diary on your Home Screen")).to_have_count(0)


def test_an_iphone_is_told_to_use_share_then_add_to_home_screen(pwa, browser):
    context = browser.new_context(user_agent=IPHONE_UA, timezone_id="America/Chicago", **PHONE)
    try:
        page = context.new_page()
        open_settings_directly(pwa, page)
        card = page.get_by_role("region", name="Put the diary on your Home Screen")
        expect(card).to_be_visible()
        expect(card).to_contain_text("tap the Share button")
        expect(card).to_contain_text('Choose "Add to Home Screen", then "Add".')
        expect(card.get_by_role("button")).to_have_count(0)  # Safari has no install prompt
        assert "null" not in page.get_by_role("main").inner_text()
    finally:
        context.close()


def test_android_is_told_where_the_browser_menu_installs_it(pwa, browser):
    context = browser.new_context(user_agent=ANDROID_UA, timezone_id="America/Chicago", **PHONE)
    try:
        page = context.new_page()
        open_settings_directly(pwa, page)
        card = page.get_by_role("region", name="Put the diary on your Home Screen")
        expect(card).to_contain_text('choose "Install app" or "Add to Home screen"')
    finally:
        context.close()


def test_the_install_button_appears_when_the_browser_offers_installation(pwa, page):
    open_settings_directly(pwa, page)
    page.evaluate(
        """() => {
          const offer = new Event('beforeinstallprompt', { cancelable: true });
          offer.prompt = () => { window.prompted = true; };
          offer.userChoice = Promise.resolve({ outcome: 'accepted' });
          window.dispatchEvent(offer);
        }"""
    )
    button = page.get_by_role("button", name="Install the diary on this phone")
    expect(button).to_be_visible()
    button.click()
    expect(button).to_have_count(0)
    assert page.evaluate("window.prompted") is True


def test_the_app_icon_is_served_from_the_shell_cache_offline(pwa, page, context):
    pwa.activate(page)
    icons = page.evaluate(
        """async () => {
          const manifest = await (await fetch('/manifest.webmanifest')).json();
          const links = [...document.querySelectorAll('link[rel~="icon"], link[rel="apple-touch-icon"]')];
          return [...new Set([...manifest.icons.map((i) => i.src), ...links.map((l) => new URL(l.href).pathname)])];
        }"""
    )
    assert "/static/icons/icon-192.png" in icons and "/static/icons/apple-touch-icon.png" in icons
    context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", level=1, name="Today")).to_be_visible()
    served = page.evaluate(
        """async (icons) => Promise.all(icons.map(async (path) => {
          const cached = await caches.match(path);
          const response = await fetch(path);
          const bytes = new Uint8Array(await response.arrayBuffer());
          return [path, Boolean(cached), response.status, bytes[1] === 0x50];
        }))""",
        icons,
    )
    assert served == [[path, True, 200, True] for path in icons]
