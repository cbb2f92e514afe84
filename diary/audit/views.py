"""The audit trail for staff: rows newest first, filtered, scoped to the staff member's
sites, with the hash chain's state (SPEC §9)."""

from __future__ import annotations

import dataclasses

from flask_login import current_user

from ..access import staff_required
from ..db import get_db
from ..schemas import Blueprint
from . import list_rows, verify
from .schemas import AuditPageSchema, AuditQuerySchema

blp = Blueprint("audit", __name__, description="The audit trail")


@blp.route("/staff/audit", methods=["GET"])
@staff_required("audit.read")
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditPageSchema)
def get_audit(args):
    db = get_db()
    no_sites = current_user.site_ids is not None and not current_user.site_ids
    rows = [] if no_sites else list_rows(db, site_ids=current_user.site_ids, **args)
    full_page = len(rows) == args["limit"]
    return {
        "rows": rows,
        "chain": dataclasses.asdict(verify(db)),
        "next_before_id": rows[-1]["id"] if rows and full_page else None,
    }
