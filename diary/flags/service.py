"""The flag lifecycle (open → acknowledged → resolved) and adverse events; every step audited."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from ..errors import APIError
from ..notify import queries as notify_queries
from ..signoff import signatures
from ..study import Study
from . import adverse_events, queries


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
    tz: str,
    now: datetime,
) -> None:
    """Resolve a flag; an adverse_event outcome also records the adverse event, and a
    flag's running SAE clock moves to it (or stops: not an adverse event)."""
    note = (body.get("note") or "").strip() or None
    if note is None and needs_rationale(flag):
        raise APIError(
            422,
            "A red-flag or urgent flag is resolved with a note that gives the reason.",
            code="validation_failed",
            fields={"note": ["Write why: what was done and the clinical judgement."]},
        )
    if not queries.resolve(
        db, flag["id"], staff_id=staff_id, outcome=body["outcome"], note=note, now=now
    ):
        raise _conflict(flag, "open or acknowledged")
    after: dict[str, Any] = {"status": "resolved", "outcome": body["outcome"], "note": note}
    participant = {"id": flag["participant_id"], "site_id": flag["site_id"]}
    ae_id = None
    if body["outcome"] == "adverse_event":
        values = {
            **{k: body.get(k) for k in adverse_events.FIELDS},
            "source": "flag",
            "term": body.get("term") or adverse_event_term(study, flag),
            "onset_date": body.get("onset_date") or date.fromisoformat(flag["first_date"]),
        }
        ae_id, shown = adverse_events.create(
            db,
            participant=participant,
            values=values,
            flag_id=flag["id"],
            actor=actor,
            staff_id=staff_id,
            tz=tz,
            now=now,
            action=None,
        )
        after["adverse_event"] = shown
    else:
        running = queries.sae_clock(db, flag_id=flag["id"])
        if running is not None and running["status"] == "running":
            adverse_events.stop(db, running, reason="not an adverse event", actor=actor, now=now)
    audit_id = audit.record(
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
    if ae_id is not None:
        signatures.recheck(
            db, flag["participant_id"], cause_audit_id=audit_id, actor=actor, now=now
        )


def needs_rationale(flag: dict[str, Any]) -> bool:
    """A red-flag symptom or an urgent flag is never closed without the reason written."""
    return flag["kind"] == "red_flag_symptom" or flag["severity"] == "urgent"


def record_adverse_event(
    db: Database,
    *,
    participant: dict[str, Any],
    body: dict[str, Any],
    actor: audit.Actor,
    staff_id: int,
    now: datetime,
) -> int:
    """An adverse event that no flag raised (participant report, site visit, interview,
    clinical exam, diary review)."""
    ae_id, _ = adverse_events.create(
        db,
        participant=participant,
        values=body,
        flag_id=None,
        actor=actor,
        staff_id=staff_id,
        tz=participant["timezone"],
        now=now,
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


def present_adverse_events(db: Database, rows: list[dict[str, Any]], now: datetime) -> list[dict]:
    """Adverse event rows → the API's shape, with their signatures and SAE clock."""
    ids = [r["id"] for r in rows]
    signed = signatures.for_records(db, "adverse_event", ids)
    clocks = queries.sae_clocks(db, ids, "adverse_event_id")
    return [
        {
            **adverse_events._record_view(r),
            "recorded_at": clock.parse_iso(r["recorded_at"]),
            "updated_at": _instant(r["updated_at"]),
            "signatures": signed.get(r["id"], []),
            "signature_status": _signature_status(signed.get(r["id"], [])),
            "sae_clock": adverse_events.present_clock(clocks.get(r["id"]), now),
        }
        for r in rows
    ]


def _signature_status(signed: list[dict[str, Any]]) -> str:
    """unsigned | signed (a valid signature) | invalidated (signed once, changed since)."""
    if any(s["status"] == "valid" for s in signed):
        return "signed"
    return "invalidated" if signed else "unsigned"


def present_flags(
    db: Database, rows: list[dict[str, Any]], now: datetime | None = None
) -> list[dict[str, Any]]:
    """Flag rows → Appendix A shape, with staff e-mails, any adverse event and SAE clock."""
    now = now or clock.now()
    emails = queries.staff_emails(
        db, [r["acknowledged_by"] for r in rows] + [r["resolved_by"] for r in rows]
    )
    resolved_ae = [r["id"] for r in rows if r["outcome"] == "adverse_event"]
    events = {
        ae["flag_id"]: ae
        for ae in present_adverse_events(
            db, queries.adverse_events(db, flag_ids=resolved_ae) if resolved_ae else [], now
        )
    }
    clocks = queries.sae_clocks(db, [r["id"] for r in rows], "flag_id")
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
            "sae_clock": adverse_events.present_clock(clocks.get(r["id"]), now),
            "resolution_note_required": needs_rationale(r),
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
