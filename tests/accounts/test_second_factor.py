"""Two-step sign-in with an authenticator app (TOTP, SPEC §15)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import time_machine
from account_support import code_at

PASSWORD = "correct horse battery"  # tests/conftest.py
T0 = datetime(2026, 5, 4, 14, 0, 5, tzinfo=UTC)


def enrol(client, moment):
    begun = client.post("staff/mfa/totp")
    assert begun.status_code == 200, begun.get_json()
    body = begun.get_json()
    assert body["otpauth_uri"].startswith("otpauth://totp/") and body["qr_data_uri"].startswith(
        "data:image/svg+xml"
    )
    done = client.post("staff/mfa/totp/confirm", {"code": code_at(body["secret"], moment)})
    assert done.status_code == 200, done.get_json()
    return body["secret"], done.get_json()["recovery_codes"]


def sign_in(client, email, **extra):
    return client.post("staff/login", {"email": email, "password": PASSWORD, **extra})


def test_once_enrolled_signing_in_needs_the_code_and_a_code_works_once(
    make_staff, login, new_client, db
):
    make_staff("tia@site-a.test", "investigator", full_name="Tia Totp")
    with time_machine.travel(T0, tick=False):
        me = login("tia@site-a.test")
        secret, recovery = enrol(me, T0)
        assert len(recovery) == 10 and len(set(recovery)) == 10
        assert me.get("session").get_json()["user"]["mfa_enabled"] is True
        stored = db.execute(
            "SELECT totp_secret FROM staff WHERE email = 'tia@site-a.test'"
        ).fetchone()[0]
        assert secret not in stored  # kept encrypted
    later = T0 + timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        c = new_client()
        missing = sign_in(c, "tia@site-a.test")
        assert missing.status_code == 401 and missing.get_json()["error"]["code"] == "otp_required"
        wrong = sign_in(c, "tia@site-a.test", otp="000000")
        assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "wrong_otp"
        code = code_at(secret, later)
        assert sign_in(c, "tia@site-a.test", otp=code).status_code == 200
        replay = sign_in(new_client(), "tia@site-a.test", otp=code)
        assert replay.status_code == 401 and replay.get_json()["error"]["code"] == "wrong_otp"
        # A code of the step before still works (the phone's clock is a little slow).
        assert (
            sign_in(
                new_client(), "tia@site-a.test", otp=code_at(secret, later + timedelta(seconds=30))
            ).status_code
            == 200
        )
    events = [r["event"] for r in db.query("SELECT event FROM access_log ORDER BY id")]
    assert "second_factor_failed" in events
    # Never the code that was typed, right or wrong.
    for row in db.query("SELECT * FROM access_log"):
        assert not {"000000", code} & {str(v) for v in row.values()}


def test_a_wrong_password_still_looks_the_same_for_an_account_with_a_second_factor(
    make_staff, login, new_client
):
    make_staff("two@site-a.test")
    make_staff("one@site-a.test")
    with time_machine.travel(T0, tick=False):
        enrol(login("two@site-a.test"), T0)
        answers = [
            new_client().post("staff/login", {"email": e, "password": "wrong wrong wrong"})
            for e in ("two@site-a.test", "one@site-a.test", "nobody@site-a.test")
        ]
    assert {(r.status_code, r.get_data()) for r in answers} == {(401, answers[0].get_data())}


def test_a_recovery_code_signs_in_once(make_staff, login, new_client, db):
    make_staff("rec@site-a.test")
    with time_machine.travel(T0, tick=False):
        _, recovery = enrol(login("rec@site-a.test"), T0)
        used = sign_in(new_client(), "rec@site-a.test", otp=recovery[3].upper())
        assert used.status_code == 200 and used.get_json()["recovery_codes_left"] == 9
        again = sign_in(new_client(), "rec@site-a.test", otp=recovery[3])
        assert again.status_code == 401
    assert [
        r["event"]
        for r in db.query("SELECT event FROM access_log WHERE event = 'recovery_code_used'")
    ] == ["recovery_code_used"]


def test_guessing_codes_is_throttled_like_passwords(make_staff, login, new_client, app):
    make_staff("guess@site-a.test")
    with time_machine.travel(T0, tick=False):
        enrol(login("guess@site-a.test"), T0)
        c = new_client()
        statuses = [sign_in(c, "guess@site-a.test", otp=f"{n:06d}").status_code for n in range(8)]
    limit = app.config["STAFF_FAILURES_PER_ACCOUNT_AT_ADDRESS"]
    assert statuses[:limit] == [401] * limit and set(statuses[limit:]) == {429}


def test_a_right_password_without_its_code_neither_counts_as_a_failure_nor_resets_the_count(
    make_staff, login, new_client, app
):
    make_staff("part@site-a.test")
    limit = app.config["STAFF_FAILURES_PER_ACCOUNT_AT_ADDRESS"]
    with time_machine.travel(T0, tick=False):
        enrol(login("part@site-a.test"), T0)
        c = new_client()
        for n in range(limit - 1):
            assert sign_in(c, "part@site-a.test", otp=f"{n:06d}").status_code == 401
        for _ in range(3):  # the owner's first step, over and over
            assert sign_in(c, "part@site-a.test").get_json()["error"]["code"] == "otp_required"
        assert sign_in(c, "part@site-a.test", otp="999999").status_code == 401
        assert sign_in(c, "part@site-a.test", otp="999998").status_code == 429


def test_roles_that_need_a_second_factor_can_only_set_it_up_until_they_have(make_staff, login, app):
    app.config["STAFF_MFA_REQUIRED_ROLES"] = frozenset({"investigator", "admin"})
    make_staff("need@site-a.test", "investigator", full_name="Nina Needs")
    make_staff("free@site-a.test", "coordinator")
    with time_machine.travel(T0, tick=False):
        me = login("need@site-a.test")
        session = me.get("session").get_json()["user"]
        assert session["second_factor_setup_required"] is True
        held = me.get("staff/flags")
        assert (
            held.status_code == 403
            and held.get_json()["error"]["code"] == "second_factor_setup_required"
        )
        assert login("free@site-a.test").get("staff/flags").status_code == 200
        enrol(me, T0)
        assert me.get("staff/flags").status_code == 200


def test_an_admin_resets_a_lost_second_factor_and_the_account_enrols_again(
    staff_client, make_staff, login, new_client, db
):
    make_staff("lost@site-a.test")
    with time_machine.travel(T0, tick=False):
        admin = staff_client("admin", ())
        me = login("lost@site-a.test")
        secret, _ = enrol(me, T0)
        assert me.post("staff/mfa/totp").status_code == 409  # on already: an admin resets it
        (row,) = db.query("SELECT id FROM staff WHERE email = 'lost@site-a.test'")
        reset = admin.post(
            f"staff/accounts/{row['id']}/second-factor-reset", {"reason": "phone lost"}
        )
        assert reset.status_code == 200 and reset.get_json()["mfa_enabled"] is False
        assert me.get("staff/flags").status_code == 401  # the sessions ended
        again = new_client()
        assert sign_in(again, "lost@site-a.test").status_code == 200  # no code needed now
        enrol(again, T0)


def test_a_confirmation_code_that_is_wrong_leaves_it_off(make_staff, login):
    make_staff("typo@site-a.test")
    with time_machine.travel(T0, tick=False):
        me = login("typo@site-a.test")
        assert me.post("staff/mfa/totp/confirm", {"code": "123456"}).status_code == 409  # not begun
        me.post("staff/mfa/totp")
        wrong = me.post("staff/mfa/totp/confirm", {"code": "123456"})
        assert wrong.status_code == 422 and "code" in wrong.get_json()["error"]["fields"]
        assert me.get("session").get_json()["user"]["mfa_enabled"] is False


ALLOWED_BEFORE_SECOND_FACTOR = {
    "/api/v1/staff/login",
    "/api/v1/staff/logout",
    "/api/v1/staff/password",
    "/api/v1/staff/password-reset",
    "/api/v1/staff/password-reset/<token>",
    "/api/v1/staff/mfa/totp",
    "/api/v1/staff/mfa/totp/confirm",
}


def test_no_staff_endpoint_but_setting_up_opens_before_the_required_second_factor(
    make_staff, login, app
):
    app.config["STAFF_MFA_REQUIRED_ROLES"] = frozenset({"admin"})
    make_staff("boss@site-a.test", "admin", ())
    with time_machine.travel(T0, tick=False):
        me = login("boss@site-a.test")
        values = {"int": "1", "date": "2026-05-01", "default": "LBP-001"}
        checked = 0
        for rule in app.url_map.iter_rules():
            if (
                not rule.rule.startswith("/api/v1/staff")
                or rule.rule in ALLOWED_BEFORE_SECOND_FACTOR
            ):
                continue
            path = rule.rule
            for arg in rule.arguments:
                converter = type(rule._converters[arg]).__name__.lower()
                kind = (
                    "int"
                    if "integer" in converter or converter == "idconverter"
                    else "date"
                    if "date" in converter
                    else "default"
                )
                path = re.sub(rf"<[^>]*{arg}>", values[kind], path)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = me._send(method.lower(), path, {}) if method != "GET" else me.get(path)
                body = response.get_json() or {}
                assert response.status_code == 403, (method, path, response.status_code, body)
                assert body["error"]["code"] == "second_factor_setup_required", (method, path)
                checked += 1
    assert checked > 50


def from_address(new_client, address):
    client = new_client()
    client.client.environ_base["REMOTE_ADDR"] = address
    return client


def guess_ten_codes(new_client, traveller, start, email, first_address):
    """Ten wrong codes after the right password, each from its own address."""
    for n in range(10):
        traveller.move_to(start + timedelta(seconds=11 * (n + 1)))
        guesser = from_address(new_client, f"192.0.{first_address}.{n + 1}")
        assert sign_in(guesser, email, otp=f"{n:06d}").status_code == 401


def test_past_ten_wrong_codes_only_browsers_new_to_the_account_stop_having_codes_checked(
    make_staff, login, new_client, db
):
    email = "paused@site-a.test"
    make_staff(email)
    with time_machine.travel(T0 - timedelta(hours=1), tick=False) as traveller:
        # A browser that signed in with the password alone, before two-step sign-in was on.
        old_laptop = login(email)
        traveller.move_to(T0)
        phone = login(email)
        secret, _ = enrol(phone, T0)  # the browser that set it up holds the factor
        phone.post("staff/logout")
        signed = T0 + timedelta(seconds=40)
        traveller.move_to(signed)
        laptop = new_client()
        assert sign_in(laptop, email, otp=code_at(secret, signed)).status_code == 200
        laptop.post("staff/logout")
        guess_ten_codes(new_client, traveller, T0 + timedelta(minutes=1), email, 2)

        later = T0 + timedelta(minutes=5)
        traveller.move_to(later)
        for stranger in (from_address(new_client, "100.64.0.1"), old_laptop):
            paused = sign_in(stranger, email, otp=code_at(secret, later))
            assert paused.status_code == 429
            assert paused.get_json()["error"]["code"] == "second_factor_paused"
        # The owner, on the laptop they signed in with before, from another network:
        laptop.client.environ_base["REMOTE_ADDR"] = "198.51.100.20"
        assert sign_in(laptop, email, otp=code_at(secret, later)).status_code == 200

        guess_ten_codes(new_client, traveller, T0 + timedelta(minutes=6), email, 3)
        again = T0 + timedelta(minutes=10)
        traveller.move_to(again)
        assert (
            sign_in(from_address(new_client, "100.64.0.2"), email, otp="123456").status_code == 429
        )
        # ...and on the phone that set two-step sign-in up.
        assert sign_in(phone, email, otp=code_at(secret, again)).status_code == 200


def test_under_a_password_attack_from_many_addresses_the_owner_signs_in_with_the_code(
    app, make_staff, login, new_client
):
    email = "tess@site-a.test"
    make_staff(email, "investigator")
    per_account = app.config["STAFF_FAILURES_PER_ACCOUNT"]
    with time_machine.travel(T0, tick=False) as traveller:
        secret, _ = enrol(login(email), T0)
        answered = [
            from_address(new_client, f"192.0.2.{n % 200 + 1}")
            .post("staff/login", {"email": email, "password": f"guess-{n:06d}"})
            .status_code
            for n in range(per_account + 20)
        ]
        assert answered[:per_account] == [401] * per_account
        assert set(answered[per_account:]) == {429}
        later = T0 + app.config["STAFF_SLOWED_INTERVAL"] + timedelta(seconds=30)
        traveller.move_to(later)
        # A browser new to the account, from a fresh address, as the console does it: the
        # password first, then the code. The right password is no guess, so the code
        # that follows is not made to wait for the account's slowed turn.
        owner = from_address(new_client, "198.51.100.77")
        first = sign_in(owner, email)
        assert first.status_code == 401 and first.get_json()["error"]["code"] == "otp_required"
        assert sign_in(owner, email, otp=code_at(secret, later)).status_code == 200


def test_recovery_codes_are_not_kept_in_plain_text(make_staff, login, db):
    make_staff("keep@site-a.test")
    with time_machine.travel(T0, tick=False):
        secret, recovery = enrol(login("keep@site-a.test"), T0)
    dump = "\n".join(db.conn.iterdump())
    assert "keep@site-a.test" in dump  # the dump holds the account's rows
    for code in recovery:
        for form in (code, code.replace("-", ""), code.upper()):
            assert form not in dump
    assert secret not in dump
    stored = db.execute("SELECT count(*) FROM staff_recovery_codes").fetchone()[0]
    assert stored == len(recovery)
