"""Who signed in, who tried, and who read which participant's record or export
(SPEC §15, HIPAA 164.312(b)). Unlike the audit trail it records reads, not changes;
rows carry no password, code, token or note."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from .. import clock
from ..db import transaction

EVENTS = (
    "sign_in",
    "sign_in_failed",
    "second_factor_failed",
    "recovery_code_used",
    "sign_out",
    "password_reset_requested",
    "participant_read",
    "export_read",
    "access_log_read",
)


def record(
    db: Database,
    *,
    event: str,
    now: datetime | None = None,
    client: str | None = None,
    staff_id: int | None = None,
    account: str | None = None,
    participant_id: int | None = None,
    site_id: int | None = None,
    object: str | None = None,  # noqa: A002 - the column's name
) -> int:
    """Append one access row, in the caller's transaction or in its own."""
    if event not in EVENTS:
        raise ValueError(f"unknown access event {event!r}")
    with transaction(db):
        return db.execute(
            "INSERT INTO access_log (at, event, staff_id, account, client, participant_id,"
            " site_id, object) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                clock.iso(now or clock.now()),
                event,
                staff_id,
                account.strip().lower()[:254] if account else None,
                (client or "")[:64] or None,
                participant_id,
                site_id,
                object[:200] if object else None,
            ],
        ).lastrowid
