"""Questionnaire reminders: pushed at the participant's reminder time on the day the
window opens and on its last day, once each, never once answered (SPEC §13)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

import time_machine

from diary import clock
from diary.db import transaction
from diary.jobs import deliver, reminders
from diary.jobs import questionnaires as schedule_job
from diary.notify import messages


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def run(app, db, job, when):
    with time_machine.travel(when, tick=False), app.app_context():
        return job.run(db, now=when, study=app.extensions["diary.study"], config=app.config)


def pushes(db):
    return [
        (r["payload"], r["expires_at"])
        for r in db.query(
            "SELECT payload, expires_at FROM outbox WHERE purpose = 'reminder' ORDER BY id"
        )
    ]


def subscribe(db):
    pid = db.execute("SELECT id FROM participants").fetchone()[0]
    with transaction(db):
        db.execute(
            "INSERT INTO push_subscriptions (owner_kind, participant_id, endpoint, p256dh, auth,"
            " created_at) VALUES ('participant', ?, ?, 'k', 'a', ?)",
            [pid, f"https://push.test/{uuid.uuid4()}", clock.iso(utc(2026, 3, 1))],
        )
    return pid


def test_reminded_when_the_window_opens_and_on_its_last_day_once_each(app, db, enroll):
    with time_machine.travel(utc(2026, 3, 1, 15), tick=False):
        enroll("LBP-001", injection_date=date(2026, 3, 1))
    subscribe(db)
    run(app, db, schedule_job, utc(2026, 3, 1, 16))
    # 20:00 in Chicago on 1 March (day 0): the test questionnaire's window opened today
    evening = utc(2026, 3, 2, 2, 0)
    assert run(app, db, reminders, utc(2026, 3, 2, 1, 59))["questionnaire_notifications"] == 0
    assert run(app, db, reminders, evening)["questionnaire_notifications"] == 1
    assert run(app, db, reminders, utc(2026, 3, 2, 3, 0))["questionnaire_notifications"] == 0
    # the middle day of its window: nothing; its last day (3 March): once more
    assert run(app, db, reminders, utc(2026, 3, 3, 2, 0))["questionnaire_notifications"] == 0
    assert run(app, db, reminders, utc(2026, 3, 4, 2, 0))["questionnaire_notifications"] == 1
    [(first, _), (last, expires)] = [(p, e) for p, e in pushes(db) if '"occurrence_id"' in p]
    assert '"window_opens"' in first and '"last_day"' in last
    assert expires == "2026-03-04T06:00:00.000000+00:00"  # the window's close, local midnight
    message = messages.push_message({"purpose": "reminder", "payload": json.loads(last)})
    assert message["body"] == "Every item type (test only): today is the last day to answer it."
    assert message["url"].startswith("/#/questionnaire?id=")


def test_no_reminder_once_answered(app, db, enroll, participant_client):
    with time_machine.travel(utc(2026, 3, 1, 15), tick=False):
        phone = participant_client("LBP-001", injection_date=date(2026, 3, 1))
    subscribe(db)
    with time_machine.travel(utc(2026, 3, 1, 16), tick=False):
        listed = phone.get("questionnaires").get_json()["questionnaires"]
        target = next(q for q in listed if q["instrument"] == "all-types")
        sent = phone.put(
            f"questionnaires/{target['id']}/response",
            {
                "client_id": str(uuid.uuid4()),
                "answers": {"walk": "far", "days_off": 0},
                "device_time": clock.iso(clock.now()),
            },
        )
        assert sent.status_code == 201
    assert run(app, db, reminders, utc(2026, 3, 2, 2, 0))["questionnaire_notifications"] == 0


def test_a_queued_reminder_is_dropped_when_the_questionnaire_is_answered_first(
    app, db, participant_client
):
    with time_machine.travel(utc(2026, 3, 1, 15), tick=False):
        phone = participant_client("LBP-001", injection_date=date(2026, 3, 1))
    subscribe(db)
    run(app, db, schedule_job, utc(2026, 3, 1, 16))
    assert run(app, db, reminders, utc(2026, 3, 2, 2, 0))["questionnaire_notifications"] == 1
    with time_machine.travel(utc(2026, 3, 2, 2, 0, 5), tick=False):
        listed = phone.get("questionnaires").get_json()["questionnaires"]
        target = next(q for q in listed if q["instrument"] == "all-types")
        body = {
            "client_id": str(uuid.uuid4()),
            "answers": {"walk": "far", "days_off": 0},
            "device_time": clock.iso(clock.now()),
        }
        assert phone.put(f"questionnaires/{target['id']}/response", body).status_code == 201
    run(app, db, deliver, utc(2026, 3, 2, 2, 0, 40))
    status, error = db.execute(
        "SELECT status, last_error FROM outbox WHERE purpose = 'reminder'"
    ).fetchone()
    assert status == "dead" and "answered" in error
