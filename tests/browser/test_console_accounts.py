# ruff: noqa: F811 - the fixtures imported from test_console_support are parameters here
"""Staff accounts in the console (SPEC §15): an admin adds a site and invites a
coordinator; the invitation arrives at a real SMTP server; the coordinator chooses a
password from the link, sets up two-step sign-in, signs in with a code and changes
the password; the admin deactivates them and their open session ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from account_support import link_token
from mail_support import SmtpServer, wait_for_mail
from playwright.sync_api import expect
from test_console_support import PASSWORD, PHONE, desk, serious_violations, snap  # noqa: F401

pytestmark = pytest.mark.browser

CHOSEN = "tawny-kettle-orbit-9241"
CHANGED = "violet-harbor-lantern-5530"


@pytest.fixture
def smtp(app):
    server = SmtpServer()
    server.start()
    app.config["DIARY_SMTP_URL"] = server.url
    yield server
    server.stop()


def next_code(secret: str) -> str:
    """The code of the next 30-second step: later than any code used before it."""
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30))


def test_an_admin_invites_a_coordinator_who_sets_up_and_loses_their_account(
    desk, make_staff, smtp, snap, app, db
):
    app.config["DIARY_BASE_URL"] = desk.server.url
    make_staff("ada@study.test", "admin", (), full_name="Ada Admin")
    admin = desk.page()
    desk.sign_in(admin, "ada@study.test", route="#/accounts")
    main = admin.get_by_role("main")
    expect(main.get_by_role("heading", level=1, name="Staff and sites")).to_be_visible()

    site = admin.get_by_role("form", name="Add a site")
    site.get_by_label("Site code").fill("SITE-A")
    site.get_by_label("Name").fill("Chicago Spine Center")
    site.get_by_label("Time zone: country or region").select_option(label="United States")
    site.get_by_label("Time zone: city or area").select_option("America/Chicago")
    site.get_by_label("Phone participants call").fill("+1 312 555 0100")
    site.get_by_label("Why (optional)").fill("Chicago joins the study")
    site.get_by_role("button", name="Add the site").click()
    expect(site.get_by_text("Site SITE-A added.")).to_be_visible()
    expect(main.get_by_role("table", name="Sites")).to_contain_text("+1 312 555 0100")

    invite = admin.get_by_role("form", name="Invite a staff member")
    invite.get_by_label("E-mail").fill("cora@site-a.test")
    invite.get_by_label("Full name").fill("Cora Coordinator")
    invite.get_by_label("Role").select_option("coordinator")
    invite.get_by_label("SITE-A – Chicago Spine Center").check()
    invite.get_by_label("Why (optional)").fill("New coordinator for Chicago")
    invite.get_by_role("button", name="Send the invitation").click()
    expect(invite.get_by_text("The invitation was mailed to cora@site-a.test")).to_be_visible()
    accounts = main.get_by_role("table", name="Staff accounts")
    expect(accounts.get_by_role("row", name="Cora Coordinator")).to_contain_text("invited")
    snap(admin, "accounts-desk", full_page=True)
    assert serious_violations(admin) == []

    # The invitation reaches the mail server; no password travels in it.
    (mail,) = wait_for_mail(smtp)
    assert mail.rcpt_tos == ["cora@site-a.test"] and CHOSEN not in mail.message.get_content()
    token = link_token(mail)

    # The coordinator, on a phone, chooses a password from the link.
    cora = desk.page(PHONE)
    cora.goto(f"{desk.server.url}/staff/#/password/{token}")
    cmain = cora.get_by_role("main")
    expect(cmain.get_by_text("Welcome, Cora Coordinator.")).to_be_visible()
    cmain.get_by_label("New password", exact=True).fill("Password12345")
    cmain.get_by_label("New password again").fill("Password12345")
    cmain.get_by_role("button", name="Save my password").click()
    expect(cmain.get_by_role("alert")).to_contain_text("commonly used password")
    cmain.get_by_label("New password", exact=True).fill(CHOSEN)
    cmain.get_by_label("New password again").fill(CHOSEN)
    cmain.get_by_role("button", name="Save my password").click()
    expect(cmain.get_by_text("Your password is saved. Sign in with it.")).to_be_visible()
    assert serious_violations(cora) == []
    cmain.get_by_label("E-mail").fill("cora@site-a.test")
    cmain.get_by_label("Password").fill(CHOSEN)
    cmain.get_by_role("button", name="Sign in").click()
    expect(cora.get_by_role("button", name="Sign out")).to_be_visible()

    # Two-step sign-in: the QR code, its key, a confirmation code, the recovery codes.
    cora.get_by_role("navigation").get_by_role("link", name="My account").click()
    expect(cmain.get_by_role("heading", level=1, name="My account")).to_be_visible()
    cmain.get_by_role("button", name="Set up two-step sign-in").click()
    expect(
        cmain.get_by_role("img", name="QR code to scan with your authenticator app")
    ).to_be_visible()
    secret = cmain.locator("code.secret").inner_text().replace(" ", "")
    snap(cora, "account-totp-phone", full_page=True)
    assert serious_violations(cora) == []
    cmain.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    cmain.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(cmain.get_by_role("heading", name="Two-step sign-in is on")).to_be_visible()
    expect(cmain.locator(".recovery-codes li")).to_have_count(10)
    snap(cora, "account-recovery-codes-phone", full_page=True)
    cmain.get_by_role("button", name="I have kept my recovery codes").click()
    expect(cmain.get_by_role("heading", level=1, name="Flags")).to_be_visible()

    # Signing in again takes the code after the password.
    cora.get_by_role("button", name="Sign out").click()
    expect(cmain.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    cmain.get_by_label("E-mail").fill("cora@site-a.test")
    cmain.get_by_label("Password").fill(CHOSEN)
    cmain.get_by_role("button", name="Sign in").click()
    code = cmain.get_by_label("Code from your authenticator app")
    expect(code).to_be_focused()
    expect(cmain.get_by_role("status").filter(has_text="6-digit code")).to_be_visible()
    assert serious_violations(cora) == []  # the code-entry screen, on a phone
    code.fill(next_code(secret))
    cmain.get_by_role("button", name="Sign in").click()
    expect(cora.get_by_role("button", name="Sign out")).to_be_visible()

    # She changes her password.
    desk.go(cora, "account")
    form = cmain.get_by_role("form", name="Change my password")
    expect(form).to_be_visible()
    assert serious_violations(cora) == []  # the change-password screen, on a phone
    form.get_by_label("Current password").fill(CHOSEN)
    form.get_by_label("New password", exact=True).fill(CHANGED)
    form.get_by_label("New password again").fill(CHANGED)
    form.get_by_role("button", name="Change my password").click()
    expect(form.get_by_text("Your password is changed.")).to_be_visible()

    # The admin deactivates her; her open session ends at once.
    admin.reload()
    row = main.get_by_role("table", name="Staff accounts").get_by_role(
        "row", name="Cora Coordinator"
    )
    row.get_by_role("button", name="Edit Cora Coordinator").click()
    edit = admin.get_by_role("form", name="Edit Cora Coordinator")
    expect(edit.get_by_label("Active (can sign in)")).to_be_checked()
    edit.get_by_label("Active (can sign in)").uncheck()
    edit.get_by_label("Reason for the change").fill("Left the study team")
    edit.get_by_role("button", name="Save changes").click()
    expect(main.get_by_text("deactivated (their sessions have ended)")).to_be_visible()
    desk.go(cora, "participants")
    expect(cmain.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    cmain.get_by_label("E-mail").fill("cora@site-a.test")
    cmain.get_by_label("Password").fill(CHANGED)
    cmain.get_by_role("button", name="Sign in").click()
    expect(cmain.get_by_role("alert")).to_contain_text("Wrong e-mail or password")
    actions = {r["action"] for r in db.query("SELECT action FROM audit_log")}
    assert {
        "staff.password_set",
        "staff.second_factor_on",
        "staff.password_change",
        "staff.deactivate",
    } <= actions
    why = {
        r["action"]: r["reason"]
        for r in db.query(
            "SELECT action, reason FROM audit_log WHERE action IN ('site.create', 'staff.create')"
        )
    }
    assert why == {
        "site.create": "Chicago joins the study",
        "staff.create": "New coordinator for Chicago",
    }


def test_a_forgotten_password_link_is_asked_for_from_the_sign_in_page(desk, make_staff, smtp, app):
    app.config["DIARY_BASE_URL"] = desk.server.url
    make_staff("fay@site-a.test", "coordinator", ("SITE-A",))
    page = desk.page(PHONE)
    page.goto(f"{desk.server.url}/staff/")
    main = page.get_by_role("main")
    main.get_by_role("link", name="Forgot your password?").click()
    main.get_by_label("E-mail of your staff account").fill("fay@site-a.test")
    main.get_by_role("button", name="Send me a link").click()
    expect(
        main.get_by_text("If fay@site-a.test is a staff account, a link is on its way.")
    ).to_be_visible()
    assert serious_violations(page) == []
    token = link_token(wait_for_mail(smtp)[0])
    page.goto(f"{desk.server.url}/staff/#/password/{token}")
    expect(main.get_by_text("Saving it signs out every session")).to_be_visible()
    main.get_by_label("New password", exact=True).fill(CHOSEN)
    main.get_by_label("New password again").fill(CHOSEN)
    main.get_by_role("button", name="Save my password").click()
    expect(main.get_by_text("Your password is saved.")).to_be_visible()
    # The link is used up.
    page.goto(f"{desk.server.url}/staff/#/password/{token}")
    page.reload()
    expect(main.get_by_role("alert")).to_contain_text("expired or was used already")


def test_the_admin_screens_are_usable_on_a_phone(desk, make_staff, snap):
    make_staff("ada@study.test", "admin", (), full_name="Ada Admin")
    make_staff("cy@site-a.test", "coordinator", ("SITE-A",), full_name="Cy Coordinator")
    page = desk.page(PHONE)
    desk.sign_in(page, "ada@study.test", route="#/accounts")
    main = page.get_by_role("main")
    expect(main.get_by_role("table", name="Staff accounts")).to_contain_text("Cy Coordinator")
    main.get_by_role("button", name="Edit Cy Coordinator").click()
    expect(page.get_by_role("form", name="Edit Cy Coordinator")).to_be_visible()
    snap(page, "accounts-phone", full_page=True)
    assert serious_violations(page) == []
    desk.go(page, "access")
    expect(main.get_by_role("heading", level=1, name="Access log")).to_be_visible()
    expect(main.get_by_text("ada@study.test").first).to_be_visible()
    snap(page, "access-log-phone", full_page=True)
    assert serious_violations(page) == []


def test_an_admin_sends_a_reset_link_and_resets_two_step_sign_in_from_the_console(
    desk, make_staff, new_client, smtp, app, db
):
    app.config["DIARY_BASE_URL"] = desk.server.url
    make_staff("ada@study.test", "admin", (), full_name="Ada Admin")
    make_staff("tom@site-a.test", "coordinator", ("SITE-A",), full_name="Tom Twostep")
    # Tom set up two-step sign-in earlier.
    earlier = new_client()
    assert (
        earlier.post("staff/login", {"email": "tom@site-a.test", "password": PASSWORD}).status_code
        == 200
    )
    secret = earlier.post("staff/mfa/totp").get_json()["secret"]
    confirmed = earlier.post("staff/mfa/totp/confirm", {"code": pyotp.TOTP(secret).now()})
    assert confirmed.status_code == 200

    # Tom signs in at his desk: the code-entry and change-password screens at 1280×800.
    tom = desk.page()
    tom.goto(f"{desk.server.url}/staff/")
    tmain = tom.get_by_role("main")
    tmain.get_by_label("E-mail").fill("tom@site-a.test")
    tmain.get_by_label("Password").fill(PASSWORD)
    tmain.get_by_role("button", name="Sign in").click()
    code = tmain.get_by_label("Code from your authenticator app")
    expect(code).to_be_focused()
    assert serious_violations(tom) == []
    code.fill(next_code(secret))
    tmain.get_by_role("button", name="Sign in").click()
    expect(tom.get_by_role("button", name="Sign out")).to_be_visible()
    desk.go(tom, "account")
    expect(tmain.get_by_role("form", name="Change my password")).to_be_visible()
    assert serious_violations(tom) == []

    # He lost his phone: the admin mails him a reset link and resets two-step sign-in.
    admin = desk.page()
    desk.sign_in(admin, "ada@study.test", route="#/accounts")
    main = admin.get_by_role("main")
    main.get_by_role("table", name="Staff accounts").get_by_role(
        "row", name="Tom Twostep"
    ).get_by_role("button", name="Edit Tom Twostep").click()
    edit = admin.get_by_role("form", name="Edit Tom Twostep")
    edit.get_by_role("button", name="Send a password reset link").click()
    expect(
        edit.get_by_text("The password reset link was mailed to tom@site-a.test")
    ).to_be_visible()
    (mail,) = wait_for_mail(smtp)
    assert mail.rcpt_tos == ["tom@site-a.test"] and link_token(mail)
    edit.get_by_role("button", name="Reset two-step sign-in").click()
    expect(edit.get_by_text("Give the reason first")).to_be_visible()
    edit.get_by_label("Reason for the change").fill("Phone lost")
    edit.get_by_role("button", name="Reset two-step sign-in").click()
    expect(edit.get_by_text("Two-step sign-in is reset")).to_be_visible()
    assert serious_violations(admin) == []
    # His open session ended with it.
    desk.go(tom, "participants")
    expect(tmain.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    row = db.execute("SELECT totp_enabled_at FROM staff WHERE email = 'tom@site-a.test'").fetchone()
    assert row[0] is None
    audited = {
        r["action"]: r
        for r in db.query(
            "SELECT * FROM audit_log WHERE action IN ('staff.reset_sent',"
            " 'staff.second_factor_reset')"
        )
    }
    assert audited["staff.reset_sent"]["actor_label"].startswith("Ada Admin <")
    assert audited["staff.second_factor_reset"]["actor_label"].startswith("Ada Admin <")
    assert audited["staff.second_factor_reset"]["reason"] == "Phone lost"
