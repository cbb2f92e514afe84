"""The audit trail for staff: rows newest first, filtered, scoped to the staff member's
sites, with the hash chain's state (SPEC §9); and the access log, who read what (SPEC §15;
its CSV download is served by exports, beside the other files)."""

from __future__ import annotations

import dataclasses

from flask_login import current_user

from ..access import staff_required
from ..db import get_db
from ..schemas import Blueprint
from ..study import current_study
from . import access_queries, reads, verify
from .schemas import (
    AccessPageSchema,
    AccessQuerySchema,
    AuditPageSchema,
    AuditQuerySchema,
    ObjectTypeListSchema,
    object_type_label,
)

blp = Blueprint("audit", __name__, description="The audit trail")


@blp.route("/staff/audit", methods=["GET"])
@staff_required("audit.read")
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditPageSchema)
def get_audit(args):
    db = get_db()
    rows = access_queries.trail(
        db, site_ids=current_user.site_ids, timezone=current_study().timezone, **args
    )
    full_page = len(rows) == args["limit"]
    # The chain check reads every row: once per browse, with its first page, not again
    # for each "Show older rows".
    first_page = args.get("before_id") is None
    return {
        "rows": rows,
        "chain": dataclasses.asdict(verify(db)) if first_page else None,
        "next_before_id": rows[-1]["id"] if rows and full_page else None,
    }


@blp.route("/staff/audit/object-types", methods=["GET"])
@staff_required("audit.read")
@blp.response(200, ObjectTypeListSchema)
def get_audit_object_types():
    """The object types the audit trail holds, each with its name in words: the choices
    of the `object_type` filter."""
    types = access_queries.object_types(get_db(), site_ids=current_user.site_ids)
    return {"object_types": [{"type": t, "label": object_type_label(t)} for t in types]}


@blp.route("/staff/access-log", methods=["GET"])
@staff_required("access_log.read")
@blp.arguments(AccessQuerySchema, location="query")
@blp.response(200, AccessPageSchema)
def get_access_log(args):
    """Sign-ins and reads of participants' records and exports, newest first."""
    db = get_db()
    rows = access_queries.browse(
        db, site_ids=current_user.site_ids, timezone=current_study().timezone, **args
    )
    reads.staff_read(db, "access_log_read")
    full_page = len(rows) == args["limit"]
    return {"rows": rows, "next_before_id": rows[-1]["id"] if rows and full_page else None}
