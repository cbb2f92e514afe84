"""Helpers for job tests: seed with SQL, run the closing job, snapshot flags and misses."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from diary.db import transaction
from diary.jobs import close_days

SEEDED_AT = "2020-01-01T00:00:00.000000+00:00"


def add_participant(
    db,
    study_id: str,
    *,
    timezone: str = "America/Chicago",
    injections: tuple[date, ...] = (date(2025, 10, 1),),
    site: str = "SITE-A",
    back_pain: int = 4,
    mme: float = 10.0,
    status: str = "active",
) -> dict:
    with transaction(db):
        db.execute(
            "INSERT INTO sites (code, name, timezone, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (code) DO NOTHING",
            [site, site, "America/Chicago", SEEDED_AT],
        )
        site_id = db.execute("SELECT id FROM sites WHERE code = ?", [site]).fetchone()[0]
        pid = db.execute(
            "INSERT INTO participants (study_id, site_id, baseline_back_pain, baseline_mme,"
            " status, enrolled_at) VALUES (?, ?, ?, ?, ?, ?)",
            [study_id, site_id, back_pain, mme, status, SEEDED_AT],
        ).lastrowid
        db.execute(
            "INSERT INTO participant_timezones (participant_id, timezone, effective_from)"
            " VALUES (?, ?, ?)",
            [pid, timezone, SEEDED_AT],
        )
        for day in injections:
            db.execute(
                "INSERT INTO injections (participant_id, date, created_at) VALUES (?, ?, ?)",
                [pid, day.isoformat(), SEEDED_AT],
            )
    return {"id": pid, "site_id": site_id, "study_id": study_id, "timezone": timezone}


def add_entries(db, participant: dict, days: dict[date, tuple[int, float | None]]) -> None:
    """Entries as (back_pain, mme) per date, inserted directly (no doses needed by the jobs)."""
    rows = [
        (
            participant["id"],
            day.isoformat(),
            participant["timezone"],
            pain,
            pain,
            mme,
            f"{day.isoformat()}T20:00:00+00:00",
            SEEDED_AT,
            SEEDED_AT,
            f"{participant['study_id']}-{day.isoformat()}",
        )
        for day, (pain, mme) in days.items()
    ]
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO entries (participant_id, date, timezone, back_pain, leg_pain, mme,"
            " device_time, received_at, updated_at, client_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def run_close(db, study, at: datetime) -> dict:
    return close_days.run(db, now=at, study=study, config={})


def missed(db) -> list[tuple[str, str]]:
    return [
        tuple(r)
        for r in db.execute(
            "SELECT p.study_id, m.date FROM missed_dates m JOIN participants p"
            " ON p.id = m.participant_id ORDER BY 1, 2"
        )
    ]


def flags(db) -> list[tuple]:
    """Every flag as staff see it (ids, keys and timestamps left out)."""
    return [
        (r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]))
        for r in db.execute(
            "SELECT p.study_id, f.kind, f.severity, f.status, f.first_date, f.last_date, f.detail"
            " FROM flags f JOIN participants p ON p.id = f.participant_id"
            " ORDER BY 1, 2, 5"
        )
    ]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def days_between(first: date, last: date):
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
