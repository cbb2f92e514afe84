"""Occurrences from the schedule: anchors, crossover restarts, windows in local time
across DST and half-hour zones; missed exactly once, also after an outage (SPEC §13)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import time_machine
from questionnaire_support import ROOT

from diary import clock
from diary.db import transaction
from diary.jobs import questionnaires as job
from diary.questionnaires import schedule
from diary.study import load

STUDY = load(ROOT / "study.toml")
PEG = [q for q in STUDY.questionnaires if q.instrument == "peg"]
PGIC = [q for q in STUDY.questionnaires if q.instrument == "pgic"]


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_peg_after_day_0_in_chicago_opens_and_closes_at_local_midnight_across_dst():
    due = schedule.occurrences(
        PEG, injections=[date(2026, 3, 1)], enrolled_on=date(2026, 3, 1), tz="America/Chicago"
    )
    assert [d.due_date for d in due] == [
        date(2026, 3, 8),
        date(2026, 3, 31),
        date(2026, 5, 30),
        date(2026, 8, 28),
    ]
    first = due[0]
    # opens 5 March 00:00 CST (UTC-6), closes when 15 March ends, 16 March 00:00 CDT (UTC-5)
    assert (first.window_opens, first.window_closes) == (utc(2026, 3, 5, 6), utc(2026, 3, 16, 5))


def test_a_crossover_injection_restarts_the_series_and_stops_the_first():
    due = schedule.occurrences(
        PEG,
        injections=[date(2026, 3, 1), date(2026, 5, 1)],
        enrolled_on=date(2026, 3, 1),
        tz="America/Chicago",
    )
    first = [d.due_date for d in due if d.anchor_date == date(2026, 3, 1)]
    second = [d.due_date for d in due if d.anchor_date == date(2026, 5, 1)]
    assert first == [
        date(2026, 3, 8),
        date(2026, 3, 31),
    ]  # 30 May and 28 Aug come after the crossover
    assert second == [date(2026, 5, 8), date(2026, 5, 31), date(2026, 7, 30), date(2026, 10, 28)]


def test_month_6_crossover_keeps_the_whole_first_series():
    due = schedule.occurrences(
        PEG,
        injections=[date(2026, 3, 1), date(2026, 9, 1)],
        enrolled_on=date(2026, 3, 1),
        tz="America/Chicago",
    )
    assert len(due) == 8
    assert due[4].due_date == date(2026, 9, 8) and due[4].offset_days == 7


def test_first_injection_anchor_ignores_the_crossover_and_repeats():
    due = schedule.occurrences(
        PGIC,
        injections=[date(2026, 3, 1), date(2026, 9, 1)],
        enrolled_on=date(2026, 3, 1),
        tz="America/Chicago",
    )
    assert [d.offset_days for d in due] == [30, 90, 180, 365, 545, 725]
    assert {d.anchor_date for d in due} == {date(2026, 3, 1)}


def test_kolkata_windows_open_at_local_midnight_half_an_hour_off_the_utc_hour():
    due = schedule.occurrences(
        PEG, injections=[date(2026, 3, 1)], enrolled_on=date(2026, 3, 1), tz="Asia/Kolkata"
    )
    assert due[0].window_opens == utc(2026, 3, 4, 18, 30)  # 5 March 00:00 IST
    assert due[0].window_closes == utc(2026, 3, 15, 18, 30)


def test_a_participant_who_left_is_due_nothing_that_opens_later():
    left = utc(2026, 4, 1, 12)
    due = schedule.occurrences(
        PEG,
        injections=[date(2026, 3, 1)],
        enrolled_on=date(2026, 3, 1),
        tz="America/Chicago",
        ended_at=left,
    )
    assert [d.due_date for d in due] == [date(2026, 3, 8), date(2026, 3, 31)]


# --- the job, on a real database ------------------------------------------------------


def run_job(app, db, when):
    with time_machine.travel(when, tick=False), app.app_context():
        return job.run(db, now=when, study=app.extensions["diary.study"], config=app.config)


def missed_rows(db):
    return db.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'questionnaire.missed'"
    ).fetchone()[0]


def test_the_job_schedules_and_closes_each_window_as_missed_exactly_once(app, db, enroll):
    with time_machine.travel(utc(2026, 3, 1, 15), tick=False):
        enroll("LBP-001", injection_date=date(2026, 3, 1))
    first = run_job(app, db, utc(2026, 3, 1, 16))
    assert first["scheduled"] == 4 + 6 + 2  # PEG, PGIC and the test instrument
    assert run_job(app, db, utc(2026, 3, 1, 17))["scheduled"] == 0  # nothing new
    # the test instrument's day-0 window closed at the end of 3 March, Chicago
    before = run_job(app, db, utc(2026, 3, 4, 5, 59))
    assert before["missed"] == 0
    at_close = run_job(app, db, utc(2026, 3, 4, 6, 0))
    assert at_close["missed"] == 1
    assert run_job(app, db, utc(2026, 3, 4, 6, 15))["missed"] == 0
    assert missed_rows(db) == 1


def test_one_run_after_a_30_day_outage_closes_what_daily_runs_would(app, db, enroll):
    with time_machine.travel(utc(2026, 3, 1, 15), tick=False):
        enroll("LBP-001", injection_date=date(2026, 3, 1))
        enroll("LBP-002", injection_date=date(2026, 3, 1), timezone="Asia/Kolkata")
    run_job(app, db, utc(2026, 3, 1, 16))
    back = utc(2026, 3, 31, 16)
    summary = run_job(app, db, back)
    closed = db.execute(
        "SELECT participant_id, instrument, due_date FROM questionnaire_occurrences"
        " WHERE status = 'missed' ORDER BY 1, 2, 3"
    ).fetchall()
    expected = db.execute(
        "SELECT participant_id, instrument, due_date FROM questionnaire_occurrences"
        " WHERE window_closes <= ? ORDER BY 1, 2, 3",
        [clock.iso(back)],
    ).fetchall()
    assert closed == expected and summary["missed"] == len(expected) == 6
    assert missed_rows(db) == 6
    assert run_job(app, db, back + timedelta(minutes=15))["missed"] == 0


def test_a_voided_injection_drops_what_was_not_answered(app, db, enroll):
    with time_machine.travel(utc(2026, 3, 1, 15), tick=False):
        enroll("LBP-001", injection_date=date(2026, 3, 1))
    pid = db.execute("SELECT id FROM participants").fetchone()[0]
    with transaction(db):
        db.execute(
            "INSERT INTO injections (participant_id, date, created_at) VALUES (?, '2026-05-01', ?)",
            [pid, "2026-03-01T15:00:00.000000+00:00"],
        )
    assert run_job(app, db, utc(2026, 3, 2, 16))["scheduled"] == 2 + 4 + 6 + 2
    with transaction(db):
        db.execute("DELETE FROM injections WHERE date = '2026-05-01'")
    assert run_job(app, db, utc(2026, 3, 2, 17))["dropped"] == 4


def test_nothing_is_due_that_closed_before_enrollment():
    """Day 0 may be weeks before enrollment: those windows could never be answered."""
    due = schedule.occurrences(
        PEG,
        injections=[date(2026, 3, 1)],
        enrolled_on=date(2026, 4, 15),
        tz="America/Chicago",
        enrolled_at=utc(2026, 4, 15, 15),
    )
    assert [d.due_date for d in due] == [date(2026, 5, 30), date(2026, 8, 28)]


def test_a_month_6_crossover_in_kolkata_restarts_the_series_at_local_midnight():
    due = schedule.occurrences(
        PEG,
        injections=[date(2026, 3, 1), date(2026, 9, 1)],
        enrolled_on=date(2026, 3, 1),
        tz="Asia/Kolkata",
    )
    second = [d for d in due if d.anchor_date == date(2026, 9, 1)]
    assert [d.due_date for d in second] == [
        date(2026, 9, 8),
        date(2026, 10, 1),
        date(2026, 11, 30),
        date(2027, 2, 28),
    ]
    # 5 September 00:00 IST opens the day-7 window; 15 September ends it
    assert (second[0].window_opens, second[0].window_closes) == (
        utc(2026, 9, 4, 18, 30),
        utc(2026, 9, 15, 18, 30),
    )


def test_correcting_day_0_moves_what_is_pending_and_never_asks_again_for_an_answer(
    app, db, participant_client
):
    """Occurrences are their place in the schedule, not their dates."""
    with time_machine.travel(utc(2026, 3, 1, 15), tick=False):
        phone = participant_client("LBP-001", injection_date=date(2026, 3, 1))
    run_job(app, db, utc(2026, 3, 1, 16))
    with time_machine.travel(utc(2026, 3, 1, 16), tick=False):
        listed = phone.get("questionnaires").get_json()["questionnaires"]
        day0 = next(q for q in listed if q["instrument"] == "all-types")
        body = {
            "client_id": str(uuid.uuid4()),
            "answers": {"walk": "far", "days_off": 0},
            "device_time": clock.iso(clock.now()),
        }
        assert phone.put(f"questionnaires/{day0['id']}/response", body).status_code == 201
    before = db.execute("SELECT count(*) FROM questionnaire_occurrences").fetchone()[0]
    with transaction(db):  # day 0 corrected to the day before
        db.execute("UPDATE injections SET date = '2026-02-28'")
    run_job(app, db, utc(2026, 3, 1, 17))
    rows = db.execute(
        "SELECT instrument, offset_days, due_date, status FROM questionnaire_occurrences"
        " WHERE instrument = 'all-types' ORDER BY offset_days"
    ).fetchall()
    assert rows == [
        ("all-types", 0, "2026-03-01", "completed"),
        ("all-types", 14, "2026-03-14", "pending"),
    ]
    assert db.execute("SELECT count(*) FROM questionnaire_occurrences").fetchone()[0] == before
