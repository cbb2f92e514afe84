"""Participant locks and study freezes (SPEC §14): while either holds, nobody writes
the participant's diary data; unlocking takes an admin and a reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from ..errors import APIError
from . import queries


def state(db: Database, participant: dict[str, Any]) -> dict[str, Any] | None:
    """Why a participant's data is closed (their lock, else the study freeze), or None."""
    return _closed(participant, queries.freeze_in_force(db))


def _closed(participant: dict[str, Any], freeze: dict[str, Any] | None) -> dict[str, Any] | None:
    if participant.get("locked_at"):
        return {
            "scope": "participant",
            "locked_at": clock.parse_iso(participant["locked_at"]),
            "locked_by": participant["locked_by"],
            "reason": participant["lock_reason"],
        }
    if freeze:
        return {
            "scope": "study",
            "locked_at": clock.parse_iso(freeze["frozen_at"]),
            "locked_by": freeze["frozen_by"],
            "reason": freeze["reason"],
        }
    return None


def ensure_writable(db: Database, participant_id: int) -> bool:
    """Refuse (409 `locked`) a write to a locked participant's data or in a frozen study.

    Returns whether the participant has a valid signature, read in the same statement
    (inside the write's transaction, before the write): only then need the write
    recheck their signatures (`signatures.recheck(…, signed=…)`)."""
    row = queries.write_state(db, participant_id)
    if row is None:
        return False
    freeze = None
    if row["freeze_frozen_at"] is not None:
        freeze = {
            "frozen_at": row["freeze_frozen_at"],
            "frozen_by": row["freeze_frozen_by"],
            "reason": row["freeze_reason"],
        }
    closed = _closed(row, freeze)
    if closed is None:
        return bool(row["signed"])
    what = (
        "This participant's data is locked"
        if closed["scope"] == "participant"
        else "The study's data is frozen for a data cut"
    )
    raise APIError(
        409,
        f"{what} (since {clock.iso(closed['locked_at'])}): nothing can be changed until "
        "an administrator unlocks it.",
        code="locked",
    )


def synced_too_late(db: Database, made_at: datetime, now: datetime) -> bool:
    """Whether a participant's write made (offline) at `made_at` arrives after its seven
    days to sync (clock.MAX_OFFLINE), not counting the time a study freeze held it back on
    the phone (writes answer 409 locked while it holds): a fever saved during a long data
    cut is still taken once the freeze lifts."""
    waited = now - made_at
    if waited <= clock.MAX_OFFLINE:
        return False
    held = timedelta(0)
    for frozen_at, lifted_at in queries.freezes_between(db, made_at, now):
        start = max(clock.parse_iso(frozen_at), made_at)
        end = min(clock.parse_iso(lifted_at), now) if lifted_at else now
        held += max(end - start, timedelta(0))
    return waited - held > clock.MAX_OFFLINE


def lock(
    db: Database, participant: dict[str, Any], *, reason: str, actor: audit.Actor, now: datetime
) -> None:
    if participant["locked_at"]:
        raise APIError(409, f"{participant['study_id']} is locked already.", code="locked")
    queries.set_lock(db, participant["id"], at=clock.iso(now), by=actor.label, reason=reason)
    audit.record(
        db,
        actor=actor,
        action="participant.lock",
        object_type="participant",
        object_id=participant["study_id"],
        site_id=participant["site_id"],
        participant_id=participant["id"],
        before={"locked": False},
        after={"locked": True},
        reason=reason,
        at=now,
    )


def unlock(
    db: Database, participant: dict[str, Any], *, reason: str, actor: audit.Actor, now: datetime
) -> None:
    if not participant["locked_at"]:
        raise APIError(409, f"{participant['study_id']} is not locked.", code="not_locked")
    queries.set_lock(db, participant["id"], at=None, by=None, reason=None)
    audit.record(
        db,
        actor=actor,
        action="participant.unlock",
        object_type="participant",
        object_id=participant["study_id"],
        site_id=participant["site_id"],
        participant_id=participant["id"],
        before={
            "locked": True,
            "locked_at": participant["locked_at"],
            "locked_by": participant["locked_by"],
            "reason": participant["lock_reason"],
        },
        after={"locked": False},
        reason=reason,
        at=now,
    )


def freeze(db: Database, *, reason: str, actor: audit.Actor, now: datetime) -> dict[str, Any]:
    if queries.freeze_in_force(db):
        raise APIError(409, "The study is frozen already.", code="frozen")
    freeze_id = queries.insert_freeze(db, by=actor.label or actor.type, reason=reason, now=now)
    audit.record(
        db,
        actor=actor,
        action="study.freeze",
        object_type="study",
        object_id=freeze_id,
        after={"frozen": True},
        reason=reason,
        at=now,
    )
    return queries.freeze_in_force(db)


def unfreeze(db: Database, *, reason: str, actor: audit.Actor, now: datetime) -> None:
    current = queries.freeze_in_force(db)
    if current is None:
        raise APIError(409, "The study is not frozen.", code="not_frozen")
    queries.lift_freeze(db, current["id"], by=actor.label or actor.type, reason=reason, now=now)
    audit.record(
        db,
        actor=actor,
        action="study.unfreeze",
        object_type="study",
        object_id=current["id"],
        before={"frozen": True, "frozen_at": current["frozen_at"], "reason": current["reason"]},
        after={"frozen": False},
        reason=reason,
        at=now,
    )
