"""Electronic signatures (SPEC §14; 21 CFR 11.50, 11.70, 11.200).

An investigator signs an adverse event, a participant's casebook up to a date, or
a data clarification by typing their password again and choosing what the
signature means. The signature prints the signer's name and e-mail, the UTC time
and the meaning, and holds the SHA-256 of the exact record version signed: it
belongs to that version only. Every write to a participant's diary data calls
`recheck`, which invalidates (naming the change) each signature whose record no
longer hashes the same; `problems` lets `audit verify` find a signature whose
record or own fields changed behind the application's back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from .. import audit, clock
from ..auth import queries as auth_queries
from ..auth import throttle
from ..auth.staff import check_password
from ..db import transaction
from ..errors import APIError, not_found
from ..text import blank
from . import queries

RECORD_TYPES = ("adverse_event", "participant", "clarification")
MEANINGS = ("reviewed", "approved", "author")
# What an adverse event needs before an investigator can sign it (ICH E2A).
AE_REQUIRED = ("expected", "action_taken", "ae_outcome")


def record_hash(db: Database, record_type: str, record_id: int, up_to: date | None) -> str | None:
    """The hash of the record's current version; None when the record is gone."""
    if record_type == "adverse_event":
        content = queries.adverse_event(db, record_id)
    elif record_type == "participant":
        content = {
            "participant_id": record_id,
            "up_to": up_to,
            **queries.casebook(db, record_id, up_to),
        }
    else:
        row = queries.clarification(db, record_id)
        content = None if row is None else queries.clarified_record(db, row)
        if content is not None:
            content = {"clarification": record_id, "record": content}
    return None if content is None else queries.digest(content)


def _target(db: Database, body: Mapping[str, Any], site_ids, tz_today) -> dict[str, Any]:
    """The record to sign, scoped to the signer's sites: ids, participant and up_to."""
    record_type, raw_id = body["record_type"], str(body["record_id"])
    if record_type == "participant":
        participant = queries.participant(db, raw_id, site_ids)
        if participant is None:
            raise not_found(f"No participant {raw_id} at your sites.")
        up_to = body.get("up_to") or tz_today(participant["timezone"])
        if up_to > tz_today(participant["timezone"]):
            raise APIError(
                422,
                "The casebook can be signed up to today at the latest.",
                fields={"up_to": ["after today"]},
            )
        first = participant["first_injection"]
        if first and up_to.isoformat() < first:
            raise APIError(
                422,
                f"The casebook starts on {first} (day 0): sign it up to that date or later.",
                fields={"up_to": ["before day 0"]},
            )
        return {
            "record_id": participant["id"],
            "participant_id": participant["id"],
            "site_id": participant["site_id"],
            "up_to": up_to,
            "shown_id": participant["study_id"],
        }
    if not (raw_id.isascii() and raw_id.isdigit()) or int(raw_id) >= 2**63:
        raise APIError(
            422,
            "record_id is the number of the record to sign.",
            fields={"record_id": ["a record number"]},
        )
    record_id = int(raw_id)
    if record_type == "adverse_event":
        ae = queries.adverse_event(db, record_id)
        owner = ae and queries.participant_by_id(db, ae["participant_id"])
        if not owner or (site_ids is not None and owner["site_id"] not in site_ids):
            raise not_found(f"No adverse event {record_id} at your sites.")
        missing = [f for f in AE_REQUIRED if ae[f] is None]
        if blank(ae["term"] or ""):  # a term stored before blank terms were refused
            missing.insert(0, "term")
        if ae["serious"] and ae["seriousness_criteria"] in (None, "[]"):
            missing.append("seriousness_criteria")
        if missing:
            raise APIError(
                409,
                "Complete the adverse event before signing it: " + ", ".join(missing) + ".",
                code="incomplete",
                fields={name: ["required before signing"] for name in missing},
            )
        return {
            "record_id": record_id,
            "participant_id": owner["id"],
            "site_id": owner["site_id"],
            "up_to": None,
            "shown_id": str(record_id),
        }
    row = queries.clarification(db, record_id)
    if row is None or (site_ids is not None and row["site_id"] not in site_ids):
        raise not_found(f"No data clarification {record_id} at your sites.")
    current = queries.clarified_record(db, row)
    if current is None or current.get("version") != row["after"].get("version"):
        raise APIError(
            409,
            "The record was changed again after this clarification; sign the latest change.",
            code="stale",
        )
    return {
        "record_id": record_id,
        "participant_id": row["participant_id"],
        "site_id": row["site_id"],
        "up_to": None,
        "shown_id": str(record_id),
    }


def sign(
    db: Database,
    *,
    body: Mapping[str, Any],
    signer: Any,
    site_ids,
    client: str,
    limits: throttle.Limits,
    now: datetime,
    secret_key: str = "",
) -> dict[str, Any]:
    """Check the password and, when the signer has two-step sign-in, the code (both
    through the sign-in throttle), then sign."""
    staff = auth_queries.staff_by_id(db, signer.staff_id)
    if staff is None or not staff["active"]:
        raise APIError(401, "Sign in first (your session may have ended).")
    if not (staff["full_name"] or "").strip():
        raise APIError(
            409,
            "Your account has no full name yet; an administrator must add it before you sign.",
            code="name_required",
        )
    if body.get("otp") and not staff["totp_enabled_at"]:
        raise APIError(
            422,
            "Your account has no two-step sign-in: sign with your password only.",
            fields={"otp": ["no second factor is set up for this account"]},
        )
    check_password(
        db,
        staff,
        body["password"],
        email=staff["email"],
        client=client,
        limits=limits,
        now=now,
        purpose="signature",
        otp=body.get("otp"),
        secret_key=secret_key,
    )

    def today(tz: str) -> date:
        return clock.local_date(now, tz)

    with transaction(db):
        target = _target(db, body, site_ids, today)
        duplicate = [
            s
            for s in queries.signatures(
                db, record_type=body["record_type"], record_id=target["record_id"], status="valid"
            )
            if s["signer_id"] == staff["id"]
            and s["meaning"] == body["meaning"]
            and s["up_to"] == (target["up_to"].isoformat() if target["up_to"] else None)
        ]
        if duplicate:
            raise APIError(
                409, "You have signed this record with this meaning already.", code="already_signed"
            )
        values = {
            "record_type": body["record_type"],
            "record_id": target["record_id"],
            "participant_id": target["participant_id"],
            "up_to": target["up_to"].isoformat() if target["up_to"] else None,
            "meaning": body["meaning"],
            "signer_id": staff["id"],
            "signer_name": staff["full_name"].strip(),
            "signer_email": staff["email"],
            "signed_at": clock.iso(now),
            "record_hash": record_hash(
                db, body["record_type"], target["record_id"], target["up_to"]
            ),
        }
        signature_id = queries.insert_signature(db, values)
        audit.record(
            db,
            actor=signer.actor,
            action="signature.sign",
            object_type="signature",
            object_id=signature_id,
            site_id=target["site_id"],
            participant_id=target["participant_id"],
            after=values,
            at=now,
        )
    rows = queries.signatures(db, record_type=body["record_type"], record_id=target["record_id"])
    return present(next(r for r in rows if r["id"] == signature_id))


def recheck(
    db: Database,
    participant_id: int,
    *,
    cause_audit_id: int,
    actor: audit.Actor,
    now: datetime,
    signed: bool | None = None,
) -> list[int]:
    """After a change to a participant's data (inside its transaction): invalidate each
    of their valid signatures whose record no longer hashes the same. Returns their ids.
    `signed` is whether they had a valid signature, when the caller read it in this
    transaction already (`locks.ensure_writable`); None: read it here."""
    if signed is None:
        signed = queries.has_valid_signatures(db, participant_id)
    if not signed:
        return []
    changed = []
    site_id = queries.participant_by_id(db, participant_id)["site_id"]
    for sig in queries.signatures(db, participant_id=participant_id, status="valid"):
        up_to = date.fromisoformat(sig["up_to"]) if sig["up_to"] else None
        if record_hash(db, sig["record_type"], sig["record_id"], up_to) == sig["record_hash"]:
            continue
        queries.invalidate(db, sig["id"], audit_id=cause_audit_id, now=now)
        audit.record(
            db,
            actor=actor,
            action="signature.invalidate",
            object_type="signature",
            object_id=sig["id"],
            site_id=site_id,
            participant_id=participant_id,
            before={"status": "valid"},
            after={"status": "invalidated", "changed_by_audit_row": cause_audit_id},
            at=now,
        )
        changed.append(sig["id"])
    return changed


_SIGNED_FIELDS = (
    "record_type",
    "record_id",
    "participant_id",
    "up_to",
    "meaning",
    "signer_id",
    "signer_name",
    "signer_email",
    "signed_at",
    "record_hash",
)


def problems(db: Database) -> list[str]:
    """Signatures that do not hold: fields that differ from the audit row that recorded
    the signing (moved, copied or forged), a valid signature whose record no longer
    hashes as signed (changed outside the application), or a signature the audit
    trail recorded that is gone (deleted)."""
    signed = queries.signing_audit_rows(db)
    found = []
    present = set()
    for sig in queries.signatures(db):
        present.add(sig["id"])
        recorded = signed.get(sig["id"])
        if recorded is None or any(recorded.get(k) != sig[k] for k in _SIGNED_FIELDS):
            found.append(f"signature {sig['id']}: differs from the audit row that recorded it")
            continue
        if sig["status"] != "valid":
            continue
        up_to = date.fromisoformat(sig["up_to"]) if sig["up_to"] else None
        if record_hash(db, sig["record_type"], sig["record_id"], up_to) != sig["record_hash"]:
            found.append(
                f"signature {sig['id']}: the signed {sig['record_type'].replace('_', ' ')} "
                "no longer matches its hash, and no audited change invalidated it"
            )
    for missing in sorted(set(signed) - present):
        found.append(
            f"signature {missing}: recorded in the audit trail but missing from the"
            " signatures (deleted outside the application)"
        )
    return found


# --- presentation -------------------------------------------------------------------


def present(row: dict[str, Any]) -> dict[str, Any]:
    shown_id = row["study_id"] if row["record_type"] == "participant" else str(row["record_id"])
    signed_at = clock.parse_iso(row["signed_at"])
    invalidated_by = None
    if row["invalidated_by_audit_id"] is not None:
        invalidated_by = {
            "audit_id": row["invalidated_by_audit_id"],
            "action": row["invalidated_by_action"],
            "actor": row["invalidated_by_actor"],
            "at": clock.parse_iso(row["invalidated_by_at"]) if row["invalidated_by_at"] else None,
            "reason": row["invalidated_by_reason"],
        }
    return {
        "id": row["id"],
        "record_type": row["record_type"],
        "record_id": shown_id,
        "study_id": row["study_id"],
        "up_to": date.fromisoformat(row["up_to"]) if row["up_to"] else None,
        "meaning": row["meaning"],
        "signer_name": row["signer_name"],
        "signer_email": row["signer_email"],
        "signed_at": signed_at,
        "record_hash": row["record_hash"],
        "status": row["status"],
        "invalidated_at": clock.parse_iso(row["invalidated_at"]) if row["invalidated_at"] else None,
        "invalidated_by": invalidated_by,
        "manifestation": manifestation(row),
    }


def manifestation(row: Mapping[str, Any]) -> str:
    """The signature as printed (21 CFR 11.50): name, e-mail, UTC time and meaning."""
    at = clock.parse_iso(row["signed_at"]).strftime("%Y-%m-%d %H:%M UTC")
    return f"Signed by {row['signer_name']} <{row['signer_email']}> on {at}: {row['meaning']}"


def for_records(db: Database, record_type: str, record_ids: list[int]) -> dict[int, list[dict]]:
    """Signatures of many records of one type, by record id (for lists and exports)."""
    out: dict[int, list[dict]] = {}
    for row in queries.signatures(db, record_type=record_type, record_ids=record_ids):
        out.setdefault(row["record_id"], []).append(present(row))
    return out


def awaiting(db: Database, site_ids, *, change_requests_signed: bool) -> list[dict[str, Any]]:
    """What awaits an investigator's signature at `site_ids`, oldest first: adverse
    events, ended or locked casebooks, and (when the protocol says so) applied
    change requests; each unsigned, or invalidated by a change since."""
    items = [
        {
            "record_type": "adverse_event",
            "record_id": str(r["id"]),
            "study_id": r["study_id"],
            "site": r["site"],
            "title": f"Adverse event: {r['term']}",
            "since": clock.parse_iso(r["since"]),
            "state": "invalidated" if r["was_signed"] else "unsigned",
        }
        for r in queries.unsigned_adverse_events(db, site_ids)
    ]
    items += [
        {
            "record_type": "participant",
            "record_id": r["study_id"],
            "study_id": r["study_id"],
            "site": r["site"],
            "title": f"Casebook ({'locked' if r['status'] == 'active' else r['status']})",
            "since": clock.parse_iso(r["since"]) if r["since"] else None,
            "state": "partial"
            if r["partly_signed"]
            else "invalidated"
            if r["was_signed"]
            else "unsigned",
        }
        for r in queries.unsigned_casebooks(db, site_ids)
    ]
    if change_requests_signed:
        items += [
            {
                "record_type": "clarification",
                "record_id": str(r["clarification_audit_id"]),
                "study_id": r["study_id"],
                "site": r["site"],
                "title": f"Change request {r['id']}: entry of {r['date']}",
                "since": clock.parse_iso(r["since"]),
                "state": "invalidated" if r["was_signed"] else "unsigned",
            }
            for r in queries.unsigned_change_requests(db, site_ids)
        ]
    items.sort(key=lambda i: (i["since"] is None, i["since"] or clock.now()))
    return items
