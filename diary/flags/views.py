"""Staff flag inbox and lifecycle, and adverse events (SPEC §6, §8, Appendix A)."""

from __future__ import annotations

from flask_login import current_user

from .. import clock
from ..access import staff_required
from ..audit import reads
from ..db import get_db, transaction
from ..errors import APIError, not_found
from ..notify import queries as notify_queries
from ..notify.schemas import FlagNotificationsSchema, recipient_of
from ..schemas import Blueprint
from ..study import current_study
from . import adverse_events, contacts, queries, service
from .schemas import (
    AdverseEventPatchSchema,
    AdverseEventSchema,
    CloseSchema,
    ContactAttemptInSchema,
    ContactAttemptSchema,
    FlagListSchema,
    FlagQuerySchema,
    FlagSchema,
    MergedQuerySchema,
    ResolveSchema,
    SeriousEventListSchema,
    SeriousEventQuerySchema,
    SponsorReportSchema,
)

blp = Blueprint("flags", __name__, description="Flags and adverse events (staff)")


def _flag(db, flag_id: int) -> dict:
    """The flag if it is at one of the signed-in staff member's sites; else 404. A GET
    that finds it is a read of its participant's record (the access log)."""
    # An id beyond SQLite's integer range cannot exist (and would not bind).
    flag = queries.get_flag(db, flag_id, current_user.site_ids) if flag_id < 2**63 else None
    if flag is None:
        raise not_found(f"No flag {flag_id} at your sites.")
    reads.staff_read(
        db, "participant_read", participant_id=flag["participant_id"], site_id=flag["site_id"]
    )
    return flag


def _present(db, rows: list[dict]) -> list[dict]:
    return service.present_flags(
        db,
        rows,
        role=current_user.role,
        escalation_minutes=current_study().escalation_after_minutes,
    )


def _shown(db, flag_id: int) -> dict:
    return {
        **_present(db, [_flag(db, flag_id)])[0],
        "timeline": service.timeline(db, flag_id),
        "contact_attempts": contacts.attempts(db, [flag_id]),
    }


def _merged(db, flag: dict, args: dict) -> list[dict]:
    """The other flags of the flag's inbox item, when the request acts on the item: just
    those the caller was shown (`seen`), or 409 when the item holds others now (a flag
    acknowledged unseen would never escalate)."""
    if not args["merged"]:
        return []
    ids = service.merged_items(db, [flag]).get(flag["id"], [])
    if {flag["id"], *ids} != set(args["seen"]):
        raise APIError(
            409,
            "This inbox item changed since it was shown: open it again to see every flag"
            " it holds now.",
            code="item_changed",
        )
    return [queries.get_flag(db, i, current_user.site_ids) for i in ids]


@blp.route("/staff/flags", methods=["GET"])
@staff_required("flags.read")
@blp.arguments(FlagQuerySchema, location="query")
@blp.response(200, FlagListSchema)
def list_flags(args):
    """The inbox: what needs action first; flags merged into one item come together."""
    db = get_db()
    rows, total = queries.list_flags(
        db,
        current_user.site_ids,
        status=args.get("status"),
        severity=args.get("severity"),
        kind=args.get("kind"),
        site_code=args.get("site"),
        study_id=args.get("study_id"),
        limit=args["limit"],
        offset=args["offset"],
    )
    flags = service.inbox(
        db,
        rows,
        role=current_user.role,
        escalation_minutes=current_study().escalation_after_minutes,
    )
    return {"flags": flags, "total": total, "offset": args["offset"], "limit": args["limit"]}


@blp.route("/staff/flags/<int:flag_id>", methods=["GET"])
@staff_required("flags.read")
@blp.response(200, FlagSchema)
def get_flag(flag_id):
    return _shown(get_db(), flag_id)


@blp.route("/staff/flags/<int:flag_id>/acknowledge", methods=["POST"])
@staff_required("flags.acknowledge")
@blp.arguments(MergedQuerySchema, location="query")
@blp.response(200, FlagSchema)
@blp.alt_response(409, description="The flag is not open (with `merged`: none of the item is)")
def acknowledge(args, flag_id):
    db = get_db()
    with transaction(db):
        flag = _flag(db, flag_id)
        service.acknowledge(
            db,
            flag=flag,
            merged=_merged(db, flag, args),
            actor=current_user.actor,
            staff_id=current_user.staff_id,
            now=clock.now(),
        )
    return _shown(db, flag_id)


@blp.route("/staff/flags/<int:flag_id>/resolve", methods=["POST"])
@staff_required("flags.resolve")
@blp.arguments(ResolveSchema)
@blp.arguments(MergedQuerySchema, location="query")
@blp.response(200, FlagSchema)
@blp.alt_response(409, description="The flag is resolved already")
@blp.alt_response(
    422, description="Invalid fields (an adverse event needs grade, seriousness and relatedness)"
)
def resolve(body, args, flag_id):
    db = get_db()
    with transaction(db):
        flag = _flag(db, flag_id)
        service.resolve(
            db,
            current_study(),
            flag=flag,
            body=body,
            merged=_merged(db, flag, args),
            actor=current_user.actor,
            staff_id=current_user.staff_id,
            tz=queries.timezone_of(db, flag["participant_id"]),
            now=clock.now(),
        )
    return _shown(db, flag_id)


@blp.route("/staff/flags/<int:flag_id>/close", methods=["POST"])
@staff_required("flags.close")
@blp.arguments(CloseSchema)
@blp.response(200, FlagSchema)
@blp.alt_response(403, description="A clinical flag (`clinical_flag`): investigators resolve it")
@blp.alt_response(409, description="The flag is resolved already")
def close(body, flag_id):
    """Close a non-clinical flag (missed entries, a missed questionnaire) with the reason;
    it is resolved with no clinical outcome."""
    db = get_db()
    with transaction(db):
        service.close(
            db,
            flag=_flag(db, flag_id),
            reason=body["reason"],
            actor=current_user.actor,
            staff_id=current_user.staff_id,
            now=clock.now(),
        )
    return _shown(db, flag_id)


@blp.route("/staff/flags/<int:flag_id>/contacts", methods=["POST"])
@staff_required("flags.contact")
@blp.arguments(ContactAttemptInSchema)
@blp.response(201, ContactAttemptSchema)
def record_contact_attempt(body, flag_id):
    """Add an attempt to reach the participant to the flag's log (audited)."""
    db = get_db()
    with transaction(db):
        return contacts.record(
            db,
            flag=_flag(db, flag_id),
            body=body,
            actor=current_user.actor,
            staff_id=current_user.staff_id,
            now=clock.now(),
        )


@blp.route("/staff/flags/<int:flag_id>/notifications", methods=["GET"])
@staff_required("flags.read")
@blp.response(200, FlagNotificationsSchema)
def flag_notifications(flag_id: int):
    """Who was notified about this flag, how, when, and with what result."""
    db = get_db()
    _flag(db, flag_id)
    rows = notify_queries.flag_notifications(db, flag_id)
    return {
        "flag_id": flag_id,
        "notifications": [{**r, "recipient": recipient_of(r)} for r in rows],
    }


# --- adverse events and the serious-adverse-event clock ---------------------------------


def _adverse_event(db, ae_id: int) -> dict:
    """The adverse event if it is at one of the staff member's sites; else 404. A GET
    that finds it is a read of its participant's record (the access log)."""
    rows = (
        queries.adverse_events(db, ae_id=ae_id, site_ids=current_user.site_ids)
        if ae_id < 2**63
        else []
    )
    if not rows:
        raise not_found(f"No adverse event {ae_id} at your sites.")
    ae = rows[0]
    reads.staff_read(
        db, "participant_read", participant_id=ae["participant_id"], site_id=ae["site_id"]
    )
    return ae


def _shown_event(db, ae_id: int) -> dict:
    return service.present_adverse_events(db, [_adverse_event(db, ae_id)], clock.now())[0]


@blp.route("/staff/adverse-events/<int:ae_id>", methods=["GET"])
@staff_required("flags.read")
@blp.response(200, AdverseEventSchema)
def get_adverse_event(ae_id: int):
    return _shown_event(get_db(), ae_id)


@blp.route("/staff/adverse-events/<int:ae_id>", methods=["PATCH"])
@staff_required("adverse_events.correct")
@blp.arguments(AdverseEventPatchSchema)
@blp.response(200, AdverseEventSchema)
@blp.alt_response(409, description="The participant's data is locked (`locked`)")
def correct_adverse_event(body, ae_id: int):
    """Correct an adverse event with a reason; its signatures are invalidated."""
    db = get_db()
    reason = body.pop("reason")
    with transaction(db):
        ae = _adverse_event(db, ae_id)
        adverse_events.correct(
            db,
            ae=ae,
            changes=body,
            reason=reason,
            actor=current_user.actor,
            staff_id=current_user.staff_id,
            tz=queries.timezone_of(db, ae["participant_id"]),
            now=clock.now(),
        )
    return _shown_event(db, ae_id)


@blp.route("/staff/adverse-events/<int:ae_id>/sponsor-report", methods=["POST"])
@staff_required("adverse_events.report")
@blp.arguments(SponsorReportSchema)
@blp.response(200, AdverseEventSchema)
@blp.alt_response(409, description="Not serious (`not_serious`), or reported already")
def report_to_sponsor(body, ae_id: int):
    """The serious event was reported to the sponsor: stops its 24-hour clock."""
    db = get_db()
    with transaction(db):
        adverse_events.report_to_sponsor(
            db,
            ae=_adverse_event(db, ae_id),
            reference=body["reference"],
            actor=current_user.actor,
            staff_id=current_user.staff_id,
            now=clock.now(),
        )
    return _shown_event(db, ae_id)


@blp.route("/staff/serious-events", methods=["GET"])
@staff_required("flags.read")
@blp.arguments(SeriousEventQuerySchema, location="query")
@blp.response(200, SeriousEventListSchema)
def serious_events(args):
    """Every SAE clock at the staff member's sites: running ones first, soonest due."""
    db = get_db()
    now = clock.now()
    rows = queries.serious_events(db, current_user.site_ids, include_closed=args["include_closed"])
    return {
        "serious_events": [
            {**adverse_events.present_clock(r, now), "study_id": r["study_id"], "term": r["term"]}
            for r in rows
        ]
    }
