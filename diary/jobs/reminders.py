"""Participant reminders: at their reminder time, in their current zone, if the day's entry is missing.

Questionnaires are reminded at the same time of day, twice at most: on the local
date their window opens and on its last local date, each once and only while the
questionnaire is still unanswered (SPEC §13).

The reminder time is wall-clock time in the participant's latest time zone,
so DST days (23 or 25 hours) still get one reminder at that local time; a
time skipped by spring-forward fires just after the gap. A run that comes
late (the scheduler was down) still reminds until the local day ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlite_utils import Database

from .. import clock
from ..db import transaction
from ..notify import outbox, queries
from ..questionnaires import catalog
from ..questionnaires import queries as questionnaire_queries
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


def reminder_time_passed(participant: dict[str, Any], *, now: datetime, study: Study) -> bool:
    tz = participant["timezone"]
    if not tz:
        return False
    text = participant["reminder_time"]
    at = time.fromisoformat(text) if text else study.reminder_default
    return now >= clock.local_instant(clock.local_date(now, tz), at, tz)


def questionnaire_reminders(
    db: Database, participant: dict[str, Any], *, now: datetime, study: Study, titles
) -> int:
    """Push the reminders of the participant's open questionnaires due today; how many."""
    if not study.questionnaires or not reminder_time_passed(participant, now=now, study=study):
        return 0
    tz = participant["timezone"]
    today = clock.local_date(now, tz)
    sent = 0
    for occurrence in questionnaire_queries.pending_open(db, participant["id"], now=now):
        closes = clock.parse_iso(occurrence["window_closes"])
        first = clock.local_date(clock.parse_iso(occurrence["window_opens"]), tz)
        last = clock.local_date(closes - timedelta(microseconds=1), tz)
        which = "last_day" if today == last else "window_opens" if today == first else None
        if which is None:
            continue
        with transaction(db):
            sent += len(
                outbox.enqueue_questionnaire_reminder(
                    db,
                    participant_id=participant["id"],
                    occurrence=occurrence,
                    title=titles.get(occurrence["instrument"], occurrence["instrument"]),
                    which=which,
                    expires_at=min(closes, clock.day_end(today, tz)),
                    now=now,
                )
            )
    return sent


def run(db: Database, *, now: datetime, study: Study, config: Mapping[str, Any]) -> dict[str, Any]:
    summary = {"reminded": 0, "notifications": 0, "questionnaire_notifications": 0}
    instruments = catalog.for_study(study, config.get("DIARY_CONTENT_DIR"))
    titles = {code: i.title for code, i in instruments.items()}
    for participant in queries.reminder_candidates(db):
        summary["questionnaire_notifications"] += questionnaire_reminders(
            db, participant, now=now, study=study, titles=titles
        )
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
