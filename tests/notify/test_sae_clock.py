"""The 24-hour serious-adverse-event clock (SPEC §14): started by a hospital or ER visit
report (from its submission) or an event marked serious; notices at 12 h and at 24 h,
once each, none once reported; counted in real hours across a DST change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from entry_support import entry
from signoff_support import CHICAGO, COMPLETE_AE, at

from diary import clock
from diary.jobs import deliver, sae_clocks


def run(app, db, job, when):
    return job.run(db, now=when, study=app.extensions["diary.study"], config=app.config)


@pytest.fixture
def team(make_staff):
    make_staff("inv@a.test", "investigator", ("SITE-A",), full_name="Dr Ines Vega")
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    make_staff("inv@b.test", "investigator", ("SITE-B",))
    make_staff("admin@diary.test", "admin", ())


def sae_rows(db):
    return [
        dict(r)
        for r in db.query(
            "SELECT recipient_id, channel, payload, dedupe_key FROM outbox"
            " WHERE purpose = 'sae_clock' ORDER BY id"
        )
    ]


def recipients(db, stage):
    return sorted(
        db.execute(
            "SELECT s.email FROM outbox o JOIN staff s ON s.id = o.recipient_id"
            " WHERE o.purpose = 'sae_clock' AND o.dedupe_key LIKE ?",
            [f"%:{stage}:%"],
        ).fetchall()
    )


def test_a_hospital_visit_report_starts_a_clock_with_notices_at_12_and_24_real_hours_across_dst(
    app, db, team, participant_client, login, smtp_server
):
    app.config["DIARY_SMTP_URL"] = smtp_server.url
    with at(2026, 3, 1, 9, 0):
        phone = participant_client("LBP-001", injection_date=datetime(2026, 3, 1).date())
    # Saturday 7 March, 20:00 CST; the clocks go forward at 02:00 on Sunday 8 March.
    reported = datetime(2026, 3, 7, 20, 0, tzinfo=CHICAGO)
    with time_machine.travel(reported, tick=False):
        put = phone.put("entries/2026-03-07", entry(symptoms=["hospital_or_er_visit"]))
    assert put.status_code == 201, put.get_json()
    (sae,) = db.query("SELECT * FROM sae_clocks")
    assert sae["trigger"] == "hospital_or_er_visit" and sae["status"] == "running"
    assert clock.parse_iso(sae["started_at"]) == reported.astimezone(UTC)
    due = clock.parse_iso(sae["due_at"])
    assert due - reported == timedelta(hours=24)
    # 24 real hours later is 21:00 CDT on the wall clock, not 20:00.
    assert due.astimezone(CHICAGO).hour == 21

    start = reported.astimezone(UTC)
    assert run(app, db, sae_clocks, start + timedelta(hours=11, minutes=59))["warnings"] == 0
    assert run(app, db, sae_clocks, start + timedelta(hours=12))["warnings"] == 1
    assert recipients(db, "warning") == [("admin@diary.test",), ("inv@a.test",)]
    assert run(app, db, sae_clocks, start + timedelta(hours=13))["warnings"] == 0
    # 20:00 CDT on Sunday is only 23 real hours: not overdue yet.
    wall_20 = datetime(2026, 3, 8, 20, 0, tzinfo=CHICAGO)
    assert run(app, db, sae_clocks, wall_20)["overdue"] == 0
    assert run(app, db, sae_clocks, due)["overdue"] == 1
    assert run(app, db, sae_clocks, due + timedelta(hours=5))["overdue"] == 0
    assert recipients(db, "overdue") == [("admin@diary.test",), ("inv@a.test",)]
    # The mail goes out, and names no more than the study ID.
    run(app, db, deliver, due + timedelta(minutes=1))
    subjects = sorted(m.message["Subject"] for m in smtp_server.messages)
    assert any("12 hours left" in s for s in subjects)
    assert any("OVERDUE: serious event LBP-001" in s for s in subjects), subjects

    # The flag shows the clock; resolving as a serious AE moves it to the event, and
    # marking it reported records who, when and the sponsor's reference.
    flag_id = db.execute("SELECT flag_id FROM sae_clocks").fetchone()[0]
    with time_machine.travel(due + timedelta(hours=1), tick=False):
        inv = login("inv@a.test")
        shown = inv.get(f"staff/flags/{flag_id}").get_json()
        assert shown["sae_clock"]["status"] == "running" and shown["sae_clock"]["seconds_left"] < 0
        resolved = inv.post(
            f"staff/flags/{flag_id}/resolve",
            {
                "outcome": "adverse_event",
                "note": "Admitted overnight; discussed with the PI.",
                "ctcae_grade": 3,
                "serious": True,
                "seriousness_criteria": ["hospitalisation"],
                "related": "unlikely",
            },
        )
        assert resolved.status_code == 200, resolved.get_json()
        ae = resolved.get_json()["adverse_event"]
        assert ae["sae_clock"]["trigger"] == "hospital_or_er_visit"
        reported_ok = inv.post(
            f"staff/adverse-events/{ae['id']}/sponsor-report", {"reference": "SAE-2026-0042"}
        )
    assert reported_ok.status_code == 200, reported_ok.get_json()
    done = reported_ok.get_json()["sae_clock"]
    assert done["status"] == "reported" and done["reference"] == "SAE-2026-0042"
    assert done["reported_by"] == "inv@a.test"
    listed = login("inv@a.test").get("staff/serious-events?include_closed=true")
    listed = listed.get_json()["serious_events"]
    assert [e["status"] for e in listed] == ["reported"]


def test_an_event_marked_serious_starts_a_clock_and_a_report_before_12_hours_sends_nothing(
    app, db, team, participant_client, login
):
    with at(2026, 3, 1, 9, 0):
        participant_client("LBP-001", injection_date=datetime(2026, 3, 1).date())
    t0 = datetime(2026, 3, 3, 10, 0, tzinfo=CHICAGO)
    with time_machine.travel(t0, tick=False):
        inv = login("inv@a.test")
        made = inv.post(
            "staff/participants/LBP-001/adverse-events",
            {**COMPLETE_AE, "serious": True, "seriousness_criteria": ["other_important"]},
        )
        assert made.status_code == 201, made.get_json()
        ae = made.get_json()
        assert ae["sae_clock"]["trigger"] == "serious_adverse_event"
        assert ae["sae_clock"]["seconds_left"] == 24 * 3600
    with time_machine.travel(t0 + timedelta(hours=3), tick=False):
        inv = login("inv@a.test")
        assert (
            inv.post(
                f"staff/adverse-events/{ae['id']}/sponsor-report", {"reference": "X-1"}
            ).status_code
            == 200
        )
        again = inv.post(f"staff/adverse-events/{ae['id']}/sponsor-report", {"reference": "X-2"})
        assert again.status_code == 409
    for hours in (12, 24, 48):
        assert run(app, db, sae_clocks, t0 + timedelta(hours=hours))["notifications"] == 0
    assert sae_rows(db) == []


def test_a_visit_judged_not_an_adverse_event_stops_its_clock(
    app, db, team, participant_client, login
):
    with at(2026, 3, 1, 9, 0):
        phone = participant_client("LBP-001", injection_date=datetime(2026, 3, 1).date())
    t0 = datetime(2026, 3, 3, 18, 0, tzinfo=CHICAGO)
    with time_machine.travel(t0, tick=False):
        phone.put("entries/2026-03-03", entry(symptoms=["hospital_or_er_visit"]))
    flag_id = db.execute("SELECT flag_id FROM sae_clocks").fetchone()[0]
    with time_machine.travel(t0 + timedelta(hours=2), tick=False):
        inv = login("inv@a.test")
        out = inv.post(
            f"staff/flags/{flag_id}/resolve",
            {"outcome": "not_ae", "note": "planned visit for an unrelated scan"},
        )
    assert out.status_code == 200
    assert out.get_json()["sae_clock"]["status"] == "stopped"
    assert run(app, db, sae_clocks, t0 + timedelta(hours=30))["notifications"] == 0


def test_a_clock_stopped_and_started_again_runs_24_hours_from_then_with_its_notices(
    app, db, team, participant_client, login
):
    with at(2026, 3, 1, 9, 0):
        phone = participant_client("LBP-001", injection_date=datetime(2026, 3, 1).date())
    t0 = datetime(2026, 3, 3, 18, 0, tzinfo=CHICAGO)
    with time_machine.travel(t0, tick=False):
        phone.put("entries/2026-03-03", entry(symptoms=["hospital_or_er_visit"]))
    flag_id = db.execute("SELECT flag_id FROM sae_clocks").fetchone()[0]
    assert run(app, db, sae_clocks, t0 + timedelta(hours=25))["overdue"] == 1
    with time_machine.travel(t0 + timedelta(hours=26), tick=False):
        inv = login("inv@a.test")
        resolved = inv.post(
            f"staff/flags/{flag_id}/resolve",
            {
                "outcome": "adverse_event",
                "note": "ER visit, sent home; not serious.",
                "ctcae_grade": 2,
                "serious": False,
                "related": "unlikely",
            },
        )
        ae_id = resolved.get_json()["adverse_event"]["id"]
        assert resolved.get_json()["sae_clock"]["status"] == "stopped"
    later = t0 + timedelta(hours=50)
    with time_machine.travel(later, tick=False):
        inv = login("inv@a.test")
        corrected = inv.patch(
            f"staff/adverse-events/{ae_id}",
            {
                "serious": True,
                "seriousness_criteria": ["hospitalisation"],
                "reason": "discharge letter: admitted for two nights",
            },
        )
    restarted = corrected.get_json()["sae_clock"]
    assert restarted["status"] == "running" and restarted["seconds_left"] == 24 * 3600
    assert run(app, db, sae_clocks, later + timedelta(hours=12))["warnings"] == 1
    assert run(app, db, sae_clocks, later + timedelta(hours=24))["overdue"] == 1


def test_a_serious_event_recorded_before_the_clock_existed_can_be_reported(
    app, db, team, participant_client, login
):
    with at(2026, 3, 1, 9, 0):
        participant_client("LBP-001", injection_date=datetime(2026, 3, 1).date())
    with at(2026, 3, 3, 10, 0):
        inv = login("inv@a.test")
        ae = inv.post(
            "staff/participants/LBP-001/adverse-events",
            {**COMPLETE_AE, "serious": True, "seriousness_criteria": ["other_important"]},
        ).get_json()
        db.execute("DELETE FROM sae_clocks")  # as for an event recorded before schema 0012
        db.conn.commit()
        reported = inv.post(
            f"staff/adverse-events/{ae['id']}/sponsor-report", {"reference": "OLD-1"}
        )
    assert reported.status_code == 200, reported.get_json()
    assert reported.get_json()["sae_clock"]["status"] == "reported"
