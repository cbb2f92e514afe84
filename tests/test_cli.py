"""The `flask diary …` commands (SPEC §12, Appendix A)."""

import re
import sqlite3
import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from diary import clock
from diary.cli import diary as diary_cli
from diary.db import connect, migration_files


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(diary_cli, list(args), input=input)


def test_init_db_is_idempotent(app, db):
    names = [p.name for p in migration_files()]
    result = run(app, "init-db")
    assert result.exit_code == 0 and "up to date" in result.output
    assert [r[0] for r in db.execute("SELECT name FROM schema_migrations ORDER BY name")] == names
    assert run(app, "init-db").output == result.output


def test_create_staff_creates_the_site_and_refuses_short_passwords(app, db):
    short = run(
        app,
        "create-staff",
        "--email",
        "c@a.test",
        "--role",
        "coordinator",
        "--site",
        "ROCH",
        "--password-stdin",
        input="short\n",
    )
    assert short.exit_code == 2 and "12 characters" in short.output
    ok = run(
        app,
        "create-staff",
        "--email",
        "c@a.test",
        "--role",
        "coordinator",
        "--site",
        "ROCH",
        "--password-stdin",
        input="a long enough password\n",
    )
    assert ok.exit_code == 0, ok.output
    assert db.execute("SELECT code, timezone FROM sites").fetchall() == [
        ("ROCH", "America/Chicago")
    ]
    hashed = db.execute("SELECT password_hash FROM staff").fetchone()[0]
    assert hashed.startswith("$argon2id$")


def test_enroll_prints_a_code_that_activates(app, new_client):
    yesterday = clock.local_date(clock.now(), "America/Chicago") - timedelta(days=1)
    run(
        app,
        "create-staff",
        "--email",
        "c@a.test",
        "--role",
        "coordinator",
        "--site",
        "ROCH",
        "--password-stdin",
        input="a long enough password\n",
    )
    result = run(
        app,
        "enroll",
        "--study-id",
        "LBP-014",
        "--site",
        "ROCH",
        "--timezone",
        "America/Chicago",
        "--injection-date",
        yesterday.isoformat(),
        "--baseline-back-pain",
        "6",
        "--baseline-mme",
        "20",
    )
    assert result.exit_code == 0, result.output
    code = re.search(r"activation code: (\S+)", result.output).group(1)
    assert new_client().post("participant/activate", {"code": code}).status_code == 200


def test_enroll_rejects_bad_values_clearly(app):
    run(
        app,
        "create-staff",
        "--email",
        "c@a.test",
        "--role",
        "coordinator",
        "--site",
        "ROCH",
        "--password-stdin",
        input="a long enough password\n",
    )
    result = run(
        app,
        "enroll",
        "--study-id",
        "LBP-014",
        "--site",
        "ROCH",
        "--timezone",
        "Mars/Base",
        "--injection-date",
        "2026-11-20",
        "--baseline-back-pain",
        "6",
        "--baseline-mme",
        "80",
    )
    assert result.exit_code != 0
    assert "timezone" in result.output and "baseline_mme" in result.output


def test_add_injection_records_the_crossover(app, enroll, db):
    today = clock.local_date(clock.now(), "America/Chicago")
    enroll("LBP-001", injection_date=today - timedelta(days=30))
    result = run(app, "add-injection", "--study-id", "LBP-001", "--date", today.isoformat())
    assert result.exit_code == 0, result.output
    assert today.isoformat() in result.output
    assert db.execute("SELECT count(*) FROM injections").fetchone()[0] == 2


def _site(app):
    run(
        app,
        "create-staff",
        "--email",
        "c@a.test",
        "--role",
        "coordinator",
        "--site",
        "ROCH",
        "--password-stdin",
        input="a long enough password\n",
    )


@pytest.mark.parametrize(
    "injection_date, says",
    [
        ("9999-12-31", "must be a date as YYYY-MM-DD, from 2000-01-01 to 2100-12-31"),
        ("0001-01-01", "must be a date as YYYY-MM-DD, from 2000-01-01 to 2100-12-31"),
        ("2000-01-01", "must be at most 60 days before enrollment"),
    ],
)
def test_enroll_refuses_an_implausible_injection_date_and_writes_nothing(
    app, db, injection_date, says
):
    _site(app)
    audits = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    result = run(
        app,
        "enroll",
        "--study-id",
        "LBP-014",
        "--site",
        "ROCH",
        "--timezone",
        "America/Chicago",
        "--injection-date",
        injection_date,
        "--baseline-back-pain",
        "6",
        "--baseline-mme",
        "20",
    )
    assert result.exit_code == 2
    assert f"error: injection_date: {says}" in result.output
    assert "activation code" not in result.output
    assert db.execute("SELECT count(*) FROM participants").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audits


@pytest.mark.parametrize(
    "day, says",
    [
        ("9999-12-31", "must be a date as YYYY-MM-DD, from 2000-01-01 to 2100-12-31"),
        ("0001-01-01", "must be a date as YYYY-MM-DD, from 2000-01-01 to 2100-12-31"),
        ("2026-12-03", "must not be in the future"),
    ],
)
def test_add_injection_refuses_an_implausible_date_and_writes_nothing(app, enroll, db, day, says):
    with time_machine.travel(datetime(2026, 12, 2, 12, 0, tzinfo=UTC), tick=False):
        enroll("LBP-001", injection_date=date(2026, 11, 1))
        audits = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
        result = run(app, "add-injection", "--study-id", "LBP-001", "--date", day)
    assert result.exit_code == 2
    assert f"error: date: {says}" in result.output
    assert db.execute("SELECT count(*) FROM injections").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audits


def test_demo_prints_a_login_and_a_code(app, new_client, login):
    result = run(app, "demo")
    assert result.exit_code == 0, result.output
    code = re.search(r"activation code: (\S+)", result.output).group(1)
    assert new_client().post("participant/activate", {"code": code}).status_code == 200
    password = re.search(r"coordinator: coordinator@demo\.test / (\S+)", result.output)
    login("coordinator@demo.test", password.group(1))
    again = run(app, "demo")  # a second run adds a participant, not a second set of staff
    assert again.exit_code == 0 and "LBP-002" in again.output


def test_backup_while_the_server_writes(app, participant_client, tmp_path):
    phone = participant_client("LBP-001")
    today = phone.get("me").get_json()["today"]
    stop = threading.Event()
    writes = []

    def writer():
        # Corrections of today's entry keep the database busy with real writes.
        database = connect(app.config["DIARY_DATABASE"])
        while not stop.is_set():
            with database.conn:
                database.execute(
                    "INSERT INTO activation_failures (client_key, failed_at) VALUES (?, ?)",
                    [str(uuid.uuid4()), clock.iso(clock.now())],
                )
            writes.append(1)
        database.conn.close()

    body = {
        "client_id": str(uuid.uuid4()),
        "back_pain": 3,
        "leg_pain": 1,
        "device_time": clock.now().isoformat(),
    }
    assert phone.put(f"entries/{today}", body).status_code == 201
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        target = tmp_path / "backups" / "copy.sqlite3"
        result = run(app, "backup", str(target))
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    assert "integrity ok" in result.output
    assert len(writes) > 0
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT count(*) FROM entries").fetchone()[0] == 1
    copy.close()
    exists = run(app, "backup", str(target))
    assert exists.exit_code == 2 and "exists" in exists.output


def test_a_staff_name_is_kept_shown_at_sign_in_and_in_the_audit_trail(app, db, new_client):
    made = run(
        app,
        "create-staff",
        "--email",
        "inv@a.test",
        "--role",
        "investigator",
        "--site",
        "ROCH",
        "--name",
        "  Dr   Ada  Lovelace ",
        "--password-stdin",
        input="a long enough password\n",
    )
    assert made.exit_code == 0, made.output
    assert db.execute("SELECT full_name FROM staff").fetchone()[0] == "Dr Ada Lovelace"
    client = new_client()
    signed_in = client.post(
        "staff/login", {"email": "inv@a.test", "password": "a long enough password"}
    )
    assert signed_in.get_json()["full_name"] == "Dr Ada Lovelace"
    client.post("staff/logout")
    label = db.execute(
        "SELECT actor_label FROM audit_log WHERE action = 'staff.logout'"
    ).fetchone()[0]
    assert label == "Dr Ada Lovelace <inv@a.test>"
    bad = run(
        app,
        "create-staff",
        "--email",
        "x@a.test",
        "--role",
        "investigator",
        "--site",
        "ROCH",
        "--name",
        "A",
        "--password-stdin",
        input="a long enough password\n",
    )
    assert bad.exit_code != 0 and "2 to 120" in bad.output


def test_create_staff_refuses_a_guessable_password_with_the_reason(app, db):
    weak = run(
        app,
        "create-staff",
        "--email",
        "w@a.test",
        "--role",
        "admin",
        "--password-stdin",
        input="Password12345\n",
    )
    assert weak.exit_code == 2 and "commonly used password" in weak.output
    assert db.execute("SELECT count(*) FROM staff").fetchone()[0] == 0


def test_reset_link_prints_a_single_use_link_that_sets_the_password(app, db, new_client):
    run(
        app,
        "create-staff",
        "--email",
        "root@a.test",
        "--role",
        "admin",
        "--password-stdin",
        input="a long enough password\n",
    )
    done = run(app, "reset-link", "root@a.test")
    assert done.exit_code == 0, done.output
    url = done.output.strip().splitlines()[0]
    assert url.startswith("http://diary.test/staff/#/password/")
    token = url.rsplit("/", 1)[1]
    c = new_client()
    assert (
        c.post(
            f"staff/password-reset/{token}", {"new_password": "tawny-kettle-orbit-9241"}
        ).status_code
        == 200
    )
    assert (
        c.post(
            "staff/login", {"email": "root@a.test", "password": "tawny-kettle-orbit-9241"}
        ).status_code
        == 200
    )
    assert run(app, "reset-link", "nobody@a.test").exit_code != 0


@pytest.mark.parametrize(
    "option, value, field",
    [
        ("--email", "a@b.test\r\nBcc: x@evil.test", "email"),
        ("--email", "not-an-email", "email"),
        ("--site", "BAD SITE/..", "sites"),
        ("--name", "A\x00B", "full_name"),
    ],
)
def test_create_staff_checks_its_input_like_the_console(app, db, option, value, field):
    args = {"--email": "ok@a.test", "--site": "ROCH", "--name": "Olive Ok"}
    args[option] = value
    result = run(
        app,
        "create-staff",
        "--role",
        "coordinator",
        *[x for pair in args.items() for x in pair],
        "--password-stdin",
        input="a long enough password\n",
    )
    assert result.exit_code == 2 and f"{field}:" in result.output, result.output
    assert db.execute("SELECT count(*) FROM staff").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM sites").fetchone()[0] == 0


@pytest.mark.parametrize(
    "at",
    [
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "2026-11-26T20:15:00+15:00",  # no zone is more than 14 hours from UTC
        "2026-W48-4T20:15:00Z",
        "1999-12-31T23:59:59Z",
        "2101-01-01T00:00:00Z",
        "2026-11-26",
        "2026-11-26T20:15:00",  # a bare local time is ambiguous
        "tomorrow",
    ],
)
def test_run_jobs_refuses_an_instant_outside_the_one_rule_and_runs_nothing(app, db, at):
    result = run(app, "run-jobs", "--at", at)
    assert result.exit_code == 2, result.output
    assert "--at: must be a date and time with its UTC offset" in result.output
    assert "Traceback" not in result.output and result.exception.code == 2
    assert db.execute("SELECT count(*) FROM job_runs").fetchone()[0] == 0


def test_run_jobs_takes_an_instant_at_the_edge_of_the_rule(app):
    result = run(app, "run-jobs", "--at", "2100-12-31T23:59:59.5-14:00")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("command", ["freeze", "unfreeze"])
@pytest.mark.parametrize(
    "reason, says",
    [
        ("cut\x1b[31m", "control character"),
        ("cut\x07", "control character"),
        ("ab", "Enter 3 to 500 characters"),
        ("x" * 501, "Enter 3 to 500 characters"),
    ],
)
def test_freeze_reasons_follow_the_apis_text_rule(app, db, command, reason, says):
    if command == "unfreeze":
        assert run(app, "freeze", "--reason", "data cut 1").exit_code == 0
    audits = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    result = run(app, command, "--reason", reason)
    assert result.exit_code == 2, result.output
    assert "error: reason: " in result.output and says in result.output
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audits


@pytest.mark.parametrize("zone", ["US/Central", "EST5EDT", "localtime", "Factory"])
def test_enroll_takes_only_canonical_zone_names(app, db, zone):
    _site(app)
    args = ["enroll", "--study-id", "LBP-014", "--site", "ROCH", "--timezone", zone]
    result = run(
        app,
        *args,
        "--injection-date",
        clock.local_date(clock.now(), "America/Chicago").isoformat(),
        "--baseline-back-pain",
        "6",
        "--baseline-mme",
        "20",
    )
    assert result.exit_code == 2 and "timezone:" in result.output, result.output
    assert db.execute("SELECT count(*) FROM participants").fetchone()[0] == 0
