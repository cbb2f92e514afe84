"""SQL for the scheduler's database lock, the run log and per-job checkpoints.

Lock times are real wall-clock instants (they guard real concurrency), while a
run's `as_of` is the `now` the job was given (which run-jobs --at may move).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from .. import clock
from ..db import transaction


def acquire(db: Database, job_id: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
    """Take the job's lock unless another holder has an unexpired lease; atomic."""
    with transaction(db):
        row = db.execute(
            "INSERT INTO scheduler_locks (job_id, holder, acquired_at, expires_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (job_id) DO UPDATE"
            " SET holder = excluded.holder, acquired_at = excluded.acquired_at,"
            " expires_at = excluded.expires_at"
            " WHERE scheduler_locks.expires_at <= excluded.acquired_at"
            " OR scheduler_locks.holder = excluded.holder"
            " RETURNING holder",
            [job_id, holder, clock.iso(now), clock.iso(now + ttl)],
        ).fetchone()
    return row is not None


def holder_of(db: Database, job_id: str) -> str | None:
    row = db.execute("SELECT holder FROM scheduler_locks WHERE job_id = ?", [job_id]).fetchone()
    return row[0] if row else None


def take_over(
    db: Database, job_id: str, dead: str, holder: str, *, now: datetime, ttl: timedelta
) -> bool:
    """Take the lock from a holder known to be dead (only if it still holds it), and
    close the runs it left open so the run log does not show them running forever."""
    with transaction(db):
        cursor = db.execute(
            "UPDATE scheduler_locks SET holder = ?, acquired_at = ?, expires_at = ?"
            " WHERE job_id = ? AND holder = ?",
            [holder, clock.iso(now), clock.iso(now + ttl), job_id, dead],
        )
        if cursor.rowcount != 1:
            return False
        db.execute(
            "UPDATE job_runs SET finished_at = ?, status = 'error', error = ?"
            " WHERE job_id = ? AND holder = ? AND finished_at IS NULL",
            [clock.iso(now), "the process running it died", job_id, dead],
        )
    return True


def renew(db: Database, job_id: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
    """Extend a held lease; False if it was lost (expired and taken over)."""
    with transaction(db):
        cursor = db.execute(
            "UPDATE scheduler_locks SET expires_at = ? WHERE job_id = ? AND holder = ?",
            [clock.iso(now + ttl), job_id, holder],
        )
    return cursor.rowcount == 1


def release(db: Database, job_id: str, holder: str) -> None:
    with transaction(db):
        db.execute("DELETE FROM scheduler_locks WHERE job_id = ? AND holder = ?", [job_id, holder])


def start_run(db: Database, job_id: str, holder: str, *, as_of: datetime, now: datetime) -> int:
    with transaction(db):
        return db.execute(
            "INSERT INTO job_runs (job_id, holder, as_of, started_at) VALUES (?, ?, ?, ?)",
            [job_id, holder, clock.iso(as_of), clock.iso(now)],
        ).lastrowid


def finish_run(
    db: Database,
    run_id: int,
    *,
    now: datetime,
    summary: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """Close the run; a successful one also moves the job's checkpoint."""
    with transaction(db):
        row = db.execute(
            "UPDATE job_runs SET finished_at = ?, status = ?, summary = ?, error = ?"
            " WHERE id = ? RETURNING job_id, as_of",
            [
                clock.iso(now),
                "error" if error else "ok",
                json.dumps(summary, sort_keys=True) if summary is not None else None,
                error,
                run_id,
            ],
        ).fetchone()
        if row and not error:
            db.execute(
                "INSERT INTO job_checkpoints (job_id, as_of, finished_at, summary)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (job_id) DO UPDATE"
                " SET as_of = max(as_of, excluded.as_of), finished_at = excluded.finished_at,"
                " summary = excluded.summary",
                [row[0], row[1], clock.iso(now), json.dumps(summary or {}, sort_keys=True)],
            )


def runs(db: Database, job_id: str | None = None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM job_runs"
    params: list[Any] = []
    if job_id is not None:
        sql += " WHERE job_id = ?"
        params.append(job_id)
    return list(db.query(sql + " ORDER BY id", params))


def checkpoint(db: Database, job_id: str) -> dict[str, Any] | None:
    return next(db.query("SELECT * FROM job_checkpoints WHERE job_id = ?", [job_id]), None)
