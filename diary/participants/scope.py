"""The one site-scoped participant lookup every staff endpoint uses, and so the one
place a staff member's read of a participant's record is written to the access log."""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from ..audit import reads
from ..db import get_db
from ..errors import not_found
from . import queries


def scoped_participant(study_id: str) -> dict[str, Any]:
    """The participant if the signed-in staff member's sites include theirs; else 404
    (the same answer whether the participant is elsewhere or does not exist). A GET that
    finds them is recorded as a read of their record (SPEC §15)."""
    db = get_db()
    participant = queries.get_by_study_id(db, study_id, current_user.site_ids)
    if participant is None:
        raise not_found(f"No participant {study_id} at your sites.")
    reads.staff_read(
        db, "participant_read", participant_id=participant["id"], site_id=participant["site_id"]
    )
    return participant
