"""The one site-scoped participant lookup every staff endpoint uses."""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from ..db import get_db
from ..errors import not_found
from . import queries


def scoped_participant(study_id: str) -> dict[str, Any]:
    """The participant if the signed-in staff member's sites include theirs; else 404
    (the same answer whether the participant is elsewhere or does not exist)."""
    participant = queries.get_by_study_id(get_db(), study_id, current_user.site_ids)
    if participant is None:
        raise not_found(f"No participant {study_id} at your sites.")
    return participant
