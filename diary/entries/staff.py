"""A participant's entries as staff see them, and documented data clarifications (SPEC §6)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from .. import audit
from ..study import Study
from . import change_requests, queries
from . import service as entry_service

# What a correction shows: the values a reader of the diary cares about.
SHOWN = (
    "back_pain",
    "leg_pain",
    "doses",
    "symptoms",
    "temperature_c",
    "note",
    "mme",
    "mme_unconverted",
)


def _correction(row: dict[str, Any]) -> dict[str, Any]:
    before, after = row["before"] or {}, row["after"] or {}
    changed = [k for k in SHOWN if before.get(k) != after.get(k)]
    return {
        "version": after.get("version"),
        "at": row["at"],
        "actor": row["actor_label"],
        "actor_type": row["actor_type"],
        "action": row["action"],
        "reason": row["reason"],
        "before": {k: before.get(k) for k in changed} if row["before"] else None,
        "after": {k: after.get(k) for k in changed},
    }


def with_corrections(
    db: Database, study: Study, participant: dict[str, Any], start: date, end: date
) -> list[dict[str, Any]]:
    """Entries dated start..end, each with the corrections the audit trail holds."""
    entries = entry_service.between(db, study, participant["id"], start, end)
    changes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in queries.entry_changes(db, participant["id"], participant["study_id"], start, end):
        changes[row["object_id"].rsplit("/", 1)[1]].append(_correction(row))
    requests: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in queries.change_requests(db, participant["id"], start, end):
        requests[row["date"]].append(change_requests.present(row))
    return [
        {
            **e,
            "corrections": changes.get(e["date"].isoformat(), []),
            "change_requests": requests.get(e["date"].isoformat(), []),
        }
        for e in entries
    ]


def clarify(
    db: Database,
    study: Study,
    *,
    participant: dict[str, Any],
    day: date,
    body: dict[str, Any],
    actor: audit.Actor,
    now: datetime,
) -> tuple[dict[str, Any], int]:
    """A staff data clarification: write the entry, inside or after its window, with a reason."""
    entry, status = entry_service.put_entry(
        db,
        study,
        participant_id=participant["id"],
        day=day,
        body=body,
        actor=actor,
        now=now,
        by_staff=True,
    )
    entry.pop("alerts", None)  # advice for the participant, not for staff
    shown = with_corrections(db, study, participant, day, day)
    return (shown[0] if shown else entry), status
