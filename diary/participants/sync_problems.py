"""What a participant's phone reports it could not send (SPEC §11): an item the server
refused for good, parked on the phone, or one that keeps meeting server errors. The
study team sees them with the participant's reachability."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from ..db import transaction

SHOWN_FOR = timedelta(days=30)


def report(db: Database, *, participant: Any, body: dict[str, Any], now: datetime) -> None:
    stamp = clock.iso(now)
    with transaction(db):
        (reports,) = db.execute(
            "INSERT INTO sync_problems (participant_id, client_id, kind, date, occurrence_id,"
            " http_status, code, first_reported_at, last_reported_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (participant_id, client_id, code) DO UPDATE SET"
            " reports = reports + 1, last_reported_at = excluded.last_reported_at,"
            " http_status = excluded.http_status RETURNING reports",
            [
                participant.participant_id,
                str(body["client_id"]),
                body["kind"],
                body["date"].isoformat() if body.get("date") else None,
                body.get("occurrence_id"),
                body["status"],
                body["code"],
                stamp,
                stamp,
            ],
        ).fetchone()
        if reports == 1:  # the first report of it is audited; repeats only count
            audit.record(
                db,
                actor=participant.actor,
                action="sync_problem.report",
                object_type="sync_problem",
                object_id=str(body["client_id"]),
                participant_id=participant.participant_id,
                site_id=participant.site_id,
                after={
                    "kind": body["kind"],
                    "date": body["date"].isoformat() if body.get("date") else None,
                    "status": body["status"],
                    "code": body["code"],
                },
                at=now,
            )


def recent(db: Database, participant_id: int, *, now: datetime) -> list[dict[str, Any]]:
    """The phone's problems of the last 30 days that no accepted entry has since replaced."""
    return list(
        db.query(
            "SELECT sp.kind, sp.date, sp.occurrence_id, sp.http_status AS status, sp.code,"
            " sp.first_reported_at, sp.last_reported_at, sp.reports"
            " FROM sync_problems sp WHERE sp.participant_id = ? AND sp.last_reported_at > ?"
            " AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.participant_id = sp.participant_id"
            "   AND sp.kind = 'entry' AND e.date = sp.date AND e.updated_at > sp.last_reported_at)"
            " ORDER BY sp.last_reported_at DESC LIMIT 20",
            [participant_id, clock.iso(now - SHOWN_FOR)],
        )
    )
