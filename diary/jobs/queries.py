"""SQL for the jobs: set-based reads over all participants, batched writes, and checkpoints.

Per-participant ranges travel as one JSON parameter (json_each), so that a run
reads what it needs in one statement however many participants there are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from .. import clock


def id_spans(db: Database, job_id: str, width: int) -> list[tuple[int, int]]:
    """The ids of the participants with a checkpoint in this job, cut into spans of at
    most `width` ids (from, to: inclusive)."""
    low, high = db.execute(
        "SELECT min(participant_id), max(participant_id) FROM job_progress WHERE job_id = ?",
        [job_id],
    ).fetchone()
    if low is None:
        return []
    return [(start, min(start + width - 1, high)) for start in range(low, high + 1, width)]


def zones_in_use(db: Database) -> list[str]:
    """Every zone a participant is or was in."""
    return [r[0] for r in db.execute("SELECT DISTINCT timezone FROM participant_timezones")]


def participants_to_close(
    db: Database,
    job_id: str,
    *,
    also: Iterable[int] = (),
    closed_in: Mapping[str, date],
) -> list[dict[str, Any]]:
    """Participants with dates still to close: every active one, and each who stopped
    (withdrew, completed) until the day they stopped is closed; `also`: participants
    with an entry for a date already closed. With current zone, first injection,
    baseline, this job's progress and `held_at`: when their diary closed to writes (their
    lock or the study freeze in force, the earlier), until which a held diary is still
    closed and judged (the data received before it), and after which it waits.

    `closed_in` (each zone's latest closed date) leaves out the active participants
    already closed through it; one in a zone it lacks is kept."""
    return list(
        db.query(
            """
            WITH held AS MATERIALIZED (
                SELECT frozen_at FROM study_freezes WHERE lifted_at IS NULL)
            SELECT p.id, p.site_id, p.study_id, p.status, p.ended_at, p.enrolled_at,
                   p.baseline_back_pain,
                   p.baseline_mme, p.baseline_opioids,
                   p.current_timezone AS timezone,
                   p.first_injection_date AS first_injection,
                   jp.closed_through,
                   -- the earlier of the two
                   min(coalesce(p.locked_at, (SELECT frozen_at FROM held)),
                       coalesce((SELECT frozen_at FROM held), p.locked_at)) AS held_at
            FROM participants p
            LEFT JOIN job_progress jp ON jp.participant_id = p.id AND jp.job_id = :job
            WHERE (p.status = 'active'
                   OR (p.ended_at IS NOT NULL
                       AND (jp.closed_through IS NULL
                            OR jp.closed_through <= date(p.ended_at, '+1 day')))
                   OR p.id IN (SELECT value FROM json_each(:also)))
              -- A closed diary (locked, or the study frozen) is judged up to the day it
              -- closed, then waits: nobody can enter its dates, so none is missed; once
              -- reopened the job catches up.
              AND (held_at IS NULL OR jp.closed_through IS NULL
                   OR jp.closed_through <= date(held_at, '+1 day'))
              AND (jp.closed_through IS NULL OR p.ended_at IS NOT NULL
                   OR p.id IN (SELECT value FROM json_each(:also))
                   OR coalesce(:zones ->> json_quote(timezone) > jp.closed_through, 1))
            ORDER BY p.id
            """,
            {
                "job": job_id,
                "also": json.dumps(sorted(set(also))),
                "zones": json.dumps({z: d.isoformat() for z, d in closed_in.items()}),
            },
        )
    )


def record_failures(
    db: Database, job_id: str, failures: Iterable[tuple[int, str]], *, now: datetime
) -> None:
    """One row per participant a job could not process, counting repeats."""
    stamp = clock.iso(now)
    db.conn.executemany(
        "INSERT INTO job_failures (job_id, participant_id, first_failed_at, last_failed_at,"
        " error) VALUES (?, ?, ?, ?, ?) ON CONFLICT (job_id, participant_id) DO UPDATE SET"
        " last_failed_at = excluded.last_failed_at, failures = failures + 1,"
        " error = excluded.error",
        [(job_id, pid, stamp, stamp, error) for pid, error in failures],
    )


def clear_failures(db: Database, job_id: str, participant_ids: Iterable[int]) -> None:
    """Participants processed successfully are no longer failing."""
    failing = {
        r[0]
        for r in db.execute("SELECT participant_id FROM job_failures WHERE job_id = ?", [job_id])
    }
    done = [(job_id, pid) for pid in participant_ids if pid in failing]
    db.conn.executemany("DELETE FROM job_failures WHERE job_id = ? AND participant_id = ?", done)


def failures(db: Database, site_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """Every participant a job is failing on, with its site (None: every site)."""
    sql = (
        "SELECT f.job_id, p.study_id, s.code AS site, f.first_failed_at, f.last_failed_at,"
        " f.failures, f.error FROM job_failures f JOIN participants p ON p.id = f.participant_id"
        " JOIN sites s ON s.id = p.site_id"
    )
    params: list[Any] = []
    if site_ids is not None:
        ids = sorted(set(site_ids))
        sql += f" WHERE p.site_id IN ({', '.join('?' for _ in ids)})" if ids else " WHERE 0"
        params = ids
    return list(db.query(sql + " ORDER BY f.last_failed_at DESC", params))


def late_entries(db: Database, job_id: str, *, margin_seconds: int = 3600) -> dict[int, date]:
    """Per participant, the earliest already-closed date whose entry was written since the
    participant was last processed (an offline entry synced late, a staff clarification).

    Reads only entries written since the latest run (less a margin for writes that raced
    it), through the index on entries.updated_at; and every entry of a participant the job
    is failing on (job_failures: a handful at most), whose last processing may be older
    than that window, so that an entry synced while the job kept failing on them is
    rechecked once their data is mended.
    """
    latest = db.execute(
        "SELECT max(updated_at) FROM job_progress WHERE job_id = ?", [job_id]
    ).fetchone()[0]
    if latest is None:
        return {}
    cursor = db.execute(
        """
        WITH recent AS MATERIALIZED (  -- first, so that the updated_at index is what is read
            SELECT participant_id, date, updated_at FROM entries
            WHERE updated_at > strftime('%Y-%m-%dT%H:%M:%f', ?, ?)
            UNION ALL
            SELECT e.participant_id, e.date, e.updated_at
            FROM job_failures f JOIN entries e ON e.participant_id = f.participant_id
            WHERE f.job_id = ?
        )
        SELECT e.participant_id, min(e.date)
        FROM recent e
        JOIN job_progress jp ON jp.participant_id = e.participant_id AND jp.job_id = ?
        WHERE e.date <= jp.closed_through
          AND e.updated_at > strftime('%Y-%m-%dT%H:%M:%f', jp.updated_at, ?)
        GROUP BY e.participant_id
        """,
        [latest, f"-{margin_seconds * 48} seconds", job_id, job_id, f"-{margin_seconds} seconds"],
    )
    out: dict[int, date] = {}
    for pid, day in cursor:
        try:
            out[pid] = date.fromisoformat(day)
        except ValueError:  # a row no code path writes: that participant's run will fail
            out[pid] = date.min
    return out


def advance_progress(
    db: Database, job_id: str, rows: Iterable[tuple[int, date, str | None]], *, now: datetime
) -> None:
    """Move each participant's closed_through forward (never back); stamp the run.

    Each row is (participant, new checkpoint, the checkpoint as the run read it): a
    checkpoint that changed since (a day-0 correction moved it back, in a transaction of
    its own, while the run worked) is left as it is, so that the next run closes the dates
    it reopened rather than this run writing over it."""
    stamp = clock.iso(now)
    db.conn.executemany(
        "INSERT INTO job_progress (job_id, participant_id, closed_through, updated_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (job_id, participant_id) DO UPDATE"
        " SET closed_through = excluded.closed_through, updated_at = excluded.updated_at"
        " WHERE job_progress.closed_through IS ?"
        " AND excluded.closed_through >= job_progress.closed_through",
        [(job_id, pid, day.isoformat(), stamp, read) for pid, day, read in rows],
    )


def latest_runs(db: Database) -> list[dict[str, Any]]:
    """The most recent run of each job."""
    return list(
        db.query(
            "SELECT * FROM job_runs WHERE id IN (SELECT max(id) FROM job_runs GROUP BY job_id)"
            " ORDER BY job_id"
        )
    )
