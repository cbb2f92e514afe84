"""Injection and enrollment dates are checked (SPEC §2): an absurd date is a 422 naming
the field and writes nothing, so the participant list, adherence and the jobs never meet
one; a mistaken injection is voided or corrected with a reason by an investigator or an
admin, audited."""

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from diary.participants import rules

CHICAGO = ZoneInfo("America/Chicago")
TODAY = date(2026, 3, 10)  # in Chicago, at the instant `at_today` travels to


def at(*args, tz=CHICAGO):
    return time_machine.travel(datetime(*args, tzinfo=tz), tick=False)


@pytest.fixture
def at_today():
    with at(TODAY.year, TODAY.month, TODAY.day, 7, 0):  # 12:00 UTC; 02:00 on 11 March in Kiritimati
        yield


def enrollment(injection_date, timezone="America/Chicago", study_id="LBP-014"):
    return {
        "study_id": study_id,
        "site": "SITE-A",
        "timezone": timezone,
        "injection_date": str(injection_date),
        "baseline_back_pain": 6,
        "baseline_mme": 22.5,
    }


def counts(db):
    return {
        table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
        for table in ("participants", "injections", "voided_injections", "audit_log")
    }


def audit_rows(db, action):
    return [
        {"before": json.loads(r[0]), "after": json.loads(r[1]), "reason": r[2], "actor": r[3]}
        for r in db.execute(
            "SELECT before, after, reason, actor_label FROM audit_log WHERE action = ? ORDER BY id",
            [action],
        )
    ]


# --- enrollment -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "injection_date, says",
    [
        ("9999-12-31", "2100-12-31"),
        ("0001-01-01", "2000-01-01"),
        ("1999-12-31", "2000-01-01"),
        (TODAY + timedelta(days=1), "future"),
        (TODAY - timedelta(days=rules.FIRST_INJECTION_MAX_AGE_DAYS + 1), "days before enrollment"),
    ],
)
def test_an_implausible_enrollment_injection_date_is_422_and_writes_nothing(
    at_today, staff_client, db, injection_date, says
):
    coordinator = staff_client()
    before = counts(db)
    response = coordinator.post("staff/participants", enrollment(injection_date))
    assert response.status_code == 422, response.get_json()
    (message,) = response.get_json()["error"]["fields"]["injection_date"]
    assert says in message
    assert counts(db) == before
    # The defect: one such date made these answer 500 until the database was edited.
    assert coordinator.get("staff/participants").status_code == 200
    assert coordinator.get("staff/adherence").status_code == 200
    assert coordinator.get("staff/exports/adherence.csv").status_code == 200


@pytest.mark.parametrize(
    "injection_date", [TODAY, TODAY - timedelta(days=rules.FIRST_INJECTION_MAX_AGE_DAYS)]
)
def test_injection_dates_from_the_plausibility_limit_to_today_are_enrolled(
    at_today, staff_client, injection_date
):
    response = staff_client().post("staff/participants", enrollment(injection_date))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["injections"] == [injection_date.isoformat()]


def test_today_is_the_enrolled_time_zone_s_today(at_today, staff_client):
    """12:00 UTC on 10 March is already 11 March on Kiritimati, still 10 March in Chicago."""
    coordinator = staff_client()
    tomorrow = TODAY + timedelta(days=1)
    chicago = coordinator.post("staff/participants", enrollment(tomorrow, "America/Chicago"))
    assert chicago.status_code == 422
    assert "injection_date" in chicago.get_json()["error"]["fields"]
    kiritimati = coordinator.post("staff/participants", enrollment(tomorrow, "Pacific/Kiritimati"))
    assert kiritimati.status_code == 201, kiritimati.get_json()


# --- a later (crossover) injection ------------------------------------------------------


@pytest.fixture
def enrolled(at_today, enroll):
    """LBP-001 at SITE-A, day 0 = 1 March 2026 (nine days before TODAY)."""
    enroll("LBP-001", injection_date=date(2026, 3, 1))
    return date(2026, 3, 1)


@pytest.mark.parametrize(
    "day, says",
    [
        ("9999-12-31", "2100-12-31"),
        ("0001-01-01", "2000-01-01"),
        (TODAY + timedelta(days=1), "future"),
        ("2026-02-28", "before the first injection"),
    ],
)
def test_an_implausible_crossover_date_is_422_and_writes_nothing(
    enrolled, staff_client, db, day, says
):
    coordinator = staff_client()
    before = counts(db)
    response = coordinator.post("staff/participants/LBP-001/injections", {"date": str(day)})
    assert response.status_code == 422, response.get_json()
    (message,) = response.get_json()["error"]["fields"]["date"]
    assert says in message
    assert counts(db) == before
    assert coordinator.get("staff/participants").status_code == 200
    assert coordinator.get("staff/adherence").status_code == 200


def test_a_crossover_after_the_diary_s_last_date_is_422(staff_client, enroll, app, db):
    length = app.extensions["diary.study"].length_days
    first = date(2024, 1, 1)
    with at(2024, 1, 1, 9, 0):
        enroll("LBP-001", injection_date=first)
    last = first + timedelta(days=length)
    with at(2026, 3, 1, 9, 0):
        coordinator = staff_client()
        before = counts(db)
        late = coordinator.post(
            "staff/participants/LBP-001/injections", {"date": str(last + timedelta(days=1))}
        )
        assert late.status_code == 422
        assert (
            f"after the diary's last date ({last})" in late.get_json()["error"]["fields"]["date"][0]
        )
        assert counts(db) == before
        on_the_last_day = coordinator.post(
            "staff/participants/LBP-001/injections", {"date": str(last)}
        )
        assert on_the_last_day.status_code == 201, on_the_last_day.get_json()


def test_a_duplicate_crossover_is_409(enrolled, staff_client, db):
    coordinator = staff_client()
    assert (
        coordinator.post(
            "staff/participants/LBP-001/injections", {"date": "2026-03-08"}
        ).status_code
        == 201
    )
    before = counts(db)
    again = coordinator.post("staff/participants/LBP-001/injections", {"date": "2026-03-08"})
    assert again.status_code == 409
    day0 = coordinator.post("staff/participants/LBP-001/injections", {"date": "2026-03-01"})
    assert day0.status_code == 409
    assert counts(db) == before


# --- voiding and correcting -------------------------------------------------------------


@pytest.fixture
def crossed(enrolled, staff_client):
    """LBP-001 with day 0 on 1 March and a crossover injection on 8 March."""
    response = staff_client().post("staff/participants/LBP-001/injections", {"date": "2026-03-08"})
    assert response.status_code == 201
    return staff_client("investigator", ("SITE-A",))


def test_an_investigator_voids_a_mistaken_crossover_with_a_reason(crossed, db):
    response = crossed.post(
        "staff/participants/LBP-001/injections/2026-03-08/void",
        {"reason": "  Entered for the wrong participant.  "},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["injections"] == ["2026-03-01"]
    assert body["latest_injection"] == "2026-03-01"
    (voided,) = body["voided_injections"]
    assert voided["date"] == "2026-03-08" and voided["corrected_to"] is None
    assert voided["reason"] == "Entered for the wrong participant."
    assert voided["voided_by"].startswith("investigator")
    assert db.execute("SELECT count(*) FROM injections").fetchone()[0] == 1
    (row,) = audit_rows(db, "participant.injection_voided")
    assert row["before"] == {"injections": ["2026-03-01", "2026-03-08"]}
    assert row["after"] == {"injections": ["2026-03-01"]}
    assert row["reason"] == "Entered for the wrong participant."
    assert row["actor"] == voided["voided_by"]


def test_voiding_the_first_injection_moves_day_0_to_the_next(crossed, db):
    def listed():
        (p,) = crossed.get("staff/participants").get_json()["participants"]
        return p["first_injection"], p["study_day"]

    assert listed() == ("2026-03-01", 9)
    response = crossed.post(
        "staff/participants/LBP-001/injections/2026-03-01/void",
        {"reason": "The 1 March injection was cancelled on the day."},
    )
    assert response.status_code == 200, response.get_json()
    detail = crossed.get("staff/participants/LBP-001").get_json()
    assert detail["injections"] == ["2026-03-08"]
    assert detail["first_injection"] == "2026-03-08"
    assert listed() == ("2026-03-08", 2)


def test_the_only_injection_cannot_be_voided_but_can_be_corrected(enrolled, staff_client, db):
    investigator = staff_client("investigator", ("SITE-A",))
    before = counts(db)
    response = investigator.post(
        "staff/participants/LBP-001/injections/2026-03-01/void", {"reason": "typo in the date"}
    )
    assert response.status_code == 409
    assert "Correct its date instead" in response.get_json()["error"]["message"]
    assert counts(db) == before

    corrected = investigator.patch(
        "staff/participants/LBP-001/injections/2026-03-01",
        {"date": "2026-03-02", "reason": "Clinic log says 2 March."},
    )
    assert corrected.status_code == 200, corrected.get_json()
    body = corrected.get_json()
    assert body["injections"] == ["2026-03-02"] and body["first_injection"] == "2026-03-02"
    assert body["voided_injections"][0]["corrected_to"] == "2026-03-02"
    assert counts(db)["voided_injections"] == 1 and counts(db)["injections"] == 1
    (row,) = audit_rows(db, "participant.injection_corrected")
    assert row["before"] == {"injections": ["2026-03-01"]}
    assert row["after"] == {"injections": ["2026-03-02"]}
    assert row["reason"] == "Clinic log says 2 March."
    (p,) = investigator.get("staff/participants").get_json()["participants"]
    assert p["study_day"] == 8


@pytest.mark.parametrize(
    "old, new, says",
    [
        ("2026-03-08", "9999-12-31", "2100-12-31"),
        ("2026-03-08", "0001-01-01", "2000-01-01"),
        ("2026-03-08", "2026-02-27", "before the first injection"),
        ("2026-03-01", str(TODAY + timedelta(days=1)), "future"),
        ("2026-03-01", "0001-01-01", "2000-01-01"),
        ("2026-03-01", "2025-12-01", "days before enrollment"),
        ("2026-03-01", "2026-03-09", "before the next injection (2026-03-08)"),
        ("2026-03-01", "2026-03-01", "nothing to correct"),
    ],
)
def test_a_correction_is_checked_like_a_new_injection_and_writes_nothing(
    crossed, db, old, new, says
):
    before = counts(db)
    response = crossed.patch(
        f"staff/participants/LBP-001/injections/{old}", {"date": new, "reason": "clinic log"}
    )
    assert response.status_code == 422, response.get_json()
    (message,) = response.get_json()["error"]["fields"]["date"]
    assert says in message
    assert counts(db) == before


def test_a_correction_onto_another_injection_s_date_is_409(crossed, db):
    before = counts(db)
    response = crossed.patch(
        "staff/participants/LBP-001/injections/2026-03-08",
        {"date": "2026-03-01", "reason": "x" * 3},
    )
    assert response.status_code == 409
    assert counts(db) == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": "    "}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"reason": "typo", "date": "2026-03-02"}, "date"),  # void takes no new date
    ],
)
def test_voiding_needs_a_reason_and_nothing_else(crossed, db, body, field):
    before = counts(db)
    response = crossed.post("staff/participants/LBP-001/injections/2026-03-08/void", body)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert counts(db) == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"date": "2026-03-07"}, "reason"),
        ({"reason": "clinic log"}, "date"),
        ({"date": "2026-02-30", "reason": "clinic log"}, "date"),
        ({"date": "2026-03-07", "reason": "clinic log", "note": "x"}, "note"),
    ],
)
def test_a_correction_needs_a_date_and_a_reason(crossed, db, body, field):
    before = counts(db)
    response = crossed.patch("staff/participants/LBP-001/injections/2026-03-08", body)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert counts(db) == before


def test_an_admin_may_correct_an_injection(crossed, staff_client):
    admin = staff_client("admin", ())
    response = admin.patch(
        "staff/participants/LBP-001/injections/2026-03-08",
        {"date": "2026-03-07", "reason": "clinic log says 7 March"},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["injections"] == ["2026-03-01", "2026-03-07"]


VOID = ("post", "staff/participants/{id}/injections/2026-03-08/void", {"reason": "clinic log"})
CORRECT = (
    "patch",
    "staff/participants/{id}/injections/2026-03-08",
    {"date": "2026-03-07", "reason": "clinic log"},
)


@pytest.mark.parametrize("method, path, body", [VOID, CORRECT])
@pytest.mark.parametrize(
    "who, status",
    [
        (("coordinator", ("SITE-A",)), 403),
        (("investigator", ("SITE-B",)), 404),
        (("coordinator", ("SITE-B",)), 403),  # the role is refused before the site is looked up
    ],
)
def test_coordinators_are_refused_and_other_sites_see_nothing(
    crossed, staff_client, db, method, path, body, who, status
):
    client = staff_client(*who)
    before = counts(db)
    response = getattr(client, method)(path.format(id="LBP-001"), body)
    assert response.status_code == status
    assert "2026-03-08" not in str(response.get_json())
    assert counts(db) == before


@pytest.mark.parametrize("method, path, body", [VOID, CORRECT])
def test_participants_cannot_void_or_correct(participant_client, method, path, body):
    phone = participant_client("LBP-001")
    response = getattr(phone, method)(path.format(id="LBP-001"), body)
    assert response.status_code == 403


@pytest.mark.parametrize(
    "day, status", [("2026-03-05", 404), ("2026-3-8", 422), ("20260308", 422), ("no-date", 422)]
)
def test_a_date_with_no_injection_is_404_and_a_malformed_date_422(crossed, db, day, status):
    before = counts(db)
    void = crossed.post(f"staff/participants/LBP-001/injections/{day}/void", {"reason": "typo"})
    correct = crossed.patch(
        f"staff/participants/LBP-001/injections/{day}", {"date": "2026-03-07", "reason": "typo"}
    )
    assert (void.status_code, correct.status_code) == (status, status)
    if status == 422:
        assert "YYYY-MM-DD" in void.get_json()["error"]["fields"]["date"][0]
    assert counts(db) == before


def test_a_stored_absurd_crossover_is_voided_without_editing_the_database(
    enrolled, db, staff_client
):
    """Data written before the check existed: staff repair it through the API."""
    participant_id = db.execute("SELECT id FROM participants").fetchone()[0]
    with db.conn:
        db.execute(
            "INSERT INTO injections (participant_id, date, created_at) VALUES (?, '9999-12-31', ?)",
            [participant_id, "2026-03-02T12:00:00.000000+00:00"],
        )
    investigator = staff_client("investigator", ("SITE-A",))
    response = investigator.post(
        "staff/participants/LBP-001/injections/9999-12-31/void", {"reason": "impossible date"}
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["injections"] == ["2026-03-01"]
    assert investigator.get("staff/participants").status_code == 200
    assert investigator.get("staff/adherence").status_code == 200
