"""Can a participant be reached? Live push subscriptions, last sync, last reminder."""

from __future__ import annotations

from datetime import timedelta

from notify_support import entry_body, local, run

from diary import clock


def test_staff_see_whether_a_participant_can_be_reached(
    app, db, vapid, participant_client, staff_client, browser_subscription, push_service
):
    today = clock.local_date(clock.now(), "America/Chicago")
    yesterday = today - timedelta(days=1)
    phone = participant_client("LBP-014", injection_date=today - timedelta(days=5))
    coordinator = staff_client("coordinator", ("SITE-A",))
    before = coordinator.get("staff/participants/LBP-014/reachability").get_json()
    assert before["push_subscriptions"] == 0 and before["last_reminder_at"] is None
    assert before["last_entry_date"] is None

    old, new = browser_subscription(), browser_subscription()
    assert phone.post("push-subscriptions", old.as_json()).status_code == 201
    assert phone.post("push-subscriptions", new.as_json()).status_code == 201
    assert phone.delete("push-subscriptions", {"endpoint": old.endpoint}).status_code == 200
    reminded_at = local(yesterday, "20:00")
    run(app, db, "reminders", reminded_at)
    run(app, db, "deliver", reminded_at)
    assert phone.put(f"entries/{today.isoformat()}", entry_body()).status_code == 201

    response = coordinator.get("staff/participants/LBP-014/reachability")
    assert response.status_code == 200, response.get_json()
    state = response.get_json()
    assert state["push_subscriptions"] == 1
    assert state["last_entry_date"] == today.isoformat()
    assert state["last_entry_received_at"]
    assert clock.parse_iso(state["last_reminder_at"]) == reminded_at
    assert clock.parse_iso(state["last_push_delivered_at"]) == reminded_at
    assert state["notifications_enabled"] is True
    assert [(s["service"], s["end_reason"]) for s in state["subscriptions"]] == [
        ("127.0.0.1", None),
        ("127.0.0.1", "unsubscribed"),
    ]
    assert "last_seen_at" in state


def test_reachability_is_site_scoped(participant_client, staff_client):
    participant_client("LBP-014", site="SITE-A")
    other = staff_client("coordinator", ("SITE-B",))
    assert other.get("staff/participants/LBP-014/reachability").status_code == 404
    assert other.get("staff/participants/NOPE-1/reachability").status_code == 404
    assert (
        staff_client("admin", ()).get("staff/participants/LBP-014/reachability").status_code == 200
    )


def test_the_notification_jobs_are_registered_with_stable_ids():
    from diary.jobs import deliver, digests, escalations, reminders
    from diary.jobs.registry import JOBS

    by_id = {job.id: job for job in JOBS}
    for module in (deliver, digests, escalations, reminders):
        assert by_id[module.JOB_ID].run is module.run
    assert by_id["deliver_notifications"].trigger["minute"] == "*"
    assert by_id["escalate_urgent_flags"].trigger["minute"] == "*"


def test_run_jobs_delivers_an_urgent_mail_through_the_registry(
    app, db, make_staff, enroll, smtp_server
):
    from notify_support import open_flag

    app.config["DIARY_SMTP_URL"] = smtp_server.url
    make_staff("coord-a@a.test", "coordinator", ("SITE-A",))
    enroll("LBP-014", site="SITE-A")
    now = clock.now()
    open_flag(
        db,
        "LBP-014",
        kind="red_flag_symptom",
        severity="urgent",
        day=clock.local_date(now, "America/Chicago"),
        now=now,
        detail={"symptoms": ["fever"]},
    )
    result = app.test_cli_runner().invoke(args=["diary", "run-jobs"])
    assert result.exit_code == 0, result.output
    assert "deliver_notifications" in result.output
    assert [m.rcpt_tos for m in smtp_server.messages] == [["coord-a@a.test"]]


def test_the_console_says_whether_reminders_will_actually_arrive(
    app, participant_client, staff_client, browser_subscription
):
    """Reminders 'on' in the settings mean nothing without a phone that allowed
    notifications: the staff see what will happen, and why not (SPEC §8)."""
    phone = participant_client("LBP-014")
    coordinator = staff_client("coordinator", ("SITE-A",))

    def outlook():
        return coordinator.get("staff/participants/LBP-014/reachability").get_json()["reminders"]

    app.config["DIARY_VAPID_PRIVATE_KEY"] = None
    assert outlook()["will_arrive"] is False
    assert "no phone has allowed notifications" in outlook()["text"]
    assert phone.post("push-subscriptions", browser_subscription().as_json()).status_code == 201
    assert "Web Push is not set up on this server" in outlook()["text"]
    from diary.notify import webpush

    app.config["DIARY_VAPID_PRIVATE_KEY"] = webpush.generate_keys().private_key
    shown = outlook()
    assert shown["will_arrive"] is True
    assert shown["text"].startswith("Every day at 20:00") and "1 device" in shown["text"]
    assert phone.patch("me", {"notifications_enabled": False}).status_code == 200
    assert outlook() == {
        "will_arrive": False,
        "text": "No reminders will arrive: the participant turned reminders off on the phone.",
    }
