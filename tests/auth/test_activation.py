"""Activation codes (SPEC §9): single use, 14 days, hashed, rate limited."""

from datetime import timedelta

import time_machine

from diary import clock
from diary.auth import codes


def test_code_has_at_least_50_bits_from_an_unambiguous_alphabet():
    import math

    code = codes.new_code()
    raw = code.replace("-", "")
    assert len(raw) * math.log2(len(codes.ALPHABET)) >= 50
    assert not set("01ILOU") & set(codes.ALPHABET)
    assert set(raw) <= set(codes.ALPHABET)


def test_a_used_code_is_refused_with_the_same_message(enroll, new_client):
    code = enroll("LBP-001")
    first = new_client()
    assert first.post("participant/activate", {"code": code}).status_code == 200
    second = new_client()
    used = second.post("participant/activate", {"code": code})
    wrong = second.post("participant/activate", {"code": "AAAA-BBBB-CCCC"})
    assert used.status_code == wrong.status_code == 400
    assert used.get_json() == wrong.get_json()


def test_a_code_expires_after_14_days(enroll, new_client):
    start = clock.now()
    with time_machine.travel(start, tick=False) as traveller:
        code = enroll("LBP-001")
        traveller.move_to(start + timedelta(days=14, seconds=1))
        response = new_client().post("participant/activate", {"code": code})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_code"


def test_ten_failures_from_one_client_answer_429_even_for_a_good_code(enroll, new_client, db):
    code = enroll("LBP-001")
    attacker = new_client()
    start = clock.now()
    with time_machine.travel(start, tick=False) as traveller:
        for _ in range(10):
            guess = codes.new_code()
            assert attacker.post("participant/activate", {"code": guess}).status_code == 400
        blocked = attacker.post("participant/activate", {"code": code})
        assert blocked.status_code == 429
        assert int(blocked.headers["Retry-After"]) > 0
        # The good code was not consumed by the refused attempt.
        assert db.execute("SELECT used_at FROM activation_codes").fetchone()[0] is None
        traveller.move_to(start + timedelta(minutes=15, seconds=1))
        assert attacker.post("participant/activate", {"code": code}).status_code == 200


def test_reissue_revokes_the_unused_code(enroll, staff_client, new_client):
    old = enroll("LBP-001")
    staff_client().post("staff/participants/LBP-001/activation-code")
    assert new_client().post("participant/activate", {"code": old}).status_code == 400


def test_participant_session_lasts_90_days_rolling(enroll, new_client):
    start = clock.now()
    with time_machine.travel(start, tick=False) as traveller:
        phone = new_client()
        assert phone.post("participant/activate", {"code": enroll("LBP-001")}).status_code == 200
        traveller.move_to(start + timedelta(days=89))
        assert phone.get("me").status_code == 200
        traveller.move_to(start + timedelta(days=89 + 89))
        assert phone.get("me").status_code == 200
        traveller.move_to(start + timedelta(days=89 + 89 + 91))
        assert phone.get("me").status_code == 401


def test_withdrawn_participant_is_signed_out(participant_client, staff_client):
    phone = participant_client("LBP-001")
    coordinator = staff_client()
    response = coordinator.patch(
        "staff/participants/LBP-001", {"status": "withdrawn", "reason": "consent withdrawn"}
    )
    assert response.status_code == 200
    assert phone.get("me").status_code == 401


def test_behind_a_trusted_proxy_each_client_has_its_own_activation_limit(tmp_path):
    from app_support import migrated_app

    app = migrated_app({"DIARY_DATABASE": str(tmp_path / "p.sqlite3"), "DIARY_TRUSTED_PROXIES": 1})

    def attempt(client, address):
        token = client.get("/api/v1/session").get_json()["csrf_token"]
        return client.post(
            "/api/v1/participant/activate",
            json={"code": codes.new_code()},
            headers={"X-CSRF-Token": token, "X-Forwarded-For": address},
        ).status_code

    attacker = app.test_client()
    assert [attempt(attacker, "203.0.113.9") for _ in range(10)] == [400] * 10
    assert attempt(attacker, "203.0.113.9") == 429
    # A participant behind the same proxy is not blocked by the attacker's failures.
    assert attempt(app.test_client(), "198.51.100.7") == 400
