"""The flag lifecycle (open → acknowledged → resolved) and adverse events; every step audited."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from ..errors import APIError
from ..notify import queries as notify_queries
from ..study import Study
from . import queries

_AE_FIELDS = ("ctcae_grade", "serious", "related", "note")


def _conflict(flag: dict[str, Any], wanted: str) -> APIError:
    return APIError(
        409,
        f"Flag {flag['id']} is {flag['status']}; only a flag that is {wanted} can be changed so.",
        code="flag_state",
    )


def acknowledge(
    db: Database, *, flag: dict[str, Any], actor: audit.Actor, staff_id: int, now: datetime
) -> None:
    """Mark an open flag seen (inside the caller's transaction)."""
    if not queries.acknowledge(db, flag["id"], staff_id=staff_id, now=now):
        raise _conflict(flag, "open")
    audit.record(
        db,
        actor=actor,
        action="flag.acknowledge",
        object_type="flag",
        object_id=flag["id"],
        site_id=flag["site_id"],
        participant_id=flag["participant_id"],
        before={"status": flag["status"]},
        after={"status": "acknowledged"},
        at=now,
    )


def resolve(
    db: Database,
    study: Study,
    *,
    flag: dict[str, Any],
    body: dict[str, Any],
    actor: audit.Actor,
    staff_id: int,
    now: datetime,
) -> None:
    """Resolve a flag; an adverse_event outcome also records the adverse event."""
    note = body.get("note")
    if not queries.resolve(
        db, flag["id"], staff_id=staff_id, outcome=body["outcome"], note=note, now=now
    ):
        raise _conflict(flag, "open or acknowledged")
    after: dict[str, Any] = {"status": "resolved", "outcome": body["outcome"], "note": note}
    if body["outcome"] == "adverse_event":
        ae = {
            "source": "flag",
            "term": body.get("term") or adverse_event_term(study, flag),
            "onset_date": date.fromisoformat(flag["first_date"]),
            **{k: body.get(k) for k in _AE_FIELDS},
        }
        ae_id = queries.insert_adverse_event(
            db,
            participant_id=flag["participant_id"],
            flag_id=flag["id"],
            staff_id=staff_id,
            now=now,
            **ae,
        )
        after["adverse_event"] = {"id": ae_id, **ae, "onset_date": ae["onset_date"].isoformat()}
    audit.record(
        db,
        actor=actor,
        action="flag.resolve",
        object_type="flag",
        object_id=flag["id"],
        site_id=flag["site_id"],
        participant_id=flag["participant_id"],
        before={"status": flag["status"]},
        after=after,
        at=now,
    )


def record_adverse_event(
    db: Database,
    *,
    participant: dict[str, Any],
    body: dict[str, Any],
    actor: audit.Actor,
    staff_id: int,
    now: datetime,
) -> int:
    """An adverse event that no flag raised (interview, clinical exam, diary review)."""
    values = {
        "source": body["source"],
        "term": body["term"],
        "onset_date": body["onset_date"],
        **{k: body.get(k) for k in _AE_FIELDS},
    }
    ae_id = queries.insert_adverse_event(
        db, participant_id=participant["id"], flag_id=None, staff_id=staff_id, now=now, **values
    )
    audit.record(
        db,
        actor=actor,
        action="adverse_event.record",
        object_type="adverse_event",
        object_id=ae_id,
        site_id=participant["site_id"],
        participant_id=participant["id"],
        after={**values, "onset_date": values["onset_date"].isoformat()},
        at=now,
    )
    return ae_id


def adverse_event_term(study: Study, flag: dict[str, Any]) -> str:
    """A readable AE term from the flag's kind and detail (staff may give their own)."""
    detail = flag.get("detail") or {}
    kind = flag["kind"]
    if kind == "red_flag_symptom":
        labels = [
            (study.symptom(code).label if study.symptom(code) else code)
            for code in detail.get("symptoms", [])
        ]
        term = "; ".join(labels) or "Red-flag symptom"
    elif kind == "pain_flare":
        term = f"Back pain flare (NRS up to {detail.get('max_back_pain', '?')})"
    elif kind == "opioid_threshold":
        term = f"Opioid use above {study.thresholds.mme_high:g} MME/day (up to {detail.get('max_mme', '?')})"
    elif kind == "opioid_increase":
        term = f"Increased opioid use (mean up to {detail.get('max_mean_mme', '?')} MME/day)"
    elif kind == "opioid_unconvertible":
        term = f"New opioid without an MME factor ({', '.join(detail.get('drugs', []))})"
    else:
        term = "Missed diary entries"
    return term[:200]


# --- presentation -------------------------------------------------------------------


def _instant(text: str | None) -> datetime | None:
    return clock.parse_iso(text) if text else None


def _ae_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "onset_date": date.fromisoformat(row["onset_date"]),
        "serious": bool(row["serious"]),
        "recorded_at": clock.parse_iso(row["recorded_at"]),
    }


def present_adverse_events(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [_ae_out(r) for r in rows]


def present_flags(db: Database, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flag rows → Appendix A shape, with staff e-mails and any adverse event."""
    emails = queries.staff_emails(
        db, [r["acknowledged_by"] for r in rows] + [r["resolved_by"] for r in rows]
    )
    resolved_ae = [r["id"] for r in rows if r["outcome"] == "adverse_event"]
    events = {
        ae["flag_id"]: _ae_out(ae)
        for ae in (queries.adverse_events(db, flag_ids=resolved_ae) if resolved_ae else [])
    }
    return [
        {
            **r,
            "first_date": date.fromisoformat(r["first_date"]),
            "last_date": date.fromisoformat(r["last_date"]),
            "opened_at": clock.parse_iso(r["opened_at"]),
            "updated_at": clock.parse_iso(r["updated_at"]),
            "acknowledged_at": _instant(r["acknowledged_at"]),
            "resolved_at": _instant(r["resolved_at"]),
            "reopened_at": _instant(r["reopened_at"]),
            "acknowledged_by": emails.get(r["acknowledged_by"]),
            "resolved_by": emails.get(r["resolved_by"]),
            "adverse_event": events.get(r["id"]),
        }
        for r in rows
    ]


def timeline(db: Database, flag_id: int) -> list[dict[str, Any]]:
    """A flag's history, oldest first: its audit rows (opened, findings added,
    acknowledged, reopened, escalated, resolved) and every notification about it."""
    events = [
        {
            "type": "audit",
            "at": clock.parse_iso(r["at"]),
            "action": r["action"],
            "actor": r["actor_label"],
            "before": r["before"],
            "after": r["after"],
            "reason": r["reason"],
            "_order": (r["at"], 0, r["id"]),
        }
        for r in audit.list_rows(db, object_type="flag", object_id=str(flag_id), limit=1000)
    ]
    events += [
        {
            "type": "notification",
            "at": clock.parse_iso(n["created_at"]),
            "action": n["channel"],
            "purpose": n["purpose"],
            "recipient": n["staff_email"] or n["study_id"],
            "status": n["status"],
            "sent_at": _instant(n["sent_at"]),
            "_order": (n["created_at"], 1, n["id"]),
        }
        for n in notify_queries.flag_notifications(db, flag_id)
    ]
    events.sort(key=lambda e: e["_order"])
    return [{k: v for k, v in e.items() if k != "_order"} for e in events]
