"""Adverse events as sponsors report them (ICH E2A, CTCAE v5), their corrections, and
the 24-hour serious-adverse-event clock (SPEC §14).

A clock starts when a participant reports a hospital or emergency-room visit (from
the submission time: the moment the site could know) or when an adverse event is
marked serious. It stops when the event is marked reported to the sponsor, or when
the investigator judges the report not serious. The `sae_clocks` job notifies the
site's investigators and the study admins at 12 hours and at 24 hours, once each.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from ..errors import APIError
from ..signoff import locks, signatures
from . import queries

SAE_TRIGGER_SYMPTOM = "hospital_or_er_visit"
CLOCK = timedelta(hours=24)
WARN_AFTER = timedelta(hours=12)

SERIOUSNESS = (
    "death",
    "life_threatening",
    "hospitalisation",
    "disability",
    "congenital_anomaly",
    "other_important",
)
ACTIONS = (
    "not_applicable",
    "none",
    "treatment_given",
    "hospitalised",
    "withdrawn_from_study",
    "unknown",
)
OUTCOMES = (
    "recovered",
    "recovering",
    "not_recovered",
    "recovered_with_sequelae",
    "fatal",
    "unknown",
)
EXPECTEDNESS = ("expected", "unexpected")
# The fields of the record; source, flag and participant never change.
FIELDS = (
    "term",
    "onset_date",
    "end_date",
    "ctcae_grade",
    "serious",
    "seriousness_criteria",
    "related",
    "expected",
    "action_taken",
    "ae_outcome",
    "note",
)
_ENDED = ("recovered", "recovered_with_sequelae", "fatal")


def problems(record: Mapping[str, Any]) -> dict[str, list[str]]:
    """Rules across fields of a whole record, by field (empty: consistent)."""
    found: dict[str, list[str]] = {}
    serious, criteria = record.get("serious"), record.get("seriousness_criteria") or []
    if serious and not criteria:
        found["seriousness_criteria"] = ["choose at least one criterion for a serious event"]
    if criteria and not serious:
        found["seriousness_criteria"] = ["only a serious event has seriousness criteria"]
    outcome = record.get("ae_outcome")
    if outcome == "fatal" and "death" not in criteria:
        found["ae_outcome"] = ["a fatal outcome needs the seriousness criterion death"]
    if "death" in criteria and outcome not in (None, "fatal", "unknown"):
        found["ae_outcome"] = ["the event resulted in death: its outcome is fatal"]
    if record.get("ctcae_grade") == 5 and outcome not in (None, "fatal"):
        found["ctcae_grade"] = ["CTCAE grade 5 is death related to the event: outcome fatal"]
    onset, end = record.get("onset_date"), record.get("end_date")
    if end is not None and onset is not None and end < onset:
        found["end_date"] = ["the end date is before the onset date"]
    if end is not None and outcome in ("recovering", "not_recovered"):
        found["end_date"] = [f"an event that is {outcome.replace('_', ' ')} has no end date yet"]
    if end is None and outcome in _ENDED:
        found["end_date"] = [f"give the end date of an event with outcome {outcome}"]
    return found


def _check(record: Mapping[str, Any], today: date) -> None:
    found = problems(record)
    for name in ("onset_date", "end_date"):
        if record.get(name) is not None and record[name] > today:
            found.setdefault(name, []).append("the date is in the future")
    if found:
        raise APIError(
            422, "The adverse event's fields do not fit together: see fields.", fields=found
        )


def _stored(values: Mapping[str, Any]) -> dict[str, Any]:
    """API values → column values."""
    out = dict(values)
    for name in ("onset_date", "end_date"):
        if isinstance(out.get(name), date):
            out[name] = out[name].isoformat()
    if "serious" in out:
        out["serious"] = int(bool(out["serious"]))
    if "seriousness_criteria" in out:
        out["seriousness_criteria"] = json.dumps(
            [c for c in SERIOUSNESS if c in (out["seriousness_criteria"] or [])]
        )
    return out


def _audited(values: Mapping[str, Any]) -> dict[str, Any]:
    out = _stored(values)
    if "seriousness_criteria" in out:
        out["seriousness_criteria"] = json.loads(out["seriousness_criteria"])
    if "serious" in out:
        out["serious"] = bool(out["serious"])
    return out


def audited_event(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored adverse event as its audit rows record it (`audit verify` compares)."""
    view = _record_view(row)
    return {
        "id": row["id"],
        "source": row["source"],
        **_audited({k: view[k] for k in FIELDS}),
        "version": row["version"],
    }


def _record_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row → the API's values (dates, booleans, criteria list)."""
    return {
        **row,
        "onset_date": date.fromisoformat(row["onset_date"]),
        "end_date": date.fromisoformat(row["end_date"]) if row.get("end_date") else None,
        "serious": bool(row["serious"]),
        "seriousness_criteria": json.loads(row.get("seriousness_criteria") or "[]"),
    }


def create(
    db: Database,
    *,
    participant: Mapping[str, Any],
    values: Mapping[str, Any],
    flag_id: int | None,
    actor: audit.Actor,
    staff_id: int,
    tz: str,
    now: datetime,
    action: str | None = "adverse_event.record",
) -> tuple[int, dict[str, Any]]:
    """Insert an adverse event (inside the caller's transaction); a serious one starts
    (or, from a flag with a running clock, takes over) the SAE clock. `action` None:
    the caller audits the event as part of its own row (a flag's resolution)."""
    locks.ensure_writable(db, participant["id"])
    record = {name: values.get(name) for name in FIELDS}
    record["seriousness_criteria"] = record["seriousness_criteria"] or []
    _check(record, clock.local_date(now, tz))
    ae_id = queries.insert_adverse_event(
        db,
        participant_id=participant["id"],
        flag_id=flag_id,
        source=values["source"],
        staff_id=staff_id,
        now=now,
        **_stored(record),
    )
    shown = {"id": ae_id, "source": values["source"], **_audited(record)}
    audit_id = None
    if action:
        audit_id = audit.record(
            db,
            actor=actor,
            action=action,
            object_type="adverse_event",
            object_id=ae_id,
            site_id=participant["site_id"],
            participant_id=participant["id"],
            after=shown,
            at=now,
        )
    clock_for_event(
        db,
        ae_id=ae_id,
        participant_id=participant["id"],
        flag_id=flag_id,
        serious=bool(record["serious"]),
        actor=actor,
        now=now,
    )
    if audit_id is not None:
        signatures.recheck(db, participant["id"], cause_audit_id=audit_id, actor=actor, now=now)
    return ae_id, shown


def correct(
    db: Database,
    *,
    ae: Mapping[str, Any],
    changes: Mapping[str, Any],
    reason: str,
    actor: audit.Actor,
    staff_id: int,
    tz: str,
    now: datetime,
) -> None:
    """Correct an adverse event's fields with a reason; a signed event's signatures
    are invalidated by the change."""
    locks.ensure_writable(db, ae["participant_id"])
    current = _record_view(ae)
    changes = dict(changes)
    if "seriousness_criteria" in changes:  # the stored form: the list's order, no repeats
        changes["seriousness_criteria"] = [
            c for c in SERIOUSNESS if c in (changes["seriousness_criteria"] or [])
        ]
    merged = {**{k: current[k] for k in FIELDS}, **changes}
    _check(merged, clock.local_date(now, tz))
    changed = {k: v for k, v in changes.items() if current[k] != v}
    if not changed:
        return
    queries.update_adverse_event(db, ae["id"], _stored(changed), staff_id=staff_id, now=now)
    before = {k: current[k] for k in changed}
    audit_id = audit.record(
        db,
        actor=actor,
        action="adverse_event.correct",
        object_type="adverse_event",
        object_id=ae["id"],
        site_id=ae["site_id"],
        participant_id=ae["participant_id"],
        before=_audited(before),
        after={**_audited(changed), "version": ae["version"] + 1},
        reason=reason,
        at=now,
    )
    clock_for_event(
        db,
        ae_id=ae["id"],
        participant_id=ae["participant_id"],
        flag_id=ae["flag_id"],
        serious=bool(merged["serious"]),
        actor=actor,
        now=now,
    )
    signatures.recheck(db, ae["participant_id"], cause_audit_id=audit_id, actor=actor, now=now)


# --- the SAE clock -----------------------------------------------------------------------


def start_for_report(
    db: Database, *, flag_id: int, participant: Mapping[str, Any], actor: audit.Actor, now: datetime
) -> int | None:
    """A participant reported a hospital or emergency-room visit: the clock runs from now
    (the submission). Once per flag; returns the new clock's id, or None."""
    clock_id = queries.start_sae_clock(
        db,
        participant_id=participant["id"],
        flag_id=flag_id,
        adverse_event_id=None,
        trigger=SAE_TRIGGER_SYMPTOM,
        started_at=now,
        due_at=now + CLOCK,
    )
    if clock_id is not None:
        _audit_clock(
            db,
            clock_id,
            "sae_clock.start",
            participant_id=participant["id"],
            site_id=participant["site_id"],
            actor=actor,
            now=now,
            after={
                "trigger": SAE_TRIGGER_SYMPTOM,
                "flag_id": flag_id,
                "due_at": clock.iso(now + CLOCK),
            },
        )
    return clock_id


def clock_for_event(
    db: Database,
    *,
    ae_id: int,
    participant_id: int,
    flag_id: int | None,
    serious: bool,
    actor: audit.Actor,
    now: datetime,
) -> None:
    """Keep the SAE clock in step with an adverse event: the flag's clock moves to the
    event; a serious event without a clock starts one; a running clock of an event
    judged not serious stops."""
    existing = queries.sae_clock(db, adverse_event_id=ae_id)
    if existing is None and flag_id is not None:
        existing = queries.sae_clock(db, flag_id=flag_id)
        if existing is not None:
            queries.link_sae_clock(db, existing["id"], ae_id)
    site_id = queries.site_of_participant(db, participant_id)
    if existing is None:
        if serious:
            clock_id = queries.start_sae_clock(
                db,
                participant_id=participant_id,
                flag_id=None,
                adverse_event_id=ae_id,
                trigger="serious_adverse_event",
                started_at=now,
                due_at=now + CLOCK,
            )
            _audit_clock(
                db,
                clock_id,
                "sae_clock.start",
                participant_id=participant_id,
                site_id=site_id,
                actor=actor,
                now=now,
                after={
                    "trigger": "serious_adverse_event",
                    "adverse_event_id": ae_id,
                    "due_at": clock.iso(now + CLOCK),
                },
            )
        return
    if existing["status"] == "running" and not serious:
        stop(db, existing, reason="judged not serious", actor=actor, now=now)
    elif existing["status"] == "stopped" and serious:
        queries.restart_sae_clock(db, existing["id"], now=now, due_at=now + CLOCK)
        _audit_clock(
            db,
            existing["id"],
            "sae_clock.restart",
            participant_id=participant_id,
            site_id=site_id,
            actor=actor,
            now=now,
            after={
                "status": "running",
                "started_at": clock.iso(now),
                "due_at": clock.iso(now + CLOCK),
            },
        )


def stop(db: Database, sae: Mapping[str, Any], *, reason: str, actor: audit.Actor, now: datetime):
    queries.stop_sae_clock(db, sae["id"], reason=reason, now=now)
    _audit_clock(
        db,
        sae["id"],
        "sae_clock.stop",
        participant_id=sae["participant_id"],
        site_id=queries.site_of_participant(db, sae["participant_id"]),
        actor=actor,
        now=now,
        after={"status": "stopped", "reason": reason},
    )


def report_to_sponsor(
    db: Database,
    *,
    ae: Mapping[str, Any],
    reference: str,
    actor: audit.Actor,
    staff_id: int,
    now: datetime,
) -> None:
    """The serious event was reported to the sponsor: who, when, and their reference."""
    sae = queries.sae_clock(db, adverse_event_id=ae["id"])
    if sae is None and ae["serious"]:
        # Recorded serious before the clock existed (schema 0012): its clock ran from
        # when it was recorded.
        recorded = clock.parse_iso(ae["recorded_at"])
        queries.start_sae_clock(
            db,
            participant_id=ae["participant_id"],
            flag_id=None,
            adverse_event_id=ae["id"],
            trigger="serious_adverse_event",
            started_at=recorded,
            due_at=recorded + CLOCK,
        )
        sae = queries.sae_clock(db, adverse_event_id=ae["id"])
    if sae is None or not ae["serious"]:
        raise APIError(
            409,
            "Only a serious adverse event is reported to the sponsor; mark it serious first.",
            code="not_serious",
        )
    if sae["status"] == "reported":
        raise APIError(409, "This event was reported to the sponsor already.", code="reported")
    queries.report_sae_clock(db, sae["id"], staff_id=staff_id, reference=reference, now=now)
    _audit_clock(
        db,
        sae["id"],
        "sae_clock.report",
        participant_id=ae["participant_id"],
        site_id=ae["site_id"],
        actor=actor,
        now=now,
        after={
            "status": "reported",
            "reference": reference,
            "adverse_event_id": ae["id"],
            "late": now > clock.parse_iso(sae["due_at"]),
        },
    )


def _audit_clock(db, clock_id, action, *, participant_id, site_id, actor, now, after):
    audit.record(
        db,
        actor=actor,
        action=action,
        object_type="sae_clock",
        object_id=clock_id,
        site_id=site_id,
        participant_id=participant_id,
        after=after,
        at=now,
    )


def present_clock(row: Mapping[str, Any] | None, now: datetime) -> dict[str, Any] | None:
    if row is None:
        return None
    due = clock.parse_iso(row["due_at"])
    return {
        "id": row["id"],
        "trigger": row["trigger"],
        "status": row["status"],
        "started_at": clock.parse_iso(row["started_at"]),
        "due_at": due,
        "seconds_left": int((due - now).total_seconds()) if row["status"] == "running" else None,
        "reported_at": clock.parse_iso(row["reported_at"]) if row["reported_at"] else None,
        "reported_by": row.get("reported_by_email"),
        "reference": row["reference"],
        "stopped_at": clock.parse_iso(row["stopped_at"]) if row["stopped_at"] else None,
        "stop_reason": row["stop_reason"],
        "flag_id": row["flag_id"],
        "adverse_event_id": row["adverse_event_id"],
    }
