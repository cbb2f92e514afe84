from datetime import timedelta

import time_machine

from diary import clock


def test_staff_login_returns_the_user_and_session_reports_it(api, make_staff):
    make_staff("coord@a.test")
    response = api.post(
        "staff/login", {"email": "coord@a.test", "password": "correct horse battery"}
    )
    assert response.status_code == 200
    user = response.get_json()
    assert (user["kind"], user["email"], user["role"]) == ("staff", "coord@a.test", "coordinator")
    assert api.get("session").get_json()["user"] == user


def test_the_session_says_what_the_role_may_do_and_when_it_times_out(api, make_staff, app):
    """The console offers actions and times out by these, not by a copy of its own."""
    make_staff("doc@a.test", "investigator")
    make_staff("coord@a.test", "coordinator")
    app.config["STAFF_IDLE_TIMEOUT"] = timedelta(minutes=20)
    doc = api.post("staff/login", {"email": "doc@a.test", "password": "correct horse battery"})
    assert "flags.resolve" in doc.get_json()["permissions"]
    assert "audit.read" not in doc.get_json()["permissions"]
    assert doc.get_json()["idle_timeout_seconds"] == 20 * 60
    api.post("staff/logout", {})
    coord = api.post("staff/login", {"email": "coord@a.test", "password": "correct horse battery"})
    assert "flags.resolve" not in coord.get_json()["permissions"]
    assert "flags.acknowledge" in coord.get_json()["permissions"]


def test_wrong_password_is_401_json(api, make_staff):
    make_staff("coord@a.test")
    response = api.post("staff/login", {"email": "coord@a.test", "password": "wrong password!!"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(api):
    response = api.post("staff/login", {"email": "nobody@a.test", "password": "whatever it is"})
    assert response.status_code == 401
    assert response.get_json()["error"]["message"] == "Wrong e-mail or password."


def test_five_failures_from_one_address_cool_that_address_down_for_fifteen_minutes(
    api, make_staff, db
):
    make_staff("coord@a.test")
    start = clock.now()
    with time_machine.travel(start, tick=False) as traveller:
        for attempt in range(5):
            r = api.post(
                "staff/login", {"email": "coord@a.test", "password": f"wrong {attempt:08d}"}
            )
            assert r.status_code == 401
        right = {"email": "coord@a.test", "password": "correct horse battery"}
        r = api.post("staff/login", right)
        assert r.status_code == 429
        assert r.get_json()["error"]["code"] == "too_many_attempts"
        assert 14 * 60 < int(r.headers["Retry-After"]) <= 15 * 60
        traveller.move_to(start + timedelta(minutes=14, seconds=59))
        assert api.post("staff/login", right).status_code == 429
        traveller.move_to(start + timedelta(minutes=15, seconds=1))
        assert api.post("staff/login", right).status_code == 200
    # The count lives in the database, not in a process; nothing locks the account.
    outcomes = [r[0] for r in db.execute("SELECT outcome FROM signin_attempts ORDER BY id")]
    assert outcomes == ["failed"] * 5 + ["success"]
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE object_type='staff'")]
    assert actions.count("staff.login_failed") == 5 and actions[-1] == "staff.login"


def test_staff_session_ends_after_30_minutes_idle(make_staff, login):
    make_staff("coord@a.test")
    start = clock.now()
    with time_machine.travel(start, tick=False) as traveller:
        c = login("coord@a.test")
        traveller.move_to(start + timedelta(minutes=29))
        assert c.get("staff/participants").status_code == 200
        traveller.move_to(start + timedelta(minutes=58))  # 29 min after the last request
        assert c.get("staff/participants").status_code == 200
        traveller.move_to(start + timedelta(minutes=58 + 31))
        assert c.get("staff/participants").status_code == 401


def test_staff_session_ends_after_12_hours_however_active(make_staff, login):
    make_staff("coord@a.test")
    start = clock.now()
    with time_machine.travel(start, tick=False) as traveller:
        c = login("coord@a.test")
        for minutes in range(20, 12 * 60, 20):
            traveller.move_to(start + timedelta(minutes=minutes))
            assert c.get("staff/participants").status_code == 200
        traveller.move_to(start + timedelta(hours=12, minutes=1))
        assert c.get("staff/participants").status_code == 401


def test_logout_ends_the_server_side_session(make_staff, login, db):
    make_staff("coord@a.test")
    c = login("coord@a.test")
    cookie = c.client.get_cookie("diary_session")
    assert c.post("staff/logout").status_code == 200
    # Replaying the old cookie does not bring the session back.
    c.client.set_cookie(cookie.key, cookie.value)
    assert c.get("staff/participants").status_code == 401
    assert db.execute("SELECT end_reason FROM sessions").fetchone()[0] == "logout"


def test_a_hash_with_older_parameters_is_upgraded_at_sign_in(api, make_staff, db):
    from argon2 import PasswordHasher

    make_staff("coord@a.test")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(
        "correct horse battery"
    )
    db.execute("UPDATE staff SET password_hash = ?", [weak])
    body = {"email": "coord@a.test", "password": "correct horse battery"}
    assert api.post("staff/login", body).status_code == 200
    stored = db.execute("SELECT password_hash FROM staff").fetchone()[0]
    assert stored != weak and stored.startswith("$argon2id$")
    assert "m=8192" not in stored
