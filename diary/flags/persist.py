"""SQL for flag transitions (acknowledge, resolve) and adverse events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from .. import clock


def acknowledge(db: Database, flag_id: int, *, staff_id: int, now: datetime) -> bool:
    """open → acknowledged; False when the flag is not open (the caller answers 409)."""
    row = db.execute(
        "UPDATE flags SET status = 'acknowledged', acknowledged_at = ?, acknowledged_by = ?,"
        " updated_at = ? WHERE id = ? AND status = 'open' RETURNING id",
        [clock.iso(now), staff_id, clock.iso(now), flag_id],
    ).fetchone()
    return row is not None


def resolve(
    db: Database, flag_id: int, *, staff_id: int, outcome: str, note: str | None, now: datetime
) -> bool:
    """open or acknowledged → resolved; False when it is resolved already."""
    row = db.execute(
        "UPDATE flags SET status = 'resolved', resolved_at = ?, resolved_by = ?, outcome = ?,"
        " resolution_note = ?, updated_at = ? WHERE id = ? AND status != 'resolved' RETURNING id",
        [clock.iso(now), staff_id, outcome, note, clock.iso(now), flag_id],
    ).fetchone()
    return row is not None


def insert_adverse_event(
    db: Database,
    *,
    participant_id: int,
    flag_id: int | None,
    source: str,
    term: str,
    onset_date: date,
    ctcae_grade: int,
    serious: bool,
    related: str,
    note: str | None,
    staff_id: int,
    now: datetime,
) -> int:
    return db.execute(
        "INSERT INTO adverse_events (participant_id, flag_id, source, term, onset_date,"
        " ctcae_grade, serious, related, note, recorded_by, recorded_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            participant_id,
            flag_id,
            source,
            term,
            onset_date.isoformat(),
            ctcae_grade,
            int(serious),
            related,
            note,
            staff_id,
            clock.iso(now),
        ],
    ).lastrowid


_AE = """
SELECT a.id, a.participant_id, a.flag_id, a.source, a.term, a.onset_date, a.ctcae_grade,
       a.serious, a.related, a.note, st.email AS recorded_by, a.recorded_at,
       p.study_id, s.code AS site
FROM adverse_events a
JOIN participants p ON p.id = a.participant_id
JOIN sites s ON s.id = p.site_id
JOIN staff st ON st.id = a.recorded_by
"""


def adverse_events(
    db: Database,
    *,
    participant_id: int | None = None,
    flag_ids: Iterable[int] | None = None,
    ae_id: int | None = None,
) -> list[dict[str, Any]]:
    """Adverse events by participant, by flag, or by id; oldest onset first."""
    clauses, params = [], []
    if participant_id is not None:
        clauses.append("a.participant_id = ?")
        params.append(participant_id)
    if flag_ids is not None:
        ids = sorted(set(flag_ids))
        clauses.append(f"a.flag_id IN ({', '.join('?' for _ in ids)})" if ids else "0")
        params.extend(ids)
    if ae_id is not None:
        clauses.append("a.id = ?")
        params.append(ae_id)
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    return list(db.query(_AE + where + " ORDER BY a.onset_date, a.id", params))


def staff_emails(db: Database, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    marks = ", ".join("?" for _ in wanted)
    return {
        r[0]: r[1] for r in db.execute(f"SELECT id, email FROM staff WHERE id IN ({marks})", wanted)
    }
