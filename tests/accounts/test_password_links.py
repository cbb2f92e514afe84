"""Password changes and single-use reset links (SPEC §15): once, until they expire,
other sessions ended, and the same answer whether or not the e-mail exists."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import time_machine
from account_support import link_token
from mail_support import wait_for_mail

OLD = "correct horse battery"  # tests/conftest.py PASSWORD
NEW = "tawny-kettle-orbit-9241"
T0 = datetime(2026, 5, 4, 14, 0, tzinfo=UTC)


def ask_reset(client, email):
    return client.post("staff/password-reset", {"email": email})


def test_a_reset_link_works_once_and_ends_every_session_of_the_account(
    make_staff, login, new_client, smtp, db
):
    make_staff("rose@site-a.test", full_name="Rose Reset")
    with time_machine.travel(T0, tick=False):
        laptop, phone = login("rose@site-a.test"), login("rose@site-a.test")
        anonymous = new_client()
        assert ask_reset(anonymous, "rose@site-a.test").status_code == 202
        (mail,) = wait_for_mail(smtp)
        token = link_token(mail)
        assert (
            "/staff/#/password/" in mail.message.get_content()
        )  # in the fragment: never sent to a server
        assert (
            anonymous.post(f"staff/password-reset/{token}", {"new_password": NEW}).status_code
            == 200
        )
        for session in (laptop, phone):
            assert session.get("staff/flags").status_code == 401
        again = anonymous.post(f"staff/password-reset/{token}", {"new_password": NEW + "x"})
        assert again.status_code == 404 and again.get_json()["error"]["code"] == "link_invalid"
        assert anonymous.get(f"staff/password-reset/{token}").status_code == 404
        assert (
            new_client()
            .post("staff/login", {"email": "rose@site-a.test", "password": OLD})
            .status_code
            == 401
        )
        assert (
            new_client()
            .post("staff/login", {"email": "rose@site-a.test", "password": NEW})
            .status_code
            == 200
        )


def test_a_reset_link_expires_after_an_hour_and_asking_again_cancels_nothing(
    make_staff, new_client, smtp
):
    make_staff("exp@site-a.test")
    c = new_client()
    with time_machine.travel(T0, tick=False):
        ask_reset(c, "exp@site-a.test")
        first = link_token(wait_for_mail(smtp)[0])
    with time_machine.travel(T0 + timedelta(minutes=59), tick=False):
        assert c.get(f"staff/password-reset/{first}").status_code == 200
        ask_reset(c, "exp@site-a.test")  # anyone may ask: it must not cancel the first link
        second = link_token(wait_for_mail(smtp, 2)[1])
        assert c.get(f"staff/password-reset/{first}").status_code == 200
    with time_machine.travel(T0 + timedelta(minutes=61), tick=False):
        assert c.get(f"staff/password-reset/{first}").status_code == 404  # expired
        assert c.post(f"staff/password-reset/{second}", {"new_password": NEW}).status_code == 200
    assert c.get("staff/password-reset/not-a-token").status_code == 404


def test_asking_for_a_reset_does_not_cancel_an_invitation(staff_client, new_client, smtp, db):
    admin = staff_client("admin", ())
    admin.post("staff/sites", {"code": "SITE-A", "timezone": "UTC"})
    made = admin.post(
        "staff/accounts",
        {
            "email": "new@site-a.test",
            "full_name": "Nia New",
            "role": "coordinator",
            "sites": ["SITE-A"],
        },
    )
    token = link_token(wait_for_mail(smtp)[0])
    assert ask_reset(new_client(), "new@site-a.test").status_code == 202
    assert new_client().get(f"staff/password-reset/{token}").status_code == 200
    listed = {a["email"]: a for a in admin.get("staff/accounts").get_json()["accounts"]}
    assert (
        listed["new@site-a.test"]["invitation_expires_at"]
        == made.get_json()["invitation_expires_at"]
    )
    assert len(smtp.messages) == 1  # no reset mail for an account with no password yet


def test_a_new_link_that_could_not_be_mailed_leaves_the_old_one_working(
    staff_client, new_client, smtp, db
):
    admin = staff_client("admin", ())
    admin.post("staff/sites", {"code": "SITE-A", "timezone": "UTC"})
    made = admin.post(
        "staff/accounts",
        {
            "email": "kept@site-a.test",
            "full_name": "Kim Kept",
            "role": "coordinator",
            "sites": ["SITE-A"],
        },
    ).get_json()
    token = link_token(wait_for_mail(smtp)[0])
    smtp.stop()
    again = admin.post(f"staff/accounts/{made['id']}/link").get_json()
    assert again["link"]["sent"] is False
    assert new_client().get(f"staff/password-reset/{token}").status_code == 200
    smtp.start()
    assert admin.post(f"staff/accounts/{made['id']}/link").get_json()["link"]["sent"] is True
    assert new_client().get(f"staff/password-reset/{token}").status_code == 404  # replaced


def test_asking_for_a_reset_answers_the_same_for_unknown_inactive_and_real_accounts(
    make_staff, staff_client, new_client, smtp, db
):
    make_staff("real@site-a.test")
    make_staff("gone@site-a.test")
    db.execute("UPDATE staff SET active = 0 WHERE email = 'gone@site-a.test'")
    db.conn.commit()
    c = new_client()
    answers = [
        ask_reset(c, e) for e in ("nobody@site-a.test", "gone@site-a.test", "real@site-a.test")
    ]
    assert {(r.status_code, r.get_data()) for r in answers} == {(202, answers[0].get_data())}
    wait_for_mail(smtp)
    assert [m.rcpt_tos for m in smtp.messages] == [["real@site-a.test"]]
    # Every request is in the access log, the unknown e-mail too.
    logged = [
        r["account"]
        for r in db.query("SELECT account FROM access_log WHERE event = 'password_reset_requested'")
    ]
    assert logged == ["nobody@site-a.test", "gone@site-a.test", "real@site-a.test"]


def test_reset_requests_cannot_flood_a_mailbox(make_staff, new_client, smtp):
    make_staff("flood@site-a.test")
    c = new_client()
    with time_machine.travel(T0, tick=False):
        for _ in range(6):
            assert ask_reset(c, "flood@site-a.test").status_code == 202
    wait_for_mail(smtp, 3)
    assert len(smtp.messages) == 3


def test_a_weak_password_or_the_email_is_refused_with_the_reason(make_staff, new_client, smtp):
    make_staff("weak@site-a.test", full_name="Wendy Weak")
    c = new_client()
    ask_reset(c, "weak@site-a.test")
    token = link_token(wait_for_mail(smtp)[0])
    for weak, words in (
        ("short", "at least 12"),
        ("Password12345", "commonly used"),
        ("weak@site-a.test", "e-mail"),
        ("wendyweak2026", None),
    ):
        refused = c.post(f"staff/password-reset/{token}", {"new_password": weak})
        assert refused.status_code == 422, weak
        error = refused.get_json()["error"]
        assert "new_password" in error["fields"]
        if words:
            assert words in error["fields"]["new_password"][0], error
    # Refusals do not use the link up.
    assert c.post(f"staff/password-reset/{token}", {"new_password": NEW}).status_code == 200


def test_staff_change_their_own_password_and_their_other_sessions_end(
    make_staff, login, new_client, db
):
    make_staff("cam@site-a.test")
    here, elsewhere = login("cam@site-a.test"), login("cam@site-a.test")
    wrong = here.post("staff/password", {"current_password": "not it at all", "new_password": NEW})
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "wrong_password"
    assert here.get("staff/flags").status_code == 200  # a wrong current password is no sign-out
    same = here.post("staff/password", {"current_password": OLD, "new_password": OLD})
    assert same.status_code == 422
    assert (
        here.post("staff/password", {"current_password": OLD, "new_password": NEW}).status_code
        == 200
    )
    assert here.get("staff/flags").status_code == 200
    assert elsewhere.get("staff/flags").status_code == 401
    assert (
        new_client().post("staff/login", {"email": "cam@site-a.test", "password": NEW}).status_code
        == 200
    )
    actions = [r["action"] for r in db.query("SELECT action FROM audit_log")]
    assert "staff.password_change_failed" in actions and "staff.password_change" in actions


def test_an_admins_reset_link_for_an_account_with_a_password_works_once_and_ends_its_sessions(
    staff_client, make_staff, login, new_client, smtp, db
):
    with time_machine.travel(T0, tick=False):
        admin = staff_client("admin", (), full_name="Ada Admin")
        staff_id = make_staff("pat@site-a.test", full_name="Pat Password")
        laptop, phone = login("pat@site-a.test"), login("pat@site-a.test")
        sent = admin.post(f"staff/accounts/{staff_id}/link")
        assert sent.status_code == 200, sent.get_json()
        assert sent.get_json()["link"] == {
            "purpose": "reset",
            "sent": True,
            "expires_at": "2026-05-04T15:00:00.000000+00:00",
        }
        (mail,) = wait_for_mail(smtp)
        assert mail.rcpt_tos == ["pat@site-a.test"]
        assert OLD not in mail.message.get_content()
        token = link_token(mail)
        # Until the link is used, the old password and the open sessions still work.
        assert laptop.get("staff/flags").status_code == 200
        anonymous = new_client()
        state = anonymous.get(f"staff/password-reset/{token}").get_json()
        assert state["purpose"] == "reset" and state["email"] == "pat@site-a.test"
        used = anonymous.post(f"staff/password-reset/{token}", {"new_password": NEW})
        assert used.status_code == 200
        again = anonymous.post(f"staff/password-reset/{token}", {"new_password": NEW + "x"})
        assert again.status_code == 404 and again.get_json()["error"]["code"] == "link_invalid"
        for session in (laptop, phone):
            assert session.get("staff/flags").status_code == 401
        assert admin.get("staff/accounts").status_code == 200  # only Pat's sessions ended
        for password, status in ((OLD, 401), (NEW, 200)):
            answer = new_client().post(
                "staff/login", {"email": "pat@site-a.test", "password": password}
            )
            assert answer.status_code == status
    admin_id = db.execute("SELECT id FROM staff WHERE full_name = 'Ada Admin'").fetchone()[0]
    (sent_row,) = db.query("SELECT * FROM audit_log WHERE action = 'staff.reset_sent'")
    assert sent_row["object_id"] == str(staff_id) and sent_row["actor_id"] == str(admin_id)
    assert sent_row["actor_label"].startswith("Ada Admin <")
    (reset_row,) = db.query("SELECT * FROM audit_log WHERE action = 'staff.password_reset'")
    assert json.loads(reset_row["after"])["sessions_ended"] == 2
    link = db.execute("SELECT created_by, used_at FROM staff_links").fetchall()
    assert link == [(admin_id, "2026-05-04T14:00:00.000000+00:00")]
