"""Helpers for notification tests: run jobs as of an instant, write entries, open flags."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from diary import audit, clock
from diary.db import transaction
from diary.flags import episodes as flag_episodes
from diary.flags.rules import Finding, Thresholds
from diary.jobs import deliver, digests, escalations, reminders
from diary.notify import queries as notify_queries

JOBS = {
    "deliver": deliver,
    "reminders": reminders,
    "digests": digests,
    "escalations": escalations,
}


def run(app, db, job: str, at: datetime) -> dict:
    """Run one job module as of `at`, the way the runner calls it."""
    return JOBS[job].run(db, now=at, study=app.extensions["diary.study"], config=app.config)


def local(day: date, hhmm: str, tz: str = "America/Chicago") -> datetime:
    """Wall-clock time in `tz` → aware UTC instant (first occurrence when ambiguous)."""
    return (
        datetime.combine(day, time.fromisoformat(hhmm)).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
    )


def entry_body(*, symptoms=(), note=None, device_time: datetime | None = None) -> dict:
    return {
        "client_id": str(uuid.uuid4()),
        "back_pain": 3,
        "leg_pain": 2,
        "doses": [],
        "symptoms": list(symptoms),
        "note": note,
        "device_time": (device_time or clock.now()).isoformat(),
    }


def participant(db, study_id: str) -> dict:
    return next(db.query("SELECT * FROM participants WHERE study_id = ?", [study_id]))


def flag_ids(db, study_id: str) -> list[int]:
    return [
        r[0]
        for r in db.execute(
            "SELECT f.id FROM flags f JOIN participants p ON p.id = f.participant_id"
            " WHERE p.study_id = ? ORDER BY f.id",
            [study_id],
        )
    ]


def open_flag(
    db,
    study_id: str,
    *,
    kind: str = "pain_flare",
    severity: str = "high",
    day: date,
    now: datetime,
    detail: dict | None = None,
    episode_key: str | None = None,
) -> int:
    """Open (or update) a flag the way jobs do: the flag engine's upsert in a transaction."""
    p = participant(db, study_id)
    finding = Finding(kind, severity, day, day, detail or {"max_back_pain": 9, "days": 1})
    with transaction(db):
        flag_id, _ = flag_episodes.upsert(
            db,
            Thresholds(),
            participant=p,
            finding=finding,
            episode_key=episode_key or day.isoformat(),
            actor=audit.system("test"),
            now=now,
        )
    return flag_id


def outbox(db, **where) -> list[dict]:
    return notify_queries.outbox_rows(db, **where)


def acknowledge(db, flag_id: int, *, at: datetime, staff_id: int | None = None) -> None:
    with transaction(db):
        db.execute(
            "UPDATE flags SET status = 'acknowledged', acknowledged_at = ?, acknowledged_by = ?"
            " WHERE id = ?",
            [clock.iso(at), staff_id, flag_id],
        )
