"""What the scheduled jobs did, for admins: the latest run of each job and every
participant a job is failing on (SPEC §7)."""

from __future__ import annotations

import json

from flask_login import current_user
from marshmallow import Schema, fields

from .. import clock
from ..access import staff_required
from ..db import get_db
from ..schemas import Blueprint
from . import queries

blp = Blueprint("jobs", __name__, description="Scheduled jobs (admins)")


class JobRunSchema(Schema):
    job_id = fields.String(required=True)
    as_of = fields.DateTime(required=True)
    started_at = fields.DateTime(required=True)
    finished_at = fields.DateTime(allow_none=True)
    status = fields.String(required=True, metadata={"description": "running | ok | error"})
    summary = fields.Dict(allow_none=True)
    error = fields.String(allow_none=True)


class JobFailureSchema(Schema):
    job_id = fields.String(required=True)
    study_id = fields.String(required=True)
    site = fields.String(required=True)
    first_failed_at = fields.DateTime(required=True)
    last_failed_at = fields.DateTime(required=True)
    failures = fields.Integer(required=True, metadata={"description": "runs that failed on it"})
    error = fields.String(required=True)


class JobStatusSchema(Schema):
    runs = fields.List(fields.Nested(JobRunSchema), required=True)
    failures = fields.List(fields.Nested(JobFailureSchema), required=True)


def _instants(row: dict, *names: str) -> dict:
    return {**row, **{n: clock.parse_iso(row[n]) if row[n] else None for n in names}}


@blp.route("/staff/jobs", methods=["GET"])
@staff_required("jobs.read")
@blp.response(200, JobStatusSchema)
def job_status():
    """The latest run of each job, and the participants a job carried on without."""
    db = get_db()
    runs = [
        {
            **_instants(r, "as_of", "started_at", "finished_at"),
            "summary": json.loads(r["summary"]) if r["summary"] else None,
        }
        for r in queries.latest_runs(db)
    ]
    failures = [
        _instants(f, "first_failed_at", "last_failed_at")
        for f in queries.failures(db, current_user.site_ids)
    ]
    return {"runs": runs, "failures": failures}
