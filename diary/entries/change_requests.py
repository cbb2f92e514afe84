"""Data change requests (SPEC §14): once a date's window has closed, a participant's
own correction goes through staff. A staff member records what should change, why,
and where it came from; a coordinator applies it with a reason (a data
clarification, which an investigator signs where the protocol says so) or
declines it. Every step is audited and shown in the entry's history."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from ..errors import APIError, not_found
from ..signoff import locks
from ..study import Study
from . import queries
from . import service as entry_service

# The values of an entry a request may change, as the entry body names them.
VALUES = ("back_pain", "leg_pain", "doses", "symptoms", "temperature_c", "note")


def _current_body(db: Database, study: Study, participant_id: int, day: date) -> dict | None:
    rows = entry_service.between(db, study, participant_id, day, day)
    if not rows:
        return None
    entry = rows[0]
    return {
        **{k: entry[k] for k in VALUES if k != "doses"},
        "doses": [{k: d[k] for k in ("drug", "strength", "units")} for d in entry["doses"]],
    }


def record(
    db: Database,
    study: Study,
    *,
    participant: dict[str, Any],
    body: dict[str, Any],
    actor: audit.Actor,
    staff_id: int,
    now: datetime,
) -> int:
    locks.ensure_writable(db, participant["id"])
    day, changes = body["date"], body["changes"]
    first, last = entry_service.expected_range(study, participant)
    if not first <= day <= min(last, clock.local_date(now, participant["timezone"])):
        raise APIError(
            422,
            f"{day.isoformat()} is not a diary date of {participant['study_id']} up to today.",
            fields={"date": ["outside the diary"]},
        )
    if _current_body(db, study, participant["id"], day) is None:
        missing = [k for k in ("back_pain", "leg_pain") if k not in changes]
        if missing:
            raise APIError(
                422,
                "There is no entry for this date yet: the request must give both pain scores.",
                fields={f"changes.{k}": ["required for a date without an entry"] for k in missing},
            )
    request_id = queries.insert_change_request(
        db,
        participant_id=participant["id"],
        day=day,
        changes=changes,
        why=body["why"],
        source=body["source"],
        staff_id=staff_id,
        now=now,
    )
    audit.record(
        db,
        actor=actor,
        action="change_request.record",
        object_type="change_request",
        object_id=request_id,
        site_id=participant["site_id"],
        participant_id=participant["id"],
        after={"date": day.isoformat(), "changes": changes, "source": body["source"]},
        reason=body["why"],
        at=now,
    )
    return request_id


def _open(request: dict[str, Any] | None, request_id: int) -> dict[str, Any]:
    if request is None:
        raise not_found(f"No change request {request_id} at your sites.")
    if request["status"] != "open":
        raise APIError(
            409, f"Change request {request_id} is {request['status']} already.", code="decided"
        )
    return request


def apply(
    db: Database,
    study: Study,
    *,
    request: dict[str, Any] | None,
    request_id: int,
    participant: dict[str, Any],
    reason: str,
    actor: audit.Actor,
    staff_id: int,
    now: datetime,
) -> None:
    """Write the requested values as a data clarification, then mark the request applied."""
    request = _open(request, request_id)
    day = date.fromisoformat(request["date"])
    changes = json.loads(request["changes"])
    body = {
        **(_current_body(db, study, participant["id"], day) or {}),
        **changes,
        "client_id": uuid.uuid4(),
        "device_time": now,
        "reason": f"Change request {request_id}: {reason}",
    }
    body.setdefault("doses", [])
    body.setdefault("symptoms", [])
    body.setdefault("temperature_c", None)
    body.setdefault("note", None)
    entry_service.put_entry(
        db,
        study,
        participant_id=participant["id"],
        day=day,
        body=body,
        actor=actor,
        now=now,
        by_staff=True,
    )
    audit_id = queries.latest_entry_audit_id(db, participant["study_id"], day)
    _decide(
        db,
        request_id,
        "applied",
        participant=participant,
        reason=reason,
        actor=actor,
        staff_id=staff_id,
        now=now,
        clarification_audit_id=audit_id,
    )


def decline(
    db: Database,
    *,
    request: dict[str, Any] | None,
    request_id: int,
    participant: dict[str, Any],
    reason: str,
    actor: audit.Actor,
    staff_id: int,
    now: datetime,
) -> None:
    _open(request, request_id)
    _decide(
        db,
        request_id,
        "declined",
        participant=participant,
        reason=reason,
        actor=actor,
        staff_id=staff_id,
        now=now,
        clarification_audit_id=None,
    )


def _decide(
    db: Database,
    request_id: int,
    status: str,
    *,
    participant: dict[str, Any],
    reason: str,
    actor: audit.Actor,
    staff_id: int,
    now: datetime,
    clarification_audit_id: int | None,
) -> None:
    """Close an open request as applied or declined, with its reason; audited."""
    queries.decide_change_request(
        db,
        request_id,
        status=status,
        staff_id=staff_id,
        reason=reason,
        now=now,
        clarification_audit_id=clarification_audit_id,
    )
    after: dict[str, Any] = {"status": status}
    if clarification_audit_id is not None:
        after["clarification_audit_id"] = clarification_audit_id
    audit.record(
        db,
        actor=actor,
        action=f"change_request.{'apply' if status == 'applied' else 'decline'}",
        object_type="change_request",
        object_id=request_id,
        site_id=participant["site_id"],
        participant_id=participant["id"],
        before={"status": "open"},
        after=after,
        reason=reason,
        at=now,
    )


def present(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "date": date.fromisoformat(row["date"]),
        "changes": json.loads(row["changes"]),
        "requested_at": clock.parse_iso(row["requested_at"]),
        "decided_at": clock.parse_iso(row["decided_at"]) if row["decided_at"] else None,
        "clarification_id": row["clarification_audit_id"],
    }
