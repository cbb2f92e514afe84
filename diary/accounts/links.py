"""Single-use links that set a password: invitations and resets (SPEC §15).

The link carries a random token (256 bits); only its SHA-256 is stored. A link works
once, until it expires, and only while it is the account's newest: issuing another,
using one, or deactivating the account voids the rest. Using one ends every session
of the account."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from ..auth import queries as auth_queries
from ..auth.passwords import check_strength, hash_password
from ..db import transaction
from ..errors import APIError


def void_links(db: Database, staff_id: int, *, now: datetime, keep: int | None = None) -> None:
    """Void the account's unused links (but the link `keep`)."""
    db.execute(
        "UPDATE staff_links SET voided_at = ?"
        " WHERE staff_id = ? AND used_at IS NULL AND voided_at IS NULL AND id != coalesce(?, -1)",
        [clock.iso(now), staff_id, keep],
    )


def issue(
    db: Database,
    staff_id: int,
    *,
    purpose: str,
    lifetime: timedelta,
    now: datetime,
    created_by: int | None = None,
) -> tuple[str, datetime, int]:
    """A new link for the account (inside the caller's transaction): its token, expiry
    and id. Earlier links keep working until one is used (or `void_links` is called
    once the new one has been mailed): nobody can cancel a link by asking for another."""
    token = secrets.token_urlsafe(32)
    expires = now + lifetime
    link_id = db.execute(
        "INSERT INTO staff_links (staff_id, purpose, token_hash, created_at, created_by,"
        " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        [
            staff_id,
            purpose,
            auth_queries.token_hash(token),
            clock.iso(now),
            created_by,
            clock.iso(expires),
        ],
    ).lastrowid
    return token, expires, link_id


def _link_invalid() -> APIError:
    return APIError(
        404,
        "This link has expired or was used already. Ask for a new one from the sign-in page"
        " (Forgot your password?) or from your study's administrator.",
        code="link_invalid",
    )


def lookup(db: Database, token: str, *, now: datetime) -> dict[str, Any]:
    """The link and its account, or 404 `link_invalid` (unknown, used, voided, expired,
    or the account is inactive): the answer is the same for each."""
    if not token or len(token) > 100:
        raise _link_invalid()
    row = next(
        db.query(
            "SELECT l.*, s.email, s.full_name, s.active FROM staff_links l"
            " JOIN staff s ON s.id = l.staff_id WHERE l.token_hash = ?",
            [auth_queries.token_hash(token)],
        ),
        None,
    )
    if (
        row is None
        or row["used_at"]
        or row["voided_at"]
        or not row["active"]
        or clock.parse_iso(row["expires_at"]) <= now
    ):
        raise _link_invalid()
    return row


def use(db: Database, token: str, new_password: str, *, now: datetime) -> dict[str, Any]:
    """Set the account's password from a link: once, and every session of the account
    ends (whoever else was signed in as them is signed out)."""
    link = lookup(db, token, now=now)
    check_strength(new_password, email=link["email"], full_name=link["full_name"])
    password_hash = hash_password(new_password)  # slow: before the write lock
    with transaction(db):
        link = lookup(db, token, now=now)  # again, under the lock: used once only
        db.execute("UPDATE staff_links SET used_at = ? WHERE id = ?", [clock.iso(now), link["id"]])
        void_links(db, link["staff_id"], now=now)
        db.execute(
            "UPDATE staff SET password_hash = ?, password_changed_at = ? WHERE id = ?",
            [password_hash, clock.iso(now), link["staff_id"]],
        )
        ended = auth_queries.end_staff_sessions(db, link["staff_id"], "password_reset", now=now)
        audit.record(
            db,
            actor=audit.Actor("staff", str(link["staff_id"]), link["email"]),
            action="staff.password_set"
            if link["purpose"] == "invitation"
            else "staff.password_reset",
            object_type="staff",
            object_id=link["staff_id"],
            after={"link": link["id"], "sessions_ended": ended},
            at=now,
        )
    return link
