"""The console's study-wide endpoints: sites, adherence, audit. Every lookup is scoped
to the signed-in staff member's sites. (A participant's entries and clarifications
are served by entries, beside the participant's own diary.)"""

from __future__ import annotations

import dataclasses

from flask_login import current_user

from .. import adherence, audit, clock
from ..auth import queries as auth_queries
from ..auth import staff_required
from ..db import get_db
from ..participants import queries as participant_queries
from ..schemas import Blueprint
from ..study import current_study
from .schemas import (
    AdherenceQuerySchema,
    AdherenceSchema,
    AuditPageSchema,
    AuditQuerySchema,
    SiteListSchema,
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
