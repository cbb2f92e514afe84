"""Query and response schemas of the console's sites, adherence and audit endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..schemas import SITE_CODE, STUDY_ID, DateRangeQuery, StrictSchema

ACTOR_TYPES = ("staff", "participant", "system", "cli")


class SiteSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    timezone = fields.String(required=True)


class SiteListSchema(Schema):
    sites = fields.List(fields.Nested(SiteSchema), required=True)


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


class SiteAdherenceSchema(CountsSchema):
    site = fields.String(required=True)


class ParticipantAdherenceSchema(CountsSchema):
    study_id = fields.String(required=True)
    site = fields.String(required=True)
    status = fields.String()
    closed_through = fields.Date(
        allow_none=True, metadata={"description": "latest closed expected diary date"}
    )
    last_7 = fields.Nested(CountsSchema, required=True)
    last_entry_date = fields.String(allow_none=True)


class AdherenceSchema(Schema):
    sites = fields.List(fields.Nested(SiteAdherenceSchema), required=True)
    participants = fields.List(fields.Nested(ParticipantAdherenceSchema), required=True)


class AuditQuerySchema(StrictSchema):
    object_type = fields.String(validate=validate.Length(1, 40))
    object_id = fields.String(validate=validate.Length(1, 120))
    actor_type = fields.String(validate=validate.OneOf(ACTOR_TYPES))
    actor_id = fields.String(validate=validate.Length(1, 120))
    study_id = fields.String(validate=STUDY_ID)
    # Bounded by SQLite's INTEGER range: a larger number cannot be bound (a 500).
    before_id = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


class AuditRowSchema(Schema):
    id = fields.Integer(required=True)
    at = fields.String(required=True)
    actor_type = fields.String(required=True)
    actor_id = fields.String(allow_none=True)
    actor_label = fields.String(allow_none=True)
    action = fields.String(required=True)
    object_type = fields.String(required=True)
    object_id = fields.String(allow_none=True)
    site_id = fields.Integer(allow_none=True)
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    reason = fields.String(allow_none=True)


class ChainSchema(Schema):
    ok = fields.Boolean(required=True)
    rows = fields.Integer(required=True)
    broken_id = fields.Integer(allow_none=True)
    problem = fields.String(allow_none=True)


class AuditPageSchema(Schema):
    rows = fields.List(fields.Nested(AuditRowSchema), required=True)
    chain = fields.Nested(ChainSchema, required=True)
    next_before_id = fields.Integer(
        allow_none=True, metadata={"description": "pass as before_id for the next page"}
    )
