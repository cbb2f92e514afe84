"""The audit trail is append-only in the database and hash-chained (SPEC §9)."""

import sqlite3
import subprocess

import pytest

from diary import audit
from diary.cli import diary as diary_cli


@pytest.fixture
def audited(app, staff_client, enroll):
    enroll("LBP-001")
    staff_client().patch(
        "staff/participants/LBP-001", {"baseline_mme": 30, "reason": "re-read the chart"}
    )
    return app.config["DIARY_DATABASE"]


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET reason = 'edited' WHERE id = 1;", "DELETE FROM audit_log WHERE id = 1;"],
)
def test_the_sqlite3_shell_cannot_change_the_audit_trail(audited, statement):
    result = subprocess.run(
        ["sqlite3", audited, statement], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "append-only" in result.stderr
    conn = sqlite3.connect(audited)
    assert conn.execute("SELECT reason FROM audit_log WHERE id = 1").fetchone()[0] != "edited"


def test_verify_passes_on_an_intact_chain(app, audited):
    runner = app.test_cli_runner()
    result = runner.invoke(diary_cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK:")


def test_editing_the_file_bytes_of_an_audited_value_is_named_by_verify(app, audited):
    conn = sqlite3.connect(audited)
    row_id, after = conn.execute(
        "SELECT id, after FROM audit_log WHERE action = 'participant.update'"
    ).fetchone()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    from diary.db import close_thread_connections

    close_thread_connections()
    with open(audited, "rb") as f:
        data = f.read()
    old = b'"baseline_mme":30'
    assert data.count(old) >= 1 and old.decode() in after
    with open(audited, "wb") as f:  # same length, so the page stays well-formed
        f.write(data.replace(old, b'"baseline_mme":10'))
    result = app.test_cli_runner().invoke(diary_cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at audit row {row_id}" in result.output


def test_every_row_links_to_the_one_before(db, audited):
    rows = db.execute("SELECT prev_hash, hash FROM audit_log ORDER BY id").fetchall()
    assert rows[0][0] == audit.GENESIS
    for (_, previous), (link, _) in zip(rows, rows[1:], strict=False):
        assert link == previous
    assert audit.verify(db).ok


def test_record_outside_a_transaction_is_a_programming_error(db):
    with pytest.raises(RuntimeError):
        audit.record(db, actor=audit.CLI, action="x", object_type="y")
