"""SQL for questionnaire occurrences, responses and the client-write log."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from .. import clock
from .schedule import Due

_OCCURRENCE = """
SELECT o.*, r.id AS response_id, r.answers, r.scores, r.device_time, r.received_at,
       r.synced_late, r.version, r.entered_by, r.updated_at AS response_updated_at
FROM questionnaire_occurrences o
LEFT JOIN questionnaire_responses r ON r.occurrence_id = o.id
"""


def _decoded(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is not None:
        for key in ("answers", "scores"):
            row[key] = json.loads(row[key]) if row[key] is not None else None
        row["synced_late"] = bool(row["synced_late"]) if row["response_id"] else None
    return row


def occurrences(db: Database, participant_id: int) -> list[dict[str, Any]]:
    rows = db.query(
        f"{_OCCURRENCE} WHERE o.participant_id = ? ORDER BY o.due_date, o.instrument, o.id",
        [participant_id],
    )
    return [_decoded(r) for r in rows]


def occurrence(db: Database, occurrence_id: int, participant_id: int) -> dict[str, Any] | None:
    """One of this participant's occurrences (None for anybody else's)."""
    row = next(
        db.query(
            f"{_OCCURRENCE} WHERE o.id = ? AND o.participant_id = ?",
            [occurrence_id, participant_id],
        ),
        None,
    )
    return _decoded(row)


def _existing(db: Database, participant_id: int) -> dict[tuple, dict[str, Any]]:
    return {
        (r["instrument"], r["anchor"], r["series"], r["offset_days"]): r
        for r in db.query(
            "SELECT id, instrument, anchor, series, anchor_date, offset_days, due_date, status,"
            " window_opens, window_closes FROM questionnaire_occurrences"
            " WHERE participant_id = ?",
            [participant_id],
        )
    }


def _placed(d: Due) -> dict[str, str]:
    return {
        "anchor_date": d.anchor_date.isoformat(),
        "due_date": d.due_date.isoformat(),
        "window_opens": clock.iso(d.window_opens),
        "window_closes": clock.iso(d.window_closes),
    }


def _plan(
    existing: dict[tuple, dict[str, Any]], due: Iterable[Due]
) -> tuple[list[Due], list[tuple[int, Due]], list[int]]:
    """What brings the pending occurrences in line with the schedule: the occurrences to
    add, the pending ones to move (id, where), and the pending ones to drop (ids).
    Completed and missed ones are never touched."""
    wanted = {d.key: d for d in due}
    add, move = [], []
    for key, d in wanted.items():
        row = existing.get(key)
        if row is None:
            add.append(d)
        elif row["status"] == "pending" and any(row[k] != v for k, v in _placed(d).items()):
            move.append((row["id"], d))
    drop = [r["id"] for k, r in existing.items() if k not in wanted and r["status"] == "pending"]
    return add, move, drop


def in_step(db: Database, participant_id: int, due: Iterable[Due]) -> bool:
    """True when the stored occurrences already match the schedule (read only: the
    common case of a scheduling run takes no write lock)."""
    return not any(_plan(_existing(db, participant_id), due))


def sync_occurrences(
    db: Database, participant_id: int, due: Iterable[Due], tz: str, *, now: datetime
) -> tuple[int, int]:
    """Make the pending occurrences match the schedule: add the new ones, move the
    dates and instants of pending ones the schedule now places elsewhere (a new zone,
    a corrected injection date), and drop pending ones it no longer gives (a voided
    injection). Completed and missed ones stay as they were. Returns (added, dropped)."""
    add, move, drop = _plan(_existing(db, participant_id), due)
    for d in add:
        placed = _placed(d)
        db.execute(
            "INSERT INTO questionnaire_occurrences (participant_id, instrument, anchor,"
            " series, anchor_date, offset_days, due_date, window_opens, window_closes,"
            " timezone, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                participant_id,
                d.instrument,
                d.anchor,
                d.series,
                placed["anchor_date"],
                d.offset_days,
                placed["due_date"],
                placed["window_opens"],
                placed["window_closes"],
                tz,
                clock.iso(now),
            ],
        )
    for occurrence_id, d in move:
        db.execute(
            "UPDATE questionnaire_occurrences SET anchor_date = ?, due_date = ?,"
            " window_opens = ?, window_closes = ?, timezone = ? WHERE id = ?",
            [*_placed(d).values(), tz, occurrence_id],
        )
    dropped = 0
    for occurrence_id in drop:
        cursor = db.execute(
            "DELETE FROM questionnaire_occurrences WHERE id = ? AND status = 'pending'"
            " AND NOT EXISTS (SELECT 1 FROM questionnaire_writes w"
            " WHERE w.occurrence_id = questionnaire_occurrences.id)",
            [occurrence_id],
        )
        dropped += cursor.rowcount
    return len(add), dropped


def close_missed(db: Database, *, now: datetime) -> list[dict[str, Any]]:
    """Mark missed, once, every pending occurrence whose window has closed; return them.
    A closed diary (participant locked, study frozen) waits until it is reopened."""
    return list(
        db.query(
            "UPDATE questionnaire_occurrences SET status = 'missed', missed_at = ?"
            " WHERE status = 'pending' AND window_closes <= ?"
            " AND participant_id NOT IN (SELECT id FROM participants WHERE locked_at IS NOT NULL)"
            " AND NOT EXISTS (SELECT 1 FROM study_freezes WHERE lifted_at IS NULL)"
            " RETURNING id, participant_id, instrument, due_date, window_closes",
            [clock.iso(now), clock.iso(now)],
        )
    )


def write_by_client_id(db: Database, client_id: str) -> dict[str, Any] | None:
    return next(
        db.query("SELECT * FROM questionnaire_writes WHERE client_id = ?", [client_id]), None
    )


def insert_response(db: Database, values: dict[str, Any]) -> int | None:
    """Insert; None when the occurrence already has a response (a race lost)."""
    columns = list(values)
    cursor = db.execute(
        f"INSERT INTO questionnaire_responses ({', '.join(columns)})"
        f" VALUES ({', '.join('?' for _ in columns)}) ON CONFLICT (occurrence_id) DO NOTHING",
        [values[c] for c in columns],
    )
    return cursor.lastrowid if cursor.rowcount == 1 else None


def update_response(db: Database, response_id: int, values: dict[str, Any]) -> None:
    sets = ", ".join(f"{c} = ?" for c in values)
    db.execute(
        f"UPDATE questionnaire_responses SET {sets} WHERE id = ?", [*values.values(), response_id]
    )


def mark_completed(db: Database, occurrence_id: int) -> None:
    db.execute(
        "UPDATE questionnaire_occurrences SET status = 'completed' WHERE id = ?", [occurrence_id]
    )


def record_write(
    db: Database,
    *,
    client_id: str,
    participant_id: int,
    occurrence_id: int,
    request_hash: str,
    version: int,
    received_at: str,
) -> None:
    db.execute(
        "INSERT INTO questionnaire_writes (client_id, participant_id, occurrence_id,"
        " request_hash, version, received_at) VALUES (?, ?, ?, ?, ?, ?)",
        [client_id, participant_id, occurrence_id, request_hash, version, received_at],
    )


def scheduling_participants(db: Database) -> list[dict[str, Any]]:
    """Every participant, with what scheduling needs: status, enrollment, when they left
    and their current zone."""
    return list(
        db.query(
            "SELECT p.id, p.status, p.enrolled_at, p.ended_at,"
            " p.current_timezone AS timezone"
            " FROM participants p ORDER BY p.id"
        )
    )


def site_of(db: Database, participant_id: int) -> int | None:
    row = db.execute("SELECT site_id FROM participants WHERE id = ?", [participant_id]).fetchone()
    return row[0] if row else None


def pending_open(db: Database, participant_id: int, *, now: datetime) -> list[dict[str, Any]]:
    """The participant's questionnaires open now and not answered yet."""
    stamp = clock.iso(now)
    return list(
        db.query(
            "SELECT id, instrument, due_date, window_opens, window_closes, timezone"
            " FROM questionnaire_occurrences WHERE participant_id = ? AND status = 'pending'"
            " AND window_opens <= ? AND window_closes > ? ORDER BY window_closes, id",
            [participant_id, stamp, stamp],
        )
    )
