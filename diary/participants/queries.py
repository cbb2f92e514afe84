"""SQL for participants, their time-zone history, injections and activation codes."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from .. import clock

# The zone in effect now (the latest history row) and day 0 (the first injection) are
# read as the participant's row keeps them (migration 0018's triggers derive them from
# the histories; `integrity.derived` compares).
_SUMMARY = """
SELECT p.id, p.study_id, p.site_id, s.code AS site, p.baseline_back_pain, p.baseline_mme,
       p.reminder_time, p.notifications_enabled, p.status, p.enrolled_at, p.activated_at,
       p.last_seen_at, p.ended_at, p.baseline_opioids, p.current_timezone AS timezone,
       p.locked_at, p.locked_by, p.lock_reason,
       p.first_injection_date AS first_injection,
       (SELECT max(date) FROM injections i WHERE i.participant_id = p.id) AS latest_injection
FROM participants p JOIN sites s ON s.id = p.site_id
"""  # noqa: S608


def _site_filter(site_ids: set[int] | frozenset[int] | None, column: str = "p.site_id"):
    if site_ids is None:
        return "1 = 1", []
    if not site_ids:
        return "0 = 1", []
    return f"{column} IN ({', '.join('?' for _ in site_ids)})", sorted(site_ids)


def get_by_study_id(db: Database, study_id: str, site_ids=None) -> dict[str, Any] | None:
    """One participant, or None when unknown or outside `site_ids` (None: every site)."""
    where, params = _site_filter(site_ids)
    return _decoded(
        next(db.query(f"{_SUMMARY} WHERE p.study_id = ? AND {where}", [study_id, *params]), None)
    )


def get_by_id(db: Database, participant_id: int) -> dict[str, Any] | None:
    return _decoded(next(db.query(f"{_SUMMARY} WHERE p.id = ?", [participant_id]), None))


def site_phone(db: Database, participant_id: int) -> str | None:
    """The phone number of the participant's own site (None when it has none)."""
    row = next(
        db.query(
            "SELECT s.phone FROM participants p JOIN sites s ON s.id = p.site_id WHERE p.id = ?",
            [participant_id],
        ),
        None,
    )
    return row["phone"] if row else None


def _decoded(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is not None:
        row["baseline_opioids"] = json.loads(row["baseline_opioids"])
    return row


def _list_filter(
    site_ids,
    *,
    site_code: str | None = None,
    search: str | None = None,
    injected_from: date | None = None,
    injected_to: date | None = None,
) -> tuple[str, list[Any]]:
    where, params = _site_filter(site_ids)
    clauses = [where]
    if site_code:
        clauses.append("s.code = ?")
        params.append(site_code)
    if search:
        clauses.append("p.study_id LIKE ? ESCAPE '\\'")
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params.append(f"%{escaped}%")
    # Day 0 (the first injection) within the dates asked for.
    first = "p.first_injection_date"
    if injected_from:
        clauses.append(f"{first} >= ?")
        params.append(injected_from.isoformat())
    if injected_to:
        clauses.append(f"{first} <= ?")
        params.append(injected_to.isoformat())
    return " AND ".join(clauses), params


def list_participants(
    db: Database,
    site_ids=None,
    *,
    after: str | None = None,
    limit: int = 500,
    **filters: Any,
) -> list[dict[str, Any]]:
    """Participants by study ID, the first `limit` after the study ID `after`; `filters`:
    a site code, part of the study ID (search), the first injection's dates (from, to)."""
    where, params = _list_filter(site_ids, **filters)
    if after is not None:
        where += " AND p.study_id > ?"
        params.append(after)
    sql = f"{_SUMMARY} WHERE {where} ORDER BY p.study_id LIMIT ?"
    return [_decoded(r) for r in db.query(sql, [*params, limit])]


def count_participants(db: Database, site_ids=None, **filters: Any) -> int:
    """How many participants list_participants lists with no limit."""
    where, params = _list_filter(site_ids, **filters)
    sql = f"SELECT count(*) FROM participants p JOIN sites s ON s.id = p.site_id WHERE {where}"
    return db.execute(sql, params).fetchone()[0]


def injections(db: Database, participant_id: int) -> list[date]:
    return [
        date.fromisoformat(r["date"])
        for r in db.query(
            "SELECT date FROM injections WHERE participant_id = ? ORDER BY date", [participant_id]
        )
    ]


def insert_participant(
    db: Database,
    *,
    study_id: str,
    site_id: int,
    baseline_back_pain: int,
    baseline_mme: float,
    reminder_time: str | None,
    now: datetime,
    baseline_opioids: Iterable[str] = (),
) -> int:
    cursor = db.execute(
        "INSERT INTO participants (study_id, site_id, baseline_back_pain, baseline_mme,"
        " baseline_opioids, reminder_time, enrolled_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            study_id,
            site_id,
            baseline_back_pain,
            baseline_mme,
            json.dumps(sorted(set(baseline_opioids))),
            reminder_time,
            clock.iso(now),
        ],
    )
    return cursor.lastrowid


def add_timezone(db: Database, participant_id: int, timezone: str, *, now: datetime) -> None:
    db.execute(
        "INSERT INTO participant_timezones (participant_id, timezone, effective_from)"
        " VALUES (?, ?, ?)"
        # Two changes within one clock tick: the later one wins, never a 500.
        " ON CONFLICT (participant_id, effective_from) DO UPDATE SET timezone = excluded.timezone",
        [participant_id, timezone, clock.iso(now)],
    )


def timezone_history(db: Database, participant_id: int) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT timezone, effective_from FROM participant_timezones"
            " WHERE participant_id = ? ORDER BY effective_from, id",
            [participant_id],
        )
    )


def add_injection(db: Database, participant_id: int, day: date, *, now: datetime) -> bool:
    cursor = db.execute(
        "INSERT INTO injections (participant_id, date, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT (participant_id, date) DO NOTHING",
        [participant_id, day.isoformat(), clock.iso(now)],
    )
    return cursor.rowcount == 1


def void_injection(
    db: Database,
    participant_id: int,
    day: date,
    *,
    staff_id: int | None,
    reason: str,
    corrected_to: date | None,
    now: datetime,
) -> bool:
    """Move one live injection to voided_injections; False when there is none that day."""
    db.execute(
        "INSERT INTO voided_injections (participant_id, date, created_at, voided_at,"
        " voided_by_staff_id, reason, corrected_to)"
        " SELECT participant_id, date, created_at, ?, ?, ?, ? FROM injections"
        " WHERE participant_id = ? AND date = ?",
        [
            clock.iso(now),
            staff_id,
            reason,
            corrected_to.isoformat() if corrected_to else None,
            participant_id,
            day.isoformat(),
        ],
    )
    cursor = db.execute(
        "DELETE FROM injections WHERE participant_id = ? AND date = ?",
        [participant_id, day.isoformat()],
    )
    return cursor.rowcount == 1


def voided_injections(db: Database, participant_id: int) -> list[dict[str, Any]]:
    rows = db.query(
        "SELECT v.date, v.voided_at, s.email AS voided_by, v.reason, v.corrected_to"
        " FROM voided_injections v LEFT JOIN staff s ON s.id = v.voided_by_staff_id"
        " WHERE v.participant_id = ? ORDER BY v.voided_at, v.id",
        [participant_id],
    )
    return [
        {
            **r,
            "date": date.fromisoformat(r["date"]),
            "corrected_to": date.fromisoformat(r["corrected_to"]) if r["corrected_to"] else None,
        }
        for r in rows
    ]


def update_participant(db: Database, participant_id: int, changes: dict[str, Any]) -> None:
    allowed = {
        "baseline_back_pain",
        "baseline_mme",
        "reminder_time",
        "notifications_enabled",
        "status",
        "ended_at",
        "activated_at",
        "baseline_opioids",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    if "baseline_opioids" in changes:
        changes = {**changes, "baseline_opioids": json.dumps(changes["baseline_opioids"])}
    if changes:
        db.table("participants").update(participant_id, changes)


# --- activation codes -------------------------------------------------------


def insert_activation_code(
    db: Database,
    participant_id: int,
    code_hash: str,
    *,
    expires_at: datetime,
    staff_id: int | None,
    now: datetime,
) -> None:
    db.execute(
        "INSERT INTO activation_codes (participant_id, code_hash, created_at, expires_at,"
        " created_by_staff_id) VALUES (?, ?, ?, ?, ?)",
        [participant_id, code_hash, clock.iso(now), clock.iso(expires_at), staff_id],
    )


def revoke_activation_codes(db: Database, participant_id: int, *, now: datetime) -> int:
    cursor = db.execute(
        "UPDATE activation_codes SET revoked_at = ? "
        "WHERE participant_id = ? AND used_at IS NULL AND revoked_at IS NULL",
        [clock.iso(now), participant_id],
    )
    return cursor.rowcount


def claim_activation_code(db: Database, code_hash: str, *, now: datetime) -> int | None:
    """Mark a live code used; return its participant id, or None for any kind of bad code."""
    row = db.execute(
        "UPDATE activation_codes SET used_at = ? "
        "WHERE code_hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ? "
        "AND participant_id IN (SELECT id FROM participants WHERE status = 'active') "
        "RETURNING participant_id",
        [clock.iso(now), code_hash, clock.iso(now)],
    ).fetchall()
    return row[0][0] if row else None


def activation_state(db: Database, participant_id: int, *, now: datetime) -> dict[str, Any]:
    row = db.execute(
        "SELECT max(created_at), max(expires_at) FROM activation_codes "
        "WHERE participant_id = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
        [participant_id, clock.iso(now)],
    ).fetchone()
    return {"pending_code_issued_at": row[0], "pending_code_expires_at": row[1]}
