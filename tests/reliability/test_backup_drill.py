"""Backup drill: `flask diary backup` while the load runs; a server started on the copy
verifies its audit chain and serves the entries that were acknowledged before the backup."""

from __future__ import annotations

import sqlite3
import threading
import time

from reliability_support import integrity, loadgen, serverctl

LOAD_SECONDS = 14


def test_backup_taken_under_load_restores_into_a_working_server(deployment, tmp_path):
    result: dict = {}
    load = threading.Thread(
        target=lambda: result.update(run=loadgen.run(deployment.plan(LOAD_SECONDS)))
    )
    load.start()
    time.sleep(1.5 + 3)  # the load processes start, then run a while
    copy = tmp_path / "restore" / "diary-copy.sqlite3"
    started = time.time()
    backup = serverctl.flask_cli(deployment.env, "backup", str(copy))
    finished = time.time()
    load.join(LOAD_SECONDS + 90)
    assert not load.is_alive()
    assert backup.returncode == 0, backup.stdout + backup.stderr
    assert "integrity ok" in backup.stdout
    run: loadgen.Result = result["run"]
    before = [a for a in run.acked if a[5] < started]
    during_or_after = [a for a in run.acked if a[5] > finished]
    assert before and during_or_after, "the backup must be taken while writes go on"
    assert integrity(copy) == [("ok",)]

    conn = sqlite3.connect(copy)
    try:
        saved = {r[0] for r in conn.execute("SELECT client_id FROM entry_writes")}
    finally:
        conn.close()
    missing = [a for a in before if a[2] not in saved]
    assert not missing, missing[:5]

    # Restore: a second server on the copy (same secret key, so sessions carry over).
    port = serverctl.free_port()
    env = serverctl.server_env(copy, port)
    verify = serverctl.flask_cli(env, "audit", "verify")
    assert verify.returncode == 0 and verify.stdout.startswith("OK"), verify.stdout + verify.stderr
    restored = serverctl.gunicorn("wsgi:app", port=port, env=env, log=tmp_path / "restored.log")
    try:
        restored.start()
        serverctl.wait_ready(port)
        for study_id, day, *_ in before[:20]:
            session = deployment.sessions[study_id]
            status, body, _ = serverctl.request(
                port, "GET", f"/api/v1/entries/{day}", session=session
            )
            assert status == 200, body
            assert body["date"] == day
        staff = serverctl.staff_login(port, deployment.study.staff[0])
        status, body, _ = serverctl.request(port, "GET", "/api/v1/staff/flags", session=staff)
        assert status == 200, body
        # The restored server takes new writes too.
        study_id, day = before[0][0], before[0][1]
        entry = loadgen._entry_body(
            loadgen.random.Random(7), loadgen.ZoneInfo(serverctl.TIMEZONE), False, reason=True
        )
        status, body, _ = serverctl.request(
            port, "PUT", f"/api/v1/entries/{day}", entry, session=deployment.sessions[study_id]
        )
        assert status == 200, body
    finally:
        restored.stop()
    verify = serverctl.flask_cli(env, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
