"""Attempts to reach a participant about a flag — when, how, what came of it, a note —
that coordinators and investigators add to from the flag's screen. Each is audited
in the transaction that records it, and never changed afterwards."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from ..errors import INVALID_FIELDS, APIError
from . import queries

METHODS = ("phone", "sms", "email", "in_person", "other")
OUTCOMES = ("reached", "left_message", "no_answer", "wrong_contact", "other")

# A clock a little ahead of the server's is no reason to refuse an attempt just made.
_CLOCK_SKEW = timedelta(minutes=5)


def record(
    db: Database,
    *,
    flag: dict[str, Any],
    body: dict[str, Any],
    actor: audit.Actor,
    staff_id: int,
    now: datetime,
) -> dict[str, Any]:
    """Add one attempt to the flag's log (inside the caller's transaction), audited."""
    attempted_at = body["attempted_at"]
    if attempted_at > now + _CLOCK_SKEW:
        raise APIError(
            422,
            INVALID_FIELDS,
            fields={"attempted_at": ["Enter when the attempt was made: not a time to come."]},
        )
    note = (body.get("note") or "").strip() or None
    attempt_id = queries.insert_contact_attempt(
        db,
        flag_id=flag["id"],
        participant_id=flag["participant_id"],
        attempted_at=attempted_at,
        method=body["method"],
        outcome=body["outcome"],
        note=note,
        staff_id=staff_id,
        now=now,
    )
    audit.record(
        db,
        actor=actor,
        action="contact_attempt.record",
        object_type="contact_attempt",
        object_id=attempt_id,
        site_id=flag["site_id"],
        participant_id=flag["participant_id"],
        after={
            "flag_id": flag["id"],
            "attempted_at": clock.iso(attempted_at),
            "method": body["method"],
            "outcome": body["outcome"],
            "note": note,
        },
        at=now,
    )
    return next(a for a in attempts(db, [flag["id"]]) if a["id"] == attempt_id)


def attempts(db: Database, flag_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The attempts about these flags, the latest first, as the API shows them."""
    return [
        {
            **row,
            "attempted_at": clock.parse_iso(row["attempted_at"]),
            "recorded_at": clock.parse_iso(row["recorded_at"]),
        }
        for row in queries.contact_attempts(db, flag_ids)
    ]
