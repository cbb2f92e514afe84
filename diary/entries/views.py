"""The participant's diary: PUT/GET entries and the protocol the PWA draws."""

from __future__ import annotations

from flask_login import current_user

from .. import clock
from ..access import participant_required, staff_required
from ..db import get_db, transaction
from ..errors import not_found
from ..notify import webpush
from ..participants.scope import scoped_participant
from ..schemas import Blueprint
from ..study import current_study
from . import change_requests, queries, service, staff
from .schemas import (
    ChangeDecisionIn,
    ChangeRequestIn,
    ChangeRequestListSchema,
    ChangeRequestSchema,
    ClarificationIn,
    EntryIn,
    EntryListOut,
    EntryOut,
    ProtocolOut,
    RangeQuery,
    StaffEntryListSchema,
    StaffEntrySchema,
    StaffProtocolOut,
    StaffRangeQuery,
    TimeZonesOut,
    TimeZonesQuery,
)

blp = Blueprint("entries", __name__, description="Diary entries")


@blp.route("/protocol", methods=["GET"])
@participant_required
@blp.response(200, ProtocolOut)
def get_protocol():
    return service.protocol(
        get_db(),
        current_study(),
        current_user.participant_id,
        vapid_public_key=webpush.app_public_key(),
    )


@blp.route("/timezones", methods=["GET"])
@participant_required
@blp.arguments(TimeZonesQuery(), location="query")
@blp.response(200, TimeZonesOut)
def list_time_zones(args):
    """The time zones a participant can choose, by country and city (canonical names
    only), and the canonical zone of the one their phone reports."""
    return _zones(args.get("device"))


def _zones(device: str | None) -> dict:
    return {
        "countries": clock.zone_choices(),
        "device": clock.canonical_or_none(device) if device else None,
    }


@blp.route("/staff/timezones", methods=["GET"])
@staff_required("participants.read")
@blp.arguments(TimeZonesQuery(), location="query")
@blp.response(200, TimeZonesOut)
def list_staff_time_zones(args):
    """The same list for staff (enrolment, a site's zone): the only names the server
    takes, where a browser's own list holds old aliases it refuses."""
    return _zones(args.get("device"))


@blp.route("/staff/protocol", methods=["GET"])
@staff_required("participants.read")
@blp.response(200, StaffProtocolOut)
def get_staff_protocol():
    """The study's checklist, formulary (with MME factors) and flag thresholds, for staff."""
    return service.staff_protocol(current_study())


@blp.route("/entries/<date:day>", methods=["PUT"])
@participant_required
# An instance, not the class: webargs would build the schema (and its nested
# DoseIn) anew on every request, about a tenth of a diary PUT's CPU time.
@blp.arguments(EntryIn())
@blp.response(200, EntryOut)
@blp.alt_response(201, schema=EntryOut, description="Created")
@blp.alt_response(409, description="Entry window closed, or client_id reused for other content")
@blp.alt_response(422, description="Invalid fields; nothing written")
def put_entry(body, day):
    entry, status = service.put_entry(
        get_db(),
        current_study(),
        participant_id=current_user.participant_id,
        day=day,
        body=body,
        actor=current_user.actor,
        now=clock.now(),
    )
    return entry, status


@blp.route("/entries/<date:day>", methods=["GET"])
@participant_required
@blp.response(200, EntryOut)
def get_entry(day):
    entry = service.get(get_db(), current_study(), current_user.participant_id, day)
    if entry is None:
        raise not_found(f"No entry for {day}.")
    return entry


@blp.route("/entries", methods=["GET"])
@participant_required
@blp.arguments(RangeQuery(), location="query")
@blp.response(200, EntryListOut)
def list_entries(args):
    return {
        "entries": service.between(
            get_db(), current_study(), current_user.participant_id, args["from_"], args["to"]
        )
    }


# --- staff: a participant's entries with their corrections, clarifications --------


@blp.route("/staff/participants/<study_id>/entries", methods=["GET"])
@staff_required("participants.read")
@blp.arguments(StaffRangeQuery, location="query")
@blp.response(200, StaffEntryListSchema)
def list_staff_entries(args, study_id):
    """A page of a participant's entries: the newest `limit` of from..to before `before`."""
    db = get_db()
    participant = scoped_participant(study_id)
    first, last = service.expected_range(current_study(), participant)
    start, end = args.get("from_", first), args.get("to", last)
    limit = args["limit"]
    dates, total = queries.entry_page(
        db, participant["id"], start, end, before=args.get("before"), limit=limit + 1
    )
    page = dates[:limit]
    entries = (
        staff.with_corrections(db, current_study(), participant, page[-1], page[0]) if page else []
    )
    return {
        "entries": entries,
        "total": total,
        "next_before": page[-1] if len(dates) > limit else None,
    }


@blp.route("/staff/participants/<study_id>/entries/<date:day>", methods=["PUT"])
@staff_required("entries.clarify")
@blp.arguments(ClarificationIn)
@blp.response(200, StaffEntrySchema)
@blp.alt_response(201, schema=StaffEntrySchema, description="Created")
@blp.alt_response(422, description="Invalid fields (a reason is always required); nothing written")
def clarify_entry(body, study_id, day):
    return staff.clarify(
        get_db(),
        current_study(),
        participant=scoped_participant(study_id),
        day=day,
        body=body,
        actor=current_user.actor,
        now=clock.now(),
    )


# --- staff: data change requests (SPEC §14) ---------------------------------------


@blp.route("/staff/participants/<study_id>/change-requests", methods=["GET"])
@staff_required("participants.read")
@blp.response(200, ChangeRequestListSchema)
def list_change_requests(study_id):
    participant = scoped_participant(study_id)
    rows = queries.change_requests(get_db(), participant["id"])
    return {"change_requests": [change_requests.present(r) for r in rows]}


@blp.route("/staff/participants/<study_id>/change-requests", methods=["POST"])
@staff_required("change_requests.record")
@blp.arguments(ChangeRequestIn)
@blp.response(201, ChangeRequestSchema)
@blp.alt_response(409, description="The participant's data is locked (`locked`)")
def record_change_request(body, study_id):
    """Record a participant's requested correction: what, why, and its source."""
    db = get_db()
    with transaction(db):
        participant = scoped_participant(study_id)
        request_id = change_requests.record(
            db,
            current_study(),
            participant=participant,
            body=body,
            actor=current_user.actor,
            staff_id=current_user.staff_id,
            now=clock.now(),
        )
    return change_requests.present(queries.change_request(db, request_id, None))


def _decide(request_id: int, body: dict, apply: bool) -> dict:
    db = get_db()
    with transaction(db):
        request = queries.change_request(db, request_id, current_user.site_ids)
        if request is None:
            raise not_found(f"No change request {request_id} at your sites.")
        participant = scoped_participant(request["study_id"])
        common = {
            "request": request,
            "request_id": request_id,
            "participant": participant,
            "reason": body["reason"],
            "actor": current_user.actor,
            "staff_id": current_user.staff_id,
            "now": clock.now(),
        }
        if apply:
            change_requests.apply(db, current_study(), **common)
        else:
            change_requests.decline(db, **common)
    return change_requests.present(queries.change_request(db, request_id, None))


@blp.route("/staff/change-requests/<int:request_id>/apply", methods=["POST"])
@staff_required("change_requests.apply")
@blp.arguments(ChangeDecisionIn)
@blp.response(200, ChangeRequestSchema)
@blp.alt_response(409, description="Decided already, or the data is locked")
def apply_change_request(body, request_id: int):
    """Apply the requested change as a data clarification (with this reason)."""
    return _decide(request_id, body, apply=True)


@blp.route("/staff/change-requests/<int:request_id>/decline", methods=["POST"])
@staff_required("change_requests.apply")
@blp.arguments(ChangeDecisionIn)
@blp.response(200, ChangeRequestSchema)
@blp.alt_response(409, description="Decided already")
def decline_change_request(body, request_id: int):
    return _decide(request_id, body, apply=False)
