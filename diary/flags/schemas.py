"""Request and response schemas of the flag lifecycle and adverse events (Appendix A)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from webargs.fields import DelimitedList

from ..schemas import SITE_CODE, STUDY_ID, Day, DeviceTime, JsonBoolean, StrictSchema, Text
from ..signoff.schemas import SignatureSchema
from . import adverse_events as ae
from . import contacts, rules

KINDS = rules.KINDS
SEVERITIES = ("low", "high", "urgent")
STATUSES = ("open", "acknowledged", "resolved")
OUTCOMES = ("not_ae", "adverse_event")
RELATEDNESS = ("not_related", "unlikely", "possible", "probable", "definite")
MANUAL_SOURCES = ("participant_report", "site_visit", "interview", "clinical_exam", "diary")
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
    limit = fields.Integer(
        load_default=100,
        validate=validate.Range(1, 500),
        metadata={"description": "flags in this page (the inbox's order)"},
    )
    offset = fields.Integer(
        load_default=0,
        validate=validate.Range(0, 10**6),
        metadata={"description": "flags before this page (0: the first page)"},
    )


class MergedQuerySchema(StrictSchema):
    merged = fields.Boolean(
        load_default=False,
        metadata={
            "description": "act on the whole inbox item: this flag and the flags merged with"
            " it (`merged_with`), in one transaction, each audited"
        },
    )
    seen = DelimitedList(
        fields.Integer(validate=validate.Range(1, 2**53)),
        validate=validate.Length(max=50),
        metadata={
            "description": "with `merged`: the ids of the item's flags as shown (this flag"
            " and its `merged_with`), comma-separated; 409 `item_changed` when the item"
            " holds other flags now"
        },
    )

    @validates_schema
    def _seen_with_merged(self, data, **kwargs):
        if data.get("merged") and not data.get("seen"):
            raise ValidationError(
                "List the ids of the flags you were shown (this flag and merged_with).", "seen"
            )


class CloseSchema(StrictSchema):
    reason = Text(
        required=True,
        validate=validate.Length(3, 2000),
        metadata={"description": "why it is closed, e.g. participant contacted, will resume"},
    )


class ContactAttemptInSchema(StrictSchema):
    attempted_at = DeviceTime(
        required=True,
        metadata={"description": "when the attempt was made (ISO 8601 with its UTC offset)"},
    )
    method = fields.String(required=True, validate=validate.OneOf(contacts.METHODS))
    outcome = fields.String(required=True, validate=validate.OneOf(contacts.OUTCOMES))
    note = Text(validate=NOTE, allow_none=True, load_default=None)


class ContactAttemptSchema(Schema):
    id = fields.Integer(required=True)
    flag_id = fields.Integer(required=True)
    attempted_at = fields.DateTime(required=True)
    method = fields.String(
        required=True, metadata={"description": "phone | sms | email | in_person | other"}
    )
    outcome = fields.String(
        required=True,
        metadata={"description": "reached | left_message | no_answer | wrong_contact | other"},
    )
    note = fields.String(allow_none=True)
    recorded_by = fields.String(required=True, metadata={"description": "staff e-mail"})
    recorded_at = fields.DateTime(required=True)


class _StaffRefSchema(Schema):
    email = fields.String(required=True)
    role = fields.String(required=True)


class EscalationSchema(Schema):
    urgent_at = fields.DateTime(required=True, metadata={"description": "when it became urgent"})
    escalated_at = fields.DateTime(
        allow_none=True, metadata={"description": "its latest escalation, if any"}
    )
    escalated_to = fields.List(
        fields.Nested(_StaffRefSchema),
        required=True,
        metadata={"description": "who that escalation went to"},
    )
    escalates_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "while nobody has acknowledged it: when it will escalate"},
    )


class _AdverseEventFields(StrictSchema):
    ctcae_grade = fields.Integer(
        strict=True, validate=validate.Range(1, 5), metadata={"description": "CTCAE v5 grade"}
    )
    serious = JsonBoolean()
    seriousness_criteria = fields.List(
        fields.String(validate=validate.OneOf(ae.SERIOUSNESS)),
        validate=validate.Length(max=len(ae.SERIOUSNESS)),
        metadata={"description": "one or more for a serious event, none otherwise"},
    )
    related = fields.String(validate=validate.OneOf(RELATEDNESS))
    expected = fields.String(
        validate=validate.OneOf(ae.EXPECTEDNESS),
        allow_none=True,
        metadata={"description": "against the reference safety information"},
    )
    action_taken = fields.String(validate=validate.OneOf(ae.ACTIONS), allow_none=True)
    ae_outcome = fields.String(validate=validate.OneOf(ae.OUTCOMES), allow_none=True)
    end_date = Day(allow_none=True)
    note = Text(validate=NOTE, allow_none=True)


class ResolveSchema(_AdverseEventFields):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    term = Text(
        validate=validate.Length(1, 200),
        metadata={"description": "AE verbatim term; derived from the flag when omitted"},
    )
    onset_date = Day(metadata={"description": "default: the flag's first date"})

    @validates_schema
    def _adverse_event_fields(self, data, **kwargs):
        ae_only = tuple(name for name in ae.FIELDS if name != "note")
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
    term = Text(required=True, validate=validate.Length(1, 200))
    onset_date = Day(required=True)
    ctcae_grade = fields.Integer(required=True, strict=True, validate=validate.Range(1, 5))
    serious = JsonBoolean(required=True)
    related = fields.String(required=True, validate=validate.OneOf(RELATEDNESS))


class AdverseEventPatchSchema(_AdverseEventFields):
    term = Text(validate=validate.Length(1, 200))
    onset_date = Day()
    reason = Text(required=True, validate=validate.Length(3, 500))

    @validates_schema
    def _something(self, data, **kwargs):
        if not set(data) - {"reason"}:
            raise ValidationError({"_schema": ["name at least one field to correct"]})
        for name in ("ctcae_grade", "serious", "related", "term", "onset_date"):
            if name in data and data[name] is None:
                raise ValidationError({name: ["cannot be emptied"]})


class SponsorReportSchema(StrictSchema):
    reference = Text(
        required=True,
        validate=validate.Length(1, 100),
        metadata={"description": "the sponsor's (or safety database's) case reference"},
    )


class SaeClockSchema(Schema):
    id = fields.Integer(required=True)
    trigger = fields.String(
        required=True, metadata={"description": "hospital_or_er_visit | serious_adverse_event"}
    )
    status = fields.String(required=True, metadata={"description": "running | reported | stopped"})
    started_at = fields.DateTime(required=True)
    due_at = fields.DateTime(required=True)
    seconds_left = fields.Integer(allow_none=True, metadata={"description": "negative: overdue"})
    reported_at = fields.DateTime(allow_none=True)
    reported_by = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    stopped_at = fields.DateTime(allow_none=True)
    stop_reason = fields.String(allow_none=True)
    flag_id = fields.Integer(allow_none=True)
    adverse_event_id = fields.Integer(allow_none=True)


class SeriousEventSchema(SaeClockSchema):
    study_id = fields.String(required=True)
    term = fields.String(allow_none=True)


class SeriousEventListSchema(Schema):
    serious_events = fields.List(fields.Nested(SeriousEventSchema), required=True)


class SeriousEventQuerySchema(StrictSchema):
    include_closed = fields.Boolean(load_default=False)


class AdverseEventSchema(Schema):
    id = fields.Integer(required=True)
    study_id = fields.String(required=True)
    site = fields.String(required=True)
    flag_id = fields.Integer(allow_none=True)
    source = fields.String(required=True)
    term = fields.String(required=True)
    onset_date = Day(required=True)
    end_date = Day(allow_none=True)
    ctcae_grade = fields.Integer(required=True)
    serious = fields.Boolean(required=True)
    seriousness_criteria = fields.List(fields.String(), required=True)
    related = fields.String(required=True)
    expected = fields.String(allow_none=True)
    action_taken = fields.String(allow_none=True)
    ae_outcome = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    version = fields.Integer(required=True)
    recorded_by = fields.String(required=True, metadata={"description": "staff e-mail"})
    recorded_at = fields.DateTime(required=True)
    updated_by = fields.String(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)
    signatures = fields.List(fields.Nested(SignatureSchema), required=True)
    signature_status = fields.String(
        required=True, metadata={"description": "unsigned | signed | invalidated"}
    )
    sae_clock = fields.Nested(SaeClockSchema, allow_none=True)


class AdverseEventListSchema(Schema):
    adverse_events = fields.List(fields.Nested(AdverseEventSchema), required=True)


class FlagSchema(Schema):
    id = fields.Integer(required=True)
    study_id = fields.String(required=True)
    site = fields.String(required=True)
    kind = fields.String(required=True)
    severity = fields.String(required=True)
    status = fields.String(required=True)
    first_date = Day(required=True)
    last_date = Day(required=True)
    detail = fields.Dict(required=True)
    opened_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    acknowledged_by = fields.String(allow_none=True, metadata={"description": "staff e-mail"})
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True, metadata={"description": "staff e-mail"})
    outcome = fields.String(
        allow_none=True,
        metadata={
            "description": "not_ae | adverse_event | auto_resolved (the data removed it);"
            " null on a resolved flag: closed with a reason, no clinical outcome"
        },
    )
    resolution_note = fields.String(allow_none=True)
    resolution_note_required = fields.Boolean(
        required=True,
        metadata={"description": "a red-flag or urgent flag is resolved only with a note"},
    )
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
    sae_clock = fields.Nested(SaeClockSchema, allow_none=True)
    escalation = fields.Nested(
        EscalationSchema,
        allow_none=True,
        metadata={"description": "null for a flag that was never urgent"},
    )
    merged_with = fields.List(
        fields.Integer(),
        required=True,
        metadata={
            "description": "the other flags of its inbox item: unresolved opioid_threshold and"
            " opioid_increase flags of the participant on overlapping dates (`?merged=true`"
            " on acknowledge and resolve acts on them all)"
        },
    )
    actions = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "what the signed-in staff member may do to it now: acknowledge,"
            " close (non-clinical flags, with a reason), resolve (with a clinical outcome),"
            " contact (record a contact attempt)"
        },
    )
    allowed_roles = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        required=True,
        metadata={"description": "per action, the staff roles that may do it to this flag"},
    )
    contact_attempts = fields.List(
        fields.Nested(ContactAttemptSchema),
        metadata={"description": "single-flag view only: attempts to reach the participant"},
    )
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
    total = fields.Integer(required=True, metadata={"description": "flags the filters select"})
    offset = fields.Integer(required=True)
    limit = fields.Integer(required=True)
