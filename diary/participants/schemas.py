from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from ..schemas import (
    SITE_CODE,
    STUDY_ID,
    DateRangeQuery,
    Day,
    HHMMField,
    JsonBoolean,
    JsonNumber,
    StrictSchema,
    Text,
    TimeZoneField,
)
from ..signoff.schemas import LockStateSchema
from ..study import current_study

STATUSES = ("active", "withdrawn", "completed")


class WindowSchema(Schema):
    first_date = Day(required=True)
    last_date = Day(required=True)


class ProfileSchema(Schema):
    study_id = fields.String(required=True)
    timezone = fields.String(required=True)
    reminder_time = fields.String(allow_none=True, required=True)
    reminder_default = fields.String()
    notifications_enabled = fields.Boolean()
    today = Day(required=True)
    day = fields.Integer(required=True)
    window = fields.Nested(WindowSchema, required=True)
    injections = fields.List(Day())
    diary_closed = fields.Nested(
        lambda: DiaryClosedSchema(),
        allow_none=True,
        metadata={"description": "set while the participant's data is locked or frozen"},
    )


class DiaryClosedSchema(Schema):
    since = fields.DateTime(required=True)


class ProfilePatchSchema(StrictSchema):
    reminder_time = HHMMField(allow_none=True)
    timezone = TimeZoneField()
    notifications_enabled = JsonBoolean()


def _formulary_drug(code: str) -> None:
    if current_study().drug(code) is None:
        raise ValidationError("not a drug of the study formulary")


def _baseline_opioids(**kwargs) -> fields.List:
    return fields.List(
        fields.String(validate=_formulary_drug),
        validate=validate.Length(max=20),
        metadata={
            "description": "drug codes taken at baseline: a later opioid with no MME factor"
            " that is not among them raises an opioid_unconvertible flag"
        },
        **kwargs,
    )


class EnrollSchema(StrictSchema):
    study_id = fields.String(required=True, validate=STUDY_ID)

    @pre_load
    def _capitals(self, data, **kwargs):
        """A study ID typed in small letters is the same ID: written in capitals for the
        person rather than refused (lbp-014 → LBP-014)."""
        if isinstance(data, dict) and isinstance(data.get("study_id"), str):
            data = {**data, "study_id": data["study_id"].strip(" ").upper()}
        return data

    site = fields.String(required=True, validate=SITE_CODE)
    timezone = TimeZoneField(required=True)
    injection_date = Day(required=True)
    baseline_back_pain = fields.Integer(required=True, strict=True, validate=validate.Range(0, 10))
    baseline_mme = JsonNumber(
        required=True,
        allow_nan=False,
        validate=validate.Range(
            0,
            50,
            error="must be 0 to 50: more than 50 MME/day at baseline is an exclusion criterion",
        ),
    )
    baseline_opioids = _baseline_opioids(load_default=list)


class StaffPatchSchema(StrictSchema):
    baseline_back_pain = fields.Integer(strict=True, validate=validate.Range(0, 10))
    baseline_mme = JsonNumber(allow_nan=False, validate=validate.Range(0, 50))
    baseline_opioids = _baseline_opioids()
    status = fields.String(validate=validate.OneOf(STATUSES))
    timezone = TimeZoneField()
    reminder_time = HHMMField(allow_none=True)
    reason = fields.String(validate=validate.Length(min=3, max=500))

    @validates_schema
    def _reason(self, data, **kwargs):
        clinical = {"baseline_back_pain", "baseline_mme", "baseline_opioids", "status"} & set(data)
        if clinical and not data.get("reason"):
            raise ValidationError(
                "a reason is required when changing baselines or status", "reason"
            )
        if not (set(data) - {"reason"}):
            raise ValidationError("nothing to change", "_schema")


class InjectionSchema(StrictSchema):
    date = Day(required=True)


class ReasonField(Text):
    """Why a recorded clinical fact changes: 3 to 500 characters once trimmed (one that
    shows nothing is refused as Text refuses it)."""

    def __init__(self, **kwargs):
        super().__init__(
            one_line=False,
            validate=validate.Length(min=3, max=500, error="give a reason of 3 to 500 characters"),
            metadata={"description": "Why; kept in the audit trail"},
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


class InjectionVoidSchema(StrictSchema):
    reason = ReasonField(required=True)


class InjectionCorrectSchema(StrictSchema):
    date = Day(required=True, metadata={"description": "The correct injection date"})
    reason = ReasonField(required=True)


class VoidedInjectionSchema(Schema):
    date = Day(required=True)
    voided_at = fields.String(required=True)
    voided_by = fields.String(allow_none=True, metadata={"description": "Staff e-mail"})
    reason = fields.String(required=True)
    corrected_to = Day(
        allow_none=True, metadata={"description": "The date recorded instead, if corrected"}
    )


PAGE_MAX = 200  # participants in one page of the staff list


class ListQuerySchema(DateRangeQuery):
    """The staff list's filters (`from`/`to`: the first injection, day 0, between these
    dates) and its page: `limit` participants by study ID, after the study ID `after`."""

    site = fields.String(validate=SITE_CODE)
    q = fields.String(validate=validate.Length(max=40))
    after = fields.String(
        validate=validate.Length(1, 40),
        metadata={"description": "the last study ID of the page before (next_after)"},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(1, PAGE_MAX))


class ParticipantSchema(Schema):
    study_id = fields.String(required=True)
    site = fields.String(required=True)
    timezone = fields.String(required=True)
    status = fields.String(required=True)
    baseline_back_pain = fields.Integer(required=True)
    baseline_mme = fields.Float(required=True)
    baseline_opioids = fields.List(fields.String(), required=True)
    reminder_time = fields.String(allow_none=True)
    notifications_enabled = fields.Boolean()
    enrolled_at = fields.String(required=True)
    activated_at = fields.String(allow_none=True)
    last_seen_at = fields.String(allow_none=True)
    first_injection = fields.String()
    latest_injection = fields.String()
    injections = fields.List(Day())
    voided_injections = fields.List(fields.Nested(VoidedInjectionSchema))
    timezone_history = fields.List(fields.Dict())
    pending_code_expires_at = fields.String(allow_none=True)
    # In the staff list (GET /staff/participants): see diary/adherence.py.
    study_day = fields.Integer(allow_none=True, metadata={"description": "day 0 = first injection"})
    last_entry_date = fields.String(allow_none=True)
    adherence_7d = fields.Float(allow_none=True, metadata={"description": "0–1, closed dates"})
    adherence_overall = fields.Float(allow_none=True, metadata={"description": "0–1, closed dates"})
    open_flags = fields.Integer()
    lock = fields.Nested(
        LockStateSchema,
        allow_none=True,
        metadata={"description": "detail view: the participant's lock or the study freeze"},
    )


class ParticipantListSchema(Schema):
    participants = fields.List(fields.Nested(ParticipantSchema), required=True)
    total = fields.Integer(
        required=True, metadata={"description": "participants matching the filters, all pages"}
    )
    next_after = fields.String(
        allow_none=True,
        metadata={"description": "pass as `after` for the next page (null: this is the last)"},
    )


class ActivationCodeSchema(Schema):
    study_id = fields.String(required=True)
    activation_code = fields.String(required=True)
    activation_url = fields.String(required=True)
    qr_svg = fields.String(required=True)
    expires_at = fields.String(required=True)


class EnrolledSchema(ParticipantSchema, ActivationCodeSchema):
    pass


class SyncProblemInSchema(StrictSchema):
    """What the phone could not send, as the server answered it (no entry content)."""

    client_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("entry", "questionnaire")))
    date = Day(metadata={"description": "the diary date of an entry"})
    occurrence_id = fields.Integer(strict=True, validate=validate.Range(1, 2**53))
    status = fields.Integer(required=True, strict=True, validate=validate.Range(400, 599))
    code = fields.String(
        required=True, validate=[validate.Length(1, 64), validate.Regexp(r"^[a-z0-9_]+\Z")]
    )
