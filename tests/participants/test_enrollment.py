"""Enrollment through the API, profile, baselines and injections (SPEC §2, Appendix A)."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from diary.auth import codes

ENROLL = {
    "study_id": "LBP-014",
    "site": "SITE-A",
    "timezone": "America/Chicago",
    "injection_date": "2026-11-20",
    "baseline_back_pain": 6,
    "baseline_mme": 22.5,
}


@pytest.fixture(autouse=True)
def _on_25_november_2026():
    """Day 0 above is five days ago: within the limit on how long before enrollment."""
    with time_machine.travel(datetime(2026, 11, 25, 18, 0, tzinfo=UTC)):
        yield


def test_coordinator_enrolls_and_gets_a_code_link_and_qr(staff_client, db):
    coordinator = staff_client()
    response = coordinator.post("staff/participants", ENROLL)
    assert response.status_code == 201
    body = response.get_json()
    assert body["study_id"] == "LBP-014" and body["site"] == "SITE-A"
    assert codes.normalise(body["activation_code"]) == body["activation_code"]
    assert body["activation_url"] == f"http://diary.test/#/activate?code={body['activation_code']}"
    assert body["qr_svg"].startswith("<svg") and "</svg>" in body["qr_svg"]
    # Stored hashed, never in clear.
    stored = db.execute("SELECT code_hash FROM activation_codes").fetchone()[0]
    assert body["activation_code"] not in stored and len(stored) == 64
    row = db.execute("SELECT * FROM audit_log WHERE action='participant.enroll'").fetchone()
    assert row is not None and body["activation_code"] not in str(row)


def test_the_diary_stores_nothing_that_identifies_the_person(db, staff_client):
    staff_client().post("staff/participants", ENROLL)
    columns = {r[1] for r in db.execute("PRAGMA table_info(participants)")}
    assert not columns & {"name", "email", "phone", "address", "arm", "treatment_arm"}


def test_duplicate_study_id_is_409_and_writes_nothing(staff_client, db):
    coordinator = staff_client()
    assert coordinator.post("staff/participants", ENROLL).status_code == 201
    audits = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    response = coordinator.post("staff/participants", ENROLL)
    assert response.status_code == 409
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audits


def test_enrolled_participant_activates_and_sees_their_diary_window(staff_client, new_client):
    code = staff_client().post("staff/participants", ENROLL).get_json()["activation_code"]
    phone = new_client()
    profile = phone.post("participant/activate", {"code": code.lower().replace("-", " ")})
    assert profile.status_code == 200
    me = phone.get("me").get_json()
    assert me["study_id"] == "LBP-014"
    assert me["window"]["first_date"] == "2026-11-20"
    assert me["window"]["last_date"] == date(2028, 11, 19).isoformat()  # 730 days later


def test_participant_changes_reminder_and_time_zone_with_history(participant_client, db):
    phone = participant_client("LBP-001")
    response = phone.patch("me", {"reminder_time": "07:30", "timezone": "Asia/Kolkata"})
    assert response.status_code == 200
    assert response.get_json()["reminder_time"] == "07:30"
    assert response.get_json()["timezone"] == "Asia/Kolkata"
    zones = [r[0] for r in db.execute("SELECT timezone FROM participant_timezones ORDER BY id")]
    assert zones == ["America/Chicago", "Asia/Kolkata"]
    assert (
        db.execute("SELECT count(*) FROM audit_log WHERE action='participant.update'").fetchone()[0]
        == 1
    )


def test_changing_a_baseline_needs_a_reason_and_is_audited(staff_client, enroll, db):
    enroll("LBP-001")
    coordinator = staff_client()
    response = coordinator.patch("staff/participants/LBP-001", {"baseline_mme": 30})
    assert response.status_code == 422 and "reason" in response.get_json()["error"]["fields"]
    response = coordinator.patch(
        "staff/participants/LBP-001", {"baseline_mme": 30, "reason": "baseline visit re-read"}
    )
    assert response.status_code == 200 and response.get_json()["baseline_mme"] == 30
    before, after, reason = db.execute(
        "SELECT before, after, reason FROM audit_log WHERE action='participant.update'"
    ).fetchone()
    assert '"baseline_mme":10.0' in before and '"baseline_mme":30' in after
    assert reason == "baseline visit re-read"


def test_crossover_injection_is_added_and_day_zero_stays(staff_client, enroll):
    enroll("LBP-001", injection_date=date(2026, 5, 1))
    coordinator = staff_client()
    response = coordinator.post("staff/participants/LBP-001/injections", {"date": "2026-11-01"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["injections"] == ["2026-05-01", "2026-11-01"]
    assert body["first_injection"] == "2026-05-01" and body["latest_injection"] == "2026-11-01"
    again = coordinator.post("staff/participants/LBP-001/injections", {"date": "2026-11-01"})
    assert again.status_code == 409
    before_day0 = coordinator.post("staff/participants/LBP-001/injections", {"date": "2026-04-01"})
    assert before_day0.status_code == 422


def test_reissuing_a_code_ends_the_phone_session_and_kills_the_old_code(
    staff_client, participant_client, new_client, enroll
):
    phone = participant_client("LBP-001")
    assert phone.get("me").status_code == 200
    coordinator = staff_client()
    response = coordinator.post("staff/participants/LBP-001/activation-code")
    assert response.status_code == 201
    new_code = response.get_json()["activation_code"]
    assert phone.get("me").status_code == 401
    other = new_client()
    assert other.post("participant/activate", {"code": new_code}).status_code == 200
    assert other.get("me").get_json()["study_id"] == "LBP-001"
