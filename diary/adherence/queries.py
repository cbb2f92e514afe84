"""SQL of the adherence report: participants in scope with their zone and day 0, entry
and open-flag counts, each read in one set-based statement."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from .. import clock

_PARTICIPANTS = """
SELECT p.id, p.study_id, p.site_id, s.code AS site, p.status, p.enrolled_at,
       p.current_timezone AS timezone, p.first_injection_date AS first_injection
FROM participants p JOIN sites s ON s.id = p.site_id
"""


def _in(column: str, values: Iterable[Any]) -> tuple[str, list[Any]]:
    values = sorted(values)
    if not values:
        return "0 = 1", []
    return f"{column} IN ({', '.join('?' for _ in values)})", values


def scoped_participants(
    db: Database,
    site_ids: Iterable[int] | None,
    *,
    site_code: str | None = None,
    participant_ids: Iterable[int] | None = None,
) -> list[dict[str, Any]]:
    """Participants at `site_ids` (None: every site) with current zone and day 0."""
    clauses: list[str] = []
    params: list[Any] = []
    if site_ids is not None:
        clause, values = _in("p.site_id", site_ids)
        clauses.append(clause)
        params.extend(values)
    if site_code is not None:
        clauses.append("s.code = ?")
        params.append(site_code)
    if participant_ids is not None:
        clause, values = _in("p.id", participant_ids)
        clauses.append(clause)
        params.extend(values)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return list(db.query(f"{_PARTICIPANTS}{where} ORDER BY s.code, p.study_id", params))


def status_changed_at(db: Database, participant_ids: Iterable[int]) -> dict[int, datetime]:
    """When each participant's status last changed (from the audit trail)."""
    clause, params = _in("participant_id", participant_ids)
    if not params:
        return {}
    rows = db.execute(
        f"SELECT participant_id, max(at) FROM audit_log WHERE {clause}"
        " AND action = 'participant.update' AND json_extract(after, '$.status') IS NOT NULL"
        " GROUP BY participant_id",
        params,
    )
    return {pid: clock.parse_iso(at) for pid, at in rows}


def entry_counts(
    db: Database, ranges: Iterable[tuple[int, date, date, date, date]]
) -> dict[int, dict[str, Any]]:
    """Per participant: entries within [lo, hi] and [lo7, hi7] (each with how many of
    them synced late), and the latest entry date."""
    payload = json.dumps([[pid, *(d.isoformat() for d in days)] for pid, *days in ranges])
    cursor = db.execute(
        """
        WITH r AS (SELECT value ->> 0 AS pid, value ->> 1 AS lo, value ->> 2 AS hi,
                          value ->> 3 AS lo7, value ->> 4 AS hi7 FROM json_each(?))
        SELECT r.pid,
               (SELECT count(*) FROM entries e
                WHERE e.participant_id = r.pid AND e.date BETWEEN r.lo AND r.hi),
               (SELECT count(*) FROM entries e
                WHERE e.participant_id = r.pid AND e.date BETWEEN r.lo AND r.hi
                  AND e.synced_late = 1),
               (SELECT count(*) FROM entries e
                WHERE e.participant_id = r.pid AND e.date BETWEEN r.lo7 AND r.hi7),
               (SELECT count(*) FROM entries e
                WHERE e.participant_id = r.pid AND e.date BETWEEN r.lo7 AND r.hi7
                  AND e.synced_late = 1),
               (SELECT max(date) FROM entries e WHERE e.participant_id = r.pid)
        FROM r
        """,
        [payload],
    )
    return {
        pid: {
            "entered": entered,
            "synced_late": synced_late,
            "entered_7": entered_7,
            "synced_late_7": synced_late_7,
            "last_entry_date": last,
        }
        for pid, entered, synced_late, entered_7, synced_late_7, last in cursor
    }


def open_flag_counts(db: Database, participant_ids: Iterable[int]) -> dict[int, int]:
    """Flags not yet resolved, per participant."""
    clause, params = _in("participant_id", participant_ids)
    rows = db.execute(
        f"SELECT participant_id, count(*) FROM flags WHERE {clause} AND status != 'resolved'"
        " GROUP BY participant_id",
        params,
    )
    return dict(rows.fetchall())


def questionnaire_counts(
    db: Database, participant_ids: Iterable[int], *, now: datetime
) -> dict[int, tuple[int, int, int]]:
    """Per participant: questionnaires whose window has closed, how many of those were
    answered, and how many of the answers arrived after the window closed."""
    clause, params = _in("o.participant_id", participant_ids)
    rows = db.execute(
        "SELECT o.participant_id, count(*), count(r.id), coalesce(sum(r.synced_late), 0)"
        " FROM questionnaire_occurrences o"
        " LEFT JOIN questionnaire_responses r ON r.occurrence_id = o.id"
        f" WHERE {clause} AND o.window_closes <= ? GROUP BY o.participant_id",
        [*params, clock.iso(now)],
    )
    return {pid: (expected, done, late) for pid, expected, done, late in rows}
