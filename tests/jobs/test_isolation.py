"""One participant's data never stops the closing job for the others (SPEC §7)."""

from __future__ import annotations

from datetime import date

from jobs_support import add_entries, add_participant, flags, missed, run_close, utc

from diary.db import transaction
from diary.jobs import queries


def failures(db) -> list[tuple]:
    return [
        tuple(r)
        for r in db.execute(
            "SELECT job_id, p.study_id, failures, error FROM job_failures f"
            " JOIN participants p ON p.id = f.participant_id ORDER BY 2"
        )
    ]


def test_an_absurd_injection_date_fails_that_participant_only(make_db, study):
    db = make_db()
    add_participant(db, "LBP-001", timezone="UTC", injections=(date(2025, 10, 1),))
    add_participant(db, "LBP-002", timezone="UTC", injections=(date(9999, 12, 31),))
    add_participant(db, "LBP-003", timezone="UTC", injections=(date(1, 1, 1),))

    summary = run_close(db, study, utc(2025, 10, 4, 12))

    assert missed(db) == [
        ("LBP-001", "2025-10-01"),
        ("LBP-001", "2025-10-02"),
        ("LBP-001", "2025-10-03"),
    ]
    assert [f[:2] for f in flags(db)] == [("LBP-001", "missed_entries")]
    assert summary["failed_participants"] == 2
    rows = failures(db)
    assert [r[:3] for r in rows] == [
        ("close_diary_dates", "LBP-002", 1),
        ("close_diary_dates", "LBP-003", 1),
    ]
    assert all("Overflow" in r[3] for r in rows)

    # The next run retries them, counts the repeat, and still serves the others.
    run_close(db, study, utc(2025, 10, 5, 12))
    assert [r[2] for r in failures(db)] == [2, 2]
    assert ("LBP-001", "2025-10-04") in missed(db)


def test_a_failure_inside_the_rules_rolls_back_that_participant_and_clears_once_fixed(
    make_db, study
):
    db = make_db()
    good = add_participant(db, "LBP-001", timezone="UTC", injections=(date(2025, 10, 1),))
    bad = add_participant(db, "LBP-002", timezone="UTC", injections=(date(2025, 10, 1),))
    add_entries(db, good, {date(2025, 10, 1): (9, 10.0)})
    add_entries(db, bad, {date(2025, 10, 1): (9, 10.0)})
    with transaction(db):  # data no code path writes: an unknown drug list that is not JSON
        db.execute(
            "UPDATE entries SET mme_unconverted = 'not json' WHERE participant_id = ?", [bad["id"]]
        )

    run_close(db, study, utc(2025, 10, 3, 12))

    kinds = {(f[0], f[1]) for f in flags(db)}
    assert ("LBP-001", "pain_flare") in kinds and ("LBP-001", "missed_entries") in kinds
    assert not [k for k in kinds if k[0] == "LBP-002"]  # nothing half-written for them
    assert [m for m in missed(db) if m[0] == "LBP-002"] == []
    assert [r[1] for r in failures(db)] == ["LBP-002"]
    progress = dict(db.execute("SELECT participant_id, closed_through FROM job_progress"))
    assert bad["id"] not in progress  # retried from where it was

    with transaction(db):
        db.execute(
            "UPDATE entries SET mme_unconverted = '[]' WHERE participant_id = ?", [bad["id"]]
        )
    run_close(db, study, utc(2025, 10, 3, 13))
    assert failures(db) == []
    assert ("LBP-002", "pain_flare") in {(f[0], f[1]) for f in flags(db)}


def test_admins_see_failing_participants_and_the_latest_runs(app, db, staff_client):
    from diary.jobs import runner
    from diary.jobs.registry import JOBS

    with transaction(db):
        db.execute(
            "INSERT INTO sites (code, name, timezone, created_at) VALUES ('SITE-A', 'A',"
            " 'UTC', '2020-01-01T00:00:00+00:00')"
        )
    add_participant(db, "LBP-009", timezone="UTC", injections=(date(9999, 12, 31),))
    runner.run_all(
        JOBS[:1],
        database=app.config["DIARY_DATABASE"],
        study=app.extensions["diary.study"],
        config=app.config,
        now=utc(2025, 10, 4, 12),
    )
    admin = staff_client("admin", sites=("SITE-A",))
    body = admin.get("staff/jobs").get_json()
    (failure,) = body["failures"]
    assert failure["study_id"] == "LBP-009" and failure["job_id"] == "close_diary_dates"
    (run,) = body["runs"]
    assert run["status"] == "ok" and run["summary"]["failed_participants"] == 1
    assert staff_client("coordinator").get("staff/jobs").status_code == 403
    assert queries.failures(db, site_ids=set()) == []


def test_a_malformed_later_injection_date_fails_that_participant_only(make_db, study):
    db = make_db()
    add_participant(db, "LBP-001", timezone="UTC", injections=(date(2025, 10, 1),))
    bad = add_participant(db, "LBP-002", timezone="UTC", injections=(date(2025, 10, 1),))
    with transaction(db):
        db.execute(
            "INSERT INTO injections (participant_id, date, created_at) VALUES (?, ?, ?)",
            [bad["id"], "2025-10-15 ", "2025-10-15T00:00:00+00:00"],
        )
    run_close(db, study, utc(2025, 10, 4, 12))
    assert {m[0] for m in missed(db)} == {"LBP-001"}
    assert [r[1] for r in failures(db)] == ["LBP-002"]


def test_an_entry_synced_while_the_job_failed_on_that_participant_is_rechecked_once_fixed(
    make_db, study
):
    """The late entries are looked for among the writes since the last run (less a margin);
    a participant the job kept failing on for days was not processed by those runs, so their
    late entries are looked for since their own last processing."""
    db = make_db()
    add_participant(db, "LBP-001", timezone="UTC", injections=(date(2025, 10, 1),))
    bad = add_participant(db, "LBP-002", timezone="UTC", injections=(date(2025, 10, 1),))
    days = {date(2025, 10, 1): (4, 10.0), date(2025, 10, 2): (4, 10.0)}
    add_entries(db, bad, days)
    run_close(db, study, utc(2025, 10, 4, 12))
    assert ("LBP-002", "2025-10-03") in missed(db)

    with transaction(db):  # data no code path writes: the run fails on this participant
        db.execute(
            "UPDATE participants SET baseline_opioids = 'not json' WHERE id = ?", [bad["id"]]
        )
    with transaction(db):  # 10-03's entry, made offline in its window, syncs late
        db.execute(
            "INSERT INTO entries (participant_id, date, timezone, back_pain, leg_pain, mme,"
            " device_time, received_at, updated_at, client_id, synced_late)"
            " VALUES (?, '2025-10-03', 'UTC', 3, 3, 10.0, '2025-10-03T20:00:00+00:00',"
            " '2025-10-05T10:00:00.000000+00:00', '2025-10-05T10:00:00.000000+00:00', 'late', 1)",
            [bad["id"]],
        )
    for day in (5, 6, 7, 8):
        run_close(db, study, utc(2025, 10, day, 12))
        assert [r[1:3] for r in failures(db)] == [("LBP-002", day - 4)]

    with transaction(db):  # the data is mended
        db.execute("UPDATE participants SET baseline_opioids = '[]' WHERE id = ?", [bad["id"]])
    run_close(db, study, utc(2025, 10, 9, 12))

    assert failures(db) == []
    assert ("LBP-002", "2025-10-03") not in missed(db)
    assert ("LBP-002", "2025-10-04") in missed(db)
