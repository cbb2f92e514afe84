"""Tampering with the file is evident (SPEC §9): the chain is keyed with a key that is not
in the database, signed anchors kept outside it catch a truncated or rebuilt chain, and
every entry, questionnaire response, adverse event and signature is checked against its
audit rows. Each test does what someone holding the database file could do."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import uuid
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from app_support import migrated_app

from diary import audit
from diary.audit import anchors
from diary.db import close_thread_connections, transaction
from diary.jobs import audit_anchor

CHICAGO = ZoneInfo("America/Chicago")
SECRET = "test-secret-key-0123456789-abcdefghijklmnop"  # the root conftest's
AE = {
    "outcome": "adverse_event",
    "note": "Fever on day 2; paracetamol; seen at the visit.",
    "ctcae_grade": 2,
    "serious": False,
    "related": "possible",
    "expected": "unexpected",
    "action_taken": "none",
    "ae_outcome": "recovering",
}
PEG = {"pain": "6", "enjoyment": "5", "activity": "4"}


def at(*args):
    return time_machine.travel(datetime(*args, tzinfo=CHICAGO), tick=False)


def entry(**overrides):
    return {
        "client_id": str(uuid.uuid4()),
        "back_pain": 4,
        "leg_pain": 2,
        "doses": [{"drug": "oxycodone", "strength": 5, "units": 2}],
        "symptoms": [],
        "device_time": datetime.now(CHICAGO).isoformat(),
        **overrides,
    }


@pytest.fixture
def study_data(app, participant_client, make_staff, login):
    """Two diary entries (one with a fever, whose flag became an adverse event), a PEG
    response, and a signed adverse event; an anchor written by the hourly job."""
    with at(2026, 3, 1, 9, 0):
        phone = participant_client("LBP-001", injection_date=date(2026, 3, 1))
    with at(2026, 3, 2, 20, 0):
        assert phone.put("entries/2026-03-02", entry()).status_code == 201
    with at(2026, 3, 3, 20, 0):
        assert phone.put("entries/2026-03-03", entry(temperature_c=38.6)).status_code == 201
    make_staff("ines@a.test", "investigator", ("SITE-A",), full_name="Ines Vega")
    with at(2026, 3, 4, 9, 0):
        investigator = login("ines@a.test")
        listing = investigator.get("staff/flags?status=open").get_json()
        assert "flags" in listing, listing
        (flag,) = listing["flags"]
        called = investigator.post(
            f"staff/flags/{flag['id']}/contacts",
            {
                "attempted_at": "2026-03-04T08:45:00-06:00",
                "method": "phone",
                "outcome": "reached",
                "note": "Fever gone this morning.",
            },
        )
        assert called.status_code == 201, called.get_json()
        resolved = investigator.post(f"staff/flags/{flag['id']}/resolve", AE)
        assert resolved.status_code == 200, resolved.get_json()
    with at(2026, 3, 8, 12, 0):
        listed = phone.get("questionnaires").get_json()["questionnaires"]
        peg = next(q for q in listed if q["instrument"] == "peg" and q["status"] == "open")
        answered = phone.put(
            f"questionnaires/{peg['id']}/response",
            {
                "client_id": str(uuid.uuid4()),
                "answers": PEG,
                "device_time": "2026-03-08T11:00:00-05:00",
            },
        )
        assert answered.status_code == 201, answered.get_json()
    return {"peg": peg["id"], "investigator": lambda: login("ines@a.test")}


def verify(app, *args):
    close_thread_connections()
    return app.test_cli_runner().invoke(args=["diary", "audit", "verify", *args])


def edit(app, *statements):
    """What someone with the file does: drop the guards and write SQL."""
    close_thread_connections()
    conn = sqlite3.connect(app.config["DIARY_DATABASE"])
    conn.executescript(
        "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;"
    )
    for statement in statements:
        conn.execute(*statement) if isinstance(statement, tuple) else conn.execute(statement)
    conn.commit()
    conn.close()


def anchor_now(app, db):
    with at(2026, 3, 9, 10, 0):
        return audit_anchor.run(db, now=datetime.now(CHICAGO), study=None, config=app.config)


def test_an_untouched_database_verifies_with_its_anchors(app, db, study_data):
    assert anchor_now(app, db)["anchored_rows"] > 0
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert "chain keyed and intact" in result.output and "1 anchors hold" in result.output
    assert (
        "2 entries, 1 questionnaire responses, 1 adverse events, 1 contact attempts match"
        in result.output
    )
    # Every row is signed with the key, none with a plain hash.
    assert {h[:12] for (h,) in db.execute("SELECT hash FROM audit_log")} == {audit.KEYED}


def test_a_chain_recomputed_without_the_key_is_found(app, db, study_data):
    """Edit an audit row and rebuild every hash after it as the old unkeyed chain did,
    or with a key of one's own: neither passes."""
    rows = db.execute("SELECT * FROM audit_log ORDER BY id").fetchall()
    names = [d[0] for d in db.execute("SELECT * FROM audit_log LIMIT 0").description]
    for key, expected in ((None, "no row is signed with the audit key"), (b"guess", "keyed hash")):
        statements = []
        previous = audit.GENESIS
        for values in rows:
            row = dict(zip(names, values, strict=True))
            if row["action"] == "entry.create":
                row["after"] = row["after"].replace('"back_pain":4', '"back_pain":1')
            row["prev_hash"] = previous
            row["hash"] = audit.row_hash(row, key)
            previous = row["hash"]
            statements.append(
                (
                    "UPDATE audit_log SET after = ?, prev_hash = ?, hash = ? WHERE id = ?",
                    [row["after"], row["prev_hash"], "tmp-" + row["hash"], row["id"]],
                )
            )
        statements.append("UPDATE audit_log SET hash = substr(hash, 5)")
        edit(app, *statements)
        result = verify(app)
        assert result.exit_code == 1 and expected in result.output, result.output


def test_rows_removed_from_the_end_are_found_by_the_anchor(app, db, study_data):
    anchor_now(app, db)
    (last,) = db.execute("SELECT max(id) FROM audit_log").fetchone()
    edit(app, ("DELETE FROM audit_log WHERE id > ?", [last - 3]))
    result = verify(app)
    assert result.exit_code == 1
    assert f"the chain ends at row {last - 3}, but the anchor" in result.output
    assert f"saw {last} rows" in result.output


def test_a_chain_rebuilt_with_the_key_is_found_by_the_anchor(app, db, study_data):
    """Even someone with the key (the server's environment) cannot rewrite what an
    anchor kept elsewhere already saw."""
    anchor_now(app, db)
    names = [d[0] for d in db.execute("SELECT * FROM audit_log LIMIT 0").description]
    rows = [
        dict(zip(names, r, strict=True)) for r in db.execute("SELECT * FROM audit_log ORDER BY id")
    ]
    key = audit.key_for(db)
    previous, statements = audit.GENESIS, []
    for row in rows:
        if row["action"] == "entry.create":
            row["after"] = row["after"].replace('"back_pain":4', '"back_pain":1')
        row["prev_hash"], row["hash"] = previous, None
        row["hash"] = audit.row_hash(row, key)
        previous = row["hash"]
        statements.append(
            (
                "UPDATE audit_log SET after = ?, prev_hash = ?, hash = ? WHERE id = ?",
                [row["after"], row["prev_hash"], "tmp-" + row["hash"], row["id"]],
            )
        )
    statements.append("UPDATE audit_log SET hash = substr(hash, 5)")
    statements.append("UPDATE entries SET back_pain = 1")
    edit(app, *statements)
    result = verify(app)
    assert result.exit_code == 1
    assert "differs from the anchor" in result.output and "the chain was rewritten" in result.output


def test_an_edited_or_foreign_anchor_is_found(app, db, study_data):
    anchor_now(app, db)
    path = app.config["DIARY_AUDIT_ANCHORS"]
    (line,) = Path(path).read_text().splitlines()
    forged = {**json.loads(line), "rows": 2}
    with open(path, "a") as f:
        f.write(json.dumps(forged) + "\n")
        f.write("not an anchor\n")
    result = verify(app)
    assert result.exit_code == 1
    assert "(row 2) is not signed with the audit key" in result.output
    assert (
        "line 2 is not an anchor" not in result.output
        and "line 3 is not an anchor" in result.output
    )


@pytest.mark.parametrize(
    "statement, named",
    [
        (
            "UPDATE entries SET back_pain = 0 WHERE date = '2026-03-02'",
            "entry LBP-001/2026-03-02 differs from its last audit row",
        ),
        ("UPDATE doses SET units = 1", "entry LBP-001/2026-03-02 differs"),
        (
            "UPDATE entries SET temperature_c = 37.0, symptoms = '[]' WHERE date = '2026-03-03'",
            "LBP-001/2026-03-03 differs from its last audit row 4 (temperature_c)",
        ),
        (
            "DELETE FROM entries WHERE date = '2026-03-02'",
            "entry LBP-001/2026-03-02 is recorded in audit row",
        ),
        (
            "CREATE TEMP TABLE forged AS SELECT * FROM entries WHERE date = '2026-03-02';"
            " UPDATE forged SET id = 99, date = '2026-03-05', client_id = 'forged';"
            " INSERT INTO entries SELECT * FROM forged",
            "entry LBP-001/2026-03-05 has no audit row",
        ),
        ("UPDATE adverse_events SET ctcae_grade = 1", "adverse event 1 differs"),
        ("UPDATE questionnaire_responses SET answers = '{}'", "questionnaire response"),
        ("DELETE FROM questionnaire_responses", "is recorded in audit row"),
        ("UPDATE contact_attempts SET outcome = 'no_answer'", "contact attempt 1 differs"),
    ],
    ids=[
        "edit-entry",
        "edit-dose",
        "hide-fever",
        "delete-entry",
        "insert-entry",
        "edit-ae",
        "edit-response",
        "delete-response",
        "edit-contact",
    ],
)
def test_a_direct_edit_of_diary_data_is_named(app, db, study_data, statement, named):
    assert verify(app).exit_code == 0
    close_thread_connections()
    conn = sqlite3.connect(app.config["DIARY_DATABASE"])
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.executescript(statement)
    conn.commit()
    conn.close()
    result = verify(app)
    assert result.exit_code == 1
    assert named in result.output, result.output


def test_a_deleted_signature_is_found(app, db, study_data):
    with at(2026, 3, 9, 9, 0):
        investigator = study_data["investigator"]()
        (ae,) = investigator.get("staff/participants/LBP-001/adverse-events").get_json()[
            "adverse_events"
        ]
        signed = investigator.post(
            "staff/signatures",
            {
                "record_type": "adverse_event",
                "record_id": str(ae["id"]),
                "meaning": "reviewed",
                "password": "correct horse battery",
            },
        )
        assert signed.status_code == 201, signed.get_json()
    assert verify(app).exit_code == 0
    edit(app, "DROP TRIGGER IF EXISTS signatures_no_delete", "DELETE FROM signatures")
    result = verify(app)
    assert result.exit_code == 1
    assert "recorded in the audit trail but missing" in result.output


def test_a_backup_restored_verifies_against_its_own_anchors(app, db, study_data, tmp_path):
    anchor_now(app, db)
    runner = app.test_cli_runner()
    copy = tmp_path / "backups" / "copy.sqlite3"
    made = runner.invoke(args=["diary", "backup", str(copy)])
    assert made.exit_code == 0, made.output
    beside = tmp_path / "backups" / "copy.sqlite3.anchors"
    assert len(anchors.read(beside)[0]) == 2  # the hourly one and the backup's own
    # The live database moves on after the backup; the copy is restored elsewhere.
    with at(2026, 3, 10, 20, 0), transaction(db):
        audit.record(db, actor=audit.CLI, action="test.after_backup", object_type="test")
    anchor_now(app, db)
    restored = tmp_path / "restored" / "diary.sqlite3"
    restored.parent.mkdir()
    shutil.copy(copy, restored)
    other = migrated_app(
        {
            "DIARY_DATABASE": str(restored),
            "DIARY_SECRET_KEY": SECRET,
            "DIARY_BASE_URL": "http://diary.test",
        }
    )
    result = other.test_cli_runner().invoke(
        args=["diary", "audit", "verify", "--anchors", str(beside)]
    )
    assert result.exit_code == 0, result.output
    assert "2 anchors hold" in result.output
    # Against the live anchors the copy is older: the rows lost since are named.
    live = other.test_cli_runner().invoke(
        args=["diary", "audit", "verify", "--anchors", app.config["DIARY_AUDIT_ANCHORS"]]
    )
    assert live.exit_code == 1 and "older copy of the database" in live.output


def test_the_hourly_job_anchors_only_a_chain_that_grew(app, db, study_data):
    first = anchor_now(app, db)["anchored_rows"]
    assert anchor_now(app, db) == {"anchored_rows": None}
    with at(2026, 3, 9, 11, 0), transaction(db):
        audit.record(db, actor=audit.CLI, action="test.note", object_type="test")
    assert anchor_now(app, db) == {"anchored_rows": first + 1}
    kept, problems = anchors.read(app.config["DIARY_AUDIT_ANCHORS"])
    assert [a["rows"] for a in kept] == [first, first + 1] and problems == []


def test_a_chain_from_before_keying_is_keyed_once_and_still_verifies(app, db):
    """A database upgraded from the unkeyed chain: its rows keep their plain hashes,
    init-db appends the row that counts them, and everything after is keyed."""
    with transaction(db):
        previous = audit.GENESIS
        for i in (1, 2, 3):
            row = {
                "id": i,
                "at": "2026-01-01T00:00:00.000000+00:00",
                "actor_type": "cli",
                "actor_id": None,
                "actor_label": "command line",
                "action": "old.row",
                "object_type": "test",
                "object_id": str(i),
                "site_id": None,
                "participant_id": None,
                "before": None,
                "after": None,
                "reason": None,
                "prev_hash": previous,
            }
            row["hash"] = hashlib.sha256(
                json.dumps([row[n] for n in audit._FIELDS], separators=(",", ":")).encode()
            ).hexdigest()
            previous = row["hash"]
            db.execute(
                f"INSERT INTO audit_log ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                list(row.values()),
            )
    assert "no row is signed" in audit.verify(db).problem
    result = app.test_cli_runner().invoke(args=["diary", "init-db"])
    assert "audit chain keyed: rows after 3 are signed" in result.output
    assert audit.verify(db).ok
    (marker,) = db.execute(
        "SELECT after FROM audit_log WHERE action = ?", [audit.CHAIN_KEYED]
    ).fetchone()
    assert json.loads(marker) == {"unkeyed_rows": 3}
    # Keying again does nothing; an unkeyed row appended after keyed ones is refused.
    assert (
        app.test_cli_runner().invoke(args=["diary", "init-db"]).output.strip()
        == "database is up to date"
    )
    with transaction(db):
        audit.record(db, actor=audit.CLI, action="new.row", object_type="test")
    assert audit.verify(db).ok
