"""Participant reminders: at their reminder time, in their current zone, if the day's entry is missing.

The reminder time is wall-clock time in the participant's latest time zone,
so DST days (23 or 25 hours) still get one reminder at that local time; a
time skipped by spring-forward fires just after the gap. A run that comes
late (the scheduler was down) still reminds until the local day ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from sqlite_utils import Database

from .. import clock
from ..db import transaction
from ..notify import outbox, queries
from ..study import Study

JOB_ID = "send_participant_reminders"


def reminder_due(
    participant: dict[str, Any], *, now: datetime, study: Study
) -> tuple[date, datetime] | None:
    """(local date, its end) when this participant's reminder time has passed today."""
    tz = participant["timezone"]
    if not tz or not participant["first_injection"]:
        return None
    today = clock.local_date(now, tz)
    first = date.fromisoformat(participant["first_injection"])
    if not first <= today <= study.last_diary_date(first):
        return None
    text = participant["reminder_time"]
    at = time.fromisoformat(text) if text else study.reminder_default
    if now < clock.local_instant(today, at, tz):
        return None
    return today, clock.day_end(today, tz)


def run(db: Database, *, now: datetime, study: Study, config: Mapping[str, Any]) -> dict[str, Any]:
    summary = {"reminded": 0, "notifications": 0}
    for participant in queries.reminder_candidates(db):
        due = reminder_due(participant, now=now, study=study)
        if due is None:
            continue
        day, day_end = due
        if queries.was_reminded(db, participant["id"], day) or queries.has_entry(
            db, participant["id"], day
        ):
            continue
        with transaction(db):
            if queries.has_entry(db, participant["id"], day):  # written since we looked
                continue
            ids = outbox.enqueue_reminder(
                db, participant_id=participant["id"], local_day=day, expires_at=day_end, now=now
            )
        if ids:
            summary["reminded"] += 1
            summary["notifications"] += len(ids)
    return summary
