"""Participant reminders: local reminder time across DST, only when the entry is missing, once."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import time_machine
from notify_support import entry_body, local, outbox, run

from diary import clock

TZ = "America/Chicago"
INJECTED = date(2025, 2, 1)
SPRING = date(2025, 3, 9)  # 23 hours in Chicago
FALL = date(2025, 11, 2)  # 25 hours in Chicago


@pytest.fixture
def reminded(request, app, db, vapid, participant_client, browser_subscription):
    """reminded(day) → a participant (reminder 20:00 Chicago, one subscribed phone),
    set up a few days before `day` with the clock travelled there (sessions and
    CSRF tokens are signed with the time, so the API is used at diary time)."""

    def make(day: date = SPRING):
        traveller = time_machine.travel(local(day - timedelta(days=3), "12:00"), tick=False)
        clock_hand = traveller.start()
        request.addfinalizer(traveller.stop)
        client = participant_client("LBP-014", injection_date=INJECTED, timezone=TZ)
        assert client.patch("me", {"reminder_time": "20:00"}).status_code == 200
        client.sub = browser_subscription()
        assert client.post("push-subscriptions", client.sub.as_json()).status_code == 201
        client.move_to = clock_hand.move_to
        return client

    return make


def _every_five_minutes(app, db, day: date):
    """Run reminders and delivery every 5 minutes through the local day; yield each instant."""
    at, end = clock.day_start(day, TZ), clock.day_end(day, TZ)
    while at < end:
        run(app, db, "reminders", at)
        run(app, db, "deliver", at)
        yield at
        at += timedelta(minutes=5)


@pytest.mark.parametrize(("day", "hours"), [(SPRING, 23), (FALL, 25)])
def test_one_reminder_at_eight_pm_local_on_a_dst_change_day(
    app, db, reminded, push_service, day, hours
):
    reminded = reminded(day)
    instants = list(_every_five_minutes(app, db, day))
    assert len(instants) == hours * 12  # the day really is 23 or 25 hours long

    [request] = push_service.requests
    payload = json.loads(reminded.sub.decrypt(request.body))
    assert payload["url"] == "/#/today" and payload["tag"] == f"reminder-{day.isoformat()}"
    [row] = outbox(db, purpose="reminder")
    sent = clock.parse_iso(row["sent_at"]).astimezone(clock.zone(TZ))
    assert (sent.date(), sent.hour, sent.minute) == (day, 20, 0)
    assert row["payload"] == {"date": day.isoformat()}


@pytest.mark.parametrize("day", [SPRING, FALL])
def test_no_reminder_when_the_days_entry_exists(app, db, reminded, push_service, day):
    client = reminded(day)
    client.move_to(local(day, "19:30"))
    response = client.put(f"entries/{day.isoformat()}", entry_body())
    assert response.status_code == 201, response.get_json()
    list(_every_five_minutes(app, db, day))
    assert push_service.requests == []
    assert outbox(db) == []


def test_an_entry_made_between_enqueue_and_delivery_cancels_the_reminder(
    app, db, reminded, push_service
):
    client = reminded(SPRING)
    at = local(SPRING, "20:00")
    run(app, db, "reminders", at)
    client.move_to(at + timedelta(seconds=20))
    assert client.put(f"entries/{SPRING.isoformat()}", entry_body()).status_code == 201
    run(app, db, "deliver", at + timedelta(minutes=1))
    assert push_service.requests == []
    [row] = outbox(db)
    assert row["status"] == "dead" and "entry" in row["last_error"]


def test_a_late_scheduler_still_reminds_the_same_evening_but_not_the_next_day(
    app, db, reminded, push_service
):
    reminded()
    # Down from 19:50 to 22:40: the run at 22:40 catches up.
    run(app, db, "reminders", local(SPRING, "19:50"))
    assert outbox(db) == []
    run(app, db, "reminders", local(SPRING, "22:40"))
    assert len(outbox(db)) == 1
    # Down over a whole evening: no reminder for a day that is over.
    next_day = SPRING + timedelta(days=1)
    run(app, db, "reminders", local(next_day + timedelta(days=1), "00:10"))
    assert [r["payload"]["date"] for r in outbox(db)] == [SPRING.isoformat()]


def test_a_reminder_not_delivered_before_the_day_ends_expires(app, db, reminded, push_service):
    reminded = reminded()
    push_service.statuses[reminded.sub.path] = 503
    run(app, db, "reminders", local(SPRING, "23:50"))
    run(app, db, "deliver", local(SPRING, "23:50"))
    push_service.statuses[reminded.sub.path] = 201
    run(app, db, "deliver", local(SPRING + timedelta(days=1), "00:05"))
    [row] = outbox(db)
    assert row["status"] == "dead" and "expired" in row["last_error"]
    assert len(push_service.requests) == 1


def test_the_study_default_time_applies_when_the_participant_chose_none(
    app, db, vapid, participant_client, browser_subscription, push_service
):
    client = participant_client("LBP-015", injection_date=INJECTED)
    client.post("push-subscriptions", browser_subscription().as_json())
    default = app.extensions["diary.study"].reminder_default
    at = local(SPRING, default.strftime("%H:%M"))
    assert run(app, db, "reminders", at - timedelta(minutes=1))["reminded"] == 0
    assert run(app, db, "reminders", at)["reminded"] == 1


def test_reminders_follow_the_participants_current_time_zone(app, db, reminded, push_service):
    reminded = reminded()
    reminded.move_to(local(SPRING - timedelta(days=2), "12:00"))
    assert reminded.patch("me", {"timezone": "Europe/Berlin"}).status_code == 200
    assert run(app, db, "reminders", local(SPRING, "19:59", "Europe/Berlin"))["reminded"] == 0
    assert run(app, db, "reminders", local(SPRING, "20:00", "Europe/Berlin"))["reminded"] == 1


def test_no_reminder_when_notifications_are_off_or_outside_the_diary(
    app, db, reminded, push_service
):
    reminded = reminded()
    assert reminded.patch("me", {"notifications_enabled": False}).status_code == 200
    run(app, db, "reminders", local(SPRING, "20:00"))
    assert outbox(db) == []
    assert reminded.patch("me", {"notifications_enabled": True}).status_code == 200
    run(app, db, "reminders", local(INJECTED - timedelta(days=1), "20:00"))
    assert outbox(db) == []
