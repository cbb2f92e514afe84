"""Escalation of urgent flags nobody acknowledged, and the daily digest (real SMTP)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from notify_support import acknowledge, local, open_flag, outbox, run

from diary import clock
from diary.db import transaction

DAY = date(2025, 11, 3)


@pytest.fixture
def staff(make_staff):
    return {
        "coord_a": make_staff("coord-a@a.test", "coordinator", ("SITE-A",)),
        "inv_a": make_staff("inv-a@a.test", "investigator", ("SITE-A",)),
        "inv_b": make_staff("inv-b@b.test", "investigator", ("SITE-B",)),
        "coord_ab": make_staff("coord-ab@ab.test", "coordinator", ("SITE-A", "SITE-B")),
        "admin": make_staff("admin@diary.test", "admin", ()),
    }


@pytest.fixture
def mail(app, smtp_server):
    app.config["DIARY_SMTP_URL"] = smtp_server.url
    return smtp_server


def _urgent(db, enroll, at):
    enroll("LBP-014", site="SITE-A", injection_date=DAY - timedelta(days=30))
    return open_flag(
        db,
        "LBP-014",
        kind="red_flag_symptom",
        severity="urgent",
        day=DAY,
        now=at,
        detail={"symptoms": ["leg_weakness_numbness"]},
    )


def _rcpts(smtp, word):
    return sorted(m.rcpt_tos[0] for m in smtp.messages if word in m.message["Subject"])


def test_an_urgent_flag_unacknowledged_for_two_hours_escalates_exactly_once(
    app, db, staff, enroll, mail
):
    t0 = local(DAY, "14:00")
    flag_id = _urgent(db, enroll, t0)
    run(app, db, "deliver", t0)
    assert _rcpts(mail, "URGENT") == ["coord-a@a.test", "coord-ab@ab.test", "inv-a@a.test"]

    assert run(app, db, "escalations", t0 + timedelta(hours=1, minutes=59))["escalated"] == 0
    assert run(app, db, "escalations", t0 + timedelta(hours=2))["escalated"] == 1
    for later in (timedelta(hours=2, minutes=1), timedelta(hours=5), timedelta(days=2)):
        assert run(app, db, "escalations", t0 + later)["escalated"] == 0
    run(app, db, "deliver", t0 + timedelta(hours=2))
    run(app, db, "deliver", t0 + timedelta(hours=3))

    # The site's investigators and the admins; not coordinators, not another site.
    assert _rcpts(mail, "ESCALATED") == ["admin@diary.test", "inv-a@a.test"]
    body = next(m for m in mail.messages if "ESCALATED" in m.message["Subject"]).message
    text = body.get_content()
    assert "2 hours" in body["Subject"] and "LBP-014" in body["Subject"]
    assert f"http://diary.test/staff/#/flags/{flag_id}" in text
    assert "New weakness or numbness in a leg" in text
    rows = [r for r in outbox(db, flag_id=flag_id) if r["purpose"] == "escalation"]
    assert len(rows) == 2 and {r["status"] for r in rows} == {"sent"}
    audit = list(db.query("SELECT * FROM audit_log WHERE action = 'flag.escalate'"))
    assert len(audit) == 1 and audit[0]["object_id"] == str(flag_id)


def test_an_urgent_flag_at_a_site_with_nobody_to_act_goes_to_the_admins_at_once(
    app, db, staff, enroll, mail
):
    """SITE-A's coordinators and investigator have left: the urgent notice goes to the
    study's admins at once, saying why, instead of to nobody until the escalation."""
    with transaction(db):
        db.execute(
            "UPDATE staff SET active = 0 WHERE id IN (?, ?, ?)",
            [staff["coord_a"], staff["inv_a"], staff["coord_ab"]],
        )
    t0 = local(DAY, "14:00")
    flag_id = _urgent(db, enroll, t0)
    run(app, db, "deliver", t0)

    assert _rcpts(mail, "URGENT") == ["admin@diary.test"]
    text = next(m for m in mail.messages if "URGENT" in m.message["Subject"]).message
    text = text.get_content()
    assert "SITE-A has no active coordinator or investigator" in text
    assert f"http://diary.test/staff/#/flags/{flag_id}" in text
    # Still escalated (to the admins again) if nobody acknowledges it.
    assert run(app, db, "escalations", t0 + timedelta(hours=2))["escalated"] == 1


def test_an_urgent_flag_acknowledged_at_one_hour_59_never_escalates(app, db, staff, enroll, mail):
    t0 = local(DAY, "14:00")
    flag_id = _urgent(db, enroll, t0)
    acknowledge(db, flag_id, at=t0 + timedelta(hours=1, minutes=59), staff_id=staff["coord_a"])
    for later in (timedelta(hours=2), timedelta(hours=6), timedelta(days=3)):
        assert run(app, db, "escalations", t0 + later) == {"escalated": 0, "notifications": 0}
    assert [r for r in outbox(db) if r["purpose"] == "escalation"] == []


def test_after_downtime_a_still_open_urgent_flag_escalates_once_late(app, db, staff, enroll, mail):
    t0 = local(DAY, "14:00")
    _urgent(db, enroll, t0)
    assert run(app, db, "escalations", t0 + timedelta(hours=9))["escalated"] == 1
    assert run(app, db, "escalations", t0 + timedelta(hours=9, minutes=1))["escalated"] == 0


def test_the_escalation_clock_starts_when_a_flag_becomes_urgent(app, db, staff, enroll, mail):
    enroll("LBP-014", site="SITE-A", injection_date=DAY - timedelta(days=30))
    t0 = local(DAY, "09:00")
    args = {"kind": "opioid_threshold", "day": DAY, "episode_key": "ep"}
    open_flag(db, "LBP-014", severity="high", detail={"max_mme": 60}, now=t0, **args)
    rises = t0 + timedelta(hours=5)
    open_flag(db, "LBP-014", severity="urgent", detail={"max_mme": 100}, now=rises, **args)
    assert run(app, db, "escalations", rises + timedelta(minutes=119))["escalated"] == 0
    assert run(app, db, "escalations", rises + timedelta(minutes=120))["escalated"] == 1


# --- the daily digest -------------------------------------------------------------


@pytest.fixture
def two_zones(db, staff, enroll):
    """SITE-A in Chicago, SITE-B in London; one participant at each."""
    enroll("LBP-014", site="SITE-A", injection_date=DAY - timedelta(days=30))
    enroll("LBP-201", site="SITE-B", injection_date=DAY - timedelta(days=30))
    with transaction(db):
        db.execute("UPDATE sites SET timezone = 'Europe/London' WHERE code = 'SITE-B'")


def _missed_b_yesterday(db) -> int:
    """A low missed-entries flag at SITE-B (London), opened yesterday evening."""
    yesterday = DAY - timedelta(days=1)
    return open_flag(
        db,
        "LBP-201",
        kind="missed_entries",
        severity="low",
        day=yesterday,
        now=local(yesterday, "23:00"),
        detail={"count": 1},
    )


def _yesterdays_flags(db) -> tuple[int, int]:
    """A high pain flare at SITE-A and a low missed-entries flag at SITE-B, opened yesterday."""
    yesterday = DAY - timedelta(days=1)
    flare_a = open_flag(db, "LBP-014", day=yesterday, now=local(yesterday, "15:00"))
    return flare_a, _missed_b_yesterday(db)


def test_the_0800_digest_lists_only_new_flags_of_the_staff_members_sites(
    app, db, staff, two_zones, mail
):
    flare_a, missed_b = _yesterdays_flags(db)
    yesterday = DAY - timedelta(days=1)
    urgent_a = open_flag(
        db,
        "LBP-014",
        kind="red_flag_symptom",
        severity="urgent",
        day=yesterday,
        now=local(yesterday, "16:00"),
        detail={"symptoms": ["fever"]},
    )

    # Chicago 07:55 is London 13:55: only the London site's staff are due.
    assert run(app, db, "digests", local(DAY, "07:55")) == {"due": 2, "sent": 2, "nothing_new": 0}
    at = local(DAY, "08:00")
    assert run(app, db, "digests", at) == {"due": 3, "sent": 3, "nothing_new": 0}
    assert run(app, db, "digests", at + timedelta(minutes=5))["due"] == 0
    run(app, db, "deliver", at)

    digests = {m.rcpt_tos[0]: m.message for m in mail.messages if "digest" in m.message["Subject"]}
    assert set(digests) == {"coord-a@a.test", "inv-a@a.test", "inv-b@b.test", "coord-ab@ab.test"}
    assert "admin@diary.test" not in digests
    a_text = digests["coord-a@a.test"].get_content()
    assert f"/staff/#/flags/{flare_a}" in a_text and "LBP-014" in a_text
    assert "LBP-201" not in a_text
    assert f"/staff/#/flags/{urgent_a}" not in a_text  # already mailed at once
    b_text = digests["inv-b@b.test"].get_content()
    assert f"/staff/#/flags/{missed_b}" in b_text and "LBP-014" not in b_text
    assert "1 new flag" in digests["inv-b@b.test"]["Subject"]
    # One digest per zone for someone whose sites are in two zones.
    ab = [
        m
        for m in mail.messages
        if m.rcpt_tos[0] == "coord-ab@ab.test" and "digest" in m.message["Subject"]
    ]
    assert len(ab) == 2
    assert sorted(
        ("LBP-014" in m.message.get_content(), "LBP-201" in m.message.get_content()) for m in ab
    ) == [
        (False, True),
        (True, False),
    ]


def test_the_flags_of_a_site_with_nobody_to_act_come_to_the_admins_in_their_digest(
    app, db, staff, two_zones, mail
):
    """SITE-B's investigator has left and its coordinator works at SITE-A only now: its
    flags reach the admins in a digest at 08:00 site time, saying why, not nobody."""
    with transaction(db):
        db.execute("UPDATE staff SET active = 0 WHERE id = ?", [staff["inv_b"]])
        db.execute(
            "DELETE FROM staff_sites WHERE staff_id = ? AND site_id ="
            " (SELECT id FROM sites WHERE code = 'SITE-B')",
            [staff["coord_ab"]],
        )
    flare_a, missed_b = _yesterdays_flags(db)
    london_8 = local(DAY, "08:00", "Europe/London")
    assert run(app, db, "digests", london_8)["sent"] == 1
    run(app, db, "digests", local(DAY, "08:00"))
    run(app, db, "deliver", local(DAY, "08:00"))

    to_admin = [m.message for m in mail.messages if m.rcpt_tos[0] == "admin@diary.test"]
    assert len(to_admin) == 1
    text = to_admin[0].get_content()
    assert f"/staff/#/flags/{missed_b}" in text
    assert f"/staff/#/flags/{flare_a}" not in text  # SITE-A's own staff have it
    assert "SITE-B has no active coordinator or investigator" in text
    assert "inv-b@b.test" not in [m.rcpt_tos[0] for m in mail.messages]


def test_a_digest_is_sent_at_0800_site_time_and_only_when_something_is_new(
    app, db, staff, two_zones, mail
):
    _missed_b_yesterday(db)
    london_8 = local(DAY, "08:00", "Europe/London")
    assert run(app, db, "digests", london_8 - timedelta(minutes=5))["sent"] == 0
    assert run(app, db, "digests", london_8)["sent"] == 2  # inv-b and coord-ab (London zone)
    assert run(app, db, "digests", london_8 + timedelta(hours=1))["sent"] == 0
    # Next day: nothing new → no mail; the day after, a new flag → only that one.
    next_day = DAY + timedelta(days=1)
    assert run(app, db, "digests", local(next_day, "08:00", "Europe/London"))["sent"] == 0
    later = next_day + timedelta(days=1)
    newer = open_flag(db, "LBP-201", day=next_day, now=local(next_day, "10:00", "Europe/London"))
    assert run(app, db, "digests", local(later, "08:00", "Europe/London"))["sent"] == 2
    rows = [
        r for r in outbox(db, purpose="digest") if r["payload"]["local_date"] == later.isoformat()
    ]
    assert {tuple(f["id"] for f in r["payload"]["flags"]) for r in rows} == {(newer,)}


def test_a_flag_a_job_commits_after_the_digest_ran_is_in_the_next_digest(
    app, db, staff, two_zones, mail
):
    """The closing job stamps the flags it opens with the instant it started, and may
    commit them after the 08:00 digest has read the flags (it held the write lock first):
    the digest's window is when flags were opened, so such a flag is still listed the
    next day, once."""
    run(app, db, "digests", local(DAY, "08:00"))  # every checkpoint saved
    # …then the job that started at 07:59 commits its flag.
    flag_id = open_flag(
        db,
        "LBP-014",
        kind="missed_entries",
        severity="high",
        day=DAY,
        now=local(DAY, "07:59"),
        detail={"count": 3},
    )
    for n in (1, 2):
        run(app, db, "digests", local(DAY + timedelta(days=n), "08:00"))
    listed = db.execute(
        "SELECT count(*) FROM outbox_flags f JOIN outbox o ON o.id = f.outbox_id"
        " WHERE f.flag_id = ? AND o.recipient_id = ?",
        [flag_id, staff["coord_a"]],
    ).fetchone()[0]
    assert listed == 1


def test_a_scheduler_down_at_0800_sends_the_digest_when_it_is_back_the_same_day(
    app, db, staff, two_zones, mail
):
    open_flag(db, "LBP-014", day=DAY, now=local(DAY, "01:00"))
    assert run(app, db, "digests", local(DAY, "11:20"))["sent"] == 3  # coord-a, inv-a, coord-ab
    assert run(app, db, "digests", local(DAY, "11:25"))["sent"] == 0


def test_a_flag_notification_history_is_visible_to_its_sites_staff_only(
    app, db, staff, enroll, staff_client, mail
):
    t0 = clock.now()
    flag_id = _urgent(db, enroll, t0)
    run(app, db, "deliver", t0)
    coordinator = staff_client("coordinator", ("SITE-A",))
    listing = coordinator.get(f"staff/flags/{flag_id}/notifications")
    assert listing.status_code == 200, listing.get_json()
    rows = listing.get_json()["notifications"]
    # The staff of the flag's site when it opened (the viewer joined later).
    assert {r["recipient"]["email"] for r in rows} == {
        "coord-a@a.test",
        "inv-a@a.test",
        "coord-ab@ab.test",
    }
    assert all(r["channel"] == "email" and r["status"] == "sent" for r in rows)
    assert all(r["attempts"] == 1 and r["sent_at"] and r["last_error"] is None for r in rows)
    assert (
        staff_client("coordinator", ("SITE-B",))
        .get(f"staff/flags/{flag_id}/notifications")
        .status_code
        == 404
    )
    assert staff_client("admin", ()).get(f"staff/flags/{flag_id}/notifications").status_code == 200
    assert coordinator.get("staff/flags/99999/notifications").status_code == 404
    assert coordinator.get(f"staff/flags/{2**64}/notifications").status_code == 404
