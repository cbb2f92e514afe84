"""The flag lifecycle (open → acknowledged → resolved) and adverse events; every step audited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from ..audit import access_queries as audit_queries
from ..auth.roles import ROLES, allows
from ..errors import INVALID_FIELDS, APIError
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


# Flags about taking part rather than health: a coordinator closes them with a reason.
# Every other kind is clinical, and its outcome (adverse event or not) is an
# investigator's. The console learns this per flag (`actions`, `allowed_roles`).
NON_CLINICAL_KINDS = frozenset({"missed_entries", "questionnaire_missed"})

# Findings about one participant's opioid use on overlapping dates are one inbox item.
MERGED_KINDS = ("opioid_threshold", "opioid_increase")


def closable(flag: dict[str, Any]) -> bool:
    """Whether the flag may be closed with a reason, without a clinical outcome."""
    return flag["kind"] in NON_CLINICAL_KINDS


def acknowledge(
    db: Database,
    *,
    flag: dict[str, Any],
    actor: audit.Actor,
    staff_id: int,
    now: datetime,
    merged: Sequence[dict[str, Any]] = (),
) -> None:
    """Mark an open flag seen (inside the caller's transaction); with `merged` (the other
    flags of its inbox item) every one of them still open, each audited. 409 when none
    was open."""
    item = [flag, *merged]
    done = 0
    for f in item:
        if not queries.acknowledge(db, f["id"], staff_id=staff_id, now=now):
            continue
        done += 1
        audit.record(
            db,
            actor=actor,
            action="flag.acknowledge",
            object_type="flag",
            object_id=f["id"],
            site_id=f["site_id"],
            participant_id=f["participant_id"],
            before={"status": f["status"]},
            after={"status": "acknowledged", **_together(f, item)},
            at=now,
        )
    if not done:
        raise _conflict(flag, "open")


def _together(flag: dict[str, Any], item: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The other flags of the inbox item a change was made on, for its audit row."""
    others = [f["id"] for f in item if f["id"] != flag["id"]]
    return {"with_flags": others} if others else {}


def close(
    db: Database,
    *,
    flag: dict[str, Any],
    reason: str,
    actor: audit.Actor,
    staff_id: int,
    now: datetime,
) -> None:
    """Close a non-clinical flag with the reason (inside the caller's transaction): it
    is resolved with no clinical outcome (`outcome` stays null)."""
    reason = reason.strip()
    if len(reason) < 3:
        raise APIError(
            422,
            INVALID_FIELDS,
            fields={"reason": ["Write why it is closed, e.g. participant contacted, will resume."]},
        )
    if not closable(flag):
        raise APIError(
            403,
            "This flag is clinical: an investigator resolves it with its outcome (adverse"
            " event or not). Acknowledge it and record what you know.",
            code="clinical_flag",
        )
    if not queries.resolve(db, flag["id"], staff_id=staff_id, outcome=None, note=reason, now=now):
        raise _conflict(flag, "open or acknowledged")
    audit.record(
        db,
        actor=actor,
        action="flag.close",
        object_type="flag",
        object_id=flag["id"],
        site_id=flag["site_id"],
        participant_id=flag["participant_id"],
        before={"status": flag["status"]},
        after={"status": "resolved", "outcome": None, "note": reason},
        reason=reason,
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
    merged: Sequence[dict[str, Any]] = (),
) -> None:
    """Resolve a flag; an adverse_event outcome also records the adverse event, and a
    flag's running SAE clock moves to it (or stops: not an adverse event).

    With `merged` (the other unresolved flags of its inbox item) they are resolved with
    the same outcome and note, each audited naming the flag; an adverse event is one
    event, recorded once with `flag` (its term names every finding when none is given)."""
    item = [flag, *merged]
    note = (body.get("note") or "").strip() or None
    if note is None and any(needs_rationale(f) for f in item):
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
    after: dict[str, Any] = {
        "status": "resolved",
        "outcome": body["outcome"],
        "note": note,
        **_together(flag, item),
    }
    participant = {"id": flag["participant_id"], "site_id": flag["site_id"]}
    ae_id = None
    if body["outcome"] == "adverse_event":
        values = {
            **{k: body.get(k) for k in adverse_events.FIELDS},
            "source": "flag",
            "term": body.get("term") or "; ".join(adverse_event_term(study, f) for f in item)[:200],
            "onset_date": body.get("onset_date")
            or min(date.fromisoformat(str(f["first_date"])) for f in item),
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
        _stop_clock(db, flag, actor=actor, now=now)
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
    for other in merged:
        if not queries.resolve(
            db, other["id"], staff_id=staff_id, outcome=body["outcome"], note=note, now=now
        ):
            continue
        if ae_id is None:
            _stop_clock(db, other, actor=actor, now=now)
        audit.record(
            db,
            actor=actor,
            action="flag.resolve",
            object_type="flag",
            object_id=other["id"],
            site_id=other["site_id"],
            participant_id=other["participant_id"],
            before={"status": other["status"]},
            after={
                "status": "resolved",
                "outcome": body["outcome"],
                "note": note,
                **_together(other, item),
                # The event is recorded once, with the flag the item was resolved through.
                **({"adverse_event_id": ae_id} if ae_id is not None else {}),
            },
            at=now,
        )
    if ae_id is not None:
        signatures.recheck(
            db, flag["participant_id"], cause_audit_id=audit_id, actor=actor, now=now
        )


def _stop_clock(db: Database, flag: dict[str, Any], *, actor: audit.Actor, now: datetime) -> None:
    running = queries.sae_clock(db, flag_id=flag["id"])
    if running is not None and running["status"] == "running":
        adverse_events.stop(db, running, reason="not an adverse event", actor=actor, now=now)


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
    db: Database,
    rows: list[dict[str, Any]],
    *,
    role: str | None,
    escalation_minutes: int,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Flag rows → Appendix A shape, with staff e-mails, any adverse event and SAE clock,
    the escalation, the flags merged with each in the inbox, and what `role` may do."""
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
    escalated = queries.escalations(db, [r["id"] for r in rows])
    merged = merged_items(db, rows)
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
            "escalation": _escalation(escalated.get(r["id"]), r, escalation_minutes),
            "merged_with": merged.get(r["id"], []),
            "actions": _actions(r, role),
            "allowed_roles": _allowed_roles(r),
        }
        for r in rows
    ]


def inbox(
    db: Database, rows: list[dict[str, Any]], *, role: str | None, escalation_minutes: int
) -> list[dict[str, Any]]:
    """The listed flags as the inbox shows them: each item (a flag, or the flags merged
    into one) in its place by what needs action first — its most severe unresolved
    flag, open before acknowledged — and the flags of an item next to each other,
    the most pressing first."""
    shown = present_flags(db, rows, role=role, escalation_minutes=escalation_minutes)
    by_id = {f["id"]: f for f in shown}
    items: list[list[dict[str, Any]]] = []
    placed: set[int] = set()
    for f in shown:
        if f["id"] in placed:
            continue
        item = [f, *(by_id[i] for i in f["merged_with"] if i in by_id and i not in placed)]
        placed.update(g["id"] for g in item)
        items.append(item)
    items.sort(key=_needs_action)
    return [f for item in items for f in item]


_SEVERITY_ORDER = ("urgent", "high", "low")


def _needs_action(item: list[dict[str, Any]]) -> tuple[int, int, int]:
    unresolved = [f for f in item if f["status"] != "resolved"]
    if not unresolved:
        return (1, 0, 0)
    return (
        0,
        min(_SEVERITY_ORDER.index(f["severity"]) for f in unresolved),
        0 if any(f["status"] == "open" for f in unresolved) else 1,
    )


def merged_items(db: Database, rows: list[dict[str, Any]]) -> dict[int, list[int]]:
    """For each unresolved opioid flag among `rows` that shares its inbox item: the ids
    of the other flags of that item (unresolved flags of MERGED_KINDS of the same
    participant whose dates overlap, directly or through one another)."""
    wanted = {
        r["participant_id"] for r in rows if r["kind"] in MERGED_KINDS and r["status"] != "resolved"
    }
    if not wanted:
        return {}
    out: dict[int, list[int]] = {}
    group: list[int] = []
    reach, owner = "", None

    def close_group() -> None:
        if len(group) > 1:
            for flag_id in group:
                out[flag_id] = [g for g in group if g != flag_id]

    for f in queries.unresolved_of_kinds(db, wanted, MERGED_KINDS):
        if group and f["participant_id"] == owner and f["first_date"] <= reach:
            group.append(f["id"])
            reach = max(reach, f["last_date"])
            continue
        close_group()
        group, reach, owner = [f["id"]], f["last_date"], f["participant_id"]
    close_group()
    return out


def _escalation(
    found: dict[str, Any] | None, flag: dict[str, Any], minutes: int
) -> dict[str, Any] | None:
    """None for a flag that was never urgent; else when it became urgent, its latest
    escalation and to whom, and while its clock runs (open, unacknowledged, not yet
    escalated) when it will escalate."""
    if found is None:
        return None
    urgent_at = clock.parse_iso(found["urgent_at"])
    running = (
        found["clock_escalated_at"] is None
        and flag["status"] == "open"
        and flag["acknowledged_at"] is None
    )
    return {
        "urgent_at": urgent_at,
        "escalated_at": _instant(found["escalated_at"]),
        "escalated_to": found["recipients"],
        "escalates_at": urgent_at + timedelta(minutes=minutes) if running else None,
    }


def _roles_with(permission: str) -> list[str]:
    return [role for role in ROLES if allows(role, permission)]


def _allowed_roles(flag: dict[str, Any]) -> dict[str, list[str]]:
    """Which staff roles may do what to this flag (the console says who can)."""
    return {
        "acknowledge": _roles_with("flags.acknowledge"),
        "close": _roles_with("flags.close") if closable(flag) else [],
        "resolve": _roles_with("flags.resolve"),
        "contact": _roles_with("flags.contact"),
    }


def _actions(flag: dict[str, Any], role: str | None) -> list[str]:
    """What `role` may do to this flag now."""
    if role is None:
        return []
    unresolved = flag["status"] != "resolved"
    wanted = {
        "acknowledge": flag["status"] == "open",
        "close": unresolved and closable(flag),
        "resolve": unresolved,
        "contact": True,
    }
    return [
        action
        for action, possible in wanted.items()
        if possible and role in _allowed_roles(flag)[action]
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
        for r in audit_queries.trail(db, object_type="flag", object_id=str(flag_id), limit=1000)
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
