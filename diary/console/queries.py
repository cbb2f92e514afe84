"""SQL for the console: the audit rows that show how each entry was changed."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlite_utils import Database


def entry_changes(
    db: Database, participant_id: int, study_id: str, start: date, end: date
) -> list[dict[str, Any]]:
    """Corrections of the participant's entries dated start..end, and entries staff
    created (a clarification of a missed date), oldest first."""
    rows = db.query(
        "SELECT id, at, actor_type, actor_label, action, object_id, before, after, reason"
        " FROM audit_log WHERE participant_id = ? AND object_type = 'entry'"
        " AND object_id BETWEEN ? AND ?"
        " AND (action = 'entry.correct' OR actor_type = 'staff') ORDER BY id",
        [participant_id, f"{study_id}/{start.isoformat()}", f"{study_id}/{end.isoformat()}"],
    )
    out = []
    for row in rows:
        row["before"] = json.loads(row["before"]) if row["before"] else None
        row["after"] = json.loads(row["after"]) if row["after"] else None
        out.append(row)
    return out
