"""The database lock, the run log, run-jobs, and two schedulers against one database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

from jobs_support import add_participant, missed, utc

from diary.db import WAL_AUTOCHECKPOINT_PAGES, WalCheckpointer, connect, migrate, transaction
from diary.jobs import JobSpec, close_days, locks, runner
from diary.jobs.registry import JOBS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
T0 = utc(2025, 10, 1, 12)
LEASE = timedelta(minutes=10)


def test_lock_is_exclusive_until_released_or_expired(make_db):
    db = make_db()
    assert locks.acquire(db, "job", "a", now=T0, ttl=LEASE)
    assert not locks.acquire(db, "job", "b", now=T0 + timedelta(minutes=5), ttl=LEASE)
    assert locks.acquire(db, "other-job", "b", now=T0, ttl=LEASE)  # per job
    assert locks.acquire(db, "job", "a", now=T0, ttl=LEASE)  # the holder may re-take it
    locks.release(db, "job", "a")
    assert locks.acquire(db, "job", "b", now=T0, ttl=LEASE)
    # A crashed holder's lease expires and can be taken over; the old holder cannot renew.
    assert locks.acquire(db, "job", "c", now=T0 + LEASE, ttl=LEASE)
    assert not locks.renew(db, "job", "b", now=T0 + LEASE, ttl=LEASE)
    assert locks.renew(db, "job", "c", now=T0 + LEASE, ttl=LEASE)


def test_run_job_logs_the_run_and_moves_the_checkpoint(make_db, study):
    db = make_db()
    add_participant(db, "LBP-001", timezone="UTC", injections=(date(2025, 10, 1),))
    spec = next(j for j in JOBS if j.id == close_days.JOB_ID)
    database = db.conn.execute("PRAGMA database_list").fetchone()[2]
    at = utc(2025, 10, 4, 12)
    result = runner.run_job(spec, database=database, study=study, config={}, now=at, holder="test")
    assert result.ran and result.summary["missed"] == 3
    (run,) = locks.runs(db, spec.id)
    assert run["status"] == "ok" and run["as_of"] == "2025-10-04T12:00:00.000000+00:00"
    assert locks.checkpoint(db, spec.id)["as_of"] == run["as_of"]
    assert db.execute("SELECT count(*) FROM scheduler_locks").fetchone()[0] == 0


def test_run_job_skips_while_another_process_holds_the_lock(make_db, study):
    db = make_db()
    database = db.conn.execute("PRAGMA database_list").fetchone()[2]
    spec = JobSpec("probe", lambda db, **kw: {"ran": True})
    assert locks.acquire(db, "probe", "someone-else", now=runner.clock.now(), ttl=LEASE)
    result = runner.run_job(spec, database=database, study=study, config={}, now=T0, holder="me")
    assert not result.ran
    assert locks.runs(db) == []


def test_a_failing_job_is_logged_and_releases_its_lock(make_db, study):
    db = make_db()
    database = db.conn.execute("PRAGMA database_list").fetchone()[2]

    def broken(db, **kw):
        raise RuntimeError("boom")

    result = runner.run_job(
        JobSpec("broken", broken), database=database, study=study, config={}, now=T0, holder="me"
    )
    assert result.error == "RuntimeError: boom"
    (run,) = locks.runs(db)
    assert run["status"] == "error"
    assert locks.checkpoint(db, "broken") is None
    assert db.execute("SELECT count(*) FROM scheduler_locks").fetchone()[0] == 0


def test_scheduler_jobs_coalesce_with_one_instance_and_explicit_grace(study, tmp_path):
    scheduler = runner.build_scheduler(
        JOBS, database=str(tmp_path / "d.sqlite3"), study=study, config={}, blocking=False
    )
    scheduler.start(paused=True)  # defaults apply when jobs reach the job store
    try:
        for job in scheduler.get_jobs():
            assert job.coalesce is True
            assert job.max_instances == 1
            assert job.misfire_grace_time == runner.MISFIRE_GRACE_SECONDS
        assert {j.id for j in scheduler.get_jobs()} == {spec.id for spec in JOBS}
    finally:
        scheduler.shutdown(wait=False)


def test_run_jobs_command_runs_every_job_as_of_the_given_instant(app, db):
    add_participant(db, "LBP-001", timezone="America/Chicago", injections=(date(2025, 10, 30),))
    cli = app.test_cli_runner()
    # 3 Nov 2025 17:59 UTC is 11:59 CST: 2 Nov (DST end) is still open in Chicago.
    before = cli.invoke(args=["diary", "run-jobs", "--at", "2025-11-03T17:59:00Z"])
    assert before.exit_code == 0, before.output
    assert "close_diary_dates:" in before.output
    assert [d for _, d in missed(db)] == ["2025-10-30", "2025-10-31", "2025-11-01"]
    after = cli.invoke(args=["diary", "run-jobs", "--at", "2025-11-03T12:00:00-06:00"])
    assert after.exit_code == 0, after.output
    assert [d for _, d in missed(db)][-1] == "2025-11-02"
    naive = cli.invoke(args=["diary", "run-jobs", "--at", "2025-11-03T18:00:00"])
    assert naive.exit_code == 2
    assert "offset" in naive.output


def _overlaps(runs):
    spans = sorted((r["started_at"], r["finished_at"], r["holder"]) for r in runs)
    return [(a, b) for a, b in zip(spans, spans[1:], strict=False) if b[0] < a[1]]


def test_two_scheduler_processes_never_run_a_job_at_once(make_db):
    db = make_db()
    database = db.conn.execute("PRAGMA database_list").fetchone()[2]
    start = str(time.time() + 5)  # both have imported by then, even on a busy machine
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "scheduler_harness.py"), database, "6", start],
            cwd=ROOT,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
    runs = locks.runs(db, "slow_probe")
    assert all(r["status"] == "ok" for r in runs)
    assert len(runs) >= 10
    assert len({r["holder"] for r in runs}) == 2  # both processes ran it, taking turns
    assert _overlaps(runs) == []


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_two_flask_diary_scheduler_commands_process_each_date_once(make_db, study, tmp_path):
    db = make_db()
    database = db.conn.execute("PRAGMA database_list").fetchone()[2]
    # Enough work that the start-up catch-up runs take a while and collide.
    for n in range(300):
        add_participant(db, f"LBP-{n:03d}", timezone="UTC", injections=(date(2024, 1, 1),))
    env = {
        **os.environ,
        "DIARY_DATABASE": database,
        "DIARY_SECRET_KEY": "test-secret-key-0123456789-abcdefghijklmnop",
    }
    flask = Path(sys.executable).with_name("flask")
    procs = [
        subprocess.Popen(
            [str(flask), "--app", "wsgi", "diary", "scheduler"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    watcher = connect(database)
    try:

        def settled():
            rows = locks.runs(watcher, close_days.JOB_ID)
            return rows and all(r["status"] != "running" for r in rows)

        assert _wait_for(settled)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        errors = [proc.communicate(timeout=30)[1].decode() for proc in procs]
        watcher.conn.close()
    assert not [e for e in errors if "Traceback" in e], errors
    runs = locks.runs(db, close_days.JOB_ID)
    assert _overlaps(runs) == []
    assert len(missed(db)) == 300 * (study.length_days + 1)  # each date exactly once
    kinds = dict(db.execute("SELECT kind, count(*) FROM flags GROUP BY kind").fetchall())
    closed = db.execute(
        "SELECT count(*) FROM questionnaire_occurrences WHERE status = 'missed'"
    ).fetchone()[0]
    # each closed diary date and each closed questionnaire window flagged once
    assert kinds == {"missed_entries": 300, "questionnaire_missed": closed}


def test_serve_runs_web_and_scheduler_in_one_process(make_db):
    import json
    import socket
    import urllib.request

    db = make_db()
    database = db.conn.execute("PRAGMA database_list").fetchone()[2]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "DIARY_DATABASE": database,
        "DIARY_SECRET_KEY": "test-secret-key-0123456789-abcdefghijklmnop",
    }
    flask = Path(sys.executable).with_name("flask")
    proc = subprocess.Popen(
        [str(flask), "--app", "wsgi", "diary", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        def answers():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/session") as r:
                    return json.load(r)["user"] is None
            except OSError:
                return False

        assert _wait_for(answers)
        assert _wait_for(lambda: locks.checkpoint(db, close_days.JOB_ID) is not None)
    finally:
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=30)[1].decode()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def wal_pages_written(path) -> int:
    """Fill a scratch table with ~2,000 pages (8 MB) in one commit, as a busy day would."""
    db = connect(str(path))
    try:
        with transaction(db):
            db.execute("CREATE TABLE IF NOT EXISTS scratch (b BLOB)")
            db.conn.executemany("INSERT INTO scratch VALUES (randomblob(4000))", [()] * 2_000)
        return db.execute("PRAGMA page_count").fetchone()[0]
    finally:
        db.conn.close()


def test_a_commit_leaves_the_wal_to_the_schedulers_checkpointer(study, tmp_path):
    path = tmp_path / "d.sqlite3"
    keep = connect(str(path))  # a reader kept open, as a worker's connection is
    migrate(keep)
    keep.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = path.stat().st_size
    pages = wal_pages_written(path)
    # The writer's commit copied nothing into the database: the pages wait in the WAL.
    assert path.stat().st_size == before
    assert Path(f"{path}-wal").stat().st_size > 2_000 * 4096
    scheduler = runner.build_scheduler(
        [], database=str(path), study=study, config={}, blocking=False, run_at_start=False
    )
    scheduler.start()
    try:
        deadline = time.monotonic() + 30
        while path.stat().st_size < pages * 4096 and time.monotonic() < deadline:
            time.sleep(0.05)  # the checkpointer's own thread, every second
        assert path.stat().st_size >= pages * 4096
        assert any(t.name == "wal-checkpoint" for t in threading.enumerate())
    finally:
        scheduler.shutdown(wait=True)
        keep.conn.close()
    assert not any(t.name == "wal-checkpoint" for t in threading.enumerate())


def test_the_checkpointer_keeps_the_wal_short_under_a_steady_stream_of_writes(tmp_path):
    """Writes that never pause leave a checkpoint beside them never quite done, and the
    WAL only starts over after one that is: each round ends under the writer lock, so
    the WAL restarts every round instead of growing until a writer checkpoints it."""
    path = str(tmp_path / "d.sqlite3")
    db = connect(path)
    db.execute("CREATE TABLE scratch (b BLOB)")
    checkpointer = WalCheckpointer(path, interval=0.1)
    checkpointer.start()
    largest = 0
    try:
        # Each commit appends at least one page: more than twice WAL_AUTOCHECKPOINT_PAGES.
        for n in range(40_000):
            with transaction(db):
                db.execute("INSERT INTO scratch VALUES (randomblob(300))")
            if n % 500 == 0:
                largest = max(largest, Path(f"{path}-wal").stat().st_size // 4096)
    finally:
        checkpointer.stop()
        db.conn.close()
    # Without the rounds' restarts the WAL grows to the writers' own checkpoint threshold
    # (WAL_AUTOCHECKPOINT_PAGES) before it starts over; with them it stays below it. Its
    # high-water mark is the file's size, so one round the machine scheduled late sets it
    # for the whole run: the bound is the threshold itself, which the defect reaches.
    assert largest < WAL_AUTOCHECKPOINT_PAGES, largest


def test_a_checkpointer_stopped_starts_again(tmp_path):
    """A scheduler shut down and started again in the same process checkpoints again."""
    checkpointer = WalCheckpointer(str(tmp_path / "d.sqlite3"), interval=0.05)
    for _ in range(2):
        checkpointer.start()
        assert any(t.name == "wal-checkpoint" for t in threading.enumerate())
        checkpointer.stop()
        assert not any(t.name == "wal-checkpoint" for t in threading.enumerate())
