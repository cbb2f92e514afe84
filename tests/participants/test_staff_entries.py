"""Staff reading a participant's entries, and documented data clarifications (SPEC §6)."""

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

CHICAGO = ZoneInfo("America/Chicago")


def at(*args):
    return time_machine.travel(datetime(*args, tzinfo=CHICAGO), tick=False)


def entry(**overrides):
    body = {
        "client_id": str(uuid.uuid4()),
        "back_pain": 4,
        "leg_pain": 2,
        "doses": [{"drug": "oxycodone", "strength": 5, "units": 2}],
        "symptoms": [],
        "note": "walked the dog",
        "device_time": datetime.now(CHICAGO).isoformat(),
    }
    body.update(overrides)
    return body


@pytest.fixture
def diary(participant_client):
    """LBP-001 (SITE-A, Chicago, day 0 = 2026-03-01) with an entry for 2026-03-02."""
    with at(2026, 3, 1, 9, 0):
        phone = participant_client("LBP-001", injection_date=date(2026, 3, 1))
    with at(2026, 3, 2, 20, 0):
        assert phone.put("entries/2026-03-02", entry()).status_code == 201
    return phone


def audit_rows(db, action):
    return [
        dict(zip(("actor_type", "actor_label", "reason", "object_id"), r, strict=True))
        for r in db.execute(
            "SELECT actor_type, actor_label, reason, object_id FROM audit_log WHERE action = ?"
            " ORDER BY id",
            [action],
        )
    ]


def test_after_the_window_only_staff_can_correct_and_it_is_audited_with_the_staff_member(
    diary, staff_client, db
):
    with at(2026, 3, 5, 10, 0):
        assert diary.put("entries/2026-03-02", entry(reason="typo")).status_code == 409
        coordinator = staff_client("coordinator", ("SITE-A",))
        response = coordinator.put(
            "staff/participants/LBP-001/entries/2026-03-02",
            entry(back_pain=7, reason="participant phoned: pain was 7, not 4"),
        )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["back_pain"] == 7 and body["version"] == 2 and body["entered_by"] == "staff"
    (row,) = audit_rows(db, "entry.correct")
    assert row == {
        "actor_type": "staff",
        "actor_label": "coordinator1@site-a.test",
        "reason": "participant phoned: pain was 7, not 4",
        "object_id": "LBP-001/2026-03-02",
    }
    (correction,) = body["corrections"]
    assert correction["actor"] == "coordinator1@site-a.test"
    assert correction["before"] == {"back_pain": 4} and correction["after"] == {"back_pain": 7}


def test_a_clarification_without_a_reason_is_refused_and_writes_nothing(diary, staff_client, db):
    before = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    with at(2026, 3, 5, 10, 0):
        response = staff_client("coordinator", ("SITE-A",)).put(
            "staff/participants/LBP-001/entries/2026-03-02", entry(back_pain=7)
        )
    assert response.status_code == 422
    assert "reason" in response.get_json()["error"]["fields"]
    assert db.execute("SELECT back_pain, version FROM entries").fetchone() == (4, 1)
    staff_rows = db.execute(
        "SELECT count(*) FROM audit_log WHERE id > ? AND action LIKE 'entry.%'", [before]
    ).fetchone()[0]
    assert staff_rows == 0


def test_a_reason_is_required_even_for_a_new_entry_within_the_window(diary, staff_client):
    with at(2026, 3, 3, 9, 0):
        coordinator = staff_client("coordinator", ("SITE-A",))
        refused = coordinator.put("staff/participants/LBP-001/entries/2026-03-03", entry())
        created = coordinator.put(
            "staff/participants/LBP-001/entries/2026-03-03",
            entry(reason="entered from the paper diary at the visit"),
        )
    assert refused.status_code == 422
    assert created.status_code == 201
    assert created.get_json()["entered_by"] == "staff"


def test_staff_can_enter_a_missed_date_and_it_shows_as_a_staff_entry(diary, staff_client, db):
    with at(2026, 3, 10, 10, 0):
        coordinator = staff_client("coordinator", ("SITE-A",))
        response = coordinator.put(
            "staff/participants/LBP-001/entries/2026-03-04",
            entry(back_pain=5, reason="phone follow-up of a missed day"),
        )
        listed = coordinator.get("staff/participants/LBP-001/entries?from=2026-03-04&to=2026-03-04")
    assert response.status_code == 201
    (shown,) = listed.get_json()["entries"]
    (created,) = shown["corrections"]
    assert created["action"] == "entry.create" and created["actor_type"] == "staff"
    assert created["reason"] == "phone follow-up of a missed day"
    assert created["before"] is None and created["after"]["back_pain"] == 5
    assert audit_rows(db, "entry.create")[-1]["actor_label"] == "coordinator1@site-a.test"


def test_entries_list_has_the_participant_fields_notes_and_every_correction(diary, staff_client):
    with at(2026, 3, 3, 9, 0):
        fixed = diary.put("entries/2026-03-02", entry(back_pain=5, reason="I misread the scale"))
        assert fixed.status_code == 200
    with at(2026, 3, 6, 9, 0):
        investigator = staff_client("investigator", ("SITE-A",))
        investigator.put(
            "staff/participants/LBP-001/entries/2026-03-02",
            entry(back_pain=5, doses=[], reason="no oxycodone that day, per pharmacy record"),
        )
        (shown,) = investigator.get("staff/participants/LBP-001/entries").get_json()["entries"]
        own = diary.get("entries/2026-03-02").get_json()
    for key in (
        "date",
        "back_pain",
        "leg_pain",
        "symptoms",
        "temperature_c",
        "note",
        "mme",
        "mme_unconverted",
        "late",
        "version",
        "device_time",
        "received_at",
    ):
        assert shown[key] == own[key], key
    assert shown["doses"] == own["doses"] == []
    assert shown["note"] == "walked the dog"
    first, second = shown["corrections"]
    assert (first["version"], first["actor"], first["actor_type"]) == (2, "LBP-001", "participant")
    assert first["before"] == {"back_pain": 4} and first["after"] == {"back_pain": 5}
    assert (second["version"], second["actor"]) == (3, "investigator1@site-a.test")
    assert second["reason"] == "no oxycodone that day, per pharmacy record"
    assert second["before"]["mme"] == 15 and second["after"]["mme"] == 0
    assert second["before"]["doses"] == [{"drug": "oxycodone", "strength": 5.0, "units": 2.0}]


def test_entries_list_is_limited_to_the_requested_dates(diary, staff_client):
    with at(2026, 3, 3, 9, 0):
        diary.put("entries/2026-03-03", entry())
        coordinator = staff_client("coordinator", ("SITE-A",))
        response = coordinator.get(
            "staff/participants/LBP-001/entries?from=2026-03-03&to=2026-03-31"
        )
        backwards = coordinator.get(
            "staff/participants/LBP-001/entries?from=2026-03-03&to=2026-03-01"
        )
    assert [e["date"] for e in response.get_json()["entries"]] == ["2026-03-03"]
    assert backwards.status_code == 422


def test_a_replayed_clarification_is_not_applied_twice(diary, staff_client, db):
    with at(2026, 3, 5, 10, 0):
        body = entry(back_pain=6, reason="phone call")  # device_time: the travelled now
        coordinator = staff_client("coordinator", ("SITE-A",))
        first = coordinator.put("staff/participants/LBP-001/entries/2026-03-02", body)
        again = coordinator.put("staff/participants/LBP-001/entries/2026-03-02", body)
    assert first.status_code == again.status_code == 200
    assert again.get_json()["version"] == 2
    assert len(audit_rows(db, "entry.correct")) == 1


@pytest.mark.parametrize(
    "day, field",
    [("2026-02-28", "date"), ("2029-03-02", "date"), ("2026-3-2", "date"), ("not-a-date", "date")],
)
def test_clarifications_outside_the_diary_or_for_bad_dates_are_refused(
    diary, staff_client, day, field
):
    with at(2026, 3, 5, 10, 0):
        response = staff_client("coordinator", ("SITE-A",)).put(
            f"staff/participants/LBP-001/entries/{day}", entry(reason="phone call")
        )
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_a_clarification_that_adds_a_red_flag_symptom_raises_the_flag(diary, staff_client, db):
    with at(2026, 3, 5, 10, 0):
        response = staff_client("investigator", ("SITE-A",)).put(
            "staff/participants/LBP-001/entries/2026-03-02",
            entry(symptoms=["fever"], temperature_c=38.6, reason="fever reported at the visit"),
        )
    assert response.status_code == 200
    assert "alerts" not in response.get_json()  # advice is for participants
    kind, severity = db.execute("SELECT kind, severity FROM flags").fetchone()
    assert (kind, severity) == ("red_flag_symptom", "urgent")
