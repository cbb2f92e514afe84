"""Query and response schemas of the audit trail's and the access log's staff endpoints."""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..schemas import STUDY_ID, DateRangeQuery, Day, StrictSchema
from . import access_log

ACTOR_TYPES = ("staff", "participant", "system", "cli")

# What each object type of the audit trail is, in the console's words; a type not named
# here is shown by its name ("sync_problem": "Sync problem").
OBJECT_TYPE_LABELS = {
    "adverse_event": "Adverse event",
    "audit_log": "Audit trail",
    "change_request": "Change request",
    "contact_attempt": "Contact attempt",
    "entry": "Diary entry",
    "export": "Export",
    "flag": "Flag",
    "participant": "Participant",
    "push_subscription": "Push subscription",
    "questionnaire": "Questionnaire",
    "sae_clock": "Serious-event clock",
    "signature": "Signature",
    "site": "Site",
    "staff": "Staff account",
    "study": "Study",
}


def object_type_label(name: str) -> str:
    return OBJECT_TYPE_LABELS.get(name) or name.replace("_", " ").capitalize()


class AuditQuerySchema(DateRangeQuery):
    """Filters of the audit trail; `from`/`to`: whole days in the study's time zone."""

    object_type = fields.String(validate=validate.Length(1, 40))
    object_id = fields.String(validate=validate.Length(1, 120))
    actor_type = fields.String(validate=validate.OneOf(ACTOR_TYPES))
    actor_id = fields.String(validate=validate.Length(1, 120))
    study_id = fields.String(validate=STUDY_ID)
    # Bounded by SQLite's INTEGER range: a larger number cannot be bound (a 500).
    before_id = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


class ObjectTypeSchema(Schema):
    type = fields.String(required=True, metadata={"description": "as `object_type` takes it"})
    label = fields.String(required=True)


class ObjectTypeListSchema(Schema):
    object_types = fields.List(fields.Nested(ObjectTypeSchema), required=True)


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
    chain = fields.Nested(
        ChainSchema,
        required=True,
        allow_none=True,
        metadata={"description": "the hash-chain check, with the first page only (no before_id)"},
    )
    next_before_id = fields.Integer(
        allow_none=True, metadata={"description": "pass as before_id for the next page"}
    )


# --- the access log (SPEC §15) ----------------------------------------------------------

# Dates past these could not be turned into instants (and no row is dated outside them).
_FIRST_DAY, _LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
_DAY_RANGE = validate.Range(
    min=_FIRST_DAY, max=_LAST_DAY, error="must be a date between 2000-01-01 and 2100-12-31"
)


class AccessQuerySchema(StrictSchema):
    event = fields.String(validate=validate.OneOf(access_log.EVENTS))
    staff_id = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1))
    participant = fields.String(
        validate=STUDY_ID, metadata={"description": "the participant's study ID"}
    )
    since = Day(
        validate=_DAY_RANGE, metadata={"description": "from this date, in the study's time zone"}
    )
    until = Day(
        validate=_DAY_RANGE,
        metadata={"description": "up to and including this date, in the study's time zone"},
    )
    before_id = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))

    @validates_schema
    def _order(self, data, **kwargs):
        if "since" in data and "until" in data and data["until"] < data["since"]:
            raise ValidationError("must not be before the first date ('since')", "until")


class AccessCsvQuerySchema(AccessQuerySchema):
    """The CSV takes the same filters and every matching row unless a limit is given."""

    limit = fields.Integer(
        load_default=None,
        validate=validate.Range(1, 10**7),
        metadata={"description": "default: all"},
    )


class AccessRowSchema(Schema):
    id = fields.Integer(required=True)
    at = fields.String(required=True)
    event = fields.String(required=True)
    staff_id = fields.Integer(allow_none=True)
    staff_email = fields.String(allow_none=True)
    staff_name = fields.String(allow_none=True)
    account = fields.String(
        allow_none=True, metadata={"description": "the e-mail as typed at sign-in"}
    )
    client = fields.String(allow_none=True, metadata={"description": "the client's address"})
    participant = fields.String(allow_none=True, metadata={"description": "study ID"})
    site = fields.String(allow_none=True, metadata={"description": "site code"})
    object = fields.String(
        allow_none=True, metadata={"description": "what was read: the route or the export"}
    )


class AccessPageSchema(Schema):
    rows = fields.List(fields.Nested(AccessRowSchema), required=True)
    next_before_id = fields.Integer(
        allow_none=True, metadata={"description": "pass as before_id for the next page"}
    )
