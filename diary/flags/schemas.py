"""Request and response schemas of the flag lifecycle and adverse events (Appendix A)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..schemas import SITE_CODE, STUDY_ID, StrictSchema
from . import rules

KINDS = rules.KINDS
SEVERITIES = ("low", "high", "urgent")
STATUSES = ("open", "acknowledged", "resolved")
OUTCOMES = ("not_ae", "adverse_event")
RELATEDNESS = ("not_related", "unlikely", "possible", "probable", "definite")
MANUAL_SOURCES = ("interview", "clinical_exam", "diary")
NOTE = validate.Length(max=2000)


class FlagQuerySchema(StrictSchema):
    status = fields.String(
        validate=validate.OneOf((*STATUSES, "unresolved")),
        metadata={"description": "a status, or `unresolved` (open or acknowledged)"},
    )
    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    kind = fields.String(validate=validate.OneOf(KINDS))
    site = fields.String(validate=SITE_CODE)
    study_id = fields.String(validate=STUDY_ID)
    limit = fields.Integer(load_default=500, validate=validate.Range(1, 2000))


class _AdverseEventFields(StrictSchema):
    ctcae_grade = fields.Integer(strict=True, validate=validate.Range(1, 5))
    serious = fields.Boolean()
    related = fields.String(validate=validate.OneOf(RELATEDNESS))
    note = fields.String(validate=NOTE, allow_none=True)


class ResolveSchema(_AdverseEventFields):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    term = fields.String(
        validate=validate.Length(1, 200),
        metadata={"description": "AE term; derived from the flag when omitted"},
    )

    @validates_schema
    def _adverse_event_fields(self, data, **kwargs):
        ae_only = ("ctcae_grade", "serious", "related", "term")
        if data.get("outcome") == "adverse_event":
            missing = {
                name: ["required when the outcome is adverse_event"]
                for name in ("ctcae_grade", "serious", "related")
                if name not in data
            }
            if missing:
                raise ValidationError(missing)
        elif data.get("outcome") == "not_ae":
            extra = {name: ["only with outcome adverse_event"] for name in ae_only if name in data}
            if extra:
                raise ValidationError(extra)


class AdverseEventInSchema(_AdverseEventFields):
    source = fields.String(required=True, validate=validate.OneOf(MANUAL_SOURCES))
    term = fields.String(required=True, validate=validate.Length(1, 200))
    onset_date = fields.Date(required=True)
    ctcae_grade = fields.Integer(required=True, strict=True, validate=validate.Range(1, 5))
    serious = fields.Boolean(required=True)
    related = fields.String(required=True, validate=validate.OneOf(RELATEDNESS))


class AdverseEventSchema(Schema):
    id = fields.Integer(required=True)
    study_id = fields.String(required=True)
    site = fields.String(required=True)
    flag_id = fields.Integer(allow_none=True)
    source = fields.String(required=True)
    term = fields.String(required=True)
    onset_date = fields.Date(required=True)
    ctcae_grade = fields.Integer(required=True)
    serious = fields.Boolean(required=True)
    related = fields.String(required=True)
    note = fields.String(allow_none=True)
    recorded_by = fields.String(required=True, metadata={"description": "staff e-mail"})
    recorded_at = fields.DateTime(required=True)


class AdverseEventListSchema(Schema):
    adverse_events = fields.List(fields.Nested(AdverseEventSchema), required=True)


class FlagSchema(Schema):
    id = fields.Integer(required=True)
    study_id = fields.String(required=True)
    site = fields.String(required=True)
    kind = fields.String(required=True)
    severity = fields.String(required=True)
    status = fields.String(required=True)
    first_date = fields.Date(required=True)
    last_date = fields.Date(required=True)
    detail = fields.Dict(required=True)
    opened_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    acknowledged_by = fields.String(allow_none=True, metadata={"description": "staff e-mail"})
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True, metadata={"description": "staff e-mail"})
    outcome = fields.String(
        allow_none=True,
        metadata={"description": "not_ae | adverse_event | auto_resolved (the data removed it)"},
    )
    resolution_note = fields.String(allow_none=True)
    adverse_event = fields.Nested(AdverseEventSchema, allow_none=True)
    rule = fields.Dict(
        required=True,
        metadata={"description": "the rule that raised it: id, version, evaluated, thresholds"},
    )
    reopened_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "when it last went back to open after gaining a finding"},
    )
    reopen_count = fields.Integer(required=True)
    timeline = fields.List(
        fields.Nested(lambda: TimelineEventSchema()),
        metadata={"description": "single-flag view only: its history, oldest first"},
    )


class TimelineEventSchema(Schema):
    type = fields.String(required=True, metadata={"description": "audit | notification"})
    at = fields.DateTime(required=True)
    action = fields.String(
        required=True, metadata={"description": "audit action, or the notification channel"}
    )
    actor = fields.String(allow_none=True)
    purpose = fields.String(allow_none=True)
    recipient = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    reason = fields.String(allow_none=True)


class FlagListSchema(Schema):
    flags = fields.List(fields.Nested(FlagSchema), required=True)
