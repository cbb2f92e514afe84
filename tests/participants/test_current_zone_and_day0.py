"""A participant's current time zone and first injection date are kept on their row
(migration 0018) for the jobs that read them for everyone on every run: whatever
changes the histories — the application, or a script on the file — the row follows,
and `audit verify` names a row edited to disagree with its history."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from diary import clock
from diary.db import transaction
from diary.ops import integrity
from diary.participants import queries

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=clock.UTC)


def kept(db, study_id="LBP-001"):
    return db.execute(
        "SELECT current_timezone, first_injection_date FROM participants WHERE study_id = ?",
        [study_id],
    ).fetchone()


def pid_of(db, study_id="LBP-001"):
    return db.execute("SELECT id FROM participants WHERE study_id = ?", [study_id]).fetchone()[0]


def test_the_row_follows_the_applications_changes(enroll, db):
    enroll("LBP-001", timezone="America/Chicago", injection_date=date(2026, 3, 2))
    pid = pid_of(db)
    assert kept(db) == ("America/Chicago", "2026-03-02")

    with transaction(db):
        queries.add_timezone(db, pid, "Asia/Kolkata", now=NOW)
    assert kept(db) == ("Asia/Kolkata", "2026-03-02")
    with transaction(db):  # a second change in the same clock tick: the later one wins
        queries.add_timezone(db, pid, "Europe/Berlin", now=NOW)
    assert kept(db) == ("Europe/Berlin", "2026-03-02")

    with transaction(db):
        queries.add_injection(db, pid, date(2026, 3, 5), now=NOW)  # a later one: not day 0
        queries.add_injection(db, pid, date(2026, 2, 27), now=NOW)  # an earlier one is
    assert kept(db)[1] == "2026-02-27"
    with transaction(db):
        queries.void_injection(
            db,
            pid,
            date(2026, 2, 27),
            staff_id=None,
            reason="wrong date",
            corrected_to=None,
            now=NOW,
        )
    assert kept(db)[1] == "2026-03-02"
    assert integrity.derived(db) == (1, [])


def test_the_row_follows_a_script_that_edits_the_histories(enroll, db):
    enroll("LBP-001", timezone="America/Chicago", injection_date=date(2026, 3, 2))
    enroll("LBP-002", timezone="UTC", injection_date=date(2026, 3, 3))
    one, two = pid_of(db, "LBP-001"), pid_of(db, "LBP-002")
    later = clock.iso(NOW + timedelta(days=1))
    with transaction(db):
        db.execute(
            "UPDATE participant_timezones SET timezone = 'Asia/Tokyo' WHERE participant_id = ?",
            [one],
        )
        # a zone row moved from one participant to the other: both rows follow
        db.execute(
            "UPDATE participant_timezones SET participant_id = ?, effective_from = ?"
            " WHERE participant_id = ?",
            [two, later, one],
        )
        db.execute("UPDATE injections SET date = '2026-02-20' WHERE participant_id = ?", [two])
        db.execute("DELETE FROM injections WHERE participant_id = ?", [one])
    assert kept(db, "LBP-001") == (None, None)
    assert kept(db, "LBP-002") == ("Asia/Tokyo", "2026-02-20")
    assert integrity.derived(db) == (2, [])


def test_a_row_edited_to_disagree_with_its_history_is_named(app, enroll, db):
    enroll("LBP-001", timezone="America/Chicago", injection_date=date(2026, 3, 2))
    db.execute("UPDATE participants SET current_timezone = 'UTC', first_injection_date = NULL")
    count, problems = integrity.derived(db)
    assert count == 1
    assert problems == [
        "participant LBP-001: the time zone kept on their row differs from their history:"
        " changed outside the application",
        "participant LBP-001: the first injection date kept on their row differs from their"
        " history: changed outside the application",
    ]
    verify = app.test_cli_runner().invoke(args=["diary", "audit", "verify"])
    assert verify.exit_code != 0 and "LBP-001: the time zone kept" in verify.output
