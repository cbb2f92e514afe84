"""What a diary PUT's speed rests on (bench/api.py measures the speed itself).

The statements a PUT runs are counted on the app's own connection, with sqlite3's
trace callback: the session and its participant are read in one statement, the
entry and its doses in one, the entry is not read back after it is written (the
INSERT/UPDATE returns it), unchanged doses are not rewritten — and what the PUT
answers and audits is still exactly what is stored. A CSRF token verified once is
remembered, but only for the session it belongs to.
"""

from __future__ import annotations

import re
import uuid
from contextlib import contextmanager
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from diary.audit import verify
from diary.db import thread_database
from diary.entries.queries import REAL_COLUMNS
from diary.ops import integrity

CHICAGO = ZoneInfo("America/Chicago")
DAY = "2026-03-01"


def entry(**overrides):
    body = {
        "client_id": str(uuid.uuid4()),
        "back_pain": 4,
        "leg_pain": 2,
        "doses": [{"drug": "oxycodone", "strength": 5, "units": 2}],
        "symptoms": ["nausea"],
        "temperature_c": 37,
        "note": "Walked the dog.",
        "device_time": datetime(2026, 3, 1, 9, 0, tzinfo=CHICAGO).isoformat(),
    }
    body.update(overrides)
    return body


@pytest.fixture
def phone(participant_client):
    with time_machine.travel(datetime(2026, 3, 1, 9, 0, tzinfo=CHICAGO), tick=False):
        client = participant_client("LBP-001", injection_date=date(2026, 3, 1))
        client.csrf()
        client.get("/api/v1/me")  # the session's once-a-minute touch is done
        yield client


@pytest.fixture
def traced(app):
    """The statements each request runs on the app's connection (a test-client request is
    served on this thread, so get_db() hands it this thread's connection)."""

    @contextmanager
    def trace():
        statements: list[str] = []
        conn = thread_database(app.config["DIARY_DATABASE"]).conn
        conn.set_trace_callback(lambda sql: statements.append(" ".join(sql.split())))
        try:
            yield statements
        finally:
            conn.set_trace_callback(None)

    return trace


def shape(statement: str) -> str:
    """'SELECT entries+doses', 'UPDATE entries', 'BEGIN IMMEDIATE'… for messages."""
    if statement.startswith(("BEGIN", "COMMIT", "ROLLBACK")):
        return statement
    verb = statement.split()[0].upper()
    tables = re.findall(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+(\w+)", statement, flags=re.IGNORECASE)
    return f"{verb} {'+'.join(dict.fromkeys(tables))}"


def mine(statements: list[str]) -> list[str]:
    """The statements of the session, the entry and its audit row, in order (the flag
    engine's and the lock checks' are their own packages' business)."""
    ours = {"sessions", "entries", "doses", "entry_writes", "audit_log", "signatures"}
    shapes = [shape(s) for s in statements]
    return [
        s
        for s in shapes
        if s.split()[0] in ("BEGIN", "COMMIT") or s.split()[1].split("+")[0] in ours
    ]


def test_a_first_entry_runs_its_statements_once(phone, traced):
    with traced() as statements:
        response = phone.put(f"entries/{DAY}", entry())
    assert response.status_code == 201, response.get_json()
    assert mine(statements) == [
        "SELECT sessions+participants",  # the session and its participant, one statement
        "BEGIN IMMEDIATE",
        "SELECT entry_writes",  # a replay?
        # the participant's lock, the study freeze and whether a signature is valid: one
        # read, and with no valid signature nothing is rechecked after the write
        "SELECT signatures+participants+study_freezes",
        "SELECT entries+doses",  # the entry there, with its doses
        "INSERT entries",  # … RETURNING the row: it is not read back
        "INSERT doses",  # a new entry has no doses to delete
        "INSERT entry_writes",
        "SELECT audit_log",  # the chain's head
        "INSERT audit_log",
        "COMMIT",
    ], statements
    assert len(statements) <= 15, "\n".join(statements)


def test_a_correction_runs_its_statements_once(phone, traced):
    assert phone.put(f"entries/{DAY}", entry()).status_code == 201
    changed = entry(back_pain=6, doses=[{"drug": "tramadol", "strength": 50, "units": 1}])
    with traced() as statements:
        response = phone.put(f"entries/{DAY}", {**changed, "reason": "pain got worse"})
    assert response.status_code == 200, response.get_json()
    assert mine(statements) == [
        "SELECT sessions+participants",
        "BEGIN IMMEDIATE",
        "SELECT entry_writes",
        "SELECT signatures+participants+study_freezes",
        "SELECT entries+doses",
        "UPDATE entries",
        "DELETE doses",
        "INSERT doses",
        "INSERT entry_writes",
        "SELECT audit_log",
        "INSERT audit_log",
        "COMMIT",
    ], statements
    assert len(statements) <= 16, "\n".join(statements)


def test_a_correction_that_keeps_the_doses_does_not_rewrite_them(phone, traced, db):
    assert phone.put(f"entries/{DAY}", entry()).status_code == 201
    with traced() as statements:
        response = phone.put(f"entries/{DAY}", entry(back_pain=7, reason="pain got worse"))
    assert response.status_code == 200
    assert not [s for s in mine(statements) if s.endswith(" doses")], statements
    rows = db.execute("SELECT position, drug, strength, units FROM doses").fetchall()
    assert rows == [(0, "oxycodone", 5.0, 2.0)]


def test_a_replay_writes_nothing(phone, traced, db):
    body = entry()
    assert phone.put(f"entries/{DAY}", body).status_code == 201
    with traced() as statements:
        assert phone.put(f"entries/{DAY}", body).status_code == 200
    assert not [s for s in statements if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    assert db.execute("SELECT count(*) FROM entry_writes").fetchone()[0] == 1


@pytest.mark.parametrize(
    "change",
    [
        {},  # integers where the columns are REAL: 37 °C, 5 mg × 2 are stored 37.0, 5.0, 2.0
        {"temperature_c": 38, "symptoms": ["fever"]},  # a red flag: the engine gets the entry
        {"temperature_c": None, "doses": [], "note": None},
        {"doses": [{"drug": "buprenorphine", "strength": 8, "units": 1}]},  # MME unknown
    ],
)
def test_the_entry_a_put_answers_and_audits_is_the_one_stored(phone, db, change):
    """The PUT no longer reads the entry back: what it answers, what the flag engine and
    the audit row see, must still be what a later read finds."""
    first = phone.put(f"entries/{DAY}", entry(**change))
    assert first.status_code == 201, first.get_json()
    second = phone.put(f"entries/{DAY}", entry(**change, back_pain=5, reason="corrected it"))
    assert second.status_code == 200, second.get_json()
    for answer in (first, second):
        assert answer.get_json()["version"] in (1, 2)
    read = phone.get(f"entries/{DAY}").get_json()
    answered = second.get_json()
    answered.pop("alerts")
    assert answered == read
    assert verify(db).ok  # the chain holds, and every stored entry is its last audit row
    report = integrity.check(db)
    assert report.checked["entries"] == 1 and report.problems == []


def test_the_real_columns_are_all_named(db):
    """_returned gives REAL affinity to these columns (RETURNING hands back 38, not the
    stored 38.0): a REAL column added to entries must be named there too."""
    declared = {row[1] for row in db.execute("PRAGMA table_info(entries)") if row[2] == "REAL"}
    assert declared == set(REAL_COLUMNS)


def test_a_verified_csrf_token_is_still_refused_for_another_session(phone, participant_client):
    assert phone.put(f"entries/{DAY}", entry()).status_code == 201  # its token verified once
    other = participant_client("LBP-002", injection_date=date(2026, 3, 1))
    other.csrf()
    mine = phone.csrf()
    # A forged signature: its last two characters changed (never to what they were).
    forged = mine[:-2] + ("yy" if mine.endswith("xx") else "xx")
    for client, token in (
        (other, mine),  # another signed-in session's (verified, remembered) token
        (phone, forged),
    ):
        refused = client.client.put(
            f"/api/v1/entries/{DAY}", json=entry(), headers={"X-CSRF-Token": token}
        )
        assert refused.status_code == 403
        assert refused.get_json()["error"]["code"] == "csrf_failed"
    assert other.put(f"entries/{DAY}", entry()).status_code == 201
    assert phone.put(f"entries/{DAY}", entry(reason="corrected it")).status_code == 200


def engine_reads(statements: list[str]) -> list[str]:
    """The flag engine's reads (flags.queries): the screen's grouped row, or the flags,
    the days and the injections of a full evaluation."""
    return [
        "screen" if "count(e.date BETWEEN" in s else shape(s)
        for s in statements
        if s.startswith(("WITH r ", "SELECT participant_id, date FROM injections"))
    ]


def test_an_ordinary_entry_is_cleared_by_one_read_and_an_unusual_one_evaluated(phone, traced, db):
    """On submission only the opioid rules run (red flags have their own path): an
    entry with no MME above the limit and no unconverted opioid, on a date no unresolved
    flag reaches, is cleared by one grouped read; anything else is evaluated in full."""
    with traced() as statements:
        assert phone.put(f"entries/{DAY}", entry(back_pain=10)).status_code == 201
    assert engine_reads(statements) == ["screen"], statements
    assert len(statements) <= 15, "\n".join(statements)

    heavy = [{"drug": "oxycodone", "strength": 30, "units": 2}]  # 90 MME
    with traced() as statements:
        response = phone.put(f"entries/{DAY}", entry(doses=heavy, reason="took more"))
    assert response.status_code == 200
    assert engine_reads(statements)[1:], statements  # the screen, then the full reads
    (kind,) = db.execute("SELECT kind FROM flags").fetchone()
    assert kind == "opioid_threshold"

    # A correction back down leaves the flag as it was: a flag never shrinks.
    flag = db.execute("SELECT id, status, severity, detail FROM flags").fetchall()
    response = phone.put(f"entries/{DAY}", entry(reason="typed it wrong"))
    assert response.status_code == 200
    assert db.execute("SELECT id, status, severity, detail FROM flags").fetchall() == flag


def test_a_red_flag_on_the_date_does_not_stop_the_screen(phone, traced, db):
    """The red-flag rule runs on its own path: its open flag is nothing the opioid rules
    would change, so a correction of that day is still cleared by the one read, and
    its fever flag stays as it was."""
    fever = entry(symptoms=["fever"], temperature_c=38.6)
    assert phone.put(f"entries/{DAY}", fever).status_code == 201
    before = db.execute("SELECT id, kind, status, detail FROM flags").fetchall()
    assert [row[1:3] for row in before] == [("red_flag_symptom", "open")]
    with traced() as statements:
        again = {**fever, "client_id": str(uuid.uuid4()), "back_pain": 6, "reason": "worse"}
        response = phone.put(f"entries/{DAY}", again)
    assert response.status_code == 200
    assert engine_reads(statements) == ["screen"], statements
    assert db.execute("SELECT id, kind, status, detail FROM flags").fetchall() == before
