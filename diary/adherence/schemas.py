"""Query and response schemas of the adherence report."""

from __future__ import annotations

from marshmallow import Schema, fields

from ..schemas import SITE_CODE, DateRangeQuery, Day


class AdherenceQuerySchema(DateRangeQuery):
    site = fields.String(validate=SITE_CODE)


class CountsSchema(Schema):
    expected = fields.Integer(required=True)
    entered = fields.Integer(required=True)
    entered_on_time = fields.Integer(
        required=True, metadata={"description": "received before the date's window closed"}
    )
    entered_synced_late = fields.Integer(
        required=True,
        metadata={"description": "made inside the window on the phone, received after it closed"},
    )
    rate = fields.Float(
        required=True, allow_none=True, metadata={"description": "0–1; null: nothing expected yet"}
    )


QUESTIONNAIRES = (
    "questionnaires whose window has closed (expected) and how many were answered "
    "(entered: on time or synced late)"
)


class SiteAdherenceSchema(CountsSchema):
    site = fields.String(required=True)
    questionnaires = fields.Nested(
        CountsSchema, required=True, metadata={"description": QUESTIONNAIRES}
    )


class ParticipantAdherenceSchema(CountsSchema):
    study_id = fields.String(required=True)
    site = fields.String(required=True)
    status = fields.String()
    closed_through = Day(
        allow_none=True, metadata={"description": "latest closed expected diary date"}
    )
    last_7 = fields.Nested(CountsSchema, required=True)
    last_entry_date = fields.String(allow_none=True)
    questionnaires = fields.Nested(
        CountsSchema, required=True, metadata={"description": QUESTIONNAIRES}
    )


class AdherenceSchema(Schema):
    sites = fields.List(fields.Nested(SiteAdherenceSchema), required=True)
    participants = fields.List(fields.Nested(ParticipantAdherenceSchema), required=True)
