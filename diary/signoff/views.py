"""Signatures (investigators) and the study freeze (admins) (SPEC §14). A participant's
own lock and unlock are in the participants package, beside the participant."""

from __future__ import annotations

from flask import current_app, request
from flask_login import current_user

from .. import clock
from ..access import staff_required
from ..auth import throttle
from ..db import get_db, transaction
from ..errors import not_found
from ..schemas import Blueprint
from ..study import current_study
from . import locks, queries, signatures
from .schemas import (
    AwaitingListSchema,
    FreezeSchema,
    ReasonSchema,
    SignatureCheckSchema,
    SignatureInSchema,
    SignatureListSchema,
    SignatureQuerySchema,
    SignatureSchema,
)

blp = Blueprint("signoff", __name__, description="Electronic signatures, locks and freezes")


@blp.route("/staff/signatures", methods=["POST"])
@staff_required("signatures.sign")
@blp.arguments(SignatureInSchema)
@blp.response(201, SignatureSchema)
@blp.alt_response(401, description="Wrong password: nothing signed (counts toward the lock)")
@blp.alt_response(409, description="Incomplete record, stale clarification or signed already")
def sign(body):
    """Sign a record: the password again, and what the signature means."""
    cfg = current_app.config
    return signatures.sign(
        get_db(),
        body=body,
        signer=current_user,
        site_ids=current_user.site_ids,
        client=request.remote_addr or "unknown",
        limits=throttle.Limits.from_config(cfg),
        now=clock.now(),
        secret_key=cfg["SECRET_KEY"],
    )


@blp.route("/staff/signatures", methods=["GET"])
@staff_required("signatures.read")
@blp.arguments(SignatureQuerySchema, location="query")
@blp.response(200, SignatureListSchema)
def list_signatures(args):
    """A record's signatures, valid and invalidated, oldest first."""
    db = get_db()
    record_id = args["record_id"]
    if args["record_type"] == "participant":
        participant = queries.participant(db, record_id, current_user.site_ids)
        if participant is None:
            raise not_found(f"No participant {record_id} at your sites.")
        numeric = participant["id"]
    elif record_id.isascii() and record_id.isdigit() and int(record_id) < 2**63:
        numeric = int(record_id)
    else:
        return {"signatures": []}
    rows = queries.signatures(
        db, record_type=args["record_type"], record_id=numeric, site_ids=current_user.site_ids
    )
    return {"signatures": [signatures.present(r) for r in rows]}


@blp.route("/staff/signatures/awaiting", methods=["GET"])
@staff_required("signatures.read")
@blp.response(200, AwaitingListSchema)
def awaiting():
    """What awaits an investigator's signature at the staff member's sites."""
    return {
        "awaiting": signatures.awaiting(
            get_db(),
            current_user.site_ids,
            change_requests_signed=current_study().change_requests_signed,
        )
    }


@blp.route("/staff/signatures/verify", methods=["GET"])
@staff_required("audit.read")
@blp.response(200, SignatureCheckSchema)
def verify():
    """Every signature against the audit row that recorded it and its record's hash."""
    problems = signatures.problems(get_db())
    return {"ok": not problems, "problems": problems}


def _freeze_state(db) -> dict:
    row = queries.freeze_in_force(db)
    if row is None:
        return {"frozen": False}
    return {
        "frozen": True,
        "frozen_at": clock.parse_iso(row["frozen_at"]),
        "frozen_by": row["frozen_by"],
        "reason": row["reason"],
    }


@blp.route("/staff/study/freeze", methods=["GET"])
@staff_required("participants.read")
@blp.response(200, FreezeSchema)
def freeze_state():
    return _freeze_state(get_db())


@blp.route("/staff/study/freeze", methods=["POST"])
@staff_required("study.freeze")
@blp.arguments(ReasonSchema)
@blp.response(200, FreezeSchema)
@blp.alt_response(409, description="Frozen already")
def freeze(body):
    """Freeze the whole study for a data cut: nobody writes diary data until lifted."""
    db = get_db()
    with transaction(db):
        locks.freeze(db, reason=body["reason"], actor=current_user.actor, now=clock.now())
    return _freeze_state(db)


@blp.route("/staff/study/unfreeze", methods=["POST"])
@staff_required("study.freeze")
@blp.arguments(ReasonSchema)
@blp.response(200, FreezeSchema)
@blp.alt_response(409, description="Not frozen")
def unfreeze(body):
    db = get_db()
    with transaction(db):
        locks.unfreeze(db, reason=body["reason"], actor=current_user.actor, now=clock.now())
    return _freeze_state(db)
