"""Every mutating request needs the session's CSRF token in X-CSRF-Token (SPEC §8)."""

import pytest

ENROLL = {
    "study_id": "LBP-014",
    "site": "SITE-A",
    "timezone": "America/Chicago",
    "injection_date": "2026-11-20",
    "baseline_back_pain": 6,
    "baseline_mme": 22.5,
}


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_enrollment_without_a_valid_token_is_refused_and_writes_nothing(staff_client, db, token):
    coordinator = staff_client()
    audits = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    headers = {"X-CSRF-Token": token} if token else {}
    response = coordinator.client.post("/api/v1/staff/participants", json=ENROLL, headers=headers)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "csrf_failed"
    assert db.execute("SELECT count(*) FROM participants").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audits


def test_login_without_a_token_is_refused(app, make_staff):
    make_staff("coord@a.test")
    client = app.test_client()
    response = client.post(
        "/api/v1/staff/login", json={"email": "coord@a.test", "password": "correct horse battery"}
    )
    assert response.status_code == 403


def test_another_sessions_token_does_not_work(staff_client, new_client, db):
    coordinator = staff_client()
    stranger = new_client()
    response = coordinator.client.post(
        "/api/v1/staff/participants", json=ENROLL, headers={"X-CSRF-Token": stranger.csrf()}
    )
    assert response.status_code == 403
    assert db.execute("SELECT count(*) FROM participants").fetchone()[0] == 0
