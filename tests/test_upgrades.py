"""Safe upgrades (SPEC §16): a database at every earlier migration, holding a study's
data, is upgraded to the latest; nothing is lost, the audit trail verifies and the API
answers from it. A migration that fails leaves the database as it was.

The data: the demo study (sites, staff, participants with three weeks of diary,
doses, flags, missed dates, the outbox, jobs, audit rows) made by today's code, then
carried into the schema of each earlier migration, column by column, with the audit
chain as that code wrote it (plain SHA-256, before it was keyed)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from app_support import migrated_app

from diary import audit, create_app
from diary import db as db_module
from diary.db import connect, migrate, migration_files

SECRET = "upgrade-test-secret-key-0123456789-abcdefgh"
NAMES = [p.name for p in migration_files()]
SKIP = {"schema_migrations", "sqlite_sequence"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """Today's schema holding the demo study; the coordinator's password, which the demo
    prints once, is kept beside it (coordinator.password)."""
    path = tmp_path_factory.mktemp("reference") / "diary.sqlite3"
    app = migrated_app({"DIARY_DATABASE": str(path), "DIARY_SECRET_KEY": SECRET})
    runner = app.test_cli_runner()
    for args in (["demo"], ["run-jobs"]):
        result = runner.invoke(args=["diary", *args])
        assert result.exit_code == 0, result.output
        if args == ["demo"]:
            printed = re.search(r"coordinator: coordinator@demo\.test / (\S+)", result.output)
            (path.parent / "coordinator.password").write_text(printed.group(1))
    return path


def tables(conn: sqlite3.Connection) -> dict[str, list[str]]:
    names = [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    ]
    return {
        n: [c[1] for c in conn.execute(f'PRAGMA table_info("{n}")')] for n in names if n not in SKIP
    }


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables(conn)}


def at_schema(reference: Path, state: str, target: Path) -> dict[str, int]:
    """A database at migration `state` holding the reference study's rows (those its
    schema can hold); returns its row counts."""
    database = connect(str(target))
    migrate(database, upto=state)
    database.conn.close()
    conn = sqlite3.connect(target)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("ATTACH DATABASE ? AS ref", [str(reference)])
    ref = {
        n: [c[1] for c in conn.execute(f'PRAGMA ref.table_info("{n}")')]
        for (n,) in conn.execute("SELECT name FROM ref.sqlite_master WHERE type = 'table'")
    }
    for table, columns in tables(conn).items():
        if table not in ref or table == "audit_log":
            continue
        shared = ", ".join(f'"{c}"' for c in columns if c in ref[table])
        conn.execute(
            f'INSERT OR IGNORE INTO main."{table}" ({shared}) SELECT {shared} FROM ref."{table}"'
        )
    # The audit trail as the code of that time wrote it: chained with plain SHA-256.
    # ...of the objects that schema had (no entry is audited before entries existed).
    held = {"entry": "entries", "questionnaire": "questionnaire_responses"}
    absent = [kind for kind, table in held.items() if table not in tables(conn)]
    previous = audit.GENESIS
    names = [*audit._FIELDS]
    kept = 0
    for values in conn.execute(
        f"SELECT {', '.join(names)} FROM ref.audit_log ORDER BY id"
    ).fetchall():
        row = dict(zip(names, values, strict=True))
        if row["object_type"] in absent:
            continue
        kept += 1
        row["id"] = kept
        row["prev_hash"] = previous
        row["hash"] = audit.row_hash(row)
        previous = row["hash"]
        conn.execute(
            f"INSERT INTO audit_log ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
            list(row.values()),
        )
    conn.commit()
    _drop_rows_of_refused_parents(conn)
    conn.execute("DETACH DATABASE ref")
    dangling = conn.execute("PRAGMA foreign_key_check").fetchall()
    found = counts(conn)
    conn.close()
    assert dangling == [], f"{state}: rows that point at nothing: {dangling[:5]}"
    return found


def _drop_rows_of_refused_parents(conn: sqlite3.Connection) -> None:
    """Rows that belong to a row the old schema refused are not carried either: the code
    of that time, which could not write the parent (a flag of a kind it did not know),
    never wrote them (a digest's link to that flag). Only those: a row pointing at
    something the reference lacks too still fails the check below."""
    while True:
        refused = []
        for table, rowid, parent, fk_id in conn.execute("PRAGMA foreign_key_check"):
            links = [
                (fk[3], fk[4] or "id")
                for fk in conn.execute(f'PRAGMA foreign_key_list("{table}")')
                if fk[0] == fk_id
            ]
            where = " AND ".join(f'"{to}" = ?' for _, to in links)
            columns = ", ".join(f'"{column}"' for column, _ in links)
            values = conn.execute(
                f'SELECT {columns} FROM main."{table}" WHERE rowid = ?', [rowid]
            ).fetchone()
            in_reference = conn.execute(
                f'SELECT 1 FROM ref."{parent}" WHERE {where}', list(values)
            ).fetchone()
            if in_reference:
                refused.append((table, rowid))
        if not refused:
            return
        for table, rowid in refused:
            conn.execute(f'DELETE FROM main."{table}" WHERE rowid = ?', [rowid])
        conn.commit()


@pytest.mark.parametrize("state", NAMES[:-1])
def test_a_database_at_every_earlier_migration_upgrades_with_its_data_and_audit_trail(
    reference, tmp_path, state
):
    target = tmp_path / "diary.sqlite3"
    before = at_schema(reference, state, target)
    # The study's data made it into the old schema (the test is about something).
    assert before["participants"] == 3 and before["staff"] == 3
    assert before["audit_log"] > 10
    if "entries" in before:
        assert before["entries"] > 20 and before.get("doses", 1) > 0
    if "flags" in before:
        assert before["flags"] > 0

    app = create_app({"DIARY_DATABASE": str(target), "DIARY_SECRET_KEY": SECRET})
    runner = app.test_cli_runner()
    upgraded = runner.invoke(args=["diary", "init-db"])
    assert upgraded.exit_code == 0, upgraded.output
    applied = NAMES[NAMES.index(state) + 1 :]
    assert f"applied: {', '.join(applied)}" in upgraded.output
    assert "audit chain keyed" in upgraded.output

    conn = sqlite3.connect(target)
    after = counts(conn)
    conn.close()
    lost = {t: (n, after.get(t)) for t, n in before.items() if after.get(t, 0) < n}
    assert lost == {}, f"rows lost by the upgrade from {state}: {lost}"

    verified = runner.invoke(args=["diary", "audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "chain keyed and intact" in verified.output

    # The API answers from the upgraded database.
    client = app.test_client()
    csrf = client.get("/api/v1/session").get_json()["csrf_token"]
    signed_in = client.post(
        "/api/v1/staff/login",
        json={
            "email": "coordinator@demo.test",
            "password": (reference.parent / "coordinator.password").read_text(),
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert signed_in.status_code == 200, signed_in.get_json()
    listed = client.get("/api/v1/staff/participants")
    assert listed.status_code == 200, listed.get_json()
    assert len(listed.get_json()["participants"]) == 3
    flags = client.get("/api/v1/staff/flags")
    assert flags.status_code == 200, flags.get_json()
    entries_shown = 0
    for participant in listed.get_json()["participants"]:
        study_id = participant["study_id"]
        shown = client.get(
            f"/api/v1/staff/participants/{study_id}/entries?from=2000-01-01&to=2100-12-31"
        )
        assert shown.status_code == 200, shown.get_json()
        entries_shown += len(shown.get_json()["entries"])
    assert entries_shown == after["entries"]


def test_a_migration_that_fails_leaves_the_database_as_it_was(tmp_path, monkeypatch):
    folder = tmp_path / "migrations"
    folder.mkdir()
    for path in migration_files():
        (folder / path.name).write_text(path.read_text("utf-8"))
    database = connect(str(tmp_path / "diary.sqlite3"))
    migrate(database)
    schema = database.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    applied = database.execute("SELECT name FROM schema_migrations").fetchall()
    # The next migration rebuilds a table, then fails half-way.
    (folder / "9990_broken.sql").write_text(
        "-- pragma: foreign_keys=off\n"
        "CREATE TABLE sites_new (id INTEGER PRIMARY KEY, code TEXT);\n"
        "INSERT INTO sites_new SELECT id, code FROM sites;\n"
        "DROP TABLE sites;\n"
        "ALTER TABLE sites_new RENAME TO sites;\n"
        "INSERT INTO no_such_table VALUES (1);\n"
    )
    monkeypatch.setattr(db_module, "MIGRATIONS_DIR", folder)
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        migrate(database)
    assert database.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == schema
    assert database.execute("SELECT name FROM schema_migrations").fetchall() == applied
    assert database.execute("PRAGMA foreign_keys").fetchone() == (1,)
    database.conn.close()


def test_init_db_reports_what_it_applied(tmp_path):
    app = create_app({"DIARY_DATABASE": str(tmp_path / "d.sqlite3"), "DIARY_SECRET_KEY": SECRET})
    first = app.test_cli_runner().invoke(args=["diary", "init-db"])
    assert first.output.strip() == f"applied: {', '.join(NAMES)}"
    again = app.test_cli_runner().invoke(args=["diary", "init-db"])
    assert again.output.strip() == "database is up to date"
