"""An administrator runs the study's staff accounts and sites from the API (SPEC §15)."""

from __future__ import annotations

from account_support import link_token
from mail_support import wait_for_mail

STRONG = "tawny-kettle-orbit-9241"


def admin(staff_client):
    a = staff_client("admin", (), full_name="Ada Admin")
    a.post("staff/sites", {"code": "SITE-A", "timezone": "America/Chicago"})
    return a


def test_an_admin_invites_a_coordinator_who_sets_a_password_from_the_mail(
    staff_client, new_client, smtp, db
):
    a = admin(staff_client)
    created = a.post(
        "staff/accounts",
        {
            "email": "cora@site-a.test",
            "full_name": "Cora Coordinator",
            "role": "coordinator",
            "sites": ["SITE-A"],
        },
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["link"]["sent"] and body["link"]["purpose"] == "invitation"
    assert body["password_set"] is False and body["invitation_expires_at"]
    (mail,) = wait_for_mail(smtp)
    assert mail.rcpt_tos == ["cora@site-a.test"]
    assert "coordinator at SITE-A" in mail.message.get_content()
    token = link_token(mail)
    # No password travels by mail, and none works before the link is used.
    c = new_client()
    assert (
        c.post("staff/login", {"email": "cora@site-a.test", "password": STRONG}).status_code == 401
    )
    state = c.get(f"staff/password-reset/{token}").get_json()
    assert state["email"] == "cora@site-a.test" and state["purpose"] == "invitation"
    assert c.post(f"staff/password-reset/{token}", {"new_password": STRONG}).status_code == 200
    signed = c.post("staff/login", {"email": "cora@site-a.test", "password": STRONG})
    assert signed.status_code == 200 and signed.get_json()["full_name"] == "Cora Coordinator"
    listed = {x["email"]: x for x in a.get("staff/accounts").get_json()["accounts"]}
    assert listed["cora@site-a.test"]["password_set"] is True
    assert listed["cora@site-a.test"]["invitation_expires_at"] is None
    actions = [r["action"] for r in db.query("SELECT action FROM audit_log ORDER BY id")]
    assert "staff.create" in actions and "staff.invitation_sent" in actions
    assert "staff.password_set" in actions


def test_only_admins_manage_accounts_and_sites(staff_client):
    for role in ("coordinator", "investigator"):
        c = staff_client(role)
        assert c.get("staff/accounts").status_code == 403
        assert (
            c.post(
                "staff/accounts", {"email": "x@y.test", "full_name": "X Y", "role": "admin"}
            ).status_code
            == 403
        )
        assert c.post("staff/sites", {"code": "NEW", "timezone": "UTC"}).status_code == 403


def test_deactivating_an_account_ends_its_open_session_at_once(staff_client, make_staff, login, db):
    a = admin(staff_client)
    make_staff("ivy@site-a.test", "investigator", ("SITE-A",), full_name="Ivy Investigator")
    ivy = login("ivy@site-a.test")
    assert ivy.get("staff/flags").status_code == 200
    (row,) = db.query("SELECT id FROM staff WHERE email = 'ivy@site-a.test'")
    missing_reason = a.patch(f"staff/accounts/{row['id']}", {"active": False})
    assert (
        missing_reason.status_code == 422
        and "reason" in missing_reason.get_json()["error"]["fields"]
    )
    done = a.patch(
        f"staff/accounts/{row['id']}", {"active": False, "reason": "left the study team"}
    )
    assert done.status_code == 200 and done.get_json()["active"] is False
    assert ivy.get("staff/flags").status_code == 401
    ended = db.execute(
        "SELECT end_reason FROM sessions WHERE staff_id = ? AND kind = 'staff'", [row["id"]]
    ).fetchall()
    assert ended == [("deactivated",)]
    (audit,) = db.query("SELECT * FROM audit_log WHERE action = 'staff.deactivate'")
    assert audit["reason"] == "left the study team" and "Ada Admin" in audit["actor_label"]


def test_the_last_active_admin_cannot_be_removed_or_demoted(staff_client, db):
    a = admin(staff_client)
    (me,) = db.query("SELECT id FROM staff WHERE role = 'admin'")
    for change in ({"active": False}, {"role": "coordinator", "sites": ["SITE-A"]}):
        refused = a.patch(f"staff/accounts/{me['id']}", {**change, "reason": "tidy up"})
        assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "last_admin"
    second = admin(staff_client)
    assert (
        a.patch(
            f"staff/accounts/{me['id']}",
            {"role": "coordinator", "sites": ["SITE-A"], "reason": "handover"},
        ).status_code
        == 200
    )
    (other,) = db.query("SELECT id FROM staff WHERE role = 'admin'")
    refused = second.patch(f"staff/accounts/{other['id']}", {"active": False, "reason": "oops"})
    assert refused.status_code == 409


def test_role_sites_and_name_edits_take_effect_on_the_next_request(
    staff_client, make_staff, login, db
):
    a = admin(staff_client)
    assert (
        a.post("staff/sites", {"code": "SITE-B", "timezone": "America/Denver"}).status_code == 201
    )
    make_staff("cy@site-a.test", "coordinator", ("SITE-A",))
    cy = login("cy@site-a.test")
    (row,) = db.query("SELECT id FROM staff WHERE email = 'cy@site-a.test'")
    assert [s["code"] for s in cy.get("staff/sites").get_json()["sites"]] == ["SITE-A"]
    changed = a.patch(
        f"staff/accounts/{row['id']}",
        {"sites": ["SITE-B"], "full_name": "Cy  Coordinator", "reason": "moved to Denver"},
    )
    assert changed.status_code == 200 and changed.get_json()["full_name"] == "Cy Coordinator"
    assert [s["code"] for s in cy.get("staff/sites").get_json()["sites"]] == ["SITE-B"]
    unknown = a.patch(f"staff/accounts/{row['id']}", {"sites": ["NOPE"], "reason": "typo"})
    assert unknown.status_code == 422 and "sites" in unknown.get_json()["error"]["fields"]
    none = a.patch(f"staff/accounts/{row['id']}", {"sites": [], "reason": "typo"})
    assert none.status_code == 422
    (audit,) = db.query("SELECT * FROM audit_log WHERE action = 'staff.update'")
    assert '"SITE-A"' in audit["before"] and '"SITE-B"' in audit["after"]


def test_sites_keep_a_time_zone_and_the_phone_participants_call(staff_client, db):
    a = admin(staff_client)
    made = a.post(
        "staff/sites",
        {
            "code": "SITE-C",
            "name": "Chicago Spine",
            "timezone": "America/Chicago",
            "phone": "+1 312 555 0100",
        },
    )
    assert made.status_code == 201 and made.get_json()["phone"] == "+1 312 555 0100"
    assert made.get_json()["timezone"] == "America/Chicago"
    saved = db.execute("SELECT timezone FROM sites WHERE code = 'SITE-C'").fetchone()[0]
    assert saved == "America/Chicago"
    assert a.post("staff/sites", {"code": "SITE-C", "timezone": "UTC"}).status_code == 409
    # Only a name as the time zone database spells it: not another case, padding, a
    # system file, an abbreviation it does not list or an offset.
    for zone in (
        "america/chicago",
        "AMERICA/CHICAGO",
        " America/Chicago",
        "America/Chicago/",
        "posix/America/Chicago",
        "localtime",
        "CST",
        "UTC+05:00",
        "Mars/Olympus",
    ):
        refused = a.post("staff/sites", {"code": "SITE-Z", "timezone": zone})
        assert refused.status_code == 422, zone
        assert "timezone" in refused.get_json()["error"]["fields"], zone
        changed = a.patch("staff/sites/SITE-C", {"timezone": zone, "reason": "wrong zone"})
        assert changed.status_code == 422, zone
    assert db.execute("SELECT count(*) FROM sites WHERE code = 'SITE-Z'").fetchone()[0] == 0
    moved = a.patch("staff/sites/SITE-C", {"timezone": "America/Denver", "reason": "moved west"})
    assert moved.status_code == 200 and moved.get_json()["timezone"] == "America/Denver"
    saved = db.execute("SELECT timezone FROM sites WHERE code = 'SITE-C'").fetchone()[0]
    assert saved == "America/Denver"
    for bad in (
        {"timezone": "Mars/Olympus", "reason": "x" * 5},
        {"phone": "call us", "reason": "xxxx"},
    ):
        response = a.patch("staff/sites/SITE-C", bad)
        assert response.status_code == 422, bad
    changed = a.patch("staff/sites/SITE-C", {"phone": "+1 (312) 555-0199", "reason": "new line"})
    assert changed.status_code == 200 and changed.get_json()["phone"] == "+1 (312) 555-0199"
    listed = {s["code"]: s for s in a.get("staff/sites").get_json()["sites"]}
    assert listed["SITE-C"]["phone"] == "+1 (312) 555-0199"
    assert listed["SITE-C"]["timezone"] == "America/Denver"
    assert (
        a.patch("staff/sites/NOPE", {"phone": "+1 312 555 0100", "reason": "xxxx"}).status_code
        == 404
    )
    reasons = [
        r["reason"] for r in db.query("SELECT * FROM audit_log WHERE action = 'site.update'")
    ]
    assert reasons == ["moved west", "new line"]


def test_an_invitation_that_could_not_be_mailed_says_so_and_can_be_sent_again(
    staff_client, app, smtp, db
):
    a = admin(staff_client)
    smtp.stop()
    created = a.post(
        "staff/accounts",
        {
            "email": "late@site-a.test",
            "full_name": "Lee Late",
            "role": "coordinator",
            "sites": ["SITE-A"],
        },
    )
    assert created.status_code == 201 and created.get_json()["link"]["sent"] is False
    smtp.start()
    again = a.post(f"staff/accounts/{created.get_json()['id']}/link")
    assert again.status_code == 200 and again.get_json()["link"]["sent"] is True
    wait_for_mail(smtp)


def test_an_invited_admin_who_cannot_sign_in_yet_does_not_count_as_the_other_admin(
    staff_client, db, smtp
):
    a = admin(staff_client)
    a.post("staff/accounts", {"email": "next@study.test", "full_name": "Nat Next", "role": "admin"})
    (me,) = db.query("SELECT id FROM staff WHERE full_name = 'Ada Admin'")
    refused = a.patch(f"staff/accounts/{me['id']}", {"active": False, "reason": "handing over"})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "last_admin"


def test_an_invitation_and_a_new_site_keep_why_in_the_audit_trail(staff_client, smtp, db):
    a = staff_client("admin", (), full_name="Ada Admin")
    made = a.post(
        "staff/sites",
        {"code": "SITE-R", "timezone": "Europe/Berlin", "reason": "Berlin joins the study"},
    )
    assert made.status_code == 201, made.get_json()
    invited = a.post(
        "staff/accounts",
        {
            "email": "rue@site-r.test",
            "full_name": "Rue Reason",
            "role": "coordinator",
            "sites": ["SITE-R"],
            "reason": "new study nurse at Berlin",
        },
    )
    assert invited.status_code == 201, invited.get_json()
    # Why is optional; when given it must say something.
    plain = a.post("staff/sites", {"code": "SITE-P", "timezone": "UTC"})
    assert plain.status_code == 201
    for path, body in (
        ("staff/sites", {"code": "SITE-Q", "timezone": "UTC", "reason": "x"}),
        (
            "staff/accounts",
            {"email": "q@q.test", "full_name": "Q Q", "role": "admin", "reason": "x"},
        ),
    ):
        refused = a.post(path, body)
        assert refused.status_code == 422 and "reason" in refused.get_json()["error"]["fields"]
    rows = {
        (r["action"], r["object_id"]): r
        for r in db.query("SELECT * FROM audit_log WHERE action IN ('site.create', 'staff.create')")
    }
    site_row = rows[("site.create", "SITE-R")]
    assert site_row["reason"] == "Berlin joins the study"
    assert site_row["actor_label"].startswith("Ada Admin <")
    staff_row = rows[("staff.create", str(invited.get_json()["id"]))]
    assert staff_row["reason"] == "new study nurse at Berlin"
    assert staff_row["actor_label"].startswith("Ada Admin <")
    assert rows[("site.create", "SITE-P")]["reason"] is None
    assert ("site.create", "SITE-Q") not in rows
