"""Request and response schemas of signatures, locks and freezes (SPEC §14)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from ..schemas import Day, StrictSchema, Text
from .signatures import MEANINGS, RECORD_TYPES


class RecordId(fields.Field):
    """A record's id: the adverse event's or clarification's number, or a study ID."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValidationError("a record number, or a participant's study ID")
        text = str(value).strip()
        if not 1 <= len(text) <= 40:
            raise ValidationError("a record number, or a participant's study ID")
        return text

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class SignatureInSchema(StrictSchema):
    record_type = fields.String(required=True, validate=validate.OneOf(RECORD_TYPES))
    record_id = RecordId(required=True)
    meaning = fields.String(required=True, validate=validate.OneOf(MEANINGS))
    password = fields.String(required=True, validate=validate.Length(1, 1024), load_only=True)
    otp = fields.String(
        validate=validate.Length(1, 40),
        load_only=True,
        metadata={"description": "the authenticator code, when the signer has two-step sign-in"},
    )
    up_to = Day(
        metadata={"description": "casebook signatures: the last date covered (default today)"}
    )


class SignatureQuerySchema(StrictSchema):
    record_type = fields.String(required=True, validate=validate.OneOf(RECORD_TYPES))
    record_id = RecordId(required=True)


class InvalidatingChangeSchema(Schema):
    audit_id = fields.Integer(required=True)
    action = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)
    at = fields.DateTime(allow_none=True)
    reason = fields.String(allow_none=True)


class SignatureSchema(Schema):
    id = fields.Integer(required=True)
    record_type = fields.String(required=True)
    record_id = fields.String(required=True)
    study_id = fields.String(required=True)
    up_to = Day(allow_none=True)
    meaning = fields.String(required=True)
    signer_name = fields.String(required=True)
    signer_email = fields.String(required=True)
    signed_at = fields.DateTime(required=True)
    record_hash = fields.String(required=True, metadata={"description": "SHA-256 of the record"})
    status = fields.String(required=True, metadata={"description": "valid | invalidated"})
    invalidated_at = fields.DateTime(allow_none=True)
    invalidated_by = fields.Nested(InvalidatingChangeSchema, allow_none=True)
    manifestation = fields.String(required=True, metadata={"description": "as printed"})


class SignatureListSchema(Schema):
    signatures = fields.List(fields.Nested(SignatureSchema), required=True)


class AwaitingItemSchema(Schema):
    record_type = fields.String(required=True)
    record_id = fields.String(required=True)
    study_id = fields.String(required=True)
    site = fields.String(required=True)
    title = fields.String(required=True)
    since = fields.DateTime(allow_none=True)
    state = fields.String(
        required=True,
        metadata={
            "description": "unsigned | invalidated (changed since signing) | partial "
            "(a casebook signed up to a date before its last record)"
        },
    )


class AwaitingListSchema(Schema):
    awaiting = fields.List(fields.Nested(AwaitingItemSchema), required=True)


class ReasonSchema(StrictSchema):
    reason = Text(required=True, validate=validate.Length(3, 500))


class LockStateSchema(Schema):
    scope = fields.String(required=True, metadata={"description": "participant | study"})
    locked_at = fields.DateTime(required=True)
    locked_by = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


class FreezeSchema(Schema):
    frozen = fields.Boolean(required=True)
    frozen_at = fields.DateTime(allow_none=True)
    frozen_by = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


class SignatureCheckSchema(Schema):
    ok = fields.Boolean(required=True)
    problems = fields.List(fields.String(), required=True)
