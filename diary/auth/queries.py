"""SQL for staff accounts, sites, sessions and activation attempts."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from .. import clock


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- sites -----------------------------------------------------------------


def site_by_code(db: Database, code: str) -> dict[str, Any] | None:
    return next(db.query("SELECT * FROM sites WHERE code = ?", [code]), None)


def ensure_site(db: Database, code: str, timezone: str, *, now: datetime) -> tuple[dict, bool]:
    """Return the site with `code`, creating it (with `timezone`) when missing."""
    db.execute(
        "INSERT INTO sites (code, name, timezone, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (code) DO NOTHING",
        [code, code, timezone, clock.iso(now)],
    )
    created = db.conn.execute("SELECT changes()").fetchone()[0] == 1
    return site_by_code(db, code), created


def list_sites(db: Database, site_ids: set[int] | None) -> list[dict[str, Any]]:
    if site_ids is None:
        return list(db.query("SELECT * FROM sites ORDER BY code"))
    marks = ", ".join("?" for _ in site_ids)
    return list(
        db.query(f"SELECT * FROM sites WHERE id IN ({marks}) ORDER BY code", sorted(site_ids))
    )  # noqa: S608


# --- staff -----------------------------------------------------------------


def staff_by_email(db: Database, email: str) -> dict[str, Any] | None:
    return next(db.query("SELECT * FROM staff WHERE email = ?", [email.strip()]), None)


def staff_by_id(db: Database, staff_id: int) -> dict[str, Any] | None:
    return next(db.query("SELECT * FROM staff WHERE id = ?", [staff_id]), None)


def touch_participant(db: Database, participant_id: int, *, now: datetime) -> None:
    """When the participant was last seen (the console's reachability)."""
    db.execute(
        "UPDATE participants SET last_seen_at = ? WHERE id = ?", [clock.iso(now), participant_id]
    )


def staff_site_ids(db: Database, staff_id: int) -> set[int]:
    return {
        r["site_id"]
        for r in db.query("SELECT site_id FROM staff_sites WHERE staff_id = ?", [staff_id])
    }


def insert_staff(
    db: Database,
    *,
    email: str,
    password_hash: str,
    role: str,
    now: datetime,
    full_name: str | None = None,
) -> int:
    cursor = db.execute(
        "INSERT INTO staff (email, password_hash, role, created_at, full_name)"
        " VALUES (?, ?, ?, ?, ?)",
        [email.strip(), password_hash, role, clock.iso(now), full_name],
    )
    return cursor.lastrowid


def add_staff_site(db: Database, staff_id: int, site_id: int) -> None:
    db.execute(
        "INSERT INTO staff_sites (staff_id, site_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [staff_id, site_id],
    )


def record_login_success(
    db: Database, staff_id: int, *, now: datetime, password_hash: str | None = None
) -> None:
    db.execute(
        "UPDATE staff SET last_login_at = ?,"
        " password_hash = coalesce(?, password_hash) WHERE id = ?",
        [clock.iso(now), password_hash, staff_id],
    )


# --- sessions --------------------------------------------------------------


def create_session(
    db: Database,
    *,
    kind: str,
    staff_id: int | None = None,
    participant_id: int | None = None,
    now: datetime,
) -> str:
    """Insert a server-side session; return the token the cookie carries (never stored)."""
    token = secrets.token_urlsafe(32)
    stamp = clock.iso(now)
    db.execute(
        "INSERT INTO sessions (token_hash, kind, staff_id, participant_id, created_at, last_seen_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [token_hash(token), kind, staff_id, participant_id, stamp, stamp],
    )
    return token


def session_by_token(db: Database, token: str) -> dict[str, Any] | None:
    return next(
        db.query(
            "SELECT * FROM sessions WHERE token_hash = ? AND ended_at IS NULL", [token_hash(token)]
        ),
        None,
    )


def session_for_request(db: Database, token: str) -> dict[str, Any] | None:
    """The open session behind a cookie's token, with what a participant's session needs
    of its participant (`participant`: id, study_id, site_id, status; None for staff or
    when the row is gone): one statement for what every participant request loads."""
    row = next(
        db.query(
            "SELECT s.*, p.study_id AS p_study_id, p.site_id AS p_site_id,"
            " p.status AS p_status FROM sessions s"
            " LEFT JOIN participants p ON p.id = s.participant_id"
            " WHERE s.token_hash = ? AND s.ended_at IS NULL",
            [token_hash(token)],
        ),
        None,
    )
    if row is None:
        return None
    study_id, site_id, status = row.pop("p_study_id"), row.pop("p_site_id"), row.pop("p_status")
    row["participant"] = (
        None
        if study_id is None
        else {
            "id": row["participant_id"],
            "study_id": study_id,
            "site_id": site_id,
            "status": status,
        }
    )
    return row


def touch_session(db: Database, session_id: int, *, now: datetime) -> None:
    db.execute("UPDATE sessions SET last_seen_at = ? WHERE id = ?", [clock.iso(now), session_id])


def end_session(db: Database, session_id: int, reason: str, *, now: datetime) -> None:
    db.execute(
        "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL",
        [clock.iso(now), reason, session_id],
    )


def end_staff_sessions(
    db: Database, staff_id: int, reason: str, *, now: datetime, keep: int | None = None
) -> int:
    """End the account's open sessions (but the one `keep`, when given)."""
    cursor = db.execute(
        "UPDATE sessions SET ended_at = ?, end_reason = ? "
        "WHERE staff_id = ? AND ended_at IS NULL AND id != coalesce(?, -1)",
        [clock.iso(now), reason, staff_id, keep],
    )
    return cursor.rowcount


def end_participant_sessions(
    db: Database, participant_id: int, reason: str, *, now: datetime
) -> int:
    cursor = db.execute(
        "UPDATE sessions SET ended_at = ?, end_reason = ? "
        "WHERE participant_id = ? AND ended_at IS NULL",
        [clock.iso(now), reason, participant_id],
    )
    return cursor.rowcount


# --- activation attempts ----------------------------------------------------


def recent_activation_failures(
    db: Database, client_key: str, *, since: datetime
) -> tuple[int, str | None]:
    row = db.execute(
        "SELECT count(*), min(failed_at) FROM activation_failures WHERE client_key = ? AND failed_at > ?",
        [client_key, clock.iso(since)],
    ).fetchone()
    return row[0], row[1]


def record_activation_failure(
    db: Database, client_key: str, *, now: datetime, keep_after: datetime
) -> None:
    db.execute(
        "DELETE FROM activation_failures WHERE client_key = ? AND failed_at <= ?",
        [client_key, clock.iso(keep_after)],
    )
    db.execute(
        "INSERT INTO activation_failures (client_key, failed_at) VALUES (?, ?)",
        [client_key, clock.iso(now)],
    )
