"""SQL for the jobs: set-based reads over all participants, batched writes, and checkpoints.

Per-participant ranges travel as one JSON parameter (json_each), so that a run
reads what it needs in one statement however many participants there are.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from .. import clock

RULE_KINDS = ("pain_flare", "opioid_threshold", "opioid_increase", "missed_entries")


def active_participants(db: Database, job_id: str) -> list[dict[str, Any]]:
    """Every active participant with current zone, first injection and this job's progress."""
    return list(
        db.query(
            """
            SELECT p.id, p.site_id, p.study_id, p.baseline_back_pain, p.baseline_mme,
                   (SELECT timezone FROM participant_timezones t WHERE t.participant_id = p.id
                    ORDER BY effective_from DESC, id DESC LIMIT 1) AS timezone,
                   (SELECT min(date) FROM injections i WHERE i.participant_id = p.id)
                       AS first_injection,
                   jp.closed_through
            FROM participants p
            LEFT JOIN job_progress jp ON jp.participant_id = p.id AND jp.job_id = ?
            WHERE p.status = 'active'
            ORDER BY p.id
            """,
            [job_id],
        )
    )


def late_entries(db: Database, job_id: str, *, margin_seconds: int = 3600) -> dict[int, date]:
    """Per participant, the earliest already-closed date whose entry was written since the
    participant was last processed (an offline entry synced late, a staff clarification).

    Reads only entries written since the latest run (less a margin for writes that raced
    it), through the index on entries.updated_at.
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
        )
        SELECT e.participant_id, min(e.date)
        FROM recent e
        JOIN job_progress jp ON jp.participant_id = e.participant_id AND jp.job_id = ?
        WHERE e.date <= jp.closed_through
          AND e.updated_at > strftime('%Y-%m-%dT%H:%M:%f', jp.updated_at, ?)
        GROUP BY e.participant_id
        """,
        [latest, f"-{margin_seconds * 48} seconds", job_id, f"-{margin_seconds} seconds"],
    )
    return {pid: date.fromisoformat(day) for pid, day in cursor}


def unmark_missed(db: Database, rows: Iterable[tuple[int, date]]) -> None:
    """Dates that got an entry after all are no longer missed."""
    db.conn.executemany(
        "DELETE FROM missed_dates WHERE participant_id = ? AND date = ?",
        [(pid, day.isoformat()) for pid, day in rows],
    )


def _ranges(rows: Iterable[Sequence[Any]]) -> str:
    return json.dumps(
        [[r[0], *(v.isoformat() if isinstance(v, date) else v for v in r[1:])] for r in rows]
    )


def rule_flags_since(
    db: Database, since: Iterable[tuple[int, date]]
) -> dict[int, list[dict[str, Any]]]:
    """Job-raised flags (any status) per participant whose last date is on or after `since`."""
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    marks = ", ".join("?" for _ in RULE_KINDS)
    for row in db.query(
        f"""
        WITH r AS (SELECT value ->> 0 AS pid, value ->> 1 AS since FROM json_each(?))
        SELECT f.id, f.participant_id, f.kind, f.status, f.episode_key, f.first_date, f.last_date
        FROM r JOIN flags f ON f.participant_id = r.pid AND f.last_date >= r.since
        WHERE f.kind IN ({marks})
        ORDER BY f.participant_id, f.first_date, f.id
        """,
        [_ranges(since), *RULE_KINDS],
    ):
        row["first_date"] = date.fromisoformat(row["first_date"])
        row["last_date"] = date.fromisoformat(row["last_date"])
        out[row["participant_id"]].append(row)
    return out


def diary_days(
    db: Database, ranges: Iterable[tuple[int, date, date]]
) -> dict[int, dict[date, tuple[int, float | None]]]:
    """Entries (back pain, MME) per participant within each participant's [from, to]."""
    out: dict[int, dict[date, tuple[int, float | None]]] = defaultdict(dict)
    cursor = db.execute(
        """
        WITH r AS (SELECT value ->> 0 AS pid, value ->> 1 AS lo, value ->> 2 AS hi
                   FROM json_each(?))
        SELECT e.participant_id, e.date, e.back_pain, e.mme
        FROM r JOIN entries e ON e.participant_id = r.pid AND e.date BETWEEN r.lo AND r.hi
        """,
        [_ranges(ranges)],
    )
    for pid, day, back_pain, mme in cursor:
        out[pid][date.fromisoformat(day)] = (back_pain, mme)
    return out


def injection_dates(db: Database, participant_ids: Iterable[int]) -> dict[int, list[date]]:
    """Every injection date per participant, ascending."""
    out: dict[int, list[date]] = defaultdict(list)
    cursor = db.execute(
        "SELECT participant_id, date FROM injections"
        " WHERE participant_id IN (SELECT value FROM json_each(?)) ORDER BY participant_id, date",
        [json.dumps(list(participant_ids))],
    )
    for pid, day in cursor:
        out[pid].append(date.fromisoformat(day))
    return out


def record_missed(db: Database, rows: Iterable[tuple[int, date]], *, now: datetime) -> None:
    stamp = clock.iso(now)
    db.conn.executemany(
        "INSERT INTO missed_dates (participant_id, date, recorded_at) VALUES (?, ?, ?)"
        " ON CONFLICT (participant_id, date) DO NOTHING",
        [(pid, day.isoformat(), stamp) for pid, day in rows],
    )


def advance_progress(
    db: Database, job_id: str, rows: Iterable[tuple[int, date]], *, now: datetime
) -> None:
    """Move each participant's closed_through forward (never back); stamp the run."""
    stamp = clock.iso(now)
    db.conn.executemany(
        "INSERT INTO job_progress (job_id, participant_id, closed_through, updated_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (job_id, participant_id) DO UPDATE"
        " SET closed_through = excluded.closed_through, updated_at = excluded.updated_at"
        " WHERE excluded.closed_through >= job_progress.closed_through",
        [(job_id, pid, day.isoformat(), stamp) for pid, day in rows],
    )
