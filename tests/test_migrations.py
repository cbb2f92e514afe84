"""Migrations applied to a database that already holds data (an upgrade, not a new study)."""

from __future__ import annotations

import hashlib

import pytest

from diary import clock
from diary.db import connect, migrate, migration_files, transaction

STAMP = "2025-10-01T12:00:00.000000+00:00"


def _apply_up_to(db, last: str) -> None:
    """Apply migrations up to and including `last`, recorded as the runner records them."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    for path in migration_files():
        if path.name > last:
            break
        sql = path.read_text("utf-8")
        db.conn.executescript(sql)
        db.execute(
            "INSERT INTO schema_migrations VALUES (?, ?, ?)",
            [path.name, hashlib.sha256(sql.encode()).hexdigest(), clock.iso(clock.now())],
        )


def test_the_flag_rebuild_keeps_every_flag_and_every_reference(tmp_path):
    db = connect(str(tmp_path / "old.sqlite3"))
    _apply_up_to(db, "0005_entries_updated_index.sql")
    with transaction(db):
        db.execute(
            "INSERT INTO sites (code, name, timezone, created_at) VALUES ('A', 'A', 'UTC', ?)",
            [STAMP],
        )
        db.execute(
            "INSERT INTO staff (email, password_hash, role, created_at)"
            " VALUES ('pi@a.test', 'x', 'investigator', ?)",
            [STAMP],
        )
        db.execute(
            "INSERT INTO participants (study_id, site_id, baseline_back_pain, baseline_mme,"
            " status, enrolled_at) VALUES ('LBP-001', 1, 4, 10, 'withdrawn', ?)",
            [STAMP],
        )
        db.execute(
            "INSERT INTO audit_log (id, at, actor_type, action, object_type, participant_id,"
            " after, prev_hash, hash) VALUES (1, ?, 'staff', 'participant.update', 'participant',"
            " 1, '{\"status\":\"withdrawn\"}', 'g', 'h')",
            ["2025-10-09T08:00:00.000000+00:00"],
        )
        for flag_id, kind, severity in (
            (1, "red_flag_symptom", "urgent"),
            (2, "pain_flare", "high"),
        ):
            db.execute(
                "INSERT INTO flags (id, participant_id, kind, severity, status, episode_key,"
                " first_date, last_date, detail, opened_at, updated_at)"
                " VALUES (?, 1, ?, ?, 'resolved', '2025-10-02', '2025-10-02', '2025-10-02',"
                " '{}', ?, ?)",
                [flag_id, kind, severity, STAMP, STAMP],
            )
        db.execute("INSERT INTO urgent_flags (flag_id, urgent_at) VALUES (1, ?)", [STAMP])
        db.execute(
            "INSERT INTO adverse_events (participant_id, flag_id, source, term, onset_date,"
            " ctcae_grade, serious, related, recorded_by, recorded_at)"
            " VALUES (1, 1, 'flag', 'Fever', '2025-10-02', 2, 0, 'possible', 1, ?)",
            [STAMP],
        )

    assert migrate(db)[0] == "0006_flag_engine.sql"

    rows = db.execute(
        "SELECT id, kind, notices, rule, reopen_count FROM flags ORDER BY id"
    ).fetchall()
    assert rows == [(1, "red_flag_symptom", 1, "{}", 0), (2, "pain_flare", 0, "{}", 0)]
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1  # enforcement is back on
    assert db.execute("SELECT flag_id FROM adverse_events").fetchone()[0] == 1
    ended = db.execute("SELECT ended_at FROM participants").fetchone()[0]
    assert ended == "2025-10-09T08:00:00.000000+00:00"  # when they withdrew, from the audit trail
    with pytest.raises(Exception, match="FOREIGN KEY"):
        with transaction(db):
            db.execute("INSERT INTO urgent_flags (flag_id, urgent_at) VALUES (99, ?)", [STAMP])
    db.conn.close()


def _fresh_app(path):
    from diary import create_app

    return create_app(
        {
            "DIARY_DATABASE": str(path),
            "DIARY_SECRET_KEY": "test-secret-key-0123456789-abcdefghijklmnop",
            "TESTING": True,
        }
    )


def test_starting_the_app_applies_no_migration_and_takes_no_write_lock(tmp_path):
    """`audit verify` or `backup` beside a running server must not take the write lock."""
    path = tmp_path / "diary.sqlite3"
    db = connect(str(path))
    _apply_up_to(db, "0005_entries_updated_index.sql")
    db.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        app = _fresh_app(path)
    finally:
        db.execute("ROLLBACK")
    applied = {r[0] for r in db.execute("SELECT name FROM schema_migrations")}
    assert max(applied) == "0005_entries_updated_index.sql"
    assert app.extensions["diary.pending_migrations"]


def test_the_app_refuses_to_serve_until_the_database_is_migrated(tmp_path):
    path = tmp_path / "diary.sqlite3"
    app = _fresh_app(path)
    client = app.test_client()
    response = client.get("/api/v1/session")
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["code"] == "migrations_pending"
    assert "flask --app wsgi diary init-db" in error["message"]
    assert client.get("/").status_code == 503

    result = app.test_cli_runner().invoke(args=["diary", "init-db"])
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/session").status_code == 200  # no restart needed


def test_the_scheduler_refuses_to_run_jobs_on_an_unmigrated_database(tmp_path):
    app = _fresh_app(tmp_path / "diary.sqlite3")
    result = app.test_cli_runner().invoke(args=["diary", "run-jobs"])
    assert result.exit_code != 0
    assert "init-db" in result.output


def test_each_participants_current_zone_and_day_0_are_taken_from_their_histories(tmp_path):
    db = connect(str(tmp_path / "old.sqlite3"))
    _apply_up_to(db, "0017_contact_attempts.sql")
    with transaction(db):
        db.execute(
            "INSERT INTO sites (code, name, timezone, created_at) VALUES ('A', 'A', 'UTC', ?)",
            [STAMP],
        )
        for pid in (1, 2, 3):
            db.execute(
                "INSERT INTO participants (id, study_id, site_id, baseline_back_pain,"
                " baseline_mme, status, enrolled_at) VALUES (?, ?, 1, 4, 10, 'active', ?)",
                [pid, f"LBP-00{pid}", STAMP],
            )
        # 1 moved from Chicago to Kolkata, and had a second injection; 2 never moved;
        # 3 has no injection yet.
        for pid, zone, since in (
            (1, "America/Chicago", "2025-09-01T00:00:00.000000+00:00"),
            (1, "Asia/Kolkata", "2025-10-05T00:00:00.000000+00:00"),
            (2, "Europe/Berlin", "2025-09-01T00:00:00.000000+00:00"),
            (3, "UTC", "2025-09-01T00:00:00.000000+00:00"),
        ):
            db.execute(
                "INSERT INTO participant_timezones (participant_id, timezone, effective_from)"
                " VALUES (?, ?, ?)",
                [pid, zone, since],
            )
        for pid, day in ((1, "2025-10-20"), (1, "2025-09-02"), (2, "2025-09-15")):
            db.execute(
                "INSERT INTO injections (participant_id, date, created_at) VALUES (?, ?, ?)",
                [pid, day, STAMP],
            )

    assert "0018_participant_current.sql" in migrate(db)
    rows = db.execute(
        "SELECT study_id, current_timezone, first_injection_date FROM participants ORDER BY id"
    ).fetchall()
    assert rows == [
        ("LBP-001", "Asia/Kolkata", "2025-09-02"),
        ("LBP-002", "Europe/Berlin", "2025-09-15"),
        ("LBP-003", "UTC", None),
    ]


def test_a_file_from_before_the_kept_zone_and_day_0_is_still_verified(tmp_path):
    """A copy restored from before the upgrade (a point in time before migration 0018)
    has no such columns: `audit verify` says so, and checks everything else."""
    from diary import audit
    from diary.ops import integrity, verification

    path = str(tmp_path / "restored.sqlite3")
    db = connect(path)
    _apply_up_to(db, "0017_contact_attempts.sql")
    audit.use_key(path, b"k" * 32)
    assert integrity.derived(db) is None
    verdict = verification.run(db, None)
    assert verdict.ok, verdict.problems
    assert any("from before migration 0018" in line for line in verdict.lines)
