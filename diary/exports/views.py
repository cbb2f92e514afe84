"""GET /staff/exports/{name}: a download, site-scoped and audited."""

from __future__ import annotations

from flask import Response
from flask_login import current_user

from .. import clock
from ..access import staff_required
from ..db import get_db
from ..schemas import Blueprint
from ..study import current_study
from . import service
from .schemas import ExportQuery

blp = Blueprint("exports", __name__, description="Exports for the statisticians (staff)")


@blp.route("/staff/exports/<name>", methods=["GET"])
@staff_required("exports.read")
@blp.arguments(ExportQuery, location="query")
@blp.doc(
    description="entries.csv, doses.csv, flags.csv, adverse_events.csv, adherence.csv, "
    "questionnaires.csv, questionnaire_items.csv, questionnaire_responses.json (a FHIR "
    "Bundle of QuestionnaireResponse) or sdtm.zip (DM, QS, SUPPQS, CM, SUPPCM, AE, SUPPAE "
    "and define.json/define.csv).",
    responses={
        "200": {
            "description": "The file, as an attachment",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/zip": {"schema": {"type": "string", "format": "binary"}},
                "application/fhir+json": {"schema": {"type": "object"}},
            },
        },
        "404": {"$ref": "#/components/responses/DEFAULT_ERROR"},
    },
)
def download(args, name):
    result = service.export(
        get_db(),
        current_study(),
        name,
        site_ids=current_user.site_ids,
        site_code=args.get("site"),
        actor=current_user.actor,
        now=clock.now(),
    )
    return Response(
        result.body,
        content_type=result.mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{result.filename}"',
            "Cache-Control": "no-store",
        },
    )
