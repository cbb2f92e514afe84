"""The console's endpoints: sites, adherence, audit, a participant's entries and
clarifications. Every lookup is scoped to the signed-in staff member's sites."""

from __future__ import annotations

import dataclasses
from datetime import date

from flask_login import current_user

from .. import adherence, audit, clock
from ..auth import queries as auth_queries
from ..auth import staff_required
from ..db import get_db
from ..entries import service as entry_service
from ..errors import invalid
from ..participants import queries as participant_queries
from ..participants.scope import scoped_participant
from ..schemas import Blueprint
from ..study import current_study
from . import entries
from .schemas import (
    AdherenceQuerySchema,
    AdherenceSchema,
    AuditPageSchema,
    AuditQuerySchema,
    ClarificationIn,
    SiteListSchema,
    StaffEntryListSchema,
    StaffEntrySchema,
    StaffRangeQuery,
)

blp = Blueprint("console", __name__, description="Staff console: sites, adherence, audit")


@blp.route("/staff/sites", methods=["GET"])
@staff_required("participants.read")
@blp.response(200, SiteListSchema)
def list_sites():
    return {"sites": auth_queries.list_sites(get_db(), current_user.site_ids)}


@blp.route("/staff/adherence", methods=["GET"])
@staff_required("participants.read")
@blp.arguments(AdherenceQuerySchema, location="query")
@blp.response(200, AdherenceSchema)
def get_adherence(args):
    return adherence.report(
        get_db(),
        current_study(),
        current_user.site_ids,
        now=clock.now(),
        site_code=args.get("site"),
        start=args.get("from_"),
        end=args.get("to"),
    )


@blp.route("/staff/audit", methods=["GET"])
@staff_required("audit.read")
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditPageSchema)
def get_audit(args):
    db = get_db()
    filters = {k: v for k, v in args.items() if k != "study_id"}
    rows = []
    if "study_id" in args:
        participant = participant_queries.get_by_study_id(
            db, args["study_id"], current_user.site_ids
        )
        filters["participant_id"] = participant["id"] if participant else None
    no_sites = current_user.site_ids is not None and not current_user.site_ids
    if filters.get("participant_id", 0) is not None and not no_sites:
        rows = audit.list_rows(db, site_ids=current_user.site_ids, **filters)
    full_page = len(rows) == args["limit"]
    return {
        "rows": rows,
        "chain": dataclasses.asdict(audit.verify(db)),
        "next_before_id": rows[-1]["id"] if rows and full_page else None,
    }


def _day(text: str) -> date:
    day = clock.parse_date(text)
    if day is None:
        raise invalid("date", "must be a date as YYYY-MM-DD")
    return day


@blp.route("/staff/participants/<study_id>/entries", methods=["GET"])
@staff_required("participants.read")
@blp.arguments(StaffRangeQuery, location="query")
@blp.response(200, StaffEntryListSchema)
def list_entries(args, study_id):
    participant = scoped_participant(study_id)
    first, last = entry_service.expected_range(current_study(), participant)
    start, end = args.get("from_", first), args.get("to", last)
    return {"entries": entries.with_corrections(get_db(), current_study(), participant, start, end)}


@blp.route("/staff/participants/<study_id>/entries/<day>", methods=["PUT"])
@staff_required("entries.clarify")
@blp.arguments(ClarificationIn)
@blp.response(200, StaffEntrySchema)
@blp.alt_response(201, schema=StaffEntrySchema, description="Created")
@blp.alt_response(422, description="Invalid fields (a reason is always required); nothing written")
def clarify_entry(body, study_id, day):
    return entries.clarify(
        get_db(),
        current_study(),
        participant=scoped_participant(study_id),
        day=_day(day),
        body=body,
        actor=current_user.actor,
        now=clock.now(),
    )
