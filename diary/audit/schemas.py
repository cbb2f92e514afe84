"""Query and response schemas of the audit trail's staff endpoint."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..schemas import STUDY_ID, StrictSchema

ACTOR_TYPES = ("staff", "participant", "system", "cli")


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
