"""The adherence report for staff: expected against entered diary dates per site and
participant, scoped to the staff member's sites (SPEC §10)."""

from __future__ import annotations

from flask_login import current_user

from .. import clock
from ..access import staff_required
from ..db import get_db
from ..schemas import Blueprint
from ..study import current_study
from . import report
from .schemas import AdherenceQuerySchema, AdherenceSchema

blp = Blueprint("adherence", __name__, description="Diary adherence")


@blp.route("/staff/adherence", methods=["GET"])
@staff_required("participants.read")
@blp.arguments(AdherenceQuerySchema, location="query")
@blp.response(200, AdherenceSchema)
def get_adherence(args):
    return report(
        get_db(),
        current_study(),
        current_user.site_ids,
        now=clock.now(),
        site_code=args.get("site"),
        start=args.get("from_"),
        end=args.get("to"),
    )
