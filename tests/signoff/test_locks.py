"""Locks and the study freeze (SPEC §14): while locked, the participant's writes answer
409 `locked` and staff corrections are refused; only an admin unlocks, with a reason;
every step is audited."""

from __future__ import annotations

import pytest
from entry_support import entry
from signoff_support import COMPLETE_AE, INJECTED, at


@pytest.fixture
def team(make_staff, login):
    make_staff("inv@a.test", "investigator", ("SITE-A",), full_name="Dr Ines Vega")
    make_staff("coord@a.test", "coordinator", ("SITE-A",))
    make_staff("admin@diary.test", "admin", ())
    return login


def test_a_locked_participant_writes_nothing_until_an_admin_unlocks_with_a_reason(
    db, team, participant_client
):
    with at(2026, 3, 1, 9, 0):
        phone = participant_client("LBP-001", injection_date=INJECTED)
    with at(2026, 3, 2, 20, 0):
        assert phone.put("entries/2026-03-02", entry()).status_code == 201
        inv, coord = team("inv@a.test"), team("coord@a.test")
        made = inv.post(
            "staff/participants/LBP-001/adverse-events", {**COMPLETE_AE, "onset_date": "2026-03-02"}
        )
        assert made.status_code == 201, made.get_json()
        assert coord.post("staff/participants/LBP-001/lock", {"reason": "done"}).status_code == 403
        locked = inv.post("staff/participants/LBP-001/lock", {"reason": "casebook signed"})
    assert locked.status_code == 200, locked.get_json()
    assert locked.get_json()["lock"]["reason"] == "casebook signed"
    before = db.execute("SELECT count(*) FROM entries").fetchone()[0]
    with at(2026, 3, 2, 20, 30):
        refused = phone.put("entries/2026-03-02", entry(back_pain=7))
        new_day = phone.put("entries/2026-03-03", entry())
        staff_fix = coord.put(
            "staff/participants/LBP-001/entries/2026-03-02", entry(reason="late call")
        )
        ae_fix = inv.patch(
            f"staff/adverse-events/{made.get_json()['id']}", {"ctcae_grade": 2, "reason": "x y z"}
        )
        me = phone.get("me").get_json()
        not_admin = inv.post("staff/participants/LBP-001/unlock", {"reason": "reopen"})
    for response in (refused, staff_fix, ae_fix):
        assert response.status_code == 409, response.get_json()
        assert response.get_json()["error"]["code"] == "locked"
    assert new_day.status_code == 409
    assert db.execute("SELECT count(*) FROM entries").fetchone()[0] == before
    assert me["diary_closed"] is not None
    assert not_admin.status_code == 403
    with at(2026, 3, 2, 21, 0):
        admin = team("admin@diary.test")
        assert admin.post("staff/participants/LBP-001/unlock", {}).status_code == 422
        unlocked = admin.post("staff/participants/LBP-001/unlock", {"reason": "query from DM"})
        assert unlocked.status_code == 200 and unlocked.get_json()["lock"] is None
        again = phone.put("entries/2026-03-02", entry(back_pain=7, reason="pressed 4 by mistake"))
        assert again.status_code == 200, again.get_json()
        assert phone.get("me").get_json()["diary_closed"] is None
    trail = [
        (r["action"], r["reason"])
        for r in db.query(
            "SELECT action, reason FROM audit_log WHERE action LIKE 'participant.%lock' ORDER BY id"
        )
    ]
    assert trail == [
        ("participant.lock", "casebook signed"),
        ("participant.unlock", "query from DM"),
    ]


def test_a_study_freeze_closes_every_participant_and_is_lifted_by_an_admin(
    app, db, team, participant_client
):
    with at(2026, 3, 1, 9, 0):
        phone = participant_client("LBP-001", injection_date=INJECTED)
    with at(2026, 3, 2, 20, 0):
        admin = team("admin@diary.test")
        assert team("inv@a.test").post("staff/study/freeze", {"reason": "cut"}).status_code == 403
        frozen = admin.post("staff/study/freeze", {"reason": "interim analysis data cut"})
        assert frozen.status_code == 200 and frozen.get_json()["frozen"] is True
        refused = phone.put("entries/2026-03-02", entry())
        assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "locked"
        assert "frozen" in refused.get_json()["error"]["message"]
        assert admin.post("staff/study/freeze", {"reason": "again"}).status_code == 409
        lifted = admin.post("staff/study/unfreeze", {"reason": "cut delivered"})
        assert lifted.get_json() == {"frozen": False}
        assert phone.put("entries/2026-03-02", entry()).status_code == 201


def test_the_freeze_commands(app, db, participant_client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["diary", "freeze", "--reason", "database lock for CSR"])
    assert first.exit_code == 0, first.output
    assert runner.invoke(args=["diary", "freeze", "--reason", "twice"]).exit_code != 0
    row = next(db.query("SELECT * FROM study_freezes"))
    assert row["frozen_by"] == "command line" and row["reason"] == "database lock for CSR"
    assert runner.invoke(args=["diary", "unfreeze", "--reason", "reopened"]).exit_code == 0
    verify = runner.invoke(args=["diary", "audit", "verify"])
    assert verify.exit_code == 0 and "signatures hold" in verify.output


def test_a_closed_diary_is_not_reminded_and_no_date_of_it_is_missed(app, db, participant_client):
    from diary import audit, clock
    from diary.db import transaction
    from diary.jobs import close_days
    from diary.participants import queries as participant_queries
    from diary.signoff import locks

    with at(2026, 3, 1, 9, 0):
        participant_client("LBP-001", injection_date=INJECTED)
        participant_client("LBP-002", injection_date=INJECTED)
    locked = participant_queries.get_by_study_id(db, "LBP-001")
    with at(2026, 3, 1, 10, 0), transaction(db):
        locks.lock(db, locked, reason="withdrew consent", actor=audit.CLI, now=clock.now())
    study = app.extensions["diary.study"]
    with at(2026, 3, 6, 13, 0):
        close_days.run(db, now=clock.now(), study=study, config=app.config)

    def missed(study_id):
        return [
            r[0]
            for r in db.execute(
                "SELECT m.date FROM missed_dates m JOIN participants p"
                " ON p.id = m.participant_id WHERE p.study_id = ? ORDER BY m.date",
                [study_id],
            )
        ]

    assert missed("LBP-001") == [] and len(missed("LBP-002")) >= 4
    # Reopened, its dates close like anyone's.
    with at(2026, 3, 6, 13, 10), transaction(db):
        current = participant_queries.get_by_study_id(db, "LBP-001")
        locks.unlock(db, current, reason="consent restored", actor=audit.CLI, now=clock.now())
    with at(2026, 3, 6, 13, 15):
        close_days.run(db, now=clock.now(), study=study, config=app.config)
    assert missed("LBP-001") == missed("LBP-002")


def test_a_locked_participants_day_0_and_baselines_cannot_move_and_a_move_invalidates_the_casebook(
    db, team, participant_client
):
    from signoff_support import PASSWORD

    with at(2026, 3, 1, 9, 0):
        participant_client("LBP-001", injection_date=INJECTED)
    with at(2026, 3, 2, 20, 0):
        inv, admin = team("inv@a.test"), team("admin@diary.test")
        signed = inv.post(
            "staff/signatures",
            {
                "record_type": "participant",
                "record_id": "LBP-001",
                "meaning": "approved",
                "password": PASSWORD,
            },
        )
        assert signed.status_code == 201, signed.get_json()
        assert (
            inv.post("staff/participants/LBP-001/lock", {"reason": "signed off"}).status_code == 200
        )
        before = db.execute("SELECT count(*) FROM injections").fetchone()[0]
        moved = admin.patch(
            "staff/participants/LBP-001/injections/2026-03-01",
            {"date": "2026-02-28", "reason": "the clinic's record says the 28th"},
        )
        added = admin.post("staff/participants/LBP-001/injections", {"date": "2026-03-02"})
        baseline = admin.patch(
            "staff/participants/LBP-001", {"baseline_back_pain": 7, "reason": "re-read the CRF"}
        )
        for response in (moved, added, baseline):
            assert response.status_code == 409, response.get_json()
            assert response.get_json()["error"]["code"] == "locked"
        assert db.execute("SELECT count(*) FROM injections").fetchone()[0] == before
        # Unlocked, the move goes through and the casebook signature no longer holds.
        admin.post("staff/participants/LBP-001/unlock", {"reason": "correct day 0"})
        moved = admin.patch(
            "staff/participants/LBP-001/injections/2026-03-01",
            {"date": "2026-02-28", "reason": "the clinic's record says the 28th"},
        )
        assert moved.status_code == 200, moved.get_json()
        sigs = inv.get("staff/signatures?record_type=participant&record_id=LBP-001").get_json()
    (sig,) = sigs["signatures"]
    assert sig["status"] == "invalidated"
    assert sig["invalidated_by"]["action"].startswith("participant.injection")
