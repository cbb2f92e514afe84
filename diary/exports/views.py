"""GET /staff/exports/{name}: a download, site-scoped, audited and in the access log; and
GET /staff/access-log.csv, the access log as a file (its rows are audit's, the CSV is ours)."""

from __future__ import annotations

from flask import Response, request
from flask_login import current_user

from .. import clock
from ..access import staff_required
from ..audit import reads
from ..audit.schemas import AccessCsvQuerySchema
from ..db import get_db
from ..schemas import Blueprint
from ..study import current_study
from . import queries as export_queries
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
    study = current_study()
    period = export_queries.Period.asked(args.get("from_"), args.get("to"), study.timezone)
    result = service.export(
        get_db(),
        study,
        name,
        site_ids=current_user.site_ids,
        site_code=args.get("site"),
        actor=current_user.actor,
        staff_id=current_user.staff_id,
        client=request.remote_addr,
        now=clock.now(),
        period=period,
    )
    return _attachment(result)


@blp.route("/staff/access-log.csv", methods=["GET"])
@staff_required("access_log.read")
@blp.arguments(AccessCsvQuerySchema, location="query")
@blp.doc(
    description="Every access-log row the filters of GET /staff/access-log select (or the "
    "newest `limit`), as CSV, newest first.",
    responses={"200": {"description": "access_log CSV", "content": {"text/csv": {}}}},
)
def access_log_csv(args):
    db = get_db()
    result = service.access_log_file(
        db, current_study(), site_ids=current_user.site_ids, query=args, now=clock.now()
    )
    reads.staff_read(db, "access_log_read", every_time=True)
    return _attachment(result)


def _attachment(result: service.Export) -> Response:
    return Response(
        result.body,
        content_type=result.mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{result.filename}"',
            "Cache-Control": "no-store",
        },
    )
