"""kill -9 under load: a gunicorn worker and the scheduler die mid-flight, repeatedly.

Afterwards every diary write that was answered 2xx is in the database exactly
once, the file is intact, the audit chain verifies, and the next job run
catches up on the dates that closed meanwhile.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from reliability_support import integrity, loadgen, serverctl

LOAD_SECONDS = 20
KILL_EVERY = 2.0


def _kill_workers(deployment, stop: threading.Event, kills: dict) -> None:
    """kill -9 one gunicorn worker every KILL_EVERY seconds (the master forks a new one)."""
    while not stop.wait(KILL_EVERY):
        workers = serverctl.worker_pids(deployment.web)
        if workers:
            serverctl.os.kill(workers[kills["worker"] % len(workers)], serverctl.signal.SIGKILL)
            kills["worker"] += 1


def _kill_scheduler(deployment, stop: threading.Event, kills: dict) -> None:
    """kill -9 the scheduler, preferably while a job runs, and start it again.

    A fresh scheduler runs every job at start-up, so the kill waits for it to be
    up and for one of those runs to begin."""
    log = deployment.logs[1]
    known = _last_run(deployment.study.database)
    while not stop.wait(0.2):
        started = time.monotonic()
        while log.read_text().count("scheduler started") <= kills["scheduler"]:
            if stop.wait(0.05) or time.monotonic() - started > 30:
                return
        kills["startup_s"] = max(kills["startup_s"], round(time.monotonic() - started, 1))
        kills["mid_job"] += _wait_for_a_running_job(
            deployment.study.database, stop, after=known, seconds=3
        )
        known = _last_run(deployment.study.database)
        deployment.scheduler.kill9()
        kills["scheduler"] += 1
        deployment.scheduler.restart()


def _last_run(database) -> int:
    conn = sqlite3.connect(database, timeout=10)
    try:
        return conn.execute("SELECT coalesce(max(id), 0) FROM job_runs").fetchone()[0]
    finally:
        conn.close()


def _wait_for_a_running_job(database, stop: threading.Event, *, after: int, seconds: float) -> bool:
    """Until a job run after id `after` is under way (so that the kill lands mid-job)."""
    deadline = time.monotonic() + seconds
    conn = sqlite3.connect(database, timeout=5)
    try:
        while time.monotonic() < deadline and not stop.is_set():
            try:
                row = conn.execute(
                    "SELECT 1 FROM job_runs WHERE id > ? AND finished_at IS NULL", [after]
                ).fetchone()
            except sqlite3.OperationalError:
                row = None  # busy: try again
            if row:
                return True
            time.sleep(0.005)
    finally:
        conn.close()
    return False


def test_kill_9_of_workers_and_scheduler_loses_no_acknowledged_entry(deployment):
    result: dict = {}
    load = threading.Thread(
        target=lambda: result.update(
            run=loadgen.run(deployment.plan(LOAD_SECONDS, red_flag_share=0.1))
        )
    )
    kills = {"worker": 0, "scheduler": 0, "mid_job": 0, "startup_s": 0.0}
    stop = threading.Event()
    killers = [
        threading.Thread(target=kill, args=(deployment, stop, kills))
        for kill in (_kill_workers, _kill_scheduler)
    ]
    load.start()
    time.sleep(1.5)  # the load processes start first
    for killer in killers:
        killer.start()
    load.join(LOAD_SECONDS + 90)
    stop.set()
    for killer in killers:
        killer.join(30)
    if deployment.scheduler.popen.poll() is not None:
        deployment.scheduler.restart()
    assert not load.is_alive()
    run: loadgen.Result = result["run"]

    assert kills["worker"] >= 3 and kills["scheduler"] >= 3 and kills["mid_job"] >= 1, kills
    acked = run.acked
    assert len(acked) > 50, run.statuses  # the load really ran through the crashes
    # Let the respawned workers prove they serve, then stop everything cleanly.
    serverctl.wait_ready(deployment.port)
    serverctl.stop_all([deployment.web, deployment.scheduler])

    database = deployment.study.database
    assert integrity(database) == [("ok",)]
    conn = sqlite3.connect(database)
    try:
        writes = {
            client_id: (study_id, day, version)
            for client_id, study_id, day, version in conn.execute(
                "SELECT w.client_id, p.study_id, w.date, w.version FROM entry_writes w"
                " JOIN participants p ON p.id = w.participant_id"
            )
        }
        entries = {}
        for study_id, day, version, n in conn.execute(
            "SELECT p.study_id, e.date, max(e.version), count(*) FROM entries e"
            " JOIN participants p ON p.id = e.participant_id GROUP BY e.participant_id, e.date"
        ):
            assert n == 1
            entries[(study_id, day)] = version
    finally:
        conn.close()
    for study_id, day, client_id, _status, version, _ in acked:
        # The acknowledged write is recorded under its client_id, for the right entry…
        assert writes.get(client_id, (None, None, None))[:2] == (study_id, day), client_id
        # …and the entry holds at least the version the client was told about.
        assert entries[(study_id, day)] >= version
    created = [a for a in acked if a[3] == 201]
    assert len({(a[0], a[1]) for a in created}) == len(created)  # never two creations

    verify = serverctl.flask_cli(deployment.env, "audit", "verify")
    assert verify.returncode == 0 and verify.stdout.startswith("OK"), verify.stdout + verify.stderr

    # The next run catches up: the two days after today close with no entries.
    tz = ZoneInfo(serverctl.TIMEZONE)
    today = datetime.now(tz).date()
    at = datetime.combine(today + timedelta(days=3), datetime.min.time(), tz) + timedelta(hours=13)
    jobs = serverctl.flask_cli(deployment.env, "run-jobs", "--at", at.isoformat())
    assert jobs.returncode == 0, jobs.stdout + jobs.stderr
    assert "skipped" not in jobs.stdout, jobs.stdout  # no lock left behind by a killed scheduler
    conn = sqlite3.connect(database)
    try:
        missed = set(conn.execute("SELECT participant_id, date FROM missed_dates"))
        participants = [r[0] for r in conn.execute("SELECT id FROM participants")]
    finally:
        conn.close()
    for pid in participants:
        for n in (1, 2):
            assert (pid, (today + timedelta(days=n)).isoformat()) in missed

    logs = deployment.log_text()
    assert _only_kill_tracebacks(logs), logs[-4000:]
    # No secret, activation code, password or note text in the servers' output.
    for secret in [serverctl.SECRET, serverctl.STAFF_PASSWORD, *deployment.study.codes.values()]:
        assert secret not in logs
    for note in loadgen.NOTES:
        assert note not in logs


def _only_kill_tracebacks(logs: str) -> bool:
    """A traceback is allowed only where a process we killed was interrupted."""
    blocks = logs.split("Traceback (most recent call last):")[1:]
    return all("SystemExit" in b.split("\n\n")[0] or "KeyboardInterrupt" in b for b in blocks)


def test_a_job_locked_by_a_killed_scheduler_runs_at_once_not_after_the_lease(tmp_path):
    import socket
    import subprocess
    import sys

    from diary import clock
    from diary.db import connect, migrate
    from diary.jobs import JobSpec, locks, runner

    database = str(tmp_path / "locks.sqlite3")
    db = connect(database)
    migrate(db)
    spec = JobSpec("probe", lambda db, **kw: {"ran": True})
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        holder = f"{socket.gethostname()}:{sleeper.pid}:0123abcd"
        assert locks.acquire(db, "probe", holder, now=clock.now(), ttl=runner.LEASE)
        locks.start_run(db, "probe", holder, as_of=clock.now(), now=clock.now())
        # Alive: its lock is respected.
        result = runner.run_job(
            spec, database=database, study=None, config={}, now=clock.now(), holder="me:1:x"
        )
        assert not result.ran
        sleeper.kill()
        sleeper.wait(10)
        # Dead: taken over at once, and its unfinished run is closed as an error.
        result = runner.run_job(
            spec, database=database, study=None, config={}, now=clock.now(), holder="me:1:x"
        )
        assert result.ran and result.summary == {"ran": True}
        runs = locks.runs(db, "probe")
        assert [r["status"] for r in runs] == ["error", "ok"]
        assert runs[0]["error"] == "the process running it died"
    finally:
        sleeper.kill()
        sleeper.wait(10)
        db.conn.close()
